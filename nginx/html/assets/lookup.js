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
    var m = ZQ.mobileParse(mobIn.value, '手机号码');
    if (!m.error) caseMobile[c.id] = m.value;
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
    card.appendChild(receiptLink(c));
    var own = ownActions(c);
    if (own) card.appendChild(own);
    if (mobile) supplementHook(card, c, h, cardId, statusId, mobile);
    return card;
  }

  /* 查看回执: the printable receipt, which opens for the session that
   * filed the case or one that proved its mobile by SMS code. */
  function receiptLink(c) {
    return el('div', { class: 'receipt-link' }, [
      el('div', { class: 'actions' }, [
        el('a', {
          class: 'btn secondary',
          href: '/api/cases/' + encodeURIComponent(c.id) + '/receipt',
          target: '_blank',
          rel: 'noopener',
          text: '查看回执'
        })
      ]),
      el('p', { class: 'muted', text: '回执可以在提交案件时使用的浏览器上打开和打印。' })
    ]);
  }

  function problem(text, kind, actions, offline) {
    ZQ.clear(result).appendChild(ZQ.notice({ kind: kind || 'error', text: text, actions: actions, offline: offline }));
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
        ], true);
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
        caseMobile[c.id] = mobile;
        mobileResult.appendChild(caseCard(c, el('h3', { text: c.id + ' · ' + (c.type_label || '') }), null, null, function () {
          return mobile;
        }));
      });
    }
    h.focus();
  }

  function listCases(mobile) {
    proved[mobile] = true; /* a lookup code proves the number for withdrawal and evaluation too */
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

  /* 按手机号查询全部 needs SMS codes: offered only once the server says
   * they are on for lookups (GET /api/verify: no session is made). */
  function offerByMobile() {
    ZQ.api('GET', '/api/verify').then(function (r) {
      var v = r.ok && r.data ? r.data.verify : null;
      var on = !!(v && v.available && v.purposes && v.purposes.lookup);
      var box = document.getElementById('by-mobile');
      box.hidden = !on;
      box.setAttribute('data-verify', on ? 'on' : 'off');
    });
  }
  offerByMobile();
  /* ---- the enterprise's own actions: 撤回 before a decision, 评价 once
   * closed. Both need the case's mobile proved by SMS code in this page's
   * session (purpose supplement; a lookup code proves it as well). ------ */

  var caseMobile = {}; /* case id -> the 11-digit mobile it was looked up with */
  var proved = {}; /* mobile -> true once this session verified it */
  var RATINGS = [['satisfied', '满意'], ['basically_satisfied', '基本满意'], ['dissatisfied', '不满意']];

  /* A session with its token (the lookup by number needs none): a
   * Promise of the verify view, or null when it could not be made. */
  function ensureSession() {
    if (session.csrf && session.verify) return Promise.resolve(session.verify);
    return ZQ.api('POST', '/api/session').then(function (r) {
      if (!r.ok || !r.data || !r.data.csrf) return null;
      session.csrf = r.data.csrf;
      session.verify = r.data.verify || {};
      return session.verify;
    });
  }

  function codesOn(v) {
    return !!(v && v.available && v.purposes && (v.purposes.supplement || v.purposes.lookup));
  }

  /* What the enterprise may do with case c, as a section of its card, or
   * null: a withdrawal before a decision, an evaluation once closed, its
   * evaluation once given. */
  function ownActions(c) {
    if (c.evaluation) return ratedNote(c.evaluation);
    if (c.can_withdraw) return actionBox(c, 'withdraw');
    if (c.can_evaluate) return actionBox(c, 'evaluate');
    return null;
  }

  function ratedNote(ev) {
    var label = ev.label || ev.rating;
    return el('section', { class: 'own-action', 'data-own': 'rated' }, [
      el('h3', { class: 'section-h', text: '您的评价' }),
      el('p', {}, [el('strong', { class: 'rating', text: label }), ev.at ? '（' + ZQ.timeDisplay(ev.at) + '）' : '']),
      ev.comment ? el('p', { class: 'note', text: ev.comment }) : null
    ]);
  }

  /* The closed box with one button; opening it shows the form. */
  function actionBox(c, kind) {
    var what = c.type === 'consult' ? '咨询' : '投诉';
    var box = el('section', { class: 'own-action', 'data-own': kind });
    var open = el('button', {
      type: 'button',
      class: 'btn secondary',
      text: kind === 'withdraw' ? '撤回' + what : '评价办理结果'
    });
    if (kind === 'evaluate') {
      box.appendChild(el('h3', { class: 'section-h', text: '办理满意度评价' }));
      box.appendChild(el('p', { class: 'help', text: '案件已办结，欢迎对办理结果作出评价（只能评价一次）。' }));
    }
    box.appendChild(open);
    open.addEventListener('click', function () {
      open.disabled = true;
      ensureSession().then(function (v) {
        open.disabled = false;
        if (v === null) {
          box.appendChild(ZQ.notice({ kind: 'error', text: '网络不通或服务暂时不可用，请稍后重试。' }));
          return;
        }
        if (!codesOn(v)) {
          ZQ.clear(box).appendChild(ZQ.notice({ role: 'status', text: kind === 'withdraw'
            ? '暂未开通短信验证，无法在线撤回。如需撤回，请联系承办部门。'
            : '暂未开通短信验证，无法在线评价。' }));
          return;
        }
        ZQ.clear(box).appendChild(kind === 'withdraw' ? withdrawForm(c, box, what, v) : evaluateForm(c, box, v));
      });
    });
    return box;
  }

  /* The SMS code widget for the case's mobile, or null when this session
   * proved it already. */
  function codeWidget(c, v, msg) {
    var m = caseMobile[c.id];
    if (!m || proved[m]) return null;
    return ZQ.smsCode({
      purpose: v.purposes.supplement ? 'supplement' : 'lookup',
      mobile: function () {
        return m;
      },
      csrf: function () {
        return session.csrf;
      },
      resendAfter: v.resend_after,
      onVerified: function (mobile) {
        proved[mobile] = true;
        msg.hidden = true;
      }
    });
  }

  function reasonField(id, label, help) {
    var area = el('textarea', { id: id, rows: '3', maxlength: '500', 'aria-describedby': id + '-help ' + id + '-err' });
    var err = el('p', { class: 'field-error', id: id + '-err', hidden: true });
    return {
      area: area,
      err: err,
      node: el('div', { class: 'field' }, [
        el('label', { for: id, text: label }),
        el('p', { class: 'help', id: id + '-help', text: help }),
        area,
        err
      ])
    };
  }

  /* The common ending of both forms: the code (when needed), the message
   * line (first: shown at once) and the buttons; post() sends the form and
   * gives a Promise of the answer. */
  function formTail(c, box, v, okText, post, first) {
    var msg = el('p', { class: 'field-error', role: 'alert', hidden: true });
    var w = codeWidget(c, v, msg);
    var go = el('button', { type: 'button', class: 'btn', text: okText });
    var cancel = el('button', { type: 'button', class: 'btn secondary', text: '取消' });
    function say(text) {
      msg.textContent = text || '';
      msg.hidden = !text;
    }
    cancel.addEventListener('click', function () {
      var fresh = ownActions(c);
      if (fresh) box.replaceWith(fresh);
    });
    go.addEventListener('click', function () {
      var m = caseMobile[c.id];
      if (!m || !proved[m]) {
        say('请先获取短信验证码，验证本案件登记的手机号码。');
        return;
      }
      say('');
      go.disabled = true;
      post().then(function (r) {
        go.disabled = false;
        if (r.ok && r.data && r.data.case) {
          var card = box.closest('[data-case]');
          var h = card ? card.querySelector('h2, h3') : null;
          var next = caseCard(r.data.case, h ? h.cloneNode(true) : el('h3', { text: c.id }), card ? card.id || null : null,
            card && card.querySelector('.status') ? card.querySelector('.status').id || null : null);
          if (card) card.replaceWith(next);
          var done = next.querySelector('.own-action') || next;
          done.setAttribute('tabindex', '-1');
          done.focus();
          return;
        }
        if (r.status === 403 && r.error && r.error.code === 'mobile_unverified') {
          /* The proof expired (or the page's session did): a new code. */
          proved[m] = false;
          tail.replaceWith(formTail(c, box, v, okText, post, r.error.message));
          return;
        }
        if (r.status === 422 && r.error && r.error.fields) {
          var f = r.error.fields;
          say(f.reason || f.comment || f.rating || ZQ.problemText(r));
          return;
        }
        say(ZQ.problemText(r));
      });
    });
    var tail = el('div', { class: 'own-tail' }, [w ? w.node : null, msg, el('div', { class: 'actions' }, [go, cancel])]);
    if (first) say(first);
    return tail;
  }

  function withdrawForm(c, box, what, v) {
    var reason = reasonField(ZQ.uid('withdraw-reason'), '撤回理由（选填）', '最多 500 字，例如：已与对方协商解决。');
    return el('div', { class: 'withdraw-form' }, [
      el('h3', { class: 'section-h', text: '撤回' + what }),
      ZQ.notice({ role: 'note', text: '撤回后本' + what + '将终止办理，且不能恢复。如需再次反映，请重新提交。' }),
      reason.node,
      formTail(c, box, v, '确认撤回', function () {
        var body = {};
        if (ZQ.trim(reason.area.value)) body.reason = reason.area.value;
        return ZQ.api('POST', '/api/cases/' + encodeURIComponent(c.id) + '/withdraw', body, { 'X-CSRF-Token': session.csrf });
      })
    ]);
  }

  function evaluateForm(c, box, v) {
    var name = ZQ.uid('rating');
    var radios = RATINGS.map(function (x) {
      var id = name + '-' + x[0];
      return el('label', { class: 'choice', for: id }, [
        el('input', { type: 'radio', name: name, id: id, value: x[0] }),
        el('span', { text: x[1] })
      ]);
    });
    var comment = reasonField(ZQ.uid('rating-comment'), '评价意见（选填）', '最多 500 字。');
    return el('div', { class: 'evaluate-form' }, [
      el('h3', { class: 'section-h', text: '办理满意度评价' }),
      el('fieldset', { class: 'field' }, [el('legend', { text: '您对办理结果是否满意？' }), el('div', { class: 'choices' }, radios)]),
      comment.node,
      formTail(c, box, v, '提交评价', function () {
        var picked = box.querySelector('input[name="' + name + '"]:checked');
        if (!picked) return Promise.resolve({ ok: false, status: 422, error: { fields: { rating: '请选择满意、基本满意或不满意' } } });
        var body = { rating: picked.value };
        if (ZQ.trim(comment.area.value)) body.comment = comment.area.value;
        return ZQ.api('POST', '/api/cases/' + encodeURIComponent(c.id) + '/evaluation', body, { 'X-CSRF-Token': session.csrf });
      })
    ]);
  }
})();
