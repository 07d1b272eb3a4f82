/* form.html?form=consult|complaint: renders the form schema one step at a
 * time, saves each step on the server (which keeps the draft under the
 * zq_sid cookie), shows the review step and submits with an
 * Idempotency-Key. Typed but unsaved values are kept in sessionStorage so a
 * reload or a failed request loses nothing. */
(function () {
  'use strict';
  var ZQ = window.ZQ;
  var el = ZQ.el;

  ZQ.ready();

  var formId = ZQ.param('form') || '';
  var app = document.getElementById('app');
  var titleEl = document.getElementById('form-title');

  var TYPED_KEY = 'zq:typed:' + formId; /* sessionStorage {step: {field: raw}} */
  var IDEM_KEY = 'zq:idem:' + formId; /* localStorage: the submission attempt's key */
  var STARTED_KEY = 'zq:started:' + formId; /* localStorage: a draft exists (start page badge) */
  var VERIFIED_KEY = 'zq:verified:' + formId; /* sessionStorage: the mobile proved by SMS code */
  var BEGUN_KEY = 'zq:begun:' + formId; /* sessionStorage: the start screen was passed */
  var FILED_KEY = 'zq:filed:' + formId; /* sessionStorage: the case this tab just filed */

  var S = {
    schema: null,
    steps: [],
    fields: {}, /* id -> field */
    stepOf: {}, /* field id -> step index */
    regions: { byCode: {}, sichuan: [], outside: [] },
    csrf: '',
    verify: {}, /* {mobile_required, resume, resend_after} from the server */
    verified: '', /* the mobile this session proved by SMS code */
    answers: {},
    done: [],
    current: -1,
    returnToReview: false,
    busy: false,
    inputs: {}, /* field id -> control, for the step on screen */
    order: [], /* field ids of the step on screen, in order */
    banner: null
  };

  function has(o, k) {
    return o && Object.prototype.hasOwnProperty.call(o, k);
  }

  /* 内容已保留 only when there is something to keep: saved steps, values
   * typed on the screen, or typed ones kept from before a reload. */
  ZQ.kept = function () {
    if (S.done.length) return true;
    var typed = ZQ.session.get(TYPED_KEY) || {};
    var any = Object.keys(typed).some(function (st) {
      return Object.keys(typed[st] || {}).some(function (f) {
        var v = typed[st][f];
        return v !== '' && v !== false && v !== null && !(Array.isArray(v) && !v.length);
      });
    });
    return any || S.order.some(function (fid) {
      var c = S.inputs[fid];
      var v = c && c.f.type !== 'files' ? c.get() : '';
      return v !== '' && v !== false && v !== null;
    });
  };

  function stepIndex(id) {
    for (var i = 0; i < S.steps.length; i++) if (S.steps[i].id === id) return i;
    return -1;
  }

  function reviewIndex() {
    for (var i = 0; i < S.steps.length; i++) if (S.steps[i].review) return i;
    return S.steps.length - 1;
  }

  /* The furthest step one may go to: the first not saved yet. */
  function maxAllowed() {
    for (var i = 0; i < S.steps.length; i++) {
      if (!S.steps[i].review && S.done.indexOf(S.steps[i].id) < 0) return i;
    }
    return reviewIndex();
  }

  /* ---- page states ------------------------------------------------------ */

  function setBusy(on, label) {
    S.busy = on;
    var btns = app.querySelectorAll('button');
    Array.prototype.forEach.call(btns, function (b) {
      if (on) {
        b.dataset.wasDisabled = b.disabled ? '1' : '';
        b.disabled = true;
      } else {
        b.disabled = b.dataset.wasDisabled === '1';
      }
    });
    var p = app.querySelector('[data-primary]');
    if (p) {
      if (on) {
        p.dataset.label = p.textContent;
        p.textContent = label || '正在保存…';
      } else if (p.dataset.label) {
        p.textContent = p.dataset.label;
      }
    }
    app.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  function showLoading(text) {
    S.current = -1;
    S.inputs = {};
    ZQ.clear(app).appendChild(el('p', { class: 'loading', text: text || '正在加载…' }));
  }

  /* A whole-page problem (nothing to show yet), with a way forward. */
  function showPageProblem(r, retry) {
    S.current = -1;
    S.inputs = {};
    ZQ.clear(app);
    if (r.status === 429) {
      app.appendChild(ZQ.notice({
        title: '请稍候',
        text: ZQ.problemText(r),
        actions: [ZQ.waitButton(r.retryAfter, '重试', retry)]
      }));
      return;
    }
    app.appendChild(ZQ.notice({
      kind: 'error',
      title: r.unavailable ? '暂时无法连接' : '无法打开',
      text: ZQ.problemText(r),
      offline: r.unavailable,
      actions: [el('button', { type: 'button', class: 'btn', text: '重试', on: { click: retry } })]
    }));
  }

  function showFatal(text) {
    ZQ.clear(app).appendChild(ZQ.notice({
      kind: 'error',
      text: text,
      actions: [el('a', { class: 'btn secondary', href: './', text: '返回首页' })]
    }));
  }

  /* The banner above the step: messages about the last action. */
  function banner(node) {
    if (!S.banner) return;
    ZQ.clear(S.banner);
    if (node) S.banner.appendChild(node);
  }

  function bannerProblem(r, retry) {
    if (r.status === 429) {
      banner(ZQ.notice({
        title: '请稍候',
        text: ZQ.problemText(r),
        actions: [ZQ.waitButton(r.retryAfter, '重试', retry)]
      }));
    } else {
      banner(ZQ.notice({
        kind: 'error',
        text: ZQ.problemText(r),
        offline: r.unavailable,
        actions: [el('button', { type: 'button', class: 'btn', text: '重试', on: { click: retry } })]
      }));
    }
    if (S.banner) S.banner.scrollIntoView({ block: 'nearest' });
  }

  function showExpired(text) {
    S.current = -1;
    S.inputs = {};
    ZQ.clear(app).appendChild(ZQ.notice({
      kind: 'error',
      title: '填写已超时',
      text: text || '长时间没有操作，这次填写已经结束。您已填写的内容还保留在本页，点“重新开始”后会自动填入，请逐步核对并保存。',
      actions: [el('button', { type: 'button', class: 'btn', text: '重新开始', on: { click: restart } })]
    }));
    var b = app.querySelector('button');
    if (b) b.focus();
  }

  /* After a 410: a fresh draft, pre-filled with everything known here. */
  function restart() {
    var typed = ZQ.session.get(TYPED_KEY) || {};
    S.steps.forEach(function (st) {
      (st.fields || []).forEach(function (f) {
        /* Uploads belonged to the old session: they are not carried. */
        if (!has(S.answers, f.id) || S.answers[f.id] === null || f.type === 'files') return;
        typed[st.id] = typed[st.id] || {};
        if (!has(typed[st.id], f.id)) typed[st.id][f.id] = toRaw(f, S.answers[f.id]);
      });
    });
    ZQ.session.set(TYPED_KEY, typed);
    ZQ.local.del(STARTED_KEY);
    S.answers = {};
    S.done = [];
    S.returnToReview = false;
    load();
  }

  /* Problems any request can meet. Returns true when handled. */
  function common(r, retry, again) {
    if (r.status === 410 || (r.status === 404 && r.error && r.error.code === 'no_draft')) {
      showExpired();
      return true;
    }
    if (r.status === 403 && r.error && r.error.code === 'csrf_failed' && !again) {
      /* The token went stale (e.g. a new session in another tab): take
       * the current one and try once more. */
      ZQ.api('POST', '/api/intake/' + formId).then(function (s) {
        if (s.ok && s.data && s.data.csrf) {
          S.csrf = s.data.csrf;
          retry(true);
        } else if (!common(s, retry, true)) {
          bannerProblem(s, function () {
            retry(false);
          });
        }
      });
      return true;
    }
    if (r.unavailable || r.status === 429 || r.status >= 400) {
      bannerProblem(r, function () {
        retry(false);
      });
      return true;
    }
    return false;
  }

  /* ---- loading ---------------------------------------------------------- */

  function indexFields() {
    S.steps = S.schema.steps || [];
    S.fields = {};
    S.stepOf = {};
    S.steps.forEach(function (st, i) {
      (st.fields || []).forEach(function (f) {
        S.fields[f.id] = f;
        S.stepOf[f.id] = i;
      });
    });
    S.regions = { byCode: {}, sichuan: [], outside: [] };
    (S.schema.regions || []).forEach(function (r) {
      S.regions.byCode[r.code] = r;
      (r.sichuan ? S.regions.sichuan : S.regions.outside).push(r);
    });
  }

  function load() {
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(formId)) {
      showFatal('没有这个办理事项。请从首页选择“在线咨询”或“欠款投诉”。');
      return;
    }
    showLoading();
    var schemaP = S.schema
      ? Promise.resolve({ ok: true, data: S.schema })
      : ZQ.api('GET', '/api/forms/' + encodeURIComponent(formId));
    schemaP.then(function (r) {
      if (!r.ok) {
        if (r.status === 404) showFatal('没有这个办理事项。请从首页选择“在线咨询”或“欠款投诉”。');
        else showPageProblem(r, load);
        return;
      }
      S.schema = r.data;
      indexFields();
      titleEl.textContent = S.schema.title;
      document.title = S.schema.title + ' — 助企';
      if (backFromFiled()) return;
      return draftGone().then(function (gone) {
        if (gone) {
          showGone();
          return;
        }
        return startOrHandoff().then(function (d) {
          if (!d.ok || !d.data) {
            showPageProblem(d, load);
            return;
          }
          takeDraft(d.data);
          /* An answer that rules the complaint out is shown where it was given. */
          resume(d.data.stop ? S.steps[0].id : d.data.step);
        });
      });
    });
  }

  /* ---- a draft gone, a case just filed ----------------------------------- */

  /* A draft this browser started (a step saved) that the server no longer
   * has: expired. Resolves to true then; a link from the chat is not
   * this browser's draft, and no answer is no news. */
  function draftGone() {
    /* A submission whose answer never came is checked first (resume):
     * its draft is gone because it became a case. */
    if (!ZQ.local.get(STARTED_KEY) || ZQ.local.get(IDEM_KEY) || /handoff=/.test(location.hash || '')) {
      return Promise.resolve(false);
    }
    return ZQ.api('GET', '/api/intake/' + encodeURIComponent(formId) + '/state', null, null, 8000).then(function (r) {
      return !!(r.ok && r.data && r.data.state !== 'draft');
    });
  }

  function showGone() {
    S.current = -1;
    S.inputs = {};
    ZQ.clear(app).appendChild(ZQ.notice({
      kind: 'error',
      title: '填写已超时',
      text: '您上次填写的内容长时间没有保存，草稿已删除，无法继续。请重新填写。',
      actions: [el('button', { type: 'button', class: 'btn', id: 'gone-restart', text: '重新填写', on: { click: function () {
        ZQ.local.del(STARTED_KEY);
        load();
      } } })]
    }));
    var b = app.querySelector('button');
    if (b) b.focus();
  }

  function cameBack() {
    try {
      var nav = performance.getEntriesByType('navigation')[0];
      return !!(nav && nav.type === 'back_forward');
    } catch (e) {
      return false;
    }
  }

  /* Back from the success page: say what was just filed, not a blank
   * form as if nothing happened. */
  function backFromFiled(persisted) {
    var filed = ZQ.session.get(FILED_KEY);
    if (!filed || typeof filed.id !== 'string' || !ZQ.CASE_RX.test(filed.id) || !(persisted || cameBack())) return false;
    S.current = -1;
    S.inputs = {};
    S.order = [];
    var id = filed.id;
    var h2 = el('h2', { id: 'filed-title', tabindex: '-1', text: '您刚刚已经提交' });
    ZQ.clear(app);
    app.appendChild(el('div', { class: 'card filed', 'data-filed': id }, [
      h2,
      el('p', {}, ['“' + S.schema.title + '”已提交，编号 ', el('strong', { class: 'case-no-inline', text: id }), '。']),
      el('p', { class: 'muted', text: '凭编号和提交时填写的手机号码可以随时查询办理进度。' }),
      el('div', { class: 'actions' }, [
        el('a', { class: 'btn', href: 'success.html?id=' + encodeURIComponent(id), text: '查看提交结果' }),
        el('a', { class: 'btn secondary', href: 'lookup.html?id=' + encodeURIComponent(id), text: '查询办理进度' }),
        el('button', { type: 'button', class: 'btn secondary', id: 'filed-new', text: '再填写一份新的', on: { click: function () {
          ZQ.session.del(FILED_KEY);
          ZQ.session.del(BEGUN_KEY);
          load();
        } } })
      ])
    ]));
    document.title = '已提交 ' + id + ' — 助企';
    h2.focus({ preventScroll: true });
    return true;
  }

  /* A page kept whole in the back-forward cache shows what it showed when
   * it was left (the review step): the same answer as a fresh load. */
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && S.schema) backFromFiled(true);
  });

  /* A link sent by the chat-bot (网页填写) carries a one-time token in the
   * fragment: take over the chat's draft with it. The fragment is dropped
   * from the address either way, so a reload resumes the web draft. A used
   * or expired link falls back to the draft this browser already has. */
  function startOrHandoff() {
    var start = function () {
      return ZQ.api('POST', '/api/intake/' + encodeURIComponent(formId));
    };
    var m = /(?:^#|&)handoff=([0-9a-f]{64})(?:&|$)/.exec(location.hash || '');
    if (!m) return start();
    if (history.replaceState) history.replaceState(null, '', location.pathname + location.search);
    return ZQ.api('POST', '/api/intake/' + encodeURIComponent(formId) + '/handoff',
      { token: m[1] }).then(function (d) {
      if (d.ok && d.data) {
        S.handoffNote = '已载入您在聊天中填写的内容，请核对后继续。';
        return d;
      }
      if (d.status === 410 || d.status === 404) {
        S.handoffNote = '聊天中的填写链接已失效或已使用，已为您打开本机保存的填写内容。';
        return start();
      }
      return d;
    });
  }

  function takeDraft(d) {
    if (d.csrf) S.csrf = d.csrf;
    if (d.verify && typeof d.verify === 'object') S.verify = d.verify;
    if (!S.verified) S.verified = ZQ.session.get(VERIFIED_KEY) || '';
    S.answers = d.answers && typeof d.answers === 'object' ? d.answers : {};
    S.done = Array.isArray(d.done) ? d.done : [];
  }

  /* Continue where the server says. A key left from a submission whose
   * answer never arrived is tried first: if that case exists, the draft is
   * gone and the server hands the case back. */
  function resume(stepId) {
    var key = ZQ.local.get(IDEM_KEY);
    if (key && S.done.length === 0) {
      showLoading('正在确认上次的提交…');
      ZQ.api('POST', '/api/intake/' + formId + '/submit', null, {
        'X-CSRF-Token': S.csrf,
        'Idempotency-Key': key
      }).then(function (r) {
        if (r.ok && r.data && r.data.case) {
          finish(r.data.case);
        } else if (r.unavailable || r.status === 429) {
          showPageProblem(r, load);
        } else {
          ZQ.local.del(IDEM_KEY);
          goTo(stepIndex(stepId), 'replace');
        }
      });
      return;
    }
    var i = stepIndex(stepId);
    if (i <= 0 && S.done.length === 0 && !S.handoffNote && !ZQ.kept() && !ZQ.session.get(BEGUN_KEY)) {
      showStart();
      return;
    }
    goTo(i < 0 ? 0 : i, 'replace');
  }

  /* ---- the start screen ------------------------------------------------ */

  /* Before whatever the first step is: what to have ready and how long it
   * takes, from the schema. */
  function showStart() {
    S.onStart = true;
    S.current = -1;
    S.inputs = {};
    S.order = [];
    ZQ.clear(app);
    var h2 = el('h2', { id: 'start-title', tabindex: '-1', text: '开始之前' });
    var names = S.steps.map(function (st) {
      return st.title;
    });
    app.appendChild(el('section', { class: 'card start', 'aria-labelledby': 'start-title' }, [
      h2,
      S.schema.description ? el('p', { class: 'lead', text: S.schema.description }) : null,
      Array.isArray(S.schema.prepare) && S.schema.prepare.length ? el('p', { text: '请先准备好：' }) : null,
      Array.isArray(S.schema.prepare) && S.schema.prepare.length
        ? el('ul', { class: 'prepare' }, S.schema.prepare.map(function (t) {
          return el('li', { text: String(t) });
        }))
        : null,
      el('p', { class: 'muted', id: 'start-time', text: '共 ' + names.length + ' 步（' + names.join('、') + '）' +
        (S.schema.minutes ? '，大约需要 ' + S.schema.minutes + ' 分钟' : '') +
        '。每一步保存后，中途离开也可以回来接着填。' }),
      el('div', { class: 'actions' }, [
        el('button', { type: 'button', class: 'btn primary-wide', id: 'start-go', text: '开始填写', on: { click: function () {
          ZQ.session.set(BEGUN_KEY, 1);
          goTo(0, 'push');
        } } })
      ]),
      S.verify.resume ? el('p', { class: 'resume-entry' }, [
        el('button', { type: 'button', class: 'linkbtn', id: 'resume-open', text: '在其他设备继续填写', on: { click: showResume } })
      ]) : null
    ]));
    document.title = S.schema.title + ' — 助企';
    try {
      history.replaceState({ zqStart: true }, '', location.pathname + location.search);
    } catch (e) {
      /* no history: no matter */
    }
    window.scrollTo(0, 0);
  }

  /* ---- values ----------------------------------------------------------- */

  function choose(f) {
    return f.type === 'enum' || f.type === 'region' || (f.type === 'bool' && !f.must_be_true);
  }

  /* A stored answer as the control holds it. */
  function toRaw(f, v) {
    if (f.type === 'files' || f.multiple) return Array.isArray(v) ? v : [];
    if (f.type === 'bool') {
      if (f.must_be_true) return v === true;
      return v === true ? 'true' : v === false ? 'false' : '';
    }
    if (v === null || v === undefined) return '';
    if (f.type === 'money' && typeof v === 'number') return ZQ.fenInput(v);
    return String(v);
  }

  function isEmpty(f, raw) {
    if (f.type === 'bool' && f.must_be_true) return raw !== true;
    if (Array.isArray(raw)) return raw.length === 0;
    if (f.type === 'region' && raw === 'OUT') return true;
    return raw === '' || raw === null || raw === undefined || ZQ.trim(String(raw)) === '';
  }

  /* What is sent for a control's value. */
  function toAnswer(f, raw) {
    if (f.type === 'bool') {
      if (f.must_be_true) return raw === true;
      return raw === 'true' ? true : raw === 'false' ? false : '';
    }
    if (isEmpty(f, raw)) return f.multiple ? [] : '';
    if (f.multiple) return raw;
    if (f.type === 'date') {
      var d = ZQ.dateParse(raw, '');
      return d.value || raw;
    }
    if (f.type === 'uscc') return ZQ.usccNorm(raw);
    return raw;
  }

  /* The value a condition or a rule sees: from the screen when the field
   * is on it, else the saved answer. */
  function valueOf(fid) {
    var c = S.inputs[fid];
    if (c) {
      var a = toAnswer(c.f, c.get());
      return a === '' ? null : a;
    }
    return has(S.answers, fid) ? S.answers[fid] : null;
  }

  function visible(f, depth) {
    if (!f.when) return true;
    if ((depth || 0) > 20) return false;
    var ctl = S.fields[f.when.field];
    if (!ctl || !visible(ctl, (depth || 0) + 1)) return false;
    var v = valueOf(f.when.field);
    return (f.when.in || []).some(function (x) {
      return x === v;
    });
  }

  /* The files control's link to the page (assets/files.js). */
  var filesCtx = {
    form: formId,
    csrf: function () {
      return S.csrf;
    },
    changed: function (fid, list) {
      S.answers[fid] = list.length ? list : null;
    },
    expired: function (text) {
      showExpired(text);
    }
  };

  /* ---- checks before the server ---------------------------------------- */

  function checkField(f, raw, c) {
    var L = f.label;
    /* Uploads are checked by the server (required kinds: 422 on save). */
    if (f.type === 'files') return '';
    if (isEmpty(f, raw)) {
      if (f.type === 'bool' && f.must_be_true) return '请阅读并勾选此项声明';
      if (c && c.badInput && c.badInput()) return L + '请按“2026-11-26”或“2026年11月26日”的格式填写';
      if (!f.required) return '';
      if (f.type === 'region') {
        return '请选择' + L + (f.allow_outside ? '：四川省内的市（州）或其他省份' : '：四川省内的市（州）');
      }
      return (choose(f) ? '请选择' : '请填写') + L;
    }
    var s = String(raw);
    switch (f.type) {
      case 'text': {
        var t = ZQ.trim(s);
        var n = ZQ.chars(t);
        if (!f.multiline && /[\r\n]/.test(t)) return L + '只能填写一行';
        if (f.min && n < f.min) return L + '至少 ' + f.min + ' 个字（现在 ' + n + ' 个字）';
        if (f.max && n > f.max) return L + '最多 ' + f.max + ' 个字（现在 ' + n + ' 个字）';
        return '';
      }
      case 'uscc':
        return ZQ.usccProblem(s, L);
      case 'mobile':
        return ZQ.mobileParse(s, L).error || '';
      case 'money':
        return ZQ.moneyParse(s, L, f.max_fen || 0, !!f.allow_zero).error || '';
      case 'date': {
        var d = ZQ.dateParse(s, L);
        if (d.error) return d.error;
        if (f.not_future && d.value > ZQ.todayBeijing()) return L + '不能晚于今天';
        return '';
      }
      default:
        return '';
    }
  }

  /* Cross-field rules with at least one side on the screen. */
  function checkRules(errors) {
    (S.schema.rules || []).forEach(function (rule) {
      var A = S.fields[rule.field];
      var B = S.fields[rule.other];
      if (!A || !B || !visible(A) || !visible(B)) return;
      if (!S.inputs[A.id] && !S.inputs[B.id]) return;
      if (errors[A.id] || errors[B.id]) return;
      var a = valueOf(A.id);
      var b = valueOf(B.id);
      if (a === null || b === null) return;
      var bad = false;
      if (rule.type === 'date_not_before') {
        bad = String(a) < String(b);
      } else if (rule.type === 'money_not_above') {
        var fa = typeof a === 'number' ? a : ZQ.moneyParse(a, '', 0).fen;
        var fb = typeof b === 'number' ? b : ZQ.moneyParse(b, '', 0).fen;
        bad = fa !== undefined && fb !== undefined && fa > fb;
      }
      if (bad) errors[S.inputs[A.id] ? A.id : B.id] = rule.message;
    });
  }

  function setError(c, msg) {
    c.err.textContent = msg;
    c.err.hidden = false;
    c.wrap.classList.add('has-error');
    c.inputs.forEach(function (i) {
      i.setAttribute('aria-invalid', 'true');
    });
  }

  function clearError(c) {
    c.err.textContent = '';
    c.err.hidden = true;
    c.wrap.classList.remove('has-error');
    c.inputs.forEach(function (i) {
      i.removeAttribute('aria-invalid');
    });
  }

  /* Shows {field: message}; messages for fields not on screen go in the
   * banner. Focuses the first field in error. */
  function showErrors(map, title) {
    var extra = [];
    var first = null;
    S.order.forEach(function (fid) {
      var c = S.inputs[fid];
      if (has(map, fid) && !c.wrap.hidden) {
        setError(c, map[fid]);
        if (!first) first = c;
      } else {
        clearError(c);
      }
    });
    Object.keys(map).forEach(function (fid) {
      var c = S.inputs[fid];
      if (!c || c.wrap.hidden) {
        var f = S.fields[fid];
        extra.push(map[fid] + (f && !c ? '（在“' + S.steps[S.stepOf[fid]].title + '”一步）' : ''));
      }
    });
    var n = Object.keys(map).length;
    banner(ZQ.notice({
      kind: 'error',
      title: title || (n > 1 ? '有 ' + n + ' 处需要修改，请查看标出的内容。' : '有 1 处需要修改，请查看标出的内容。'),
      items: extra
    }));
    if (first) first.focus();
    else if (S.banner) S.banner.scrollIntoView({ block: 'nearest' });
  }

  /* ---- controls ---------------------------------------------------------- */

  var AUTOCOMPLETE = {
    company_name: 'organization',
    contact_name: 'name',
    address: 'street-address',
    mobile: 'tel-national'
  };

  function labelParts(f) {
    return [
      f.label,
      f.type === 'money' ? el('span', { class: 'visually-hidden', text: '（单位：元）' }) : null,
      f.required
        ? el('span', { class: 'req', 'aria-hidden': 'true', text: '*' })
        : el('span', { class: 'opt', text: '（选填）' })
    ];
  }

  function placeholder(f) {
    if (!f.example) return null;
    return '例：' + String(f.example);
  }

  /* Builds one field: {f, wrap, get, set, focus, err, inputs, badInput}. */
  function buildControl(f) {
    if (f.type === 'files') return ZQ.files.control(f, filesCtx);
    var id = 'f-' + f.id;
    var helpId = id + '-help';
    var errId = id + '-err';
    var help = f.help ? el('p', { class: 'help', id: helpId, text: f.help }) : null;
    var err = el('p', { class: 'field-error', id: errId, hidden: true });
    var described = (help ? helpId + ' ' : '') + errId;
    var c = { f: f, err: err, inputs: [] };
    var input;
    if (f.type === 'enum' && f.multiple) {
      return ZQ.formRules.checkboxes(f, c, { id: id, help: help, err: err, described: described, label: labelParts(f) });
    }

    function simpleWrap(control, extra) {
      c.wrap = el('div', { class: 'field', 'data-field': f.id }, [
        el('label', { for: id }, labelParts(f)),
        help,
        control,
        extra || null,
        err
      ]);
    }

    if ((f.type === 'enum' && (f.options || []).length <= 4) || (f.type === 'bool' && !f.must_be_true)) {
      var opts = f.type === 'bool'
        ? [{ value: 'true', label: '是' }, { value: 'false', label: '否' }]
        : f.options;
      var legendId = id + '-legend';
      var short = opts.every(function (o) {
        return ZQ.chars(o.label) <= 6;
      });
      var radios = opts.map(function (o, k) {
        var r = el('input', {
          type: 'radio',
          name: f.id,
          id: id + '-' + k,
          value: o.value,
          'aria-describedby': described
        });
        if (k === 0 && f.required) r.required = true;
        c.inputs.push(r);
        return el('label', { class: 'choice', for: id + '-' + k }, [r, el('span', { text: o.label })]);
      });
      c.wrap = el('fieldset', {
        class: 'field',
        'data-field': f.id,
        role: 'radiogroup',
        'aria-labelledby': legendId
      }, [
        el('legend', { id: legendId }, labelParts(f)),
        help,
        el('div', { class: 'choices' + (short && opts.length % 2 === 0 ? ' two' : '') }, radios),
        err
      ]);
      c.get = function () {
        for (var k = 0; k < c.inputs.length; k++) if (c.inputs[k].checked) return c.inputs[k].value;
        return '';
      };
      c.set = function (v) {
        c.inputs.forEach(function (r) {
          r.checked = r.value === String(v);
        });
      };
      c.focus = function () {
        var sel = c.inputs.filter(function (r) {
          return r.checked;
        })[0] || c.inputs[0];
        sel.focus();
      };
      return c;
    }

    if (f.type === 'bool') {
      /* A declaration to tick. */
      input = el('input', { type: 'checkbox', id: id, name: f.id, 'aria-describedby': described, required: !!f.required });
      c.inputs.push(input);
      c.wrap = el('div', { class: 'field', 'data-field': f.id }, [
        el('label', { class: 'choice decl', for: id }, [
          input,
          el('span', { class: 'decl-text' }, labelParts(f))
        ]),
        help,
        err
      ]);
      c.get = function () {
        return input.checked;
      };
      c.set = function (v) {
        input.checked = v === true;
      };
      c.focus = function () {
        input.focus();
      };
      return c;
    }

    if (f.type === 'enum' || f.type === 'region') {
      var sel = el('select', { id: id, name: f.id, 'aria-describedby': described, required: !!f.required });
      sel.appendChild(el('option', { value: '', text: '请选择' }));
      var prov = null;
      var provWrap = null;
      if (f.type === 'enum') {
        f.options.forEach(function (o) {
          sel.appendChild(el('option', { value: o.value, text: o.label }));
        });
      } else {
        S.regions.sichuan.forEach(function (r) {
          sel.appendChild(el('option', { value: r.code, text: r.name }));
        });
        if (f.allow_outside && S.regions.outside.length) {
          sel.appendChild(el('option', { value: 'OUT', text: '四川省外' }));
          prov = el('select', { id: id + '-prov', name: f.id + '_province', 'aria-describedby': described });
          prov.appendChild(el('option', { value: '', text: '请选择省份' }));
          S.regions.outside.forEach(function (r) {
            prov.appendChild(el('option', { value: r.code, text: r.name }));
          });
          provWrap = el('div', { class: 'sub-select', hidden: true }, [
            el('label', { for: id + '-prov', text: '所在省份（自治区、直辖市）' }),
            prov
          ]);
          sel.addEventListener('change', function () {
            provWrap.hidden = sel.value !== 'OUT';
          });
          c.inputs.push(prov);
        }
      }
      c.inputs.unshift(sel);
      simpleWrap(sel, provWrap);
      c.get = function () {
        if (prov && sel.value === 'OUT') return prov.value || 'OUT';
        return sel.value;
      };
      c.set = function (v) {
        v = String(v || '');
        if (prov && v && (v === 'OUT' || (S.regions.byCode[v] && !S.regions.byCode[v].sichuan))) {
          sel.value = 'OUT';
          prov.value = v === 'OUT' ? '' : v;
          provWrap.hidden = false;
        } else {
          sel.value = v;
          if (sel.value !== v) sel.value = '';
          if (provWrap) provWrap.hidden = true;
        }
      };
      c.focus = function () {
        if (prov && sel.value === 'OUT' && !prov.value) prov.focus();
        else sel.focus();
      };
      return c;
    }

    if (f.type === 'text' && f.multiline) {
      var counter = el('p', { class: 'counter', id: id + '-count' });
      input = el('textarea', {
        id: id,
        name: f.id,
        rows: 6,
        placeholder: placeholder(f),
        'aria-describedby': described + ' ' + id + '-count',
        required: !!f.required
      });
      c.inputs.push(input);
      simpleWrap(input, counter);
      c.count = function () {
        var n = ZQ.chars(ZQ.trim(input.value));
        var max = f.max || 2000;
        counter.textContent = '已输入 ' + n + ' 字，最多 ' + max + ' 字' + (f.min && n < f.min ? '（至少 ' + f.min + ' 字）' : '');
        counter.classList.toggle('over', n > max);
      };
    } else {
      var attrs = {
        id: id,
        name: f.id,
        type: 'text',
        placeholder: placeholder(f),
        'aria-describedby': described,
        required: !!f.required,
        autocomplete: AUTOCOMPLETE[f.id] || null
      };
      if (f.type === 'mobile') {
        attrs.type = 'tel';
        attrs.inputmode = 'tel';
        attrs.autocomplete = 'tel-national';
      } else if (f.type === 'money') {
        attrs.inputmode = 'decimal';
        attrs.autocomplete = 'off';
      } else if (f.type === 'uscc') {
        attrs.autocapitalize = 'characters';
        attrs.autocomplete = 'off';
        attrs.autocorrect = 'off';
        attrs.spellcheck = 'false';
        attrs.class = 'upper';
      } else if (f.type === 'date') {
        attrs.type = 'date';
        if (f.not_future) attrs.max = ZQ.todayBeijing();
      }
      input = el('input', attrs);
      if (f.type === 'date' && input.type !== 'date') {
        /* No date picker here: typed dates in any of the usual forms. */
        input.placeholder = '例：' + (f.example || '2026-01-05') + ' 或 2026年1月5日';
      }
      c.inputs.push(input);
      if (f.type === 'money') {
        simpleWrap(el('div', { class: 'affix' }, [input, el('span', { class: 'unit', 'aria-hidden': 'true', text: '元' })]));
      } else {
        simpleWrap(input);
      }
      if (f.type === 'mobile' && f.id === 'mobile' && S.verify.mobile_required) addCodeWidget(c, input);
      if (f.type === 'date') {
        c.badInput = function () {
          return !!(input.validity && input.validity.badInput);
        };
      }
      if (f.type === 'uscc') {
        input.addEventListener('blur', function () {
          var v = ZQ.usccNorm(input.value);
          if (v !== input.value) {
            input.value = v;
            input.dispatchEvent(new Event('input', { bubbles: true }));
          }
        });
      }
    }
    c.get = function () {
      return input.value;
    };
    c.set = function (v) {
      input.value = v === null || v === undefined ? '' : String(v);
    };
    c.focus = function () {
      input.focus();
    };
    return c;
  }

  /* ---- SMS code ---------------------------------------------------------- */

  function setVerified(m) {
    S.verified = m || '';
    if (m) ZQ.session.set(VERIFIED_KEY, m);
    else ZQ.session.del(VERIFIED_KEY);
  }

  /* 获取验证码 beside the complainant's mobile: the flow is submitted only
   * with the number proved (the server checks; this is the way there). */
  function addCodeWidget(c, input) {
    var w = ZQ.smsCode({
      purpose: 'submit',
      mobile: function () {
        return input.value;
      },
      csrf: function () {
        return S.csrf;
      },
      verified: (function () {
        var m = ZQ.mobileParse(input.value || toRaw(c.f, S.answers.mobile) || '', '');
        return S.verified && m.value === S.verified ? S.verified : '';
      })(),
      resendAfter: S.verify.resend_after,
      onVerified: function (m) {
        setVerified(m);
        clearError(c);
      },
      onMobileError: function (msg) {
        setError(c, msg);
        input.focus();
      }
    });
    c.wrap.appendChild(el('p', { class: 'help', text: '提交前需要用短信验证码验证手机号码。' }));
    c.wrap.appendChild(w.node);
    input.addEventListener('input', function () {
      w.reset();
      if (!w.verifiedFor()) setVerified('');
    });
  }

  /* 在其他设备继续填写: mobile + code (purpose resume) take over the draft
   * last saved with that number. */
  function showResume() {
    S.current = -1;
    S.inputs = {};
    ZQ.clear(app);
    var h2 = el('h2', { id: 'resume-title', tabindex: '-1', text: '在其他设备继续填写' });
    var mob = el('input', {
      id: 'resume-mobile',
      type: 'tel',
      inputmode: 'tel',
      autocomplete: 'tel-national',
      placeholder: '例：13812345678',
      'aria-describedby': 'resume-mobile-help resume-mobile-err'
    });
    var merr = el('p', { class: 'field-error', id: 'resume-mobile-err', hidden: true });
    var out = el('div', { 'aria-live': 'polite' });
    var w = ZQ.smsCode({
      purpose: 'resume',
      mobile: function () {
        return mob.value;
      },
      csrf: function () {
        return S.csrf;
      },
      resendAfter: S.verify.resend_after,
      onMobileError: function (msg) {
        merr.textContent = msg;
        merr.hidden = false;
        mob.focus();
      },
      onVerified: function (m) {
        ZQ.clear(out).appendChild(el('p', { class: 'loading', text: '正在载入填写内容…' }));
        ZQ.api('POST', '/api/intake/' + formId + '/resume', { mobile: m }, { 'X-CSRF-Token': S.csrf }).then(function (r) {
          if (r.ok && r.data) {
            ZQ.session.del(TYPED_KEY);
            takeDraft(r.data);
            setVerified(m);
            S.handoffNote = '已载入您在其他设备上填写的内容，请核对后继续。' +
              (r.data.files_left > 0 ? '另有 ' + r.data.files_left + ' 个文件超出数量或大小上限，仍留在原设备上，需要时请在这里重新上传。' : '');
            resume(r.data.step);
            return;
          }
          ZQ.clear(out).appendChild(ZQ.notice({ kind: 'error', text: ZQ.problemText(r) }));
        });
      }
    });
    mob.addEventListener('input', function () {
      merr.hidden = true;
      w.reset();
    });
    app.appendChild(h2);
    app.appendChild(el('p', { class: 'lead', text: '在其他手机或电脑上填写过？输入当时填写的手机号码，用短信验证码确认后即可接着填写。' }));
    app.appendChild(el('div', { class: 'card' }, [
      el('div', { class: 'field', 'data-field': 'resume-mobile' }, [
        el('label', { for: 'resume-mobile', text: '手机号码' }),
        el('p', { class: 'help', id: 'resume-mobile-help', text: '填写时留下的手机号码。' }),
        mob,
        merr,
        w.node
      ]),
      out
    ]));
    app.appendChild(el('div', { class: 'actions' }, [
      el('button', { type: 'button', class: 'btn secondary', text: '返回', on: { click: function () {
        goTo(maxAllowed(), 'replace');
      } } })
    ]));
    h2.focus();
  }

  /* ---- the screens ------------------------------------------------------ */

  function frame(i) {
    var st = S.steps[i];
    var n = S.steps.length;
    var h2 = el('h2', { id: 'step-title', tabindex: '-1', text: st.title });
    ZQ.clear(app);
    app.appendChild(el('div', { class: 'progress' }, [
      el('div', { class: 'progress-text' }, [el('span', { id: 'step-count', text: '第 ' + (i + 1) + ' 步，共 ' + n + ' 步' })]),
      el('progress', { max: n, value: i + 1, 'aria-labelledby': 'step-count' }),
      stepper(i)
    ]));
    if (i === 0 && S.schema.description) app.appendChild(el('p', { class: 'lead', text: S.schema.description }));
    if (i === 0 && S.verify.resume && S.done.length === 0) {
      app.appendChild(el('p', { class: 'resume-entry' }, [
        el('button', { type: 'button', class: 'linkbtn', id: 'resume-open', text: '在其他设备继续填写', on: { click: showResume } })
      ]));
    }
    app.appendChild(h2);
    if (st.description) app.appendChild(el('p', { class: 'muted', text: st.description }));
    S.banner = el('div', { id: 'banner' });
    app.appendChild(S.banner);
    document.title = st.title + ' — ' + S.schema.title + ' — 助企';
    return h2;
  }

  /* The steps by name, the current one marked (aria-current), whatever
   * steps the schema gives. */
  function stepper(i) {
    return el('ol', { class: 'stepper', 'aria-label': '填写步骤' }, S.steps.map(function (st, k) {
      var done = k !== i && (S.done.indexOf(st.id) >= 0);
      return el('li', {
        class: k === i ? 'current' : done ? 'done' : '',
        'aria-current': k === i ? 'step' : null,
        'data-step': st.id
      }, [
        el('span', { class: 'stepper-no', 'aria-hidden': 'true', text: done ? '✓' : String(k + 1) }),
        el('span', { class: 'stepper-name', text: st.title }),
        done ? el('span', { class: 'visually-hidden', text: '（已完成）' }) : null
      ]);
    }));
  }

  function goTo(i, how) {
    S.onStart = false;
    if (i < 0) i = 0;
    if (i > maxAllowed()) i = maxAllowed();
    S.current = i;
    var st = S.steps[i];
    var h2 = st.review ? renderReview(i) : renderStep(i);
    var state = { zqStep: i };
    try {
      if (how === 'push') history.pushState(state, '', '#' + st.id);
      else if (how === 'replace') history.replaceState(state, '', '#' + st.id);
    } catch (e) {
      /* history not available: no matter */
    }
    window.scrollTo(0, 0);
    if (how !== 'replace' || st.review) h2.focus({ preventScroll: true });
    if (S.handoffNote) {
      banner(ZQ.notice({ text: S.handoffNote }));
      S.handoffNote = null;
    }
  }

  window.addEventListener('popstate', function (e) {
    var st = e.state;
    if (st && st.zqStart && S.schema && !S.busy && S.done.length === 0) {
      showStart();
      return;
    }
    if (!st || typeof st.zqStep !== 'number' || !S.schema || (S.current < 0 && !S.onStart)) return;
    if (S.busy) return;
    S.returnToReview = false;
    goTo(st.zqStep, 'none');
  });

  function typedFor(stepId) {
    var t = ZQ.session.get(TYPED_KEY) || {};
    return t[stepId] || {};
  }

  function keepTyped() {
    var st = S.steps[S.current];
    if (!st || st.review) return;
    var t = ZQ.session.get(TYPED_KEY) || {};
    var mine = {};
    S.order.forEach(function (fid) {
      if (S.inputs[fid].f.type !== 'files') mine[fid] = S.inputs[fid].get();
    });
    t[st.id] = mine;
    ZQ.session.set(TYPED_KEY, t);
  }

  function dropTyped(stepId) {
    var t = ZQ.session.get(TYPED_KEY) || {};
    delete t[stepId];
    if (Object.keys(t).length) ZQ.session.set(TYPED_KEY, t);
    else ZQ.session.del(TYPED_KEY);
  }

  function updateVisibility() {
    S.order.forEach(function (fid) {
      var c = S.inputs[fid];
      var show = visible(c.f);
      if (c.wrap.hidden === show) {
        c.wrap.hidden = !show;
        if (!show) clearError(c);
      }
    });
  }

  function renderStep(i) {
    var st = S.steps[i];
    var h2 = frame(i);
    var typed = typedFor(st.id);
    var form = el('form', { id: 'step-form', novalidate: true, 'aria-labelledby': 'step-title' });
    var anyRequired = (st.fields || []).some(function (f) {
      return f.required;
    });
    S.inputs = {};
    S.order = [];
    if (anyRequired) {
      form.appendChild(el('p', { class: 'req-note' }, ['带 ', el('span', { class: 'req', text: '*' }), ' 号的为必填项。']));
    }
    (st.fields || []).forEach(function (f) {
      var c = buildControl(f);
      S.inputs[f.id] = c;
      S.order.push(f.id);
      c.set(has(typed, f.id) && f.type !== 'files' ? typed[f.id] : toRaw(f, S.answers[f.id]));
      if (c.count) c.count();
      form.appendChild(c.wrap);
    });
    var actions = [];
    if (S.returnToReview) {
      actions.push(el('button', {
        type: 'button',
        class: 'btn secondary',
        text: '取消修改',
        on: {
          click: function () {
            dropTyped(st.id);
            S.returnToReview = false;
            goTo(reviewIndex(), 'push');
          }
        }
      }));
    } else if (i > 0) {
      actions.push(el('button', {
        type: 'button',
        class: 'btn secondary',
        text: '上一步',
        on: {
          click: function () {
            goTo(i - 1, 'push');
          }
        }
      }));
    }
    actions.push(el('button', {
      type: 'submit',
      class: 'btn primary-wide',
      'data-primary': '1',
      text: S.returnToReview ? '保存并返回核对' : '保存，下一步'
    }));
    form.appendChild(el('div', { class: 'actions' }, actions));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      submitStep();
    });
    form.addEventListener('input', onEdit);
    form.addEventListener('change', onEdit);
    app.appendChild(form);
    updateVisibility();
    applyPrefill();
    gateNotice();
    return h2;
  }

  /* ---- schema rules on the page (assets/formrules.js) -------------------- */

  /* Fills each field on the screen that has a prefill rule with what the
   * rule suggests, unless the enterprise typed something else, and says
   * how a computed value was computed. */
  function applyPrefill() {
    S.order.forEach(function (fid) {
      var c = S.inputs[fid];
      if (!c.f.prefill || !visible(c.f)) return;
      var p = ZQ.formRules.prefill(c.f, valueOf, S.fields);
      var cur = c.get();
      if (!c.note) {
        c.note = el('p', { class: 'help prefill-note', id: 'f-' + fid + '-note', 'aria-live': 'polite' });
        c.wrap.insertBefore(c.note, c.err);
      }
      c.note.textContent = '';
      if (!(p && cur === p.raw)) {
        /* The enterprise's own value stays. */
        if (!isEmpty(c.f, cur) && cur !== c.prefilled) return;
        c.set(p ? p.raw : '');
      }
      c.prefilled = p ? p.raw : undefined;
      if (p && p.note) c.note.textContent = p.note + '，可以修改。';
    });
  }

  /* An answer to the eligibility check that rules the complaint out is
   * explained at once, on the step itself. */
  function gateNotice() {
    var st = S.steps[S.current];
    if (!st || !st.gate) return;
    var old = document.querySelector('.stop-notice');
    if (old) old.parentNode.removeChild(old);
    var stop = ZQ.formRules.stopOf(S.steps, valueOf);
    /* Under a stop the button does not lead on: it saves the answer and
     * shows where to go instead, and says so. */
    var btn = document.querySelector('#step-form [data-primary]');
    if (btn) {
      if (!btn.getAttribute('data-label')) btn.setAttribute('data-label', btn.textContent);
      btn.textContent = stop ? '确认并查看办理途径' : btn.getAttribute('data-label');
    }
    if (!stop) return;
    var actions = document.querySelector('#step-form .actions');
    if (actions) actions.parentNode.insertBefore(ZQ.formRules.stopNotice(stop), actions);
  }

  /* The saved answers rule the complaint out: say why and where to go
   * instead, in place of the next step. */
  function showStop(stop) {
    app.textContent = '';
    var page = ZQ.formRules.stopPage(stop, function () {
      goTo(0, 'push');
    });
    app.appendChild(page);
    page.querySelector('h2').focus();
  }

  function controlOf(target) {
    var w = target && target.closest ? target.closest('[data-field]') : null;
    return w ? S.inputs[w.getAttribute('data-field')] : null;
  }

  function onEdit(e) {
    keepTyped();
    updateVisibility();
    applyPrefill();
    gateNotice();
    var c = controlOf(e.target);
    if (!c) return;
    if (c.count) c.count();
    /* An error goes away as soon as the value is right. */
    if (!c.err.hidden && !checkField(c.f, c.get(), c)) clearError(c);
  }

  function collect() {
    var answers = {};
    S.order.forEach(function (fid) {
      var c = S.inputs[fid];
      /* The server keeps the uploads; a step save never sends them. */
      if (!visible(c.f) || c.f.type === 'files') return;
      answers[fid] = toAnswer(c.f, c.get());
    });
    return answers;
  }

  function submitStep() {
    if (S.busy) return;
    var errors = {};
    S.order.forEach(function (fid) {
      var c = S.inputs[fid];
      if (!visible(c.f)) return;
      var m = checkField(c.f, c.get(), c);
      if (m) errors[fid] = m;
    });
    checkRules(errors);
    if (Object.keys(errors).length) {
      showErrors(errors);
      return;
    }
    save(false);
  }

  function save(again) {
    var i = S.current;
    var st = S.steps[i];
    var answers = collect();
    banner(null);
    setBusy(true, '正在保存…');
    ZQ.api('PUT', '/api/intake/' + formId + '/steps/' + encodeURIComponent(st.id), { answers: answers }, {
      'X-CSRF-Token': S.csrf
    }).then(function (r) {
      setBusy(false);
      if (S.current !== i) return;
      if (r.ok && r.data) {
        takeDraft(r.data);
        dropTyped(st.id);
        ZQ.local.set(STARTED_KEY, 1);
        if (r.data.stop) {
          showStop(r.data.stop);
          return;
        }
        var next = stepIndex(r.data.step);
        if (S.returnToReview) {
          S.returnToReview = false;
          goTo(next < 0 ? reviewIndex() : next, 'push');
        } else {
          goTo(Math.min(i + 1, next < 0 ? i + 1 : next), 'push');
        }
        return;
      }
      if (r.status === 422 && r.error && r.error.fields) {
        showErrors(r.error.fields, r.error.message);
        return;
      }
      if (r.status === 409 && r.error && r.error.code === 'step_out_of_order') {
        var j = stepIndex(r.error.step);
        S.done = S.done.filter(function (s) {
          return stepIndex(s) < j;
        });
        goTo(j, 'push');
        banner(ZQ.notice({ text: r.error.message || '请先完成前面的步骤。' }));
        return;
      }
      common(r, save, again);
    });
  }

  /* ---- review ------------------------------------------------------------ */

  function display(f, v) {
    if (v === null || v === undefined || v === '') return null;
    if (f.multiple && Array.isArray(v)) return v.length ? ZQ.formRules.choicesDisplay(f, v) : null;
    switch (f.type) {
      case 'money':
        return typeof v === 'number' ? ZQ.fenDisplay(v) : String(v) + ' 元';
      case 'date':
        return ZQ.dateDisplay(v);
      case 'bool':
        return v === true ? '是' : v === false ? '否' : String(v);
      case 'enum': {
        var o = (f.options || []).filter(function (x) {
          return x.value === v;
        })[0];
        return o ? o.label : String(v);
      }
      case 'files':
        return ZQ.files.display(f, v);
      case 'region': {
        var r = S.regions.byCode[v];
        return r ? (r.sichuan ? r.name : '四川省外 · ' + r.name) : String(v);
      }
      default:
        return String(v);
    }
  }

  function renderReview(i) {
    var h2 = frame(i);
    S.inputs = {};
    S.order = [];
    S.steps.forEach(function (g, gi) {
      if (g.review) return;
      var rows = [];
      (g.fields || []).forEach(function (f) {
        if (!visible(f)) return;
        var shown = display(f, S.answers[f.id]);
        rows.push(el('dt', { text: f.label }));
        rows.push(shown === null ? el('dd', { class: 'empty', text: '未填写' }) : el('dd', { text: shown }));
      });
      var hid = 'group-' + g.id;
      app.appendChild(el('section', { class: 'card review', 'aria-labelledby': hid, 'data-group': g.id }, [
        el('div', { class: 'group-head' }, [
          el('h3', { id: hid, text: g.title }),
          el('button', {
            type: 'button',
            class: 'linkbtn',
            'aria-label': '修改“' + g.title + '”',
            text: '修改',
            on: {
              click: function () {
                S.returnToReview = true;
                goTo(gi, 'push');
              }
            }
          })
        ]),
        el('dl', {}, rows)
      ]));
    });
    if (S.verify.mobile_required && S.answers.mobile && S.verified !== S.answers.mobile) {
      app.appendChild(ZQ.notice({
        role: 'note',
        title: '提交前请先验证手机号码',
        text: '请回到填写手机号码的一步，点击“获取验证码”并填写短信中的验证码。',
        actions: [el('button', { type: 'button', class: 'btn secondary', text: '去验证', on: { click: function () {
          S.returnToReview = true;
          goTo(S.stepOf.mobile, 'push');
        } } })]
      }));
    }
    app.appendChild(el('p', { class: 'muted', text: formId === 'complaint'
      ? '提交即表示您确认以上内容真实准确。提交后会得到投诉编号。'
      : '提交后会得到咨询编号，工作人员会按您留下的手机号码联系您。' }));
    app.appendChild(el('div', { class: 'actions' }, [
      el('button', {
        type: 'button',
        class: 'btn secondary',
        text: '上一步',
        on: {
          click: function () {
            goTo(i - 1, 'push');
          }
        }
      }),
      el('button', {
        type: 'button',
        class: 'btn primary-wide',
        id: 'submit-case',
        'data-primary': '1',
        text: '确认提交',
        on: {
          click: function () {
            submitCase(false);
          }
        }
      })
    ]));
    return h2;
  }

  function submitCase(again) {
    if (S.busy) return;
    var key = ZQ.local.get(IDEM_KEY);
    if (typeof key !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(key)) {
      key = ZQ.randomKey();
      ZQ.local.set(IDEM_KEY, key);
    }
    var i = S.current;
    banner(null);
    setBusy(true, '正在提交…');
    ZQ.api('POST', '/api/intake/' + formId + '/submit', null, {
      'X-CSRF-Token': S.csrf,
      'Idempotency-Key': key
    }).then(function (r) {
      setBusy(false);
      if (S.current !== i) return;
      if (r.ok && r.data && r.data.case) {
        finish(r.data.case);
        return;
      }
      if (r.status === 422 && r.error) {
        /* The server no longer holds the number as proved (expired): say
         * so beside the field, where the code is asked for. */
        if (r.error.code === 'mobile_unverified') setVerified('');
        var j = stepIndex(r.error.step);
        if (j < 0) j = 0;
        S.returnToReview = true;
        goTo(j, 'push');
        showErrors(r.error.fields || {}, r.error.message);
        return;
      }
      if (r.status === 409 && r.error && r.error.code === 'no_draft') {
        showExpired(r.error.message);
        return;
      }
      if (r.status === 409 && r.error && r.error.code === 'idempotency_key_conflict' && !again) {
        /* The kept key was used in another (older) session: this draft
         * gets a key of its own. */
        ZQ.local.del(IDEM_KEY);
        submitCase(true);
        return;
      }
      if (r.status === 429 && r.error && r.error.code === 'quota_exceeded') {
        /* Not a matter of seconds: no countdown, the server says when. */
        banner(ZQ.notice({ kind: 'error', title: '今天已无法再提交', text: r.error.message }));
        return;
      }
      common(r, submitCase, again);
    });
  }

  function finish(c) {
    ZQ.local.del(IDEM_KEY);
    ZQ.local.del(STARTED_KEY);
    ZQ.session.del(TYPED_KEY);
    ZQ.session.set('zq:case', c);
    ZQ.session.set(FILED_KEY, { id: c.id });
    ZQ.session.del(BEGUN_KEY);
    window.location.replace('success.html?id=' + encodeURIComponent(c.id));
  }

  load();
})();
