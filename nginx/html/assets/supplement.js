/* The answer to a request for more material (补充材料) on the lookup
 * page: for a case in needs_info, what the office asked for and by which
 * date, then an answer form: prove the case's mobile by SMS code (purpose
 * supplement), type a text, add files (photo or file, with progress, as
 * the intake form does: ZQ.files.control), send. ZQ.supplementBox(c, o)
 * with o = {mobile(): the number the enterprise typed, done(case): called
 * with the case as it is after the answer}. */
(function () {
  'use strict';
  var ZQ = window.ZQ;
  var el = ZQ.el;
  var TEXT_MAX = 2000;
  var session = { csrf: '', verify: null, pending: null };
  var schemas = {};

  /* The page's session (shared by every case card): a Promise of true. */
  function ensure() {
    if (session.csrf) return Promise.resolve(true);
    if (!session.pending) {
      session.pending = ZQ.api('POST', '/api/session').then(function (r) {
        session.pending = null;
        if (!r.ok || !r.data) return r;
        session.csrf = r.data.csrf;
        session.verify = r.data.verify || {};
        return r;
      });
    }
    return session.pending.then(function (r) {
      return r === true || !!session.csrf || r;
    });
  }

  /* The files field of form (a Promise of the field, or null). */
  function filesField(form) {
    if (!schemas[form]) {
      schemas[form] = ZQ.api('GET', '/api/forms/' + encodeURIComponent(form)).then(function (r) {
        var found = null;
        ((r.ok && r.data && r.data.steps) || []).forEach(function (st) {
          (st.fields || []).forEach(function (f) {
            if (!found && f.type === 'files') found = f;
          });
        });
        return found;
      });
    }
    return schemas[form];
  }

  function csrf() {
    return session.csrf;
  }

  /* The answer form, once the mobile is proved. */
  function answerForm(c, box, o) {
    var id = ZQ.uid('supp');
    var text = el('textarea', { id: id + '-text', rows: '4', maxlength: String(TEXT_MAX), 'aria-describedby': id + '-text-help ' + id + '-err' });
    var err = el('p', { class: 'field-error', id: id + '-err', role: 'alert', hidden: true });
    var send = el('button', { type: 'button', class: 'btn', text: '提交补充材料' });
    var holder = el('div', { class: 'supplement-files' }, el('p', { class: 'loading', text: '正在加载…' }));
    var ctl = null;
    var form = el('div', { class: 'supplement-form' }, [
      el('div', { class: 'field', 'data-field': 'supplement-text' }, [
        el('label', { for: id + '-text', text: '补充说明' }),
        el('p', { class: 'help', id: id + '-text-help', text: '说明补充了哪些材料（最多 ' + TEXT_MAX + ' 字）。可以只上传文件。' }),
        text
      ]),
      holder,
      err,
      el('div', { class: 'actions' }, send)
    ]);

    function fail(msg) {
      err.textContent = msg || '';
      err.hidden = !msg;
    }

    filesField(c.type).then(function (f) {
      ZQ.clear(holder);
      if (!f || !ZQ.files) return;
      /* Every kind is optional in an answer: it brings what was asked. */
      var kinds = (f.kinds || []).map(function (k) {
        return { value: k.value, label: k.label, hint: k.hint, required: false };
      });
      ctl = ZQ.files.control({ id: 'supp-' + c.id.replace(/[^A-Za-z0-9]/g, ''), label: '补充文件', help: '可拍照或选择 JPG、PNG 图片或 PDF 文件。', kinds: kinds }, {
        base: '/api/cases/' + encodeURIComponent(c.id),
        csrf: csrf,
        changed: function () {
          fail('');
        },
        expired: function (msg) {
          fail(msg || '页面已超时，请刷新页面后重试。');
        }
      });
      holder.appendChild(ctl.wrap);
    });

    send.addEventListener('click', function () {
      var t = ZQ.trim(text.value);
      var files = ctl ? ctl.get().map(function (r) {
        return r.id;
      }) : [];
      if (!t && !files.length) {
        fail('请填写补充说明或上传补充材料。');
        text.focus();
        return;
      }
      if (t.length > TEXT_MAX) {
        fail('补充说明最多 ' + TEXT_MAX + ' 字。');
        text.focus();
        return;
      }
      if (holder.querySelector('.uploading')) {
        fail('还有文件正在上传，请等上传完成后再提交。');
        return;
      }
      fail('');
      send.disabled = true;
      send.textContent = '正在提交…';
      ZQ.api('POST', '/api/cases/' + encodeURIComponent(c.id) + '/supplements', { text: t, files: files }, { 'X-CSRF-Token': csrf() }).then(function (r) {
        send.disabled = false;
        send.textContent = '提交补充材料';
        if (r.ok && r.data && r.data.case) {
          o.done(r.data.case);
          return;
        }
        if (r.status === 422 && r.error && r.error.fields) {
          fail(r.error.fields.text || r.error.fields.files || ZQ.problemText(r));
          return;
        }
        fail(ZQ.problemText(r));
      });
    });
    ZQ.clear(box).appendChild(form);
    text.focus();
  }

  ZQ.supplementBox = function (c, o) {
    var s = c.supplement;
    if (c.status !== 'needs_info' || !s) return null;
    var id = ZQ.uid('supp-h');
    var body = el('div', { class: 'supplement-body' });
    var intro = [
      el('h3', { class: 'section-h', id: id, text: '需要补充材料' }),
      el('p', { class: 'supplement-message', text: s.message || '请补充材料。' }),
      el('p', { class: 'supplement-due' + (s.overdue ? ' error' : '') }, [
        '请于 ', el('strong', { text: ZQ.dateDisplay(s.supply_by) }), ' 前补充',
        s.overdue ? '（已超过补充期限，仍可提交，请尽快补充）' : ''
      ])
    ];
    var start = el('button', { type: 'button', class: 'btn', text: '补充材料' });
    body.appendChild(start);
    start.addEventListener('click', function () {
      start.disabled = true;
      ensure().then(function (r) {
        start.disabled = false;
        if (r !== true) {
          ZQ.clear(body).appendChild(ZQ.notice({ kind: 'error', text: ZQ.problemText(r) }));
          return;
        }
        var v = session.verify || {};
        if (!v.available || !v.purposes || !v.purposes.supplement) {
          ZQ.clear(body).appendChild(ZQ.notice({ role: 'status', text: '暂未开通网上补充材料，请按办理部门告知的方式提交。' }));
          return;
        }
        var w = ZQ.smsCode({
          purpose: 'supplement',
          mobile: o.mobile,
          csrf: csrf,
          ensure: ensure,
          resendAfter: v.resend_after,
          onVerified: function () {
            answerForm(c, formBox, o);
          }
        });
        var formBox = el('div', { class: 'supplement-answer' });
        ZQ.clear(body).appendChild(el('p', { class: 'help', text: '为确认是您本人，请先获取并填写发送到 ' + ZQ.maskMobile(o.mobile()) + ' 的短信验证码。' }));
        body.appendChild(w.node);
        body.appendChild(formBox);
      });
    });
    return el('section', { class: 'supplement', 'aria-labelledby': id }, intro.concat([body]));
  };

  /* The enterprise's answer in the history: its text and files. */
  ZQ.supplementLine = function (s) {
    if (!s) return null;
    var files = Array.isArray(s.files) ? s.files : [];
    return el('div', { class: 'supplement-sent' }, [
      s.text ? el('p', { class: 'note', text: '补充说明：' + s.text }) : null,
      files.length ? el('ul', { class: 'file-list' }, files.map(function (f) {
        return el('li', { class: 'file-item' }, [
          el('span', { class: 'file-kind-label muted', text: (f.kind || '') + '：' }),
          el('span', { class: 'file-name', text: f.name }),
          el('span', { class: 'file-size muted', text: ZQ.files ? ZQ.files.sizeText(f.size || 0) : '' })
        ]);
      })) : null
    ]);
  };
})();
