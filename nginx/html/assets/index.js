/* The start page: draft badges (asked of the server) and the tax-day
 * class calendar. */
(function () {
  'use strict';
  var ZQ = window.ZQ;
  var el = ZQ.el;

  ZQ.ready();

  var NAMES = { consult: '在线咨询', complaint: '欠款投诉' };

  /* A draft the server still has (and that got past its first step)
   * gets a badge; one this browser started that the server no longer
   * has is said to be gone, instead of opening an empty form. */
  function badge(form) {
    var a = document.getElementById('go-' + form);
    if (!a) return;
    var started = ZQ.local.get('zq:started:' + form);
    ZQ.api('GET', '/api/intake/' + form + '/state', null, null, 8000).then(function (r) {
      var d = r.ok && r.data ? r.data : null;
      if (!d) return;
      if (d.state === 'draft' && d.done > 0) {
        a.querySelector('b').appendChild(el('span', {
          class: 'badge',
          'data-badge': form,
          text: '有未提交的内容（已完成 ' + d.done + ' 步），点此继续'
        }));
        return;
      }
      if (started && d.state !== 'draft') {
        a.parentNode.appendChild(el('p', {
          class: 'notice draft-gone',
          role: 'status',
          'data-gone': form,
          text: '填写已超时：您上次未提交的“' + NAMES[form] + '”长时间没有保存，草稿已删除，需要重新填写。'
        }));
        ZQ.local.del('zq:started:' + form);
      }
    });
  }
  ['consult', 'complaint'].forEach(badge);

  var body = document.getElementById('classes-body');

  function safeLink(u) {
    return typeof u === 'string' && /^https?:\/\/[^\s]+$/i.test(u) ? u : '';
  }

  function whenOf(c) {
    var day = c.starts_at || c.date || '';
    var wd = ZQ.weekday(day);
    if (c.starts_at) {
      var t = ZQ.timeDisplay(c.starts_at);
      return wd ? t.replace(/日/, '日（' + wd + '）') : t;
    }
    var parts = [];
    if (c.date) parts.push(ZQ.dateDisplay(c.date) + (wd ? '（' + wd + '）' : ''));
    if (c.time) parts.push(String(c.time));
    return parts.join(' ');
  }

  function show(list) {
    ZQ.clear(body);
    if (!list.length) {
      body.appendChild(el('p', { text: '近期没有安排财税云课堂。课程安排公布后会显示在这里。' }));
      return;
    }
    body.appendChild(el('ul', { class: 'classes-list' }, list.map(function (c) {
      var link = safeLink(c.live_url);
      return el('li', {}, [
        el('span', { class: 'class-when', text: whenOf(c) }),
        el('span', { class: 'class-title', text: c.title || '财税云课堂' }),
        c.speaker ? el('span', { class: 'muted', text: '主讲：' + c.speaker }) : null,
        link ? el('a', { class: 'linkbtn class-link', href: link, rel: 'noopener noreferrer', target: '_blank', text: '进入课堂' }) : null
      ]);
    })));
  }

  function load() {
    ZQ.clear(body).appendChild(el('p', { class: 'loading', text: '正在加载课程安排…' }));
    ZQ.api('GET', '/api/classes').then(function (r) {
      if (r.ok && r.data && Array.isArray(r.data.classes)) {
        show(r.data.classes.filter(function (c) {
          return c && typeof c === 'object';
        }));
        return;
      }
      ZQ.clear(body).appendChild(ZQ.notice({
        text: '课程安排暂时无法加载，请稍后再试。',
        offline: r.unavailable,
        actions: [el('button', { type: 'button', class: 'btn secondary small', text: '重新加载', on: { click: load } })]
      }));
    });
  }

  load();
})();
