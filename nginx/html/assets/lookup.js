/* lookup.html: case number + mobile -> status, history, next deadline.
 * An unknown number and a wrong mobile get the same answer. */
(function () {
  'use strict';
  var ZQ = window.ZQ;
  var el = ZQ.el;

  ZQ.ready();

  var form = document.getElementById('lookup-form');
  var idIn = document.getElementById('case-id');
  var mobIn = document.getElementById('case-mobile');
  var btn = document.getElementById('lookup-btn');
  var result = document.getElementById('result');
  var NOT_FOUND = '未找到该案件，请核对案件编号和手机号码。';
  var busy = false;

  var pre = ZQ.param('id');
  if (pre) idIn.value = ZQ.normCaseId(pre);

  function fieldOf(input) {
    return {
      input: input,
      wrap: input.closest('.field'),
      err: document.getElementById(input.id + '-err')
    };
  }
  var F = { id: fieldOf(idIn), mobile: fieldOf(mobIn) };

  function setError(f, msg) {
    f.err.textContent = msg;
    f.err.hidden = false;
    f.wrap.classList.add('has-error');
    f.input.setAttribute('aria-invalid', 'true');
  }

  function clearError(f) {
    f.err.textContent = '';
    f.err.hidden = true;
    f.wrap.classList.remove('has-error');
    f.input.removeAttribute('aria-invalid');
  }

  function check() {
    var errs = {};
    var id = ZQ.normCaseId(idIn.value);
    if (!id) errs.id = '请填写案件编号';
    else if (!ZQ.CASE_RX.test(id)) errs.id = '案件编号格式不正确，应类似 TS20261126-0007';
    if (!ZQ.trim(mobIn.value)) errs.mobile = '请填写手机号码';
    else {
      var m = ZQ.mobileParse(mobIn.value, '手机号码');
      if (m.error) errs.mobile = m.error;
    }
    return errs;
  }

  function showErrors(errs) {
    var first = null;
    ['id', 'mobile'].forEach(function (k) {
      if (errs[k]) {
        setError(F[k], errs[k]);
        if (!first) first = F[k].input;
      } else {
        clearError(F[k]);
      }
    });
    if (first) first.focus();
  }

  [idIn, mobIn].forEach(function (input) {
    input.addEventListener('input', function () {
      var k = input === idIn ? 'id' : 'mobile';
      if (!F[k].err.hidden && !check()[k]) clearError(F[k]);
    });
  });
  idIn.addEventListener('blur', function () {
    if (idIn.value) idIn.value = ZQ.normCaseId(idIn.value);
  });

  function before(t) {
    return t + (/\d$/.test(t) ? ' 前' : '前');
  }

  function deadlines(c) {
    var out = [];
    /* {what, due, unit, days_left, overdue, extended}: the clock running now */
    var d = c.deadline;
    if (d && typeof d === 'object' && d.due) {
      var unit = d.unit === 'workdays' ? ' 个工作日' : ' 天';
      var line = (d.what || '办理期限') + '：' + ZQ.dateDisplay(d.due) + '前';
      if (d.overdue) line += '（已超过期限）';
      else if (typeof d.days_left === 'number') line += d.days_left > 0 ? '（还有 ' + d.days_left + unit + '）' : '（今天到期）';
      if (d.extended) line += '，期限已延长';
      out.push(line);
    }
    function add(d) {
      if (!d) return;
      if (typeof d === 'string') {
        out.push('办理时限：' + before(ZQ.timeDisplay(d)));
        return;
      }
      var when = d.due || d.date || d.at || d.deadline;
      if (!when) return;
      out.push((d.label || '办理时限') + '：' + before(ZQ.timeDisplay(when)));
    }
    add(c.next_deadline);
    if (Array.isArray(c.deadlines)) c.deadlines.forEach(add);
    return out;
  }

  function fact(dt, dd) {
    return dd ? [el('dt', { text: dt }), el('dd', { text: dd })] : [];
  }

  function showCase(c) {
    var h = el('h2', { id: 'result-title', tabindex: '-1', text: '查询结果' });
    var card = caseCard(c, h, 'case-result', 'case-status', function () {
      return mobIn.value;
    });
    ZQ.clear(result).appendChild(card);
    h.focus();
  }

  /* The answer to a request for more material (supplement.js) at the end
   * of card: once sent, the card shows the case as it is now. */
  function supplementHook(card, c, h, cardId, statusId, mobile) {
    var box = ZQ.supplementBox ? ZQ.supplementBox(c, {
      mobile: mobile,
      done: function (now) {
        var nh = el(h.tagName.toLowerCase(), { tabindex: '-1', text: h.textContent });
        var fresh = caseCard(now, nh, cardId, statusId, mobile);
        fresh.insertBefore(ZQ.notice({ kind: 'ok', role: 'status', text: '补充材料已提交，办理部门将继续审查。' }), fresh.children[1]);
        card.parentNode.replaceChild(fresh, card);
        nh.focus();
      }
    }) : null;
    if (box) card.appendChild(box);
  }

  /* One case's public view as a card under heading h; ids for the card
   * and its status (null: none); mobile() the number the enterprise
   * typed. */
  function caseCard(c, h, cardId, statusId, mobile) {
    var contact = c.contact || {};
    var dl = el('dl', { class: 'facts' }, [].concat(
      fact('编号', c.id),
      fact('事项', c.type_label),
      fact('提交时间', ZQ.timeDisplay(c.created_at)),
      fact('企业', contact.company_name),
      fact('联系人', contact.contact_name),
      fact('手机', contact.mobile)
    ));
    if (!h.id) h.id = ZQ.uid('case');
    var card = el('section', { class: 'card', 'aria-labelledby': h.id, id: cardId || null, 'data-case': c.id }, [
      h,
      el('p', {}, ['当前状态：', el('span', { class: 'status', id: statusId || null, text: c.status_label || c.status })]),
      dl
    ]);
    var dls = deadlines(c);
    if (dls.length) {
      card.appendChild(ZQ.notice({ role: 'note', title: '下一个办理时限', items: dls }));
    }
    var hist = Array.isArray(c.history) ? c.history.slice() : [];
    if (hist.length) {
      card.appendChild(el('h3', { class: 'section-h', text: '办理经过' }));
      card.appendChild(el('ol', { class: 'history' }, hist.map(function (e) {
        return el('li', {}, [
          el('time', { datetime: e.at || null, text: ZQ.timeDisplay(e.at) }),
          el('strong', { text: e.label || e.status }),
          e.note ? el('span', { class: 'note', text: e.note }) : null,
          e.supplement && ZQ.supplementLine ? ZQ.supplementLine(e.supplement) : null
        ]);
      })));
    }
    var files = ZQ.caseFiles ? ZQ.caseFiles(c) : null;
    if (files) card.appendChild(files);
    if (mobile) supplementHook(card, c, h, cardId, statusId, mobile);
    return card;
  }

  function problem(text, kind, actions) {
    ZQ.clear(result).appendChild(ZQ.notice({ kind: kind || 'error', text: text, actions: actions }));
  }

  function lookup() {
    if (busy) return;
    var errs = check();
    if (Object.keys(errs).length) {
      showErrors(errs);
      return;
    }
    showErrors({});
    var id = ZQ.normCaseId(idIn.value);
    idIn.value = id;
    busy = true;
    btn.disabled = true;
    btn.textContent = '正在查询…';
    ZQ.clear(result);
    ZQ.api('POST', '/api/cases/' + encodeURIComponent(id) + '/lookup', { mobile: mobIn.value }).then(function (r) {
      busy = false;
      btn.disabled = false;
      btn.textContent = '查询';
      if (r.ok && r.data && r.data.case) {
        showCase(r.data.case);
      } else if (r.status === 404) {
        problem(r.error && r.error.message ? r.error.message : NOT_FOUND);
      } else if (r.status === 422 && r.error && r.error.fields) {
        showErrors({ mobile: r.error.fields.mobile, id: r.error.fields.id });
      } else if (r.status === 429) {
        problem(ZQ.problemText(r), '', [ZQ.waitButton(r.retryAfter, '重新查询', lookup)]);
      } else if (r.unavailable) {
        problem('网络不通或服务暂时不可用，请稍后重试。', 'error', [
          el('button', { type: 'button', class: 'btn', text: '重试', on: { click: lookup } })
        ]);
      } else {
        problem(ZQ.problemText(r));
      }
    });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    lookup();
  });

  /* ---- 按手机号查询全部: mobile + SMS code (purpose lookup) ---------------- */

  var byMobile = document.getElementById('by-mobile-body');
  var openBtn = document.getElementById('by-mobile-open');
  var mobileResult = document.getElementById('mobile-result');
  var session = { csrf: '' };

  function showList(mobile, cases) {
    var h = el('h2', { id: 'mobile-result-title', tabindex: '-1', text: '手机号 ' + ZQ.maskMobile(mobile) + ' 的案件' });
    ZQ.clear(mobileResult).appendChild(h);
    if (!cases.length) {
      mobileResult.appendChild(ZQ.notice({ role: 'status', text: '这个手机号码下没有查到案件。较早提交的案件请用案件编号和手机号码查询。' }));
    } else {
      mobileResult.appendChild(el('p', { class: 'muted', text: '共 ' + cases.length + ' 件，最新提交的在前。' }));
      cases.forEach(function (c) {
        mobileResult.appendChild(caseCard(c, el('h3', { text: c.id + ' · ' + (c.type_label || '') }), null, null, function () {
          return mobile;
        }));
      });
    }
    h.focus();
  }

  function listCases(mobile) {
    ZQ.clear(mobileResult).appendChild(el('p', { class: 'loading', text: '正在查询…' }));
    ZQ.api('POST', '/api/cases/lookup', { mobile: mobile }, { 'X-CSRF-Token': session.csrf }).then(function (r) {
      if (r.ok && r.data && Array.isArray(r.data.cases)) showList(mobile, r.data.cases);
      else ZQ.clear(mobileResult).appendChild(ZQ.notice({ kind: 'error', text: ZQ.problemText(r) }));
    });
  }

  function openByMobile() {
    openBtn.disabled = true;
    ZQ.api('POST', '/api/session').then(function (r) {
      openBtn.disabled = false;
      var v = r.ok && r.data ? r.data.verify || {} : null;
      if (!v) {
        ZQ.clear(mobileResult).appendChild(ZQ.notice({ kind: 'error', text: ZQ.problemText(r) }));
        return;
      }
      if (!v.available || !v.purposes || !v.purposes.lookup) {
        ZQ.clear(byMobile).appendChild(ZQ.notice({ role: 'status', text: '暂未开通按手机号查询，请用案件编号和手机号码查询。' }));
        return;
      }
      session.csrf = r.data.csrf;
      var mob = el('input', {
        id: 'all-mobile',
        type: 'tel',
        inputmode: 'tel',
        autocomplete: 'tel-national',
        placeholder: '例：13812345678',
        'aria-describedby': 'all-mobile-err'
      });
      var merr = el('p', { class: 'field-error', id: 'all-mobile-err', hidden: true });
      var w = ZQ.smsCode({
        purpose: 'lookup',
        mobile: function () {
          return mob.value;
        },
        csrf: function () {
          return session.csrf;
        },
        resendAfter: v.resend_after,
        onMobileError: function (msg) {
          merr.textContent = msg;
          merr.hidden = false;
          mob.focus();
        },
        onVerified: listCases
      });
      mob.addEventListener('input', function () {
        merr.hidden = true;
        w.reset();
      });
      ZQ.clear(byMobile).appendChild(el('div', { class: 'field', 'data-field': 'all-mobile' }, [
        el('label', { for: 'all-mobile', text: '手机号码' }),
        mob,
        merr,
        w.node
      ]));
      mob.focus();
    });
  }

  openBtn.addEventListener('click', openByMobile);
})();
