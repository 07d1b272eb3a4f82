/* zhuqi (助企): what every page shares. The API client, safe DOM building
 * (text only: data from the server or the user never goes through
 * innerHTML), storage that survives private mode, formatting for display,
 * and the cheap checks the pages run before the server (which decides). */
(function () {
  'use strict';

  var ZQ = (window.ZQ = {});

  ZQ.NET_MSG = '网络不通或服务暂时不可用，您填写的内容已保留，请稍后重试。';
  ZQ.NET_MSG_PLAIN = '网络不通或服务暂时不可用，请稍后重试。';

  /* Whether the page holds something the enterprise typed: only then does
   * a "cannot connect" message promise 内容已保留. Pages with a form set it. */
  ZQ.kept = function () {
    return false;
  };

  /* ---- DOM ------------------------------------------------------------ */

  /* el('p', {class: 'x', text: '…'}, [child, 'text', …]) */
  ZQ.el = function (tag, attrs, children) {
    var n = document.createElement(tag);
    var k, v;
    attrs = attrs || {};
    for (k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
      v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') n.textContent = v;
      else if (k === 'class') n.className = v;
      else if (k === 'for') n.htmlFor = v;
      else if (k === 'hidden') n.hidden = !!v;
      else if (k === 'on') {
        var ev;
        for (ev in v) if (Object.prototype.hasOwnProperty.call(v, ev)) n.addEventListener(ev, v[ev]);
      } else if (v === true) n.setAttribute(k, '');
      else n.setAttribute(k, String(v));
    }
    ZQ.append(n, children);
    return n;
  };

  ZQ.append = function (n, children) {
    if (children === null || children === undefined) return n;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      n.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return n;
  };

  ZQ.clear = function (n) {
    while (n.firstChild) n.removeChild(n.firstChild);
    return n;
  };

  ZQ.$ = function (sel, root) {
    return (root || document).querySelector(sel);
  };

  var uid = 0;
  ZQ.uid = function (p) {
    uid += 1;
    return (p || 'zq') + '-' + uid;
  };

  /* The page script ran: drop the "did not load" fallback; the footer. */
  ZQ.ready = function () {
    document.documentElement.classList.add('js');
    var f = document.querySelectorAll('.loadfail');
    Array.prototype.forEach.call(f, function (n) {
      n.parentNode.removeChild(n);
    });
    footer();
  };

  ZQ.param = function (name) {
    try {
      return new URLSearchParams(window.location.search).get(name);
    } catch (e) {
      return null;
    }
  };

  /* ---- storage (private mode and full quotas throw) -------------------- */

  function store(kind) {
    return {
      get: function (k) {
        try {
          var s = window[kind].getItem(k);
          return s === null ? null : JSON.parse(s);
        } catch (e) {
          return null;
        }
      },
      set: function (k, v) {
        try {
          window[kind].setItem(k, JSON.stringify(v));
        } catch (e) {
          /* not kept: the page still works */
        }
      },
      del: function (k) {
        try {
          window[kind].removeItem(k);
        } catch (e) {
          /* ignore */
        }
      }
    };
  }
  ZQ.local = store('localStorage');
  ZQ.session = store('sessionStorage');

  /* 32 hex digits from the platform's CSPRNG (works without HTTPS). */
  ZQ.randomKey = function () {
    var a = new Uint8Array(16);
    var c = window.crypto || window.msCrypto;
    var i, s = '';
    if (c && c.getRandomValues) c.getRandomValues(a);
    else for (i = 0; i < 16; i++) a[i] = Math.floor(Math.random() * 256);
    for (i = 0; i < 16; i++) s += (a[i] < 16 ? '0' : '') + a[i].toString(16);
    return s;
  };

  /* ---- the API -------------------------------------------------------- */

  /* Resolves (never rejects) to {status, ok, data, error, retryAfter,
   * unavailable}. status 0 means the request never got an answer. */
  ZQ.api = function (method, path, body, headers, timeoutMs) {
    var h = { Accept: 'application/json' };
    var k;
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = null;
    for (k in headers || {}) if (Object.prototype.hasOwnProperty.call(headers, k)) h[k] = headers[k];
    var init = { method: method, headers: h, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined && body !== null) {
      h['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (ctrl) {
      init.signal = ctrl.signal;
      timer = setTimeout(function () {
        ctrl.abort();
      }, timeoutMs || 20000);
    }
    return fetch(path, init)
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try {
            data = text ? JSON.parse(text) : null;
          } catch (e) {
            data = null;
          }
          var ra = parseInt(res.headers.get('Retry-After') || '', 10);
          var out = {
            status: res.status,
            ok: res.status >= 200 && res.status < 300,
            data: data,
            error: data && data.error ? data.error : null,
            retryAfter: isFinite(ra) && ra > 0 ? ra : 0
          };
          /* nginx answers 502/504 (as 503) when the app is down; the app
           * answers 503 when its storage is. Both: try again later. */
          out.unavailable = res.status === 502 || res.status === 503 || res.status === 504 ||
            (!out.ok && data === null && res.status >= 500);
          return out;
        });
      })
      .catch(function () {
        return { status: 0, ok: false, data: null, error: null, retryAfter: 0, unavailable: true };
      })
      .then(function (out) {
        if (timer) clearTimeout(timer);
        return out;
      });
  };

  /* ---- text helpers --------------------------------------------------- */

  /* Full-width ASCII and the ideographic space folded to ASCII. */
  ZQ.fold = function (s) {
    return String(s).replace(/[\uFF01-\uFF5E]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    }).replace(/\u3000/g, ' ');
  };

  ZQ.trim = function (s) {
    return String(s).replace(/^[\s\u3000]+|[\s\u3000]+$/g, '');
  };

  /* Length in characters (code points), as the server counts. */
  ZQ.chars = function (s) {
    return Array.from(String(s).replace(/\r\n/g, '\n')).length;
  };

  /* ---- display -------------------------------------------------------- */

  ZQ.groupDigits = function (digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  };

  /* 12345678 fen -> "123,456.78 元" */
  ZQ.fenDisplay = function (fen) {
    var n = Number(fen);
    if (!isFinite(n)) return String(fen);
    var neg = n < 0;
    n = Math.abs(Math.round(n));
    var yuan = Math.floor(n / 100);
    var cents = n % 100;
    return (neg ? '-' : '') + ZQ.groupDigits(String(yuan)) + '.' + (cents < 10 ? '0' : '') + cents + ' 元';
  };

  /* 12345678 fen -> "123456.78" (what goes back into an input) */
  ZQ.fenInput = function (fen) {
    var n = Number(fen);
    if (!isFinite(n)) return '';
    var yuan = Math.floor(n / 100);
    var cents = n % 100;
    return cents === 0 ? String(yuan) : yuan + '.' + (cents < 10 ? '0' : '') + cents;
  };

  /* "2026-01-05" -> "2026年1月5日" */
  ZQ.dateDisplay = function (s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s || ''));
    if (!m) return String(s || '');
    return m[1] + '年' + Number(m[2]) + '月' + Number(m[3]) + '日';
  };

  /* "2026-11-26T09:30:00+08:00" -> "2026年11月26日 09:30" (the server
   * writes Beijing time; shown as written, whatever the phone's zone). */
  ZQ.timeDisplay = function (s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(String(s || ''));
    if (!m) return String(s || '');
    return m[1] + '年' + Number(m[2]) + '月' + Number(m[3]) + '日' + (m[4] ? ' ' + m[4] + ':' + m[5] : '');
  };

  /* "2026-11-27…" -> "周五" */
  ZQ.weekday = function (s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s || ''));
    if (!m) return '';
    return '周' + '日一二三四五六'.charAt(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay());
  };

  /* Today in Beijing time, "YYYY-MM-DD". */
  ZQ.todayBeijing = function () {
    return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  };

  ZQ.CASE_RX = /^(TS|ZX)\d{8}-\d{4,}$/;

  ZQ.normCaseId = function (s) {
    return ZQ.fold(s || '').replace(/\s+/g, '').toUpperCase();
  };

  ZQ.caseKind = function (id) {
    return /^TS/.test(id) ? 'complaint' : /^ZX/.test(id) ? 'consult' : '';
  };

  /* ---- checks (the server's rules, restated; it has the last word) ---- */

  var USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  var USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  ZQ.usccNorm = function (s) {
    return ZQ.fold(s).replace(/\s+/g, '').toUpperCase();
  };

  ZQ.usccCheckChar = function (code17) {
    var sum = 0;
    for (var i = 0; i < 17; i++) {
      var v = USCC_ALPHABET.indexOf(code17.charAt(i));
      if (v < 0) return '';
      sum += v * USCC_WEIGHTS[i];
    }
    return USCC_ALPHABET.charAt((31 - (sum % 31)) % 31);
  };

  /* Returns the message for a bad code, or '' when it is fine. */
  ZQ.usccProblem = function (raw, label) {
    var code = ZQ.usccNorm(raw);
    var n = Array.from(code).length;
    if (n !== 18) return label + '应为 18 位（现在 ' + n + ' 位）';
    for (var i = 0; i < 18; i++) {
      var c = code.charAt(i);
      if (USCC_ALPHABET.indexOf(c) >= 0) continue;
      if ('IOSVZ'.indexOf(c) >= 0) return label + '第 ' + (i + 1) + ' 位是“' + c + '”：代码中不使用字母 I、O、S、V、Z，请核对';
      if (/[\x21-\x7e]/.test(c)) return label + '第 ' + (i + 1) + ' 位“' + c + '”无效：只能是数字或大写字母';
      return label + '只能包含数字和大写字母';
    }
    if (ZQ.usccCheckChar(code) !== code.charAt(17)) return label + '校验位不正确，请核对';
    return '';
  };

  /* {value: '13812345678'} or {error: '…'} */
  ZQ.mobileParse = function (raw, label) {
    var s = ZQ.fold(raw).replace(/[\s-]/g, '');
    var plus = false;
    if (s.charAt(0) === '+') {
      plus = true;
      s = s.slice(1);
    }
    if (!/^\d+$/.test(s)) return { error: label + '只能填写数字（可以带空格、短横线或 +86）' };
    if (plus) {
      if (s.slice(0, 2) !== '86') return { error: label + '请填写中国大陆的 11 位手机号码' };
      s = s.slice(2);
    } else if (s.length === 13 && s.slice(0, 2) === '86') {
      s = s.slice(2);
    }
    if (s.length !== 11) return { error: label + '应为 11 位数字（现在 ' + s.length + ' 位）' };
    if (!/^1[3-9]/.test(s)) return { error: label + '不是有效的手机号码，请核对' };
    return { value: s };
  };

  /* {fen: 12345} or {error: '…'}; maxFen: the form's ceiling or 0;
   * allowZero: 0 is an amount (the schema's allow_zero). */
  ZQ.moneyParse = function (raw, label, maxFen, allowZero) {
    var neg = label + (allowZero ? '不能小于 0' : '必须大于 0');
    var s = ZQ.trim(ZQ.fold(raw));
    s = s.replace(/^[\u00A5\uFFE5]/, '').replace(/元$/, '');
    s = ZQ.trim(s);
    if (s.charAt(0) === '-') return { error: neg };
    var m = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/.exec(s);
    if (!m) return { error: label + '只能填写数字和小数点（以元为单位，如 12345.60）' };
    if (m[2] !== undefined && m[2].length > 2) return { error: label + '最多精确到分（两位小数）' };
    var yuan = m[1].replace(/,/g, '').replace(/^0+(?=\d)/, '');
    var cents = m[2] === undefined ? '00' : (m[2] + '0').slice(0, 2);
    if (yuan.length > 15) return { error: label + '数额过大，请核对' };
    var fen = Number(yuan) * 100 + Number(cents);
    if (fen < 0 || (fen === 0 && !allowZero)) return { error: neg };
    var ceil = maxFen > 0 ? Math.min(maxFen, 1000000000000) : 1000000000000;
    if (fen > ceil) return { error: label + '不能超过 ' + ZQ.fenDisplay(ceil).replace(/ 元$/, '') + ' 元，请核对' };
    return { fen: fen };
  };

  function daysIn(y, m) {
    return [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  }

  /* "2026-1-5", "2026/01/05", "2026.1.5", "2026年1月5日" -> {value:
   * "2026-01-05"} or {error} */
  ZQ.dateParse = function (raw, label) {
    var s = ZQ.fold(raw).replace(/\s+/g, '');
    var m = /^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$/.exec(s);
    var y, mo, d;
    if (m) {
      y = +m[1];
      mo = +m[3];
      d = +m[4];
    } else {
      m = /^(\d{4})年(\d{1,2})月(\d{1,2})日?$/.exec(s);
      if (!m) return { error: label + '请按“2026-11-26”或“2026年11月26日”的格式填写' };
      y = +m[1];
      mo = +m[2];
      d = +m[3];
    }
    if (y < 1900 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) {
      return { error: label + '不是日历上存在的日期，请核对' };
    }
    return { value: y + '-' + (mo < 10 ? '0' : '') + mo + '-' + (d < 10 ? '0' : '') + d };
  };

  /* The problem text of an API answer, for a banner. */
  ZQ.problemText = function (r, fallback) {
    if (r.unavailable) return ZQ.kept() ? ZQ.NET_MSG : ZQ.NET_MSG_PLAIN;
    /* The server's own 429s (quota_exceeded, lookup_locked) say why and
     * when; a plain rate limit gets the countdown text. */
    if (r.status === 429 && !(r.error && r.error.message && r.error.code !== 'rate_limited')) {
      return '请求过于频繁，请' + (r.retryAfter ? ' ' + r.retryAfter + ' 秒后' : '稍后') + '再试。';
    }
    if (r.error && r.error.message) return r.error.message;
    return fallback || '出了点问题，请稍后重试。';
  };

  /* A notice box: {kind: 'error'|'ok'|'', title, text, items, actions,
   * offline: the server could not be reached (adds the other way in)}. */
  ZQ.notice = function (o) {
    var box = ZQ.el('div', { class: 'notice' + (o.kind ? ' ' + o.kind : ''), role: o.role || 'alert' });
    if (o.title) box.appendChild(ZQ.el('p', {}, ZQ.el('strong', { text: o.title })));
    if (o.text) box.appendChild(ZQ.el('p', { text: o.text }));
    if (o.offline) box.appendChild(ZQ.contactLine());
    if (o.items && o.items.length) {
      box.appendChild(ZQ.el('ul', {}, o.items.map(function (t) {
        return ZQ.el('li', { text: t });
      })));
    }
    if (o.actions && o.actions.length) box.appendChild(ZQ.el('div', { class: 'actions' }, o.actions));
    return box;
  };

  /* ---- the site: organisers, hotline, filing numbers ([site]) ---------- */

  var SITE_KEY = 'zq:site';
  var siteP = null;

  /* GET /api/site (no Redis behind it), kept in localStorage so that a
   * page that cannot reach the server at all still names the hotline.
   * Resolves to the site object, or null when it was never known. */
  ZQ.site = function () {
    if (siteP) return siteP;
    siteP = ZQ.api('GET', '/api/site', null, null, 8000).then(function (r) {
      if (r.ok && r.data && r.data.site && typeof r.data.site === 'object') {
        ZQ.local.set(SITE_KEY, r.data.site);
        return r.data.site;
      }
      var kept = ZQ.local.get(SITE_KEY);
      return kept && typeof kept === 'object' ? kept : null;
    });
    return siteP;
  };

  function str(v) {
    return typeof v === 'string' ? ZQ.trim(v) : '';
  }

  function hotlineNodes(site) {
    var tel = str(site.hotline);
    var hours = str(site.hotline_hours);
    if (!tel) return null;
    return [
      ZQ.el('a', { class: 'tel', href: 'tel:' + tel.replace(/[^\d+]/g, ''), text: tel }),
      hours ? '（' + hours + '）' : ''
    ];
  }

  /* "也可以拨打服务热线 …": filled in when the site is known; empty (and
   * hidden) when no hotline is configured. */
  ZQ.contactLine = function () {
    var p = ZQ.el('p', { class: 'contact-line', hidden: true });
    ZQ.site().then(function (site) {
      var h = site ? hotlineNodes(site) : null;
      if (!h) return;
      ZQ.append(p, ['也可以拨打服务热线 '].concat(h).concat([' 咨询或办理' +
        (str(site.organizer) ? '（' + str(site.organizer) + '）' : '') + '。']));
      p.hidden = false;
    });
    return p;
  };

  /* Every page's footer: who runs the site, the hotline, the filing numbers. */
  function footer() {
    var foot = document.querySelector('footer.foot');
    if (!foot) return;
    ZQ.site().then(function (site) {
      if (!site || foot.querySelector('.site-info')) return;
      var box = ZQ.el('div', { class: 'site-info' });
      if (str(site.organizer)) box.appendChild(ZQ.el('p', { text: '主办单位：' + str(site.organizer) }));
      var h = hotlineNodes(site);
      if (h) box.appendChild(ZQ.el('p', {}, ['服务热线：'].concat(h)));
      var filing = [];
      if (str(site.icp)) {
        filing.push(ZQ.el('a', { href: 'https://beian.miit.gov.cn/', rel: 'noopener noreferrer', target: '_blank', text: str(site.icp) }));
      }
      if (str(site.police)) {
        var code = str(site.police).replace(/\D+/g, '');
        filing.push(code
          ? ZQ.el('a', { href: 'https://beian.mps.gov.cn/#/query/webSearch?code=' + code, rel: 'noopener noreferrer', target: '_blank', text: str(site.police) })
          : ZQ.el('span', { text: str(site.police) }));
      }
      if (filing.length) {
        box.appendChild(ZQ.el('p', { class: 'filing' }, filing.reduce(function (acc, n) {
          if (acc.length) acc.push(' ');
          acc.push(n);
          return acc;
        }, [])));
      }
      if (box.firstChild) foot.appendChild(box);
    });
  }

  /* ---- SMS verification codes ------------------------------------------ */

  /* "13812345678" -> "138****5678" */
  ZQ.maskMobile = function (m) {
    return /^\d{11}$/.test(m) ? m.slice(0, 3) + '****' + m.slice(7) : m;
  };

  /* The 获取验证码 button, the code input and their messages, for one
   * purpose (submit, resume, lookup, supplement). o: {purpose, mobile():
   * the raw number typed, csrf(): the session's token, ensure(): optional,
   * a Promise of true once a session exists, onVerified(mobile),
   * onMobileError(message): optional, verified: a number already proved,
   * resendAfter: seconds (default 60)}. Returns {node, reset(),
   * verifiedFor()}. */
  ZQ.smsCode = function (o) {
    var el = ZQ.el;
    var id = ZQ.uid('sms');
    var W = { verified: o.verified || '', sentTo: '', left: 0, timer: null, busy: false, tried: '' };
    var send = el('button', { type: 'button', class: 'btn secondary small sms-send', id: id + '-send', text: '获取验证码' });
    var status = el('p', { class: 'sms-status', id: id + '-status', 'aria-live': 'polite' });
    var input = el('input', {
      id: id + '-code',
      type: 'text',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: '[0-9]*',
      maxlength: '6',
      class: 'sms-input',
      'aria-describedby': id + '-status ' + id + '-err'
    });
    var check = el('button', { type: 'button', class: 'btn small sms-check', text: '验证' });
    var err = el('p', { class: 'field-error', id: id + '-err', role: 'alert', hidden: true });
    var codeBox = el('div', { class: 'sms-code-field', hidden: true }, [
      el('label', { for: id + '-code', text: '短信验证码' }),
      el('div', { class: 'sms-row' }, [input, check]),
      err
    ]);
    var node = el('div', { class: 'sms-code', 'data-purpose': o.purpose }, [send, status, codeBox]);

    function say(text, ok) {
      status.textContent = text || '';
      status.classList.toggle('ok', !!ok);
    }

    function fail(text) {
      err.textContent = text || '';
      err.hidden = !text;
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }

    function tick() {
      if (W.timer) clearTimeout(W.timer);
      W.timer = null;
      if (W.left <= 0) {
        send.disabled = W.busy;
        send.textContent = W.sentTo ? '重新获取' : '获取验证码';
        return;
      }
      send.disabled = true;
      send.textContent = '重新获取(' + W.left + 's)';
      W.left -= 1;
      W.timer = setTimeout(tick, 1000);
    }

    function countdown(s) {
      W.left = Math.max(0, Math.min(s || 0, 86400));
      tick();
    }

    function mobile() {
      var m = ZQ.mobileParse(o.mobile() || '', '手机号码');
      if (!ZQ.trim(o.mobile() || '')) m = { error: '请先填写手机号码' };
      return m;
    }

    function showVerified(m) {
      W.verified = m;
      codeBox.hidden = true;
      send.hidden = true;
      fail('');
      say('✓ 手机号码 ' + ZQ.maskMobile(m) + ' 已验证', true);
    }

    function ask() {
      if (W.busy) return;
      var m = mobile();
      if (m.error) {
        if (o.onMobileError) o.onMobileError(m.error);
        else say(m.error);
        return;
      }
      W.busy = true;
      send.disabled = true;
      say('正在发送验证码…');
      fail('');
      (o.ensure ? o.ensure() : Promise.resolve(true)).then(function (ready) {
        if (!ready) return { status: 0, ok: false, unavailable: true, error: null };
        return ZQ.api('POST', '/api/sms/code', { mobile: m.value, purpose: o.purpose }, { 'X-CSRF-Token': o.csrf() });
      }).then(function (r) {
        W.busy = false;
        if (r.ok) {
          W.sentTo = m.value;
          W.tried = '';
          codeBox.hidden = false;
          input.value = '';
          var d = r.data || {};
          var mins = d.expires_in ? Math.max(1, Math.round(d.expires_in / 60)) : 5;
          say('验证码已发送至 ' + ZQ.maskMobile(m.value) + '，' + mins + ' 分钟内有效。');
          countdown(typeof d.resend_after === 'number' ? d.resend_after : (o.resendAfter || 60));
          input.focus();
          return;
        }
        if (r.status === 429) {
          say(ZQ.problemText(r));
          countdown(r.retryAfter || 60);
          return;
        }
        send.disabled = false;
        if (r.status === 422 && r.error && r.error.fields && r.error.fields.mobile) {
          if (o.onMobileError) {
            say('');
            o.onMobileError(r.error.fields.mobile);
          } else {
            say(r.error.fields.mobile);
          }
          return;
        }
        say(ZQ.problemText(r));
      });
    }

    function verify() {
      if (W.busy) return;
      var code = ZQ.fold(input.value).replace(/\s+/g, '');
      if (!/^\d{6}$/.test(code)) {
        fail('请输入短信中的6位数字验证码');
        input.focus();
        return;
      }
      var m = mobile();
      if (m.error || m.value !== W.sentTo) {
        fail('手机号码已修改，请重新获取验证码');
        return;
      }
      W.busy = true;
      W.tried = code;
      check.disabled = true;
      fail('');
      ZQ.api('POST', '/api/sms/verify', { mobile: m.value, purpose: o.purpose, code: code }, { 'X-CSRF-Token': o.csrf() }).then(function (r) {
        W.busy = false;
        check.disabled = false;
        if (W.left <= 0) send.disabled = false;
        if (r.ok) {
          showVerified(m.value);
          if (o.onVerified) o.onVerified(m.value);
          return;
        }
        var e = r.error || {};
        if (e.code === 'code_expired' || e.code === 'too_many_tries') {
          input.value = '';
          fail(e.message);
          if (W.left <= 0) send.disabled = false;
          send.focus();
          return;
        }
        if (e.code === 'code_invalid' || (r.status === 422 && e.fields && e.fields.code)) {
          fail(e.code === 'code_invalid' ? e.message : e.fields.code);
          input.select();
          return;
        }
        fail(ZQ.problemText(r));
      });
    }

    send.addEventListener('click', ask);
    check.addEventListener('click', verify);
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        e.preventDefault();
        verify();
      }
    });
    input.addEventListener('input', function () {
      var v = ZQ.fold(input.value).replace(/\D+/g, '');
      if (v !== input.value) input.value = v.slice(0, 6);
      if (!err.hidden) fail('');
      /* A code filled in by the keyboard or typed whole: check it once. */
      if (/^\d{6}$/.test(input.value) && input.value !== W.tried) verify();
    });

    if (W.verified) showVerified(W.verified);

    return {
      node: node,
      /* The number changed: what was proved was another one. */
      reset: function () {
        var m = mobile();
        if (W.verified && !m.error && m.value === W.verified) return;
        if (W.verified || (W.sentTo && (m.error || m.value !== W.sentTo))) {
          W.verified = '';
          W.sentTo = '';
          codeBox.hidden = true;
          send.hidden = false;
          fail('');
          say('');
          tick();
        }
      },
      verifiedFor: function () {
        return W.verified;
      }
    };
  };

  /* A button that counts down Retry-After before it can be pressed. */
  ZQ.waitButton = function (seconds, label, onClick) {
    var b = ZQ.el('button', { type: 'button', class: 'btn', on: { click: onClick } });
    var left = Math.max(1, Math.min(seconds || 5, 600));
    function tick() {
      if (left <= 0) {
        b.disabled = false;
        b.textContent = label;
        return;
      }
      b.disabled = true;
      b.textContent = label + '（' + left + ' 秒）';
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
    return b;
  };
})();
