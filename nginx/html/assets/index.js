/* The start page: draft badges (asked of the server), the tax-day class
 * calendar with its live and replay links, and how to get the reminders. */
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

  /* 进入直播 before and during a class, 观看回放 after it: the server
   * says which (state, and only the link that applies). */
  function linkOf(c) {
    var live = safeLink(c.live_url);
    var replay = safeLink(c.replay_url);
    if (c.state === 'ended') {
      return replay ? el('a', { class: 'linkbtn class-link replay', href: replay, rel: 'noopener noreferrer', target: '_blank', text: '观看回放' }) : null;
    }
    return live ? el('a', { class: 'linkbtn class-link live', href: live, rel: 'noopener noreferrer', target: '_blank', text: '进入直播' }) : null;
  }

  function stateOf(c) {
    if (c.state === 'live') return el('span', { class: 'badge live', text: '直播中' });
    if (c.state === 'ended') return el('span', { class: 'badge', text: '已结束' });
    return null;
  }

  function show(list) {
    ZQ.clear(body);
    if (!list.length) {
      body.appendChild(el('p', { text: '近期没有安排财税云课堂。课程安排公布后会显示在这里。' }));
      return;
    }
    body.appendChild(el('ul', { class: 'classes-list' }, list.map(function (c) {
      return el('li', { 'data-class': c.id || '', 'data-state': c.state || '' }, [
        el('span', { class: 'class-when' }, [whenOf(c), stateOf(c)]),
        el('span', { class: 'class-title', text: c.title || '财税云课堂' }),
        c.speaker ? el('span', { class: 'muted', text: '主讲：' + c.speaker }) : null,
        linkOf(c)
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

  /* How to get the reminders depends on the deployment's chat apps. */
  ZQ.site().then(function (site) {
    var p = document.getElementById('classes-subscribe');
    var t = site && typeof site.subscribe === 'string' ? ZQ.trim(site.subscribe) : '';
    if (p && t) {
      p.textContent = t;
      p.hidden = false;
    }
  });

  load();
})();
