/* The files of a case in its public view (lookup page): kind, name and
 * size of each, as the enterprise uploaded them; never the bytes. */
(function () {
  'use strict';
  var ZQ = window.ZQ;
  var el = ZQ.el;

  function sizeText(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MB';
    return Math.max(1, Math.round(n / 1024)) + ' KB';
  }

  /* A section listing c.files, or null when the case has none. */
  ZQ.caseFiles = function (c) {
    var files = Array.isArray(c.files) ? c.files : [];
    if (!files.length) return null;
    return el('div', { id: 'case-files' }, [
      el('h3', { class: 'section-h', text: '已提交的证据文件' }),
      el('ul', { class: 'file-list' }, files.map(function (f) {
        return el('li', { class: 'file-item' }, [
          el('span', { class: 'file-kind-label muted', text: f.kind + '：' }),
          el('span', { class: 'file-name', text: f.name }),
          el('span', { class: 'file-size muted', text: sizeText(f.size || 0) })
        ]);
      }))
    ]);
  };
})();
