/* The complaint form's schema rules that form.js applies on the page
 * (config/forms, lib/intake/schema.c): the eligibility check's stop rules
 * (a gate step's option with "stop"), suggested values ("prefill": copy,
 * difference, due_date) and multi-choice fields. The server computes the
 * same (lib/intake/form.c) and enforces the stop rules. */
(function () {
  'use strict';
  var ZQ = window.ZQ;
  var el = ZQ.el;
  var R = {};

  /* The first gate field whose value (value(fid)) is an option with a
   * stop: {field, reason, where}, or null. */
  R.stopOf = function (steps, value) {
    var gate = (steps || [])[0];
    if (!gate || !gate.gate) return null;
    var fields = gate.fields || [];
    for (var i = 0; i < fields.length; i++) {
      var v = value(fields[i].id);
      var o = (fields[i].options || []).filter(function (x) {
        return x.value === v && x.stop;
      })[0];
      if (o) return { field: fields[i].id, reason: o.stop.reason, where: o.stop.where };
    }
    return null;
  };

  /* The text of a stop: why, then where to go instead (as the server says). */
  R.stopText = function (stop) {
    return stop.reason + stop.where;
  };

  /* A notice under the gate's questions, shown as soon as an answer rules
   * the complaint out. */
  R.stopNotice = function (stop) {
    return el('div', { class: 'notice error stop-notice', role: 'alert', 'data-stop': stop.field }, [
      el('p', { class: 'stop-title', text: '这种情况不能在这里投诉' }),
      el('p', { class: 'stop-reason', text: stop.reason }),
      el('p', { class: 'stop-where', text: stop.where })
    ]);
  };

  /* The page after a stopping answer was saved: why, where to go, and a
   * way back to change the answer. */
  R.stopPage = function (stop, back) {
    return el('section', { class: 'stop-page', 'aria-labelledby': 'stop-title' }, [
      el('h2', { id: 'stop-title', tabindex: '-1', text: '暂时不能在这里投诉' }),
      el('p', { class: 'stop-reason', text: stop.reason }),
      el('p', { class: 'stop-where', text: stop.where }),
      el('div', { class: 'actions' }, [
        el('button', { type: 'button', class: 'btn secondary', text: '修改回答', on: { click: back } }),
        el('a', { class: 'btn primary-wide', href: './', text: '返回首页' })
      ])
    ]);
  };

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  /* "YYYY-MM-DD" plus n days (calendar days, no time zone involved). */
  R.datePlus = function (iso, n) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');
    if (!m) return '';
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]) + n * 86400000);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
  };

  function fenOf(v) {
    if (typeof v === 'number') return v;
    if (v === null || v === undefined || v === '') return undefined;
    var p = ZQ.moneyParse(String(v), '', 0, true);
    return p.error ? undefined : p.fen;
  }

  /* What f's prefill rule suggests from value(fid) (screen or saved
   * answers): {raw, note} with raw as the control holds it, or null. */
  R.prefill = function (f, value, fields) {
    var p = f.prefill;
    if (!p) return null;
    if (p.type === 'copy') {
      var v = value(p.from);
      var ok = (f.options || []).some(function (o) {
        return o.value === v;
      });
      return ok ? { raw: v, note: '' } : null;
    }
    if (p.type === 'difference') {
      var a = fenOf(value(p.from[0]));
      var b = fenOf(value(p.from[1]));
      if (a === undefined) return null;
      var fen = a - (b === undefined ? 0 : b);
      return fen > 0 ? { raw: ZQ.fenInput(fen), note: '' } : null;
    }
    if (p.type === 'due_date') {
      var from = null;
      var src = null;
      (p.dates || []).some(function (id) {
        var d = value(id);
        if (d) {
          from = d;
          src = fields[id];
        }
        return !!d;
      });
      var term = value(p.term);
      if (!from || !src || !term) return null;
      var days = p.days ? p.days[term] : undefined;
      if (days === undefined && p.default && (p.default.when || []).indexOf(term) >= 0) {
        days = (p.default.days || {})[value(p.default.field)];
      }
      if (!days) return null;
      return {
        raw: R.datePlus(from, days),
        note: '按' + src.label + ' ' + from + ' 加 ' + days + ' 天计算'
      };
    }
    return null;
  };

  /* A multi-choice field as check boxes; parts: {id, help, err,
   * described, label}. Fills c (wrap, inputs, get, set, focus). */
  R.checkboxes = function (f, c, parts) {
    var legendId = parts.id + '-legend';
    var boxes = (f.options || []).map(function (o, k) {
      var b = el('input', {
        type: 'checkbox',
        name: f.id,
        id: parts.id + '-' + k,
        value: o.value,
        'aria-describedby': parts.described
      });
      c.inputs.push(b);
      return el('label', { class: 'choice', for: parts.id + '-' + k }, [b, el('span', { text: o.label })]);
    });
    c.wrap = el('fieldset', { class: 'field', 'data-field': f.id, 'aria-labelledby': legendId }, [
      el('legend', { id: legendId }, parts.label),
      parts.help,
      el('div', { class: 'choices' }, boxes),
      parts.err
    ]);
    c.get = function () {
      return c.inputs.filter(function (b) {
        return b.checked;
      }).map(function (b) {
        return b.value;
      });
    };
    c.set = function (v) {
      var list = Array.isArray(v) ? v : v ? [String(v)] : [];
      c.inputs.forEach(function (b) {
        b.checked = list.indexOf(b.value) >= 0;
      });
    };
    c.focus = function () {
      c.inputs[0].focus();
    };
    return c;
  };

  /* A multi-choice answer for people: its labels joined by 、. */
  R.choicesDisplay = function (f, v) {
    return v.map(function (x) {
      var o = (f.options || []).filter(function (y) {
        return y.value === x;
      })[0];
      return o ? o.label : String(x);
    }).join('、');
  };

  ZQ.formRules = R;
})();
