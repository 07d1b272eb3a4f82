/* success.html?id=…: the case number, a copy button, what happens next. */
(function () {
  'use strict';
  var ZQ = window.ZQ;

  ZQ.ready();

  var id = ZQ.normCaseId(ZQ.param('id'));
  var noEl = document.getElementById('case-no');
  var out = document.getElementById('copy-out');
  var copy = document.getElementById('copy');

  if (!ZQ.CASE_RX.test(id)) {
    noEl.parentNode.hidden = true;
    document.getElementById('no-id').hidden = false;
    return;
  }

  var kind = ZQ.caseKind(id);
  noEl.textContent = id;
  document.getElementById('case-label').textContent = kind === 'complaint' ? '您的投诉编号' : '您的咨询编号';
  document.getElementById('next-' + kind).hidden = false;
  /* The case as the form just submitted it says whether progress SMS go
   * to the mobile given; only then does the page promise them. */
  var filed = ZQ.session.get('zq:case');
  if (filed && filed.id === id && filed.sms_progress === true) {
    var note = document.getElementById('sms-note');
    if (note) note.hidden = false;
    var info = document.getElementById('info-sms');
    if (info) info.hidden = false;
  }
  document.getElementById('lookup-link').href = 'lookup.html?id=' + encodeURIComponent(id);
  offerReceipt();
  document.title = (kind === 'complaint' ? '投诉已提交' : '咨询已提交') + ' ' + id + ' — 助企';

  /* The receipt opens for the session that filed the case: offered when
   * this tab has just filed it. */
  function offerReceipt() {
    var a = document.getElementById('receipt-link');
    if (!a || !filed || filed.id !== id) return;
    a.href = '/api/cases/' + encodeURIComponent(id) + '/receipt';
    a.hidden = false;
  }

  function said(text) {
    out.textContent = text;
  }

  /* The old way, for browsers without the async clipboard (or plain HTTP). */
  function fallback() {
    var ta = document.createElement('textarea');
    ta.value = id;
    ta.setAttribute('readonly', '');
    ta.className = 'visually-hidden';
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(ta);
    if (ok) {
      said('已复制编号 ' + id);
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(noEl);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    said('无法自动复制，编号已选中，请长按后选择“复制”。');
  }

  copy.hidden = false;
  copy.addEventListener('click', function () {
    if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
      navigator.clipboard.writeText(id).then(function () {
        said('已复制编号 ' + id);
      }, fallback);
    } else {
      fallback();
    }
  });
})();
