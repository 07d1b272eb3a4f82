/* Evidence files on the form page: the control of a schema field of type
 * "files". Per kind: take a photo or pick files; photos are scaled in the
 * browser (longest side at most 2560 px, JPEG) before upload; each upload
 * shows its progress, can be retried after a dropped connection and
 * removed before submitting. What was uploaded comes back with the draft
 * (the field's answer), so it survives a reload. form.js calls
 * ZQ.files.control(f, ctx) for such a field; ctx = {form, csrf(),
 * changed(list), expired(message)}. */
(function () {
  'use strict';
  var ZQ = window.ZQ;
  var el = ZQ.el;
  var MAX_SIDE = 2560;
  var JPEG_QUALITY = 0.85;
  var ACCEPT = 'image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf';

  function sizeText(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MB';
    return Math.max(1, Math.round(n / 1024)) + ' KB';
  }

  /* A photo made smaller (longest side MAX_SIDE, JPEG), or the file as it
   * is: PDFs, PNGs already small enough (screenshots), or an image the
   * browser cannot decode (the server decides on the bytes anyway).
   * createImageBitmap decodes without a blob: URL, which the pages' CSP
   * does not allow, and turns the photo upright from its EXIF. Resolves
   * to {blob, name}. */
  function prepare(file) {
    var asIs = { blob: file, name: file.name || '文件' };
    if (!/^image\//.test(file.type || '') || typeof createImageBitmap !== 'function') {
      return Promise.resolve(asIs);
    }
    return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bmp) {
      var w = bmp.width;
      var h = bmp.height;
      var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
      if (scale === 1 && file.type === 'image/png') {
        bmp.close();
        return asIs;
      }
      var canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      var g = canvas.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.drawImage(bmp, 0, 0, canvas.width, canvas.height);
      bmp.close();
      /* Re-encoding also drops the photo's location data. */
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          var base = (file.name || '照片').replace(/\.[A-Za-z0-9]+$/, '');
          resolve(blob ? { blob: blob, name: base + '.jpg' } : asIs);
        }, 'image/jpeg', JPEG_QUALITY);
      });
    }, function () {
      return asIs;
    });
  }

  /* Where ctx's uploads go: the draft's (ctx.form), or ctx.base (a case's
   * answer to a request for more material: /api/cases/{id}). */
  function baseOf(ctx) {
    return ctx.base || '/api/intake/' + encodeURIComponent(ctx.form);
  }

  /* One upload with progress. Resolves to {status, data} (status 0: the
   * connection dropped or timed out). */
  function send(ctx, kind, item, onProgress) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open('POST', baseOf(ctx) + '/files?kind=' + encodeURIComponent(kind));
      xhr.setRequestHeader('X-CSRF-Token', ctx.csrf());
      xhr.setRequestHeader('X-File-Name', encodeURIComponent(item.name));
      xhr.setRequestHeader('Content-Type', item.blob.type || 'application/octet-stream');
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.timeout = 300000;
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = function () {
        var data = null;
        try {
          data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch (e) {
          data = null;
        }
        resolve({ status: xhr.status, data: data });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
        resolve({ status: 0, data: null });
      };
      xhr.send(item.blob);
    });
  }

  function control(f, ctx) {
    var id = 'f-' + f.id;
    var errId = id + '-err';
    var helpId = id + '-help';
    var list = []; /* the uploaded records, as the server keeps them */
    var c = { f: f, inputs: [] };
    var live = el('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
    c.err = el('p', { class: 'field-error', id: errId, hidden: true });
    var groups = {};

    function say(text) {
      live.textContent = text;
    }

    function ofKind(k) {
      return list.filter(function (r) {
        return r.kind === k;
      });
    }

    function remove(rec, row, btn) {
      btn.disabled = true;
      ZQ.api('DELETE', baseOf(ctx) + '/files/' + encodeURIComponent(rec.id),
        null, { 'X-CSRF-Token': ctx.csrf() }).then(function (r) {
        if (r.ok || r.status === 404) {
          list = list.filter(function (x) {
            return x.id !== rec.id;
          });
          row.parentNode.removeChild(row);
          ctx.changed(f.id, list.slice());
          say('已删除：' + rec.name);
          return;
        }
        btn.disabled = false;
        if (r.status === 410) ctx.expired(ZQ.problemText(r));
        else say(ZQ.problemText(r, '删除没有成功，请重试。'));
        row.appendChild(el('p', { class: 'file-msg error', role: 'alert', text: ZQ.problemText(r, '删除没有成功，请重试。') }));
      });
    }

    function doneRow(rec) {
      var row = el('li', { class: 'file-item', 'data-file': rec.id });
      var btn = el('button', {
        type: 'button',
        class: 'btn small secondary',
        'aria-label': '删除 ' + rec.name,
        text: '删除'
      });
      btn.addEventListener('click', function () {
        remove(rec, row, btn);
      });
      ZQ.append(row, [
        el('span', { class: 'file-name', text: rec.name }),
        el('span', { class: 'file-size muted', text: sizeText(rec.size) }),
        btn
      ]);
      return row;
    }

    /* Uploads one picked file into the kind's list, with a progress bar
     * and, when the connection drops, a retry button. */
    function upload(kind, file) {
      var g = groups[kind];
      var row = el('li', { class: 'file-item uploading' });
      var bar = el('progress', { max: 100, value: 0, 'aria-label': '上传进度' });
      var msg = el('p', { class: 'file-msg', role: 'status', text: '正在处理…' });
      ZQ.append(row, [el('span', { class: 'file-name', text: file.name || '文件' }), bar, msg]);
      g.items.appendChild(row);
      prepare(file).then(function (item) {
        function attempt() {
          ZQ.clear(msg);
          msg.className = 'file-msg';
          msg.textContent = '正在上传…';
          bar.value = 0;
          bar.hidden = false;
          send(ctx, kind, item, function (p) {
            bar.value = Math.round(p * 100);
            msg.textContent = '正在上传… ' + Math.round(p * 100) + '%';
          }).then(function (r) {
            if (r.status === 201 && r.data && r.data.file) {
              var rec = r.data.file;
              list.push(rec);
              g.items.replaceChild(doneRow(rec), row);
              ctx.changed(f.id, list.slice());
              c.err.hidden = true;
              say('已上传：' + rec.name);
              return;
            }
            bar.hidden = true;
            msg.className = 'file-msg error';
            msg.setAttribute('role', 'alert');
            if (r.status === 0 || r.status === 502 || r.status === 503 || r.status === 504) {
              /* The bytes are still here: the same upload again. */
              msg.textContent = '上传中断（网络不通或服务暂时不可用）。';
              msg.appendChild(el('button', {
                type: 'button',
                class: 'btn small',
                text: '重试',
                on: { click: attempt }
              }));
              return;
            }
            if (r.status === 410) {
              ctx.expired(r.data && r.data.error ? r.data.error.message : '填写已超时，请重新开始。');
              return;
            }
            msg.textContent = (r.data && r.data.error && r.data.error.message) || '上传没有成功，请换一个文件重试。';
            msg.appendChild(el('button', {
              type: 'button',
              class: 'btn small secondary',
              text: '移除',
              on: {
                click: function () {
                  row.parentNode.removeChild(row);
                }
              }
            }));
          });
        }
        attempt();
      });
    }

    function picker(kind, label, capture) {
      var input = el('input', {
        type: 'file',
        hidden: true,
        accept: capture ? 'image/*' : ACCEPT,
        capture: capture ? 'environment' : null,
        multiple: capture ? null : true,
        tabindex: '-1',
        'aria-hidden': 'true',
        'aria-label': label
      });
      var btn = el('button', { type: 'button', class: 'btn small secondary', text: label });
      btn.addEventListener('click', function () {
        input.click();
      });
      input.addEventListener('change', function () {
        Array.prototype.forEach.call(input.files || [], function (file) {
          upload(kind, file);
        });
        input.value = '';
      });
      c.inputs.push(btn);
      return [btn, input];
    }

    var body = [];
    (f.kinds || []).forEach(function (k) {
      var items = el('ul', { class: 'file-list', 'aria-label': k.label + '（已上传）' });
      groups[k.value] = { items: items };
      body.push(el('fieldset', { class: 'file-kind', 'data-kind': k.value }, [
        el('legend', {}, [k.label, k.required ? el('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null,
          k.required ? el('span', { class: 'visually-hidden', text: '（必传）' }) : null]),
        k.hint ? el('p', { class: 'help', text: k.hint }) : null,
        items,
        el('div', { class: 'file-actions' }, picker(k.value, '拍照', true).concat(picker(k.value, '选择文件', false)))
      ]));
    });

    c.wrap = el('div', {
      class: 'field files',
      'data-field': f.id,
      role: 'group',
      'aria-labelledby': id + '-label',
      'aria-describedby': (f.help ? helpId + ' ' : '') + errId
    }, [
      el('p', { class: 'files-label', id: id + '-label' }, el('strong', { text: f.label })),
      f.help ? el('p', { class: 'help', id: helpId, text: f.help }) : null
    ].concat(body, [live, c.err]));

    c.get = function () {
      return list.slice();
    };
    c.set = function (v) {
      list = Array.isArray(v) ? v.slice() : [];
      Object.keys(groups).forEach(function (k) {
        ZQ.clear(groups[k].items);
        ofKind(k).forEach(function (rec) {
          groups[k].items.appendChild(doneRow(rec));
        });
      });
    };
    c.focus = function () {
      if (c.inputs[0]) c.inputs[0].focus();
    };
    return c;
  }

  /* "合同：a.pdf；发票：b.jpg、c.jpg" for the review. */
  function display(f, v) {
    var have = Array.isArray(v) ? v : [];
    if (!have.length) return null;
    return (f.kinds || []).map(function (k) {
      var names = have.filter(function (r) {
        return r.kind === k.value;
      }).map(function (r) {
        return r.name + '（' + sizeText(r.size) + '）';
      });
      return names.length ? k.label + '：' + names.join('、') : null;
    }).filter(Boolean).join('；');
  }

  ZQ.files = { control: control, display: display, sizeText: sizeText };
})();
