/* The staff console: a hash-routed single page over the staff API. The
 * token lives in sessionStorage only (gone when the tab closes). Every
 * text from the server is put in with textContent, never as HTML. */
(function () {
  "use strict";

  var TOKEN_KEY = "zq_staff_token";
  var NOTICES_KEY = "zq_recent_notices";
  var app = document.getElementById("app");
  var me = null;
  var signingIn = false; /* a 401 then means a wrong token, not an expired one */
  var workflow = null;
  var regions = null;
  var staffList = null; /* who can be 承办人: [{name, role, role_label}] */
  var topics = null;    /* consultation topic code -> label */

  /* ---- small helpers -------------------------------------------------- */

  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (k === "className") el.className = v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }

  function svg(tag, attrs, kids) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") el.textContent = attrs[k];
      else el.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function flash(msg, isErr) {
    var f = document.getElementById("flash");
    f.textContent = msg;
    f.className = "flash" + (isErr ? " err" : "");
    f.hidden = !msg;
    if (msg && !isErr) setTimeout(function () { if (f.textContent === msg) f.hidden = true; }, 4000);
  }

  function errText(body, status) {
    if (body && body.error) {
      var m = body.error.message || "请求失败";
      if (body.error.fields) {
        var parts = Object.keys(body.error.fields).map(function (k) { return body.error.fields[k]; });
        if (parts.length && parts.indexOf(m) < 0) m += "（" + parts.join("；") + "）";
      }
      return m;
    }
    return "请求失败（" + status + "）";
  }

  /* fetch with the token (and extra request headers); resolves {status,
   * body} or rejects with a Chinese message (err.status, err.retryAfter;
   * err.network when no answer came). 401 sends the user back to sign-in. */
  function api(method, path, body, headers) {
    var opt = { method: method, headers: { "Authorization": "Bearer " + token() } };
    Object.keys(headers || {}).forEach(function (k) { opt.headers[k] = headers[k]; });
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    return fetch(path, opt).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        if (r.status === 401) {
          sessionStorage.removeItem(TOKEN_KEY);
          me = null;
          if (!signingIn) {
            showNav();
            viewLogin();
            flash("登录已失效，请重新输入令牌。", true);
          }
          throw new Error(signingIn ? "令牌无效，请核对后重试。" : "登录已失效，请重新输入令牌。");
        }
        if (r.status >= 400) {
          var err = new Error(errText(j, r.status));
          err.status = r.status;
          err.body = j;
          err.retryAfter = r.headers.get("Retry-After");
          throw err;
        }
        return { status: r.status, body: j };
      });
    }, function () {
      var err = new Error("网络连接失败，请稍后重试。");
      err.network = true;
      throw err;
    });
  }

  /* A fresh Idempotency-Key for one user action. */
  function idemKey() {
    var c = window.crypto, a = new Uint8Array(16), s = "", i;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    if (c && c.getRandomValues) c.getRandomValues(a);
    else for (i = 0; i < a.length; i++) a[i] = Math.floor(Math.random() * 256);
    for (i = 0; i < a.length; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16);
    return s;
  }

  /* A change to a case (POST): one Idempotency-Key per user action, reused
   * by a single retry after a network error or a 503 (after Retry-After,
   * at most 3 s), so a change that was made but whose answer was lost is
   * answered again instead of being refused or made twice. */
  function change(path, body) {
    var hdr = { "Idempotency-Key": idemKey() };
    return api("POST", path, body, hdr).catch(function (e) {
      if (!e.network && e.status !== 503) throw e;
      var secs = e.network ? 1 : parseInt(e.retryAfter, 10);
      var wait = Math.min(3000, Math.max(0, isNaN(secs) ? 1000 : secs * 1000));
      return new Promise(function (res) { setTimeout(res, wait); }).then(function () {
        return api("POST", path, body, hdr);
      });
    });
  }

  function qs(params) {
    var out = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== "" && params[k] !== null && params[k] !== undefined)
        out.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
    });
    return out.join("&");
  }

  function parseHash() {
    var hash = location.hash.replace(/^#\/?/, "");
    var q = hash.indexOf("?");
    var path = q < 0 ? hash : hash.slice(0, q);
    var params = {};
    if (q >= 0) hash.slice(q + 1).split("&").forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf("=");
      params[decodeURIComponent(i < 0 ? kv : kv.slice(0, i))] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1));
    });
    return { parts: path.split("/").filter(Boolean), params: params };
  }

  function fmtTime(iso) { return iso ? iso.replace("T", " ").replace(/:\d\d\+08:00$/, "") : ""; }

  function yuan(fen) {
    if (typeof fen !== "number") return "";
    return (fen / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " 元";
  }

  function deadlineBadge(dl) {
    if (!dl) return h("span", { className: "muted", text: "—" });
    var unit = dl.unit === "workdays" ? "个工作日" : "天";
    var text, cls;
    /* The enterprise's date for more material: its miss, not the office's. */
    if (dl.overdue && dl.clock === "supply") { text = "补充期限已过"; cls = "late"; }
    else if (dl.overdue) { text = "逾期 " + (-dl.days_left) + " " + unit; cls = "late"; }
    else if (dl.days_left === 0) { text = "今天到期"; cls = "soon"; }
    else if (dl.days_left <= 2) { text = "剩 " + dl.days_left + " " + unit; cls = "soon"; }
    else { text = "剩 " + dl.days_left + " " + unit; cls = "ok"; }
    return h("span", { className: "badge " + cls, title: dl.what + " " + dl.due, "data-deadline": cls }, [text]);
  }

  function roleAtLeast(r) {
    var order = { viewer: 1, handler: 2, admin: 3 };
    return me && order[me.role] >= order[r];
  }

  function page(title, kids) {
    clear(app);
    app.appendChild(h("h1", { text: title }));
    (kids || []).forEach(function (k) { if (k) app.appendChild(k); });
  }

  function loading() { clear(app); app.appendChild(h("p", { className: "empty", text: "正在加载…" })); }

  function failed(e) {
    clear(app);
    app.appendChild(h("p", { className: "empty", text: e.message }));
  }

  function loadRegions() {
    if (regions) return Promise.resolve(regions);
    return fetch("/api/forms/complaint").then(function (r) { return r.json(); }).then(function (f) {
      regions = f.regions || [];
      return regions;
    }, function () { regions = []; return regions; });
  }

  /* The handlers a case can be assigned to (GET /api/admin/staff). */
  function loadStaff() {
    if (staffList) return Promise.resolve(staffList);
    return api("GET", "/api/admin/staff").then(function (r) { staffList = r.body.staff || []; return staffList; },
      function () { staffList = []; return staffList; });
  }

  /* Topic labels from the consultation's schema: 财税, not `tax`. */
  function loadTopics() {
    if (topics) return Promise.resolve(topics);
    return fetch("/api/forms/consult").then(function (r) { return r.json(); }).then(function (f) {
      topics = {};
      (f.steps || []).forEach(function (st) {
        (st.fields || []).forEach(function (fd) {
          if (fd.id === "topic") (fd.options || []).forEach(function (o) { topics[o.value] = o.label; });
        });
      });
      return topics;
    }, function () { topics = {}; return topics; });
  }

  /* An office code as a name, the way the list names it. */
  function officeName(code) {
    if (!code) return "";
    if (code === "510000") return "四川省经济和信息化厅（跨区域协作）";
    var r = (regions || []).filter(function (x) { return x.code === code; })[0];
    return r ? r.name + "经济和信息化局" : code;
  }

  var ROLE_NAMES = { viewer: "查看", handler: "办理", admin: "管理员" };

  /* A push target's tag as staff read it: 成都市（510100）, 财税（tax）,
   * 工作人员（staff）; the code stays beside the name, it is what the
   * audience of a notice is typed with. Needs loadRegions and loadTopics. */
  var TAG_NAMES = { staff: "工作人员", all: "全部" };
  function tagLabel(tag) {
    var r = (regions || []).filter(function (x) { return x.code === tag; })[0];
    var name = r ? r.name : (topics && topics[tag]) || TAG_NAMES[tag];
    return name ? name + "（" + tag + "）" : tag;
  }

  function staffOptions(first) {
    return [h("option", { value: "", text: first })].concat((staffList || []).map(function (p) {
      return h("option", { value: p.name, text: p.name + "（" + p.role_label + "）" });
    }));
  }

  function loadWorkflow() {
    if (workflow) return Promise.resolve(workflow);
    return api("GET", "/api/admin/workflow").then(function (r) { workflow = r.body; return workflow; });
  }

  function statusOptions() {
    var seen = {}, out = [h("option", { value: "", text: "全部状态" })];
    ["complaint", "consult"].forEach(function (form) {
      ((workflow.machines[form] || {}).statuses || []).forEach(function (s) {
        if (seen[s.id]) return;
        seen[s.id] = true;
        out.push(h("option", { value: s.id, text: s.label }));
      });
    });
    return out;
  }

  function regionOptions(all, sichuanOnly) {
    var out = [h("option", { value: "", text: all })];
    regions.forEach(function (r) {
      if (sichuanOnly && !r.sichuan) return;
      out.push(h("option", { value: r.code, text: r.name }));
    });
    return out;
  }

  function select(name, options, value) {
    var s = h("select", { name: name }, options);
    s.value = value || "";
    return s;
  }

  /* ---- sign in ------------------------------------------------------- */

  function showNav() {
    var signedIn = !!me;
    document.getElementById("nav").hidden = !signedIn;
    document.getElementById("who").hidden = !signedIn;
    document.getElementById("menu-toggle").hidden = !signedIn;
    if (signedIn) {
      var roleName = ROLE_NAMES[me.role] || me.role;
      document.getElementById("who-name").textContent = me.name + "（" + roleName + "）";
      Array.prototype.forEach.call(document.querySelectorAll("[data-role]"), function (a) {
        a.hidden = !roleAtLeast(a.getAttribute("data-role"));
      });
    }
  }

  function viewLogin() {
    var input = h("input", { type: "password", name: "token", autocomplete: "off", required: true,
      placeholder: "粘贴管理员发给您的令牌" });
    var form = h("form", { className: "card form login", onsubmit: function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      signingIn = true;
      api("GET", "/api/admin/me").then(function (r) {
        signingIn = false;
        me = r.body;
        showNav();
        flash("");
        if (location.hash === "#/cases") route();
        else location.hash = "#/cases";
      }, function (e) {
        signingIn = false;
        sessionStorage.removeItem(TOKEN_KEY);
        flash(e.message, true);
        input.select();
      });
    } }, [
      h("h1", { text: "工作人员登录" }),
      h("label", {}, ["访问令牌", input]),
      h("p", { className: "muted", text: "令牌只保存在本标签页中，关闭页面后需重新登录。" }),
      h("button", { type: "submit", className: "primary", text: "登录" }),
    ]);
    clear(app);
    app.appendChild(form);
    input.focus();
  }

  /* ---- case list ------------------------------------------------------ */

  var FILTERS = ["type", "status", "region", "from", "to", "overdue", "q", "handler"];

  function viewCases(params) {
    loading();
    Promise.all([loadWorkflow(), loadRegions(), loadStaff(), loadTopics()]).then(function () {
      var f = {};
      FILTERS.forEach(function (k) { f[k] = params[k] || ""; });
      var form = h("form", { className: "filters", id: "filters", onsubmit: function (ev) {
        ev.preventDefault();
        var p = {};
        FILTERS.forEach(function (k) {
          var el = form.elements[k];
          p[k] = el.type === "checkbox" ? (el.checked ? "1" : "") : el.value.trim();
        });
        location.hash = "#/cases?" + qs(p);
      } }, [
        h("label", {}, ["类型", select("type", [h("option", { value: "", text: "全部类型" }),
          h("option", { value: "complaint", text: "拖欠款项投诉" }),
          h("option", { value: "consult", text: "在线咨询" })], f.type)]),
        h("label", {}, ["状态", select("status", statusOptions(), f.status)]),
        h("label", {}, ["地区", select("region", regionOptions("全部地区"), f.region)]),
        h("label", {}, ["提交日期从", h("input", { type: "date", name: "from", value: f.from })]),
        h("label", {}, ["至", h("input", { type: "date", name: "to", value: f.to })]),
        h("label", {}, ["承办人", select("handler", staffOptions("全部承办人"), f.handler)]),
        h("label", {}, ["搜索", h("input", { type: "search", name: "q", value: f.q,
          placeholder: "编号、企业名称、手机号" })]),
        h("label", { className: "check" }, [h("input", { type: "checkbox", name: "overdue",
          checked: f.overdue === "1" }), " 只看逾期"]),
        h("button", { type: "submit", className: "primary", text: "查询" }),
        h("a", { className: "button", href: "#/cases", text: "清除" }),
      ]);
      var exports = h("div", { className: "actions" }, [
        h("button", { type: "button", id: "export-csv", onclick: function () { doExport("csv", f); },
          text: "导出 Excel (CSV)" }),
        h("button", { type: "button", id: "export-jsonl", onclick: function () { doExport("jsonl", f); },
          text: "导出 JSON Lines" }),
      ]);
      var tbody = h("tbody", { id: "case-rows" });
      var table = h("div", { className: "tablewrap" }, [h("table", { className: "cases" }, [
        h("thead", {}, [h("tr", {}, [h("th", { text: "编号" }), h("th", { text: "类型" }),
          h("th", { text: "企业" }), h("th", { className: "hide-narrow", text: "被投诉单位 / 类别" }),
          h("th", { text: "状态" }), h("th", { text: "期限" }),
          h("th", { className: "hide-narrow", text: "承办" }), h("th", { text: "提交时间" })])]),
        tbody])]);
      var more = h("button", { type: "button", id: "more", hidden: true, text: "加载更多" });
      var count = h("p", { className: "muted", id: "count" });
      /* On a phone the eight filters fold behind one line (open when any
       * is set); on a wider screen they are open. */
      var active = FILTERS.filter(function (k) { return f[k]; }).length;
      var box = h("details", { className: "card filter-box", id: "filter-box" }, [
        h("summary", { text: "筛选与搜索" + (active ? "（已选 " + active + " 项）" : "") }), form]);
      box.open = active > 0 || !window.matchMedia("(max-width: 599px)").matches;
      page("案件", [box, exports, h("div", { className: "card" }, [table, count, more])]);
      var cursor = null, shown = 0;
      function load() {
        more.disabled = true;
        var p = {};
        FILTERS.forEach(function (k) { p[k] = f[k]; });
        p.limit = 50;
        if (cursor) p.cursor = cursor;
        api("GET", "/api/admin/cases?" + qs(p)).then(function (r) {
          r.body.cases.forEach(function (c) { tbody.appendChild(caseRow(c)); shown++; });
          cursor = r.body.next_cursor;
          more.hidden = !cursor;
          more.disabled = false;
          count.textContent = shown ? "已显示 " + shown + " 件" + (cursor ? "" : "（全部）") : "";
          if (!shown) tbody.appendChild(h("tr", { className: "none" }, [h("td", { colspan: 8, className: "empty",
            text: "没有符合条件的案件。" })]));
        }, function (e) { more.disabled = false; flash(e.message, true); });
      }
      more.addEventListener("click", load);
      load();
    }, failed);
  }

  function caseRow(c) {
    var tr = h("tr", { className: "rowlink", "data-id": c.id, onclick: function () {
      location.hash = "#/case/" + encodeURIComponent(c.id);
    } }, [
      h("td", { className: "c-id" }, [h("a", { href: "#/case/" + encodeURIComponent(c.id), text: c.id })]),
      h("td", { className: "c-type", text: c.type === "complaint" ? "投诉" : "咨询" }),
      h("td", { className: "c-company", text: c.company_name }),
      h("td", { className: "c-other hide-narrow", text: c.respondent_name || (c.topic && topics && topics[c.topic]) || c.topic || "" }),
      h("td", { className: "c-status" }, [h("span", { className: "badge info", text: c.status_label })]),
      h("td", { className: "c-deadline" }, [deadlineBadge(c.deadline)]),
      h("td", { className: "c-handler hide-narrow", text: (c.handler ? c.handler + " · " : "") + (c.office_name || "") }),
      h("td", { className: "c-time", text: fmtTime(c.created_at) }),
    ]);
    return tr;
  }

  /* Downloads need the Authorization header: fetch, then save the blob. */
  function doExport(fmt, f) {
    var btn = document.getElementById("export-" + fmt);
    btn.disabled = true;
    flash("正在导出，请稍候…");
    var p = {};
    FILTERS.forEach(function (k) { p[k] = f[k]; });
    /* Unmasked exports need the handler role: a viewer exports masked. */
    if (!roleAtLeast("handler")) p.masked = "1";
    fetch("/api/admin/cases." + fmt + "?" + qs(p), { headers: { "Authorization": "Bearer " + token() } })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (j) { throw new Error(errText(j, r.status)); });
        var name = "cases." + fmt;
        var cd = r.headers.get("Content-Disposition") || "";
        var m = /filename="([^"]+)"/.exec(cd);
        if (m) name = m[1];
        return r.blob().then(function (b) {
          var url = URL.createObjectURL(b);
          var a = h("a", { href: url, download: name });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
          flash("已导出 " + name);
        });
      })
      .catch(function (e) { flash(e.message || "导出失败", true); })
      .then(function () { btn.disabled = false; });
  }

  /* ---- evidence files ---------------------------------------------------- */

  function sizeText(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  }

  /* Fetches a file with the token (every download is audited), then shows
   * an image inline (a data: URL, which the console's CSP allows) or saves
   * a PDF. */
  function openFile(f, btn, slot) {
    btn.disabled = true;
    fetch(f.url, { headers: { "Authorization": "Bearer " + token() } })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (j) { throw new Error(errText(j, r.status)); });
        return r.blob();
      })
      .then(function (b) {
        if (/^image\//.test(f.type)) {
          return new Promise(function (res) {
            var fr = new FileReader();
            fr.onload = function () {
              clear(slot);
              slot.appendChild(h("img", { src: fr.result, alt: f.kind_label + "：" + f.name, className: "file-preview" }));
              res();
            };
            fr.readAsDataURL(b);
          });
        }
        var url = URL.createObjectURL(b);
        var a = h("a", { href: url, download: f.name });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      })
      .catch(function (e) { flash(e.message || "下载失败", true); })
      .then(function () { btn.disabled = false; });
  }

  /* One file with its view/download button (audited on the server). */
  function fileItem(f) {
    var slot = h("div", { className: "file-slot" });
    var btn = h("button", { type: "button", className: "small", "data-file": f.id,
      text: /^image\//.test(f.type) ? "查看" : "下载" });
    btn.onclick = function () { openFile(f, btn, slot); };
    return h("li", {}, [h("strong", { text: f.kind_label + "：" }), h("span", { text: f.name + " " }),
      f.later ? h("span", { className: "badge info", "data-later": "1", text: supplementFrom(f) }) : null,
      h("span", { className: "muted", text: " " + sizeText(f.size) + " · SHA-256 " + String(f.sha256).slice(0, 12) + "… " }),
      btn, slot]);
  }

  /* Where a file added after submission came from. */
  function supplementFrom(f) {
    return f.by === "supplement" ? "企业补充" : "立案后添加";
  }

  function filesCard(c) {
    var list = c.files || [];
    if (!list.length) return null;
    return h("div", { className: "card", id: "case-files" }, [h("ul", { className: "files" }, list.map(fileItem))]);
  }

  /* ---- requests for more material --------------------------------------- */

  /* The open request of a case in needs_info for the summary: what was
   * asked, the date, and the overdue mark. */
  function supplementFacts(c) {
    var s = c.supplement;
    if (!s) return [];
    return [
      h("dt", { text: "补充期限" }), h("dd", { id: "case-supply-by" }, [s.supply_by + " ",
        s.overdue ? h("span", { className: "badge late", "data-supply-overdue": "1", text: "补充期限已过" }) :
          h("span", { className: "muted", text: "（已等待 " + s.waiting_workdays + " 个工作日）" })]),
      h("dt", { text: "要求补充" }), h("dd", { className: "note public", text: s.message })
    ];
  }

  /* What a history entry adds about more material: the date asked, the
   * days waited, and the enterprise's answer with its files. */
  function supplementNotes(e, c) {
    var out = [];
    if (e.supply_by) out.push(h("div", { className: "note", text: "补充期限：" + e.supply_by }));
    if (typeof e.waited_workdays === "number") {
      out.push(h("div", { className: "note", "data-waited": String(e.waited_workdays),
        text: "等待补充材料 " + e.waited_workdays + " 个工作日" }));
    }
    var s = e.supplement;
    if (s) {
      if (s.text) out.push(h("div", { className: "note public", text: "企业补充说明：" + s.text }));
      var byId = {};
      (c.files || []).forEach(function (f) { byId[f.id] = f; });
      var files = (s.files || []).map(function (f) { return byId[f.id]; }).filter(Boolean);
      if (files.length) out.push(h("ul", { className: "files supplement-files" }, files.map(fileItem)));
    }
    return out;
  }

  /* ---- one case -------------------------------------------------------- */

  function viewCase(id) {
    loading();
    Promise.all([loadRegions(), api("GET", "/api/admin/cases/" + encodeURIComponent(id)), loadWorkflow(),
      loadStaff()]).then(function (res) {
      renderCase(res[1].body.case);
    }, failed);
  }

  /* Who made a history entry: the enterprise's own actions (withdrawal,
   * evaluation, after an SMS code) are named as such. */
  function byName(by) {
    return by === "enterprise" ? "企业（短信验证）" : by;
  }

  function renderCase(c) {
    var dl = c.deadline;
    var byEnterprise = c.status === "withdrawn" && c.history.some(function (e) {
      return e.to === "withdrawn" && e.by === "enterprise";
    });
    var summary = h("div", { className: "card" }, [
      h("dl", { className: "kv" }, [
        h("dt", { text: "类型" }), h("dd", { text: c.type_label }),
        h("dt", { text: "状态" }), h("dd", {}, [h("span", { className: "badge info", id: "case-status",
          text: c.status_label }), byEnterprise ? h("span", { className: "badge soon", id: "case-withdrawn-by",
          text: "企业撤回" }) : null]),
        h("dt", { text: "当前期限" }), h("dd", { id: "case-deadline", className: "deadline" }, dl ? [
          dl.what + "：" + dl.due + " ", deadlineBadge(dl),
          dl.extended ? h("span", { className: "muted", text: "（已延长至 " + dl.limit + " 天）" }) : null,
          dl.fallback_calendar ? h("span", { className: "muted", text: "（所跨年份缺少节假日安排，按周一至周五计算）" }) : null,
        ] : [h("span", { className: "muted", text: "当前状态没有办理时限" })]),
        h("dt", { text: "提交时间" }), h("dd", { text: fmtTime(c.created_at) }),
        h("dt", { text: "来源" }), h("dd", { text: c.source.indexOf("chat:") === 0 ? "聊天机器人（" + c.source.slice(5) + "）" : "网页" }),
        h("dt", { text: "企业" }), h("dd", { text: c.company_name }),
        h("dt", { text: "联系人" }), h("dd", { text: c.contact_name + "  " + c.mobile }),
        c.amount_fen !== undefined ? h("dt", { text: "拖欠金额" }) : null,
        c.amount_fen !== undefined ? h("dd", { text: yuan(c.amount_fen) }) : null,
        h("dt", { text: "承办" }), h("dd", { text: (c.handler || "未指定承办人") + " · " + c.office_name +
          (c.office_assigned ? "" : "（默认）") }),
        c.cross_region ? h("dt", { text: "跨区域" }) : null,
        c.cross_region ? h("dd", {}, [h("span", { className: "badge soon",
          text: c.cross_region.channel + " · " + c.cross_region.partner_name })]) : null,
        c.department ? h("dt", { text: "接收部门" }) : null,
        c.department ? h("dd", { id: "case-department", text: c.department_label }) : null,
        c.result ? h("dt", { text: "办理结果" }) : null,
        c.result ? h("dd", { id: "case-result", text: c.result_label +
          (c.recovered_fen !== undefined ? "，追回 " + yuan(c.recovered_fen) : "") +
          (c.result_reason ? "（" + c.result_reason + "）" : "") }) : null,
        c.rating ? h("dt", { text: "企业评价" }) : null,
        c.rating ? h("dd", { id: "case-rating", text: c.rating_label +
          (c.rating_comment ? "：" + c.rating_comment : "") }) : null,
      ].concat(supplementFacts(c), [
        c.possible_duplicate ? h("dt", { text: "疑似重复" }) : null,
        c.possible_duplicate ? h("dd", {}, [h("a", { href: "#/case/" + c.dup_of, text: c.dup_of })]) : null,
      ])),
    ]);
    var fields = h("div", { className: "card" }, c.fields.map(function (st) {
      return h("section", {}, [h("h2", { text: st.title }), h("dl", { className: "kv" },
        [].concat.apply([], st.fields.map(function (f) {
          return [h("dt", { text: f.label }), h("dd", { text: f.value })];
        })))]);
    }));
    var files = filesCard(c);
    var history = h("ol", { className: "timeline", id: "history" }, c.history.map(function (e) {
      var what;
      if (e.kind === "assign") what = "分派：承办人 " + (e.handler || "—") + "，承办单位 " + officeName(e.office);
      else if (e.kind === "extension") what = "延长答复期限至 " + e.days + " 天";
      else if (e.kind === "sms") what = e.note || "短信通知";
      else if (e.kind === "evaluation") what = "企业评价：" + (e.rating_label || e.rating);
      else what = (e.from_label ? e.from_label + " → " : "") + e.to_label;
      /* Entries from before the message was separate: a public note. */
      var message = e.message || (e.public && e.kind === "status" ? e.note : "");
      var internal = e.message || !e.public ? e.note : "";
      if (internal === message) internal = ""; /* the enterprise's own words, said once */
      if (e.kind === "evaluation") { message = ""; internal = e.note ? "评价意见：" + e.note : ""; }
      return h("li", { className: e.kind === "status" ? "" : "internal" }, [
        h("strong", { text: what }), " ",
        h("span", { className: "muted", text: fmtTime(e.at) + " · " + byName(e.by) }),
        e.department_label ? h("div", { className: "note", text: "接收部门：" + e.department_label }) : null,
        e.result_label ? h("div", { className: "note", text: "办理结果：" + e.result_label +
          (e.recovered_fen !== undefined ? "，追回 " + yuan(e.recovered_fen) : "") +
          (e.result_reason ? "（" + e.result_reason + "）" : "") }) : null,
        message ? h("div", { className: "note public", text: "对企业说明：" + message }) : null,
        internal && e.kind !== "sms" ? h("div", { className: "note", text: (e.kind === "status" ? "内部说明：" : "") + internal }) : null,
      ].concat(supplementNotes(e, c)));
    }));
    var notes = h("div", {}, c.notes.length ? c.notes.map(function (n) {
      return h("div", { className: "card" }, [h("div", { className: "muted", text: fmtTime(n.at) + " · " + n.by }),
        h("div", { className: "note", text: n.text })]);
    }) : [h("p", { className: "muted", text: "暂无内部备注。" })]);

    var side = [h("h2", { text: "办理" })];
    if (roleAtLeast("handler")) {
      side.push(actionsCard(c), assignCard(c));
      if (c.extension && c.extension.allowed) side.push(extensionCard(c));
      side.push(noteCard(c));
    } else {
      side.push(h("p", { className: "muted", text: "当前账号只有查看权限。" }));
    }
    page("案件 " + c.id, [h("div", { className: "grid2" }, [
      h("div", {}, [summary, h("h2", { text: "办理记录" }), h("div", { className: "card" }, [history]),
        h("h2", { text: "填报内容" }), fields, files ? h("h2", { text: "证据文件" }) : null, files,
        h("h2", { text: "内部备注" }), notes]),
      h("div", {}, side),
    ])]);
  }

  function after(promise, msg) {
    return promise.then(function (r) {
      flash(msg);
      if (r.body && r.body.case) renderCase(r.body.case);
      else route();
    }, function (e) {
      flash(e.message, true);
    });
  }

  function labelled(text, control, extra) {
    return h("label", extra || {}, [text, control]);
  }

  /* The moves: a button picks one, then a form asks for what it needs:
   * the internal note, the outcome or the department, and, only when
   * ticked (never by default), a message for the enterprise with a
   * preview of what its lookup will show. */
  function actionsCard(c) {
    var moves = c.allowed_moves, chosen = null;
    if (!moves.length) return h("div", { className: "card" }, [h("p", { className: "muted", text: "案件已办结，没有可执行的操作。" })]);
    var note = h("textarea", { name: "note", id: "move-note", placeholder: "仅工作人员可见，不会告知企业" });
    var noteLabel = labelled("内部说明", note);
    var result = select("result", [h("option", { value: "", text: "请选择办理结果" })].concat(
      (workflow.results || []).map(function (r) { return h("option", { value: r.id, text: r.label }); })), c.result || "");
    result.id = "move-result";
    var recovered = h("input", { type: "text", inputmode: "decimal", name: "recovered", id: "move-recovered",
      placeholder: "如 12,000.50；没有追回填 0",
      value: typeof c.recovered_fen === "number" ? (c.recovered_fen / 100).toFixed(2) : "" });
    var reason = h("textarea", { name: "reason", id: "move-reason", placeholder: "如：已进入诉讼程序、不属于受理范围" });
    var reasonLabel = labelled("不予受理理由 *", reason, { hidden: true });
    var outcome = h("div", { className: "form", id: "move-outcome", hidden: true }, [
      labelled("办理结果 *", result), labelled("追回金额（元）*", recovered), reasonLabel]);
    var dept = select("department", [h("option", { value: "", text: "请选择接收部门" })].concat(
      (workflow.departments || []).map(function (d) { return h("option", { value: d.id, text: d.label }); })), c.department || "");
    dept.id = "move-department";
    var deptLabel = labelled("接收部门 *", dept, { hidden: true });
    var pub = h("input", { type: "checkbox", name: "public", id: "move-public" });
    var template = select("template", [], "");
    template.id = "move-template";
    var message = h("textarea", { name: "message", id: "move-message", placeholder: "企业查询进度时会看到这段文字" });
    var preview = h("div", { className: "preview", id: "move-preview", "aria-live": "polite" });
    var supplyBy = h("input", { type: "date", name: "supply_by", id: "move-supply-by" });
    var supplyLabel = labelled("补充期限（不填则为默认的工作日数）", supplyBy, { hidden: true });
    var msgBox = h("div", { className: "form", id: "move-message-box", hidden: true }, [
      labelled("常用模板", template), labelled("给企业的说明", message), supplyLabel]);
    var title = h("strong", { id: "move-title" });
    var submit = h("button", { type: "submit", id: "move-submit", className: "primary" });
    var buttons = moves.map(function (m) {
      return h("button", { type: "button", className: m.to === "rejected" || m.to === "withdrawn" ? "danger" : "",
        "data-move": m.to, "aria-pressed": "false", onclick: function () { choose(m); } }, [m.action]);
    });

    function resultOf(id) {
      return (workflow.results || []).filter(function (r) { return r.id === id; })[0];
    }

    function updatePreview() {
      clear(preview);
      var text = pub.checked ? message.value.trim() : "";
      preview.appendChild(h("p", { className: "muted", text: "企业查询进度时将看到：" }));
      preview.appendChild(h("ol", { className: "timeline" }, [h("li", {}, [
        h("strong", { text: chosen ? chosen.to_label : "" }), " ",
        h("span", { className: "muted", text: "刚刚" }),
        text ? h("div", { className: "note", text: text }) : null])]));
      if (!text) preview.appendChild(h("p", { className: "muted", text: "企业只看到状态的变化；内部说明不会公开。" }));
    }

    function choose(m) {
      chosen = m;
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", b.getAttribute("data-move") === m.to ? "true" : "false"); });
      form.hidden = false;
      title.textContent = m.action + "：" + c.status_label + " → " + m.to_label;
      noteLabel.firstChild.textContent = m.note_required ? "内部说明 *" : "内部说明（可不填）";
      outcome.hidden = !m.outcome_required;
      deptLabel.hidden = !m.department_required;
      reasonLabel.hidden = !(m.outcome_required && resultOf(result.value) && resultOf(result.value).reason_required);
      /* A request for more material must tell the enterprise what is missing. */
      pub.checked = !!m.message_required;
      pub.disabled = !!m.message_required;
      msgBox.hidden = !m.message_required;
      supplyLabel.hidden = m.to !== "needs_info";
      supplyBy.value = "";
      message.value = "";
      clear(template);
      template.appendChild(h("option", { value: "", text: "不使用模板" }));
      (workflow.messages || []).forEach(function (t, i) {
        if (t.to === m.to) template.appendChild(h("option", { value: String(i), text: t.title }));
      });
      submit.textContent = "确认" + m.action;
      submit.className = m.to === "rejected" || m.to === "withdrawn" ? "danger" : "primary";
      updatePreview();
      note.focus();
    }

    pub.addEventListener("change", function () { msgBox.hidden = !pub.checked; updatePreview(); });
    template.addEventListener("change", function () {
      var t = (workflow.messages || [])[parseInt(template.value, 10)];
      if (t) message.value = t.text;
      updatePreview();
    });
    message.addEventListener("input", updatePreview);
    result.addEventListener("change", function () {
      var r = resultOf(result.value);
      reasonLabel.hidden = !(r && r.reason_required);
    });

    var form = h("form", { className: "form", id: "move-form", hidden: true, onsubmit: function (ev) {
      ev.preventDefault();
      var m = chosen;
      if (!m) return;
      if (m.note_required && !note.value.trim()) { flash("“" + m.action + "”需要填写内部说明。", true); note.focus(); return; }
      var body = { to: m.to, note: note.value };
      if (m.outcome_required) {
        if (!result.value) { flash("请选择办理结果。", true); result.focus(); return; }
        if (!recovered.value.trim()) { flash("请填写追回金额，没有追回填 0。", true); recovered.focus(); return; }
        body.result = result.value;
        body.recovered = recovered.value.trim();
        if (!reasonLabel.hidden) body.reason = reason.value;
      }
      if (m.department_required) {
        if (!dept.value) { flash("请选择接收部门。", true); dept.focus(); return; }
        body.department = dept.value;
      }
      if (pub.checked) {
        if (!message.value.trim()) {
          flash(m.message_required ? "请在给企业的说明中列明需要补充的全部材料。" : "已勾选告知企业，请填写给企业的说明。", true);
          message.focus();
          return;
        }
        body.message = message.value.trim();
      }
      if (m.to === "needs_info" && supplyBy.value) body.supply_by = supplyBy.value;
      after(change("/api/admin/cases/" + encodeURIComponent(c.id) + "/transitions", body), "已" + m.action + "。");
    } }, [title, noteLabel, deptLabel, outcome,
      h("label", { className: "check" }, [pub, " 同时告知企业（企业查询进度时可见）"]), msgBox, preview,
      h("div", { className: "actions" }, [submit])]);
    return h("div", { className: "card form" }, [h("div", { className: "actions", id: "moves" }, buttons), form]);
  }

  function assignCard(c) {
    var handler = select("handler", staffOptions("未指定"), c.handler);
    var office = select("office", [h("option", { value: "", text: "按地区默认（" + c.office_name + "）" }),
      h("option", { value: "510000", text: "省厅（跨区域协作）" })].concat(regionOptions("", true).slice(1)),
      c.office_assigned ? c.office : "");
    /* A name no longer configured stays visible rather than silently cleared. */
    if (c.handler && handler.value !== c.handler) {
      handler.appendChild(h("option", { value: c.handler, text: c.handler + "（已不在名单）" }));
      handler.value = c.handler;
    }
    return h("form", { className: "card form", onsubmit: function (ev) {
      ev.preventDefault();
      after(change("/api/admin/cases/" + encodeURIComponent(c.id) + "/assign",
        { handler: handler.value, office: office.value }), "已分派。");
    } }, [h("div", { className: "row" }, [h("label", {}, ["承办人", handler]), h("label", {}, ["承办单位", office])]),
      h("button", { type: "submit", text: "保存分派" })]);
  }

  function extensionCard(c) {
    /* No number filled in: the handler decides how long, within the law. */
    var days = h("input", { type: "number", name: "days", inputmode: "numeric", required: true,
      min: c.extension.min_days, max: c.extension.max_days,
      placeholder: c.extension.min_days + "–" + c.extension.max_days });
    var reason = h("textarea", { name: "reason", placeholder: "如：涉及多个部门，需要现场核实" });
    return h("form", { className: "card form", onsubmit: function (ev) {
      ev.preventDefault();
      after(change("/api/admin/cases/" + encodeURIComponent(c.id) + "/extension",
        { days: parseInt(days.value, 10), reason: reason.value }), "已延长答复期限。");
    } }, [h("strong", { text: "延长答复期限（当前 " + c.extension.current_days + " 天，最长 " + c.extension.max_days + " 天）" }),
      h("label", {}, ["自转办之日起天数", days]), h("label", {}, ["延期理由 *", reason]),
      h("button", { type: "submit", text: "延长期限" })]);
  }

  function noteCard(c) {
    var text = h("textarea", { name: "text", placeholder: "仅工作人员可见" });
    return h("form", { className: "card form", onsubmit: function (ev) {
      ev.preventDefault();
      change("/api/admin/cases/" + encodeURIComponent(c.id) + "/notes", { text: text.value }).then(function () {
        flash("备注已保存。");
        viewCase(c.id);
      }, function (e) { flash(e.message, true); });
    } }, [h("label", {}, ["内部备注", text]), h("button", { type: "submit", text: "添加备注" })]);
  }

  /* ---- statistics --------------------------------------------------------- */

  /* Horizontal bars: one row per item, scaled to the largest count
   * (x.text, when given, is written beside the bar instead of the count). */
  function barChart(items, label, id) {
    var rowH = 26, labelW = 150, width = 640, max = 1, room = 60;
    items.forEach(function (x) {
      if (x.count > max) max = x.count;
      if (x.text !== undefined) room = Math.max(room, 8 * x.text.length + 12);
    });
    var height = Math.max(rowH * items.length + 10, 40);
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": label, id: id, "class": "bar-chart" });
    items.forEach(function (x, i) {
      var w = Math.max(2, Math.round((width - labelW - room) * x.count / max));
      var y = 5 + i * rowH;
      root.appendChild(svg("text", { x: labelW - 8, y: y + 16, "text-anchor": "end", text: x.label }));
      var shown = x.text !== undefined ? x.text : String(x.count);
      root.appendChild(svg("rect", { x: labelW, y: y + 3, width: w, height: rowH - 8, "class": "bar" },
        [svg("title", { text: x.label + "：" + shown })]));
      root.appendChild(svg("text", { x: labelW + w + 6, y: y + 16, text: shown }));
    });
    if (!items.length) root.appendChild(svg("text", { x: 10, y: 24, text: "暂无数据" }));
    return root;
  }

  function viewStats(params) {
    loading();
    api("GET", "/api/admin/stats?" + qs({ type: params.type, from: params.from, to: params.to })).then(function (r) {
      var s = r.body.stats, a = s.answer;
      var form = h("form", { className: "card filters", onsubmit: function (ev) {
        ev.preventDefault();
        location.hash = "#/stats?" + qs({ type: form.elements.type.value, from: form.elements.from.value, to: form.elements.to.value });
      } }, [
        h("label", {}, ["类型", select("type", [h("option", { value: "", text: "全部类型" }),
          h("option", { value: "complaint", text: "拖欠款项投诉" }), h("option", { value: "consult", text: "在线咨询" })], params.type)]),
        h("label", {}, ["提交日期从", h("input", { type: "date", name: "from", value: params.from || "" })]),
        h("label", {}, ["至", h("input", { type: "date", name: "to", value: params.to || "" })]),
        h("button", { type: "submit", className: "primary", text: "统计" }),
      ]);
      var share = a.on_time_share === null ? "—" : Math.round(a.on_time_share * 1000) / 10 + "%";
      var summary = h("div", { className: "card" }, [h("dl", { className: "kv" }, [
        h("dt", { text: "案件总数" }), h("dd", { id: "stat-total", text: String(s.total) }),
        h("dt", { text: "在办逾期" }), h("dd", { text: String(s.overdue_open) }),
        h("dt", { text: "已答复" }), h("dd", { text: String(a.answered) }),
        h("dt", { text: "答复用时中位数" }), h("dd", { text: a.median_days === null ? "—" : a.median_days + " 天" }),
        h("dt", { text: "按期答复率" }), h("dd", { text: share + "（有时限的 " + a.with_limit + " 件中 " + a.on_time + " 件按期）" }),
      ].concat([].concat.apply([], s.by_type.map(function (t) {
        return [h("dt", { text: t.label }), h("dd", { text: t.count + " 件" })];
      }))))]);
      var status = h("div", { className: "card" }, [barChart(s.by_status.map(function (x) {
        return { label: x.label, count: x.count };
      }), "按状态", "chart-status")]);
      page("统计", [form, summary,
        h("h2", { text: "按地区" }), h("div", { className: "card" }, [barChart(s.by_region.map(function (x) {
          return { label: x.label, count: x.count };
        }), "按地区", "chart-region")]),
        h("h2", { text: "按月份" }), h("div", { className: "card" }, [barChart(s.by_month.map(function (x) {
          return { label: x.month, count: x.count };
        }), "按月份", "chart-month")]),
        h("h2", { text: "按状态" }), status].concat(amountSections(s), satisfactionSections(s.satisfaction)));
    }, failed);
  }

  function pct(share) { return share === null || share === undefined ? "—" : Math.round(share * 1000) / 10 + "%"; }

  /* The figures reported upward: amounts involved and recovered (tables
   * that read out well, plus a bar chart of the amounts involved), the
   * share of each legal deadline met, and a place for satisfaction. */
  function amountTable(list, key, id, head) {
    var rows = (list || []).map(function (x) {
      return h("tr", {}, [h("th", { scope: "row", text: x.label || x[key] }), h("td", { className: "num", text: String(x.count) }),
        h("td", { className: "num", text: yuan(x.involved_fen) }), h("td", { className: "num", text: yuan(x.recovered_fen) }),
        h("td", { className: "num", text: x.involved_fen ? pct(x.recovered_fen / x.involved_fen) : "—" })]);
    });
    return h("div", { className: "tablewrap" }, [h("table", { id: id }, [h("thead", {}, [h("tr", {},
      [head, "投诉件数", "涉及金额", "追回金额", "追回比例"].map(function (t) { return h("th", { scope: "col", text: t }); }))]),
      h("tbody", {}, rows.length ? rows : [h("tr", {}, [h("td", { colspan: 5, className: "empty", text: "暂无数据。" })])])])]);
  }

  function amountSections(s) {
    if (!s.amounts) return [];
    var ot = s.on_time || {};
    var otRows = ["review", "transfer", "answer"].map(function (k) {
      var o = ot[k] || {};
      return h("tr", {}, [h("th", { scope: "row", text: o.label || k }), h("td", { className: "num", text: String(o.with_limit || 0) }),
        h("td", { className: "num", text: String(o.on_time || 0) }), h("td", { className: "num", text: pct(o.on_time_share) })]);
    });
    function chart(list, label, id) {
      return barChart((list || []).map(function (x) {
        return { label: x.label || x.month, count: x.involved_fen, text: yuan(x.involved_fen) };
      }), label, id);
    }
    return [
      h("h2", { text: "涉及与追回金额（投诉）" }),
      h("div", { className: "card" }, [h("dl", { className: "kv", id: "stat-amounts" }, [
        h("dt", { text: "涉及金额" }), h("dd", { text: yuan(s.amounts.involved_fen) }),
        h("dt", { text: "追回金额" }), h("dd", { text: yuan(s.amounts.recovered_fen) }),
        h("dt", { text: "已记录办理结果" }), h("dd", { text: s.amounts.with_result + " 件" }),
        h("dt", { text: "企业满意度" }), h("dd", { text: satisfactionText(s.satisfaction) })])]),
      h("h3", { text: "按被投诉单位类型" }), amountTable(s.amounts_by_payer_type, "payer_type", "amounts-payer", "被投诉单位类型"),
      h("div", { className: "card" }, [chart(s.amounts_by_payer_type, "涉及金额（按被投诉单位类型）", "chart-payer")]),
      h("h3", { text: "按接收部门" }), amountTable(s.amounts_by_department, "department", "amounts-department", "接收部门"),
      h("div", { className: "card" }, [chart(s.amounts_by_department, "涉及金额（按接收部门）", "chart-department")]),
      h("h3", { text: "按地区" }), amountTable(s.amounts_by_region, "region", "amounts-region", "地区"),
      h("h3", { text: "按月份" }), amountTable(s.amounts_by_month, "month", "amounts-month", "月份"),
      h("h2", { text: "按期办结率（按期限）" }),
      h("div", { className: "tablewrap" }, [h("table", { id: "on-time" }, [h("thead", {}, [h("tr", {},
        ["期限", "有时限的件数", "按期件数", "按期率"].map(function (t) { return h("th", { scope: "col", text: t }); }))]),
        h("tbody", {}, otRows)])])];
  }

  /* The enterprises' evaluations: the share 满意 or 基本满意 among the
   * rated, overall and by type, region and month (of submission). */
  function satisfactionText(sf) {
    if (!sf || !sf.rated) return "暂无企业评价";
    return "满意及基本满意 " + pct(sf.satisfied_share) + "（已评价 " + sf.rated + " 件，占已办结 " + pct(sf.response_share) + "）";
  }

  function satisfactionSections(sf) {
    if (!sf) return [];
    function rows(list, key) {
      var r = (list || []).map(function (x) {
        return h("tr", {}, [h("th", { scope: "row", text: x.label || x[key] }), h("td", { className: "num", text: String(x.rated) }),
          h("td", { className: "num", text: String(x.satisfied) }), h("td", { className: "num", text: String(x.basically_satisfied) }),
          h("td", { className: "num", text: String(x.dissatisfied) }), h("td", { className: "num", text: pct(x.satisfied_share) })]);
      });
      return r.length ? r : [h("tr", {}, [h("td", { colspan: 6, className: "empty", text: "暂无评价。" })])];
    }
    function table(list, key, id, head) {
      return h("div", { className: "tablewrap" }, [h("table", { id: id }, [h("thead", {}, [h("tr", {},
        [head, "评价件数", "满意", "基本满意", "不满意", "满意率"].map(function (t) { return h("th", { scope: "col", text: t }); }))]),
        h("tbody", {}, rows(list, key))])]);
    }
    function chart(list, label, id) {
      return barChart((list || []).map(function (x) {
        return { label: x.label || x.month, count: Math.round((x.satisfied_share || 0) * 1000), text: pct(x.satisfied_share) };
      }), label, id);
    }
    return [
      h("h2", { text: "企业满意度" }),
      h("div", { className: "card" }, [h("dl", { className: "kv", id: "stat-satisfaction" }, [
        h("dt", { text: "满意率" }), h("dd", { text: satisfactionText(sf) }),
        h("dt", { text: "满意 / 基本满意 / 不满意" }), h("dd", { text: sf.satisfied + " / " + sf.basically_satisfied + " / " + sf.dissatisfied }),
      ])]),
      h("h3", { text: "按类型" }), table(sf.by_type, "type", "satisfaction-type", "类型"),
      h("h3", { text: "按地区" }), table(sf.by_region, "region", "satisfaction-region", "地区"),
      h("div", { className: "card" }, [chart(sf.by_region, "满意率（按地区）", "chart-satisfaction-region")]),
      h("h3", { text: "按月份" }), table(sf.by_month, "month", "satisfaction-month", "月份"),
      h("div", { className: "card" }, [chart(sf.by_month, "满意率（按月份）", "chart-satisfaction-month")]),
    ];
  }

  /* ---- digest ------------------------------------------------------------ */

  function viewDigest(params) {
    loading();
    api("GET", "/api/admin/digest?" + qs({ date: params.date })).then(function (r) {
      var d = r.body.digest;
      var kids = [h("p", { className: "muted", text: d.date + "：逾期 " + d.total_overdue + " 件，" +
        d.within_workdays + " 个工作日内到期 " + d.total_due_soon + " 件。每个工作日早上由推送服务发给工作人员群。" })];
      (d.calendar_missing || []).forEach(function (y) {
        kids.push(h("p", { className: "flash err", "data-calendar-missing": String(y), text: "尚未配置 " + y +
          " 年节假日安排（holidays/" + y + ".json），涉及该年的工作日期限暂按周一至周五计算。国务院办公厅通知发布后请及时添加。" }));
      });
      if (!d.offices.length) kids.push(h("p", { className: "empty", text: "没有逾期或即将到期的案件。" }));
      d.offices.forEach(function (o) {
        var rows = o.overdue.concat(o.due_soon).map(function (c) {
          return h("tr", { className: "rowlink", onclick: function () { location.hash = "#/case/" + c.id; } }, [
            h("td", {}, [h("a", { href: "#/case/" + c.id, text: c.id })]), h("td", { text: c.company_name }),
            h("td", { text: c.status_label }), h("td", { text: c.what + " " + c.due }),
            h("td", {}, [deadlineBadge({ overdue: c.days_left < 0, days_left: c.days_left, unit: c.unit, what: c.what, due: c.due })]),
            h("td", { text: c.handler || "—" })]);
        });
        kids.push(h("h2", { text: o.office_name }), h("div", { className: "tablewrap" }, [h("table", {}, [
          h("thead", {}, [h("tr", {}, ["编号", "企业", "状态", "期限", "剩余", "承办人"].map(function (t) { return h("th", { text: t }); }))]),
          h("tbody", {}, rows)])]));
      });
      if ((d.withdrawn || []).length) {
        kids.push(h("h2", { text: "企业撤回（上一个工作日以来）" }), h("div", { className: "tablewrap" }, [h("table", { id: "digest-withdrawn" }, [
          h("thead", {}, [h("tr", {}, ["编号", "企业", "类型", "撤回时间"].map(function (t) { return h("th", { text: t }); }))]),
          h("tbody", {}, d.withdrawn.map(function (c) {
            return h("tr", { className: "rowlink", onclick: function () { location.hash = "#/case/" + c.id; } }, [
              h("td", {}, [h("a", { href: "#/case/" + c.id, text: c.id })]), h("td", { text: c.company_name }),
              h("td", { text: c.type_label }), h("td", { text: fmtTime(c.withdrawn_at) })]);
          }))])]));
      }
      kids.push(h("h2", { text: "消息预览" }), h("div", { className: "card" }, [h("pre", { className: "pre", text: r.body.text })]));
      page("期限提醒", kids);
    }, failed);
  }

  /* ---- classes, targets, notices (issue 5's endpoints) ------------------ */

  function listOf(body, key) {
    if (Array.isArray(body)) return body;
    return (body && body[key]) || [];
  }

  function viewClasses() {
    loading();
    api("GET", "/api/admin/classes").then(function (r) {
      var list = listOf(r.body, "classes");
      var rows = list.map(function (c) {
        return h("tr", {}, [h("td", { text: c.date }), h("td", { text: c.time }), h("td", { text: c.title }),
          h("td", { text: c.speaker || "" }),
          h("td", {}, [c.live_url ? h("a", { href: c.live_url, target: "_blank", rel: "noopener noreferrer", text: "直播" }) : null, " ",
            c.replay_url ? h("a", { href: c.replay_url, target: "_blank", rel: "noopener noreferrer", text: "回放" }) : null,
            roleAtLeast("admin") ? h("button", { type: "button", className: "small", "data-edit-class": c.id, text: "编辑",
              onclick: function () { editClass(c); } }) : null])]);
      });
      /* Editing a class (e.g. adding the replay link after it): the same
       * form, with the class's id, replaces it. */
      function editClass(c) {
        ["date", "time", "title", "speaker", "live_url", "replay_url"].forEach(function (k) {
          form.elements[k].value = c[k] || "";
        });
        form.elements.id.value = c.id || "";
        form.querySelector("strong").textContent = "编辑课程";
        form.scrollIntoView({ block: "nearest" });
        form.elements.title.focus();
      }
      var form = h("form", { className: "card form", onsubmit: function (ev) {
        ev.preventDefault();
        var b = {};
        ["id", "date", "time", "title", "speaker", "live_url", "replay_url"].forEach(function (k) {
          var v = form.elements[k].value.trim();
          /* Editing: an emptied link is sent empty, to remove it. */
          if (v || (form.elements.id.value && /_url$/.test(k))) b[k] = v;
        });
        api("POST", "/api/admin/classes", b).then(function () { flash("课程已保存。"); viewClasses(); },
          function (e) { flash(e.message, true); });
      } }, [h("strong", { text: "添加课程" }), h("input", { type: "hidden", name: "id" }), h("div", { className: "row" }, [
        h("label", {}, ["日期", h("input", { type: "date", name: "date", required: true })]),
        h("label", {}, ["时间", h("input", { type: "time", name: "time", required: true, value: "14:30" })]),
        h("label", {}, ["讲师", h("input", { type: "text", name: "speaker" })])]),
        h("label", {}, ["课程名称", h("input", { type: "text", name: "title", required: true })]),
        h("div", { className: "row" }, [h("label", {}, ["直播链接", h("input", { type: "url", name: "live_url" })]),
          h("label", {}, ["回放链接", h("input", { type: "url", name: "replay_url" })])]),
        h("button", { type: "submit", className: "primary", text: "保存课程", disabled: !roleAtLeast("admin") })]);
      page("财税云课堂（每月 27 日税务助企宣讲日）", [
        h("div", { className: "tablewrap" }, [h("table", {}, [h("thead", {}, [h("tr", {},
          ["日期", "时间", "课程", "讲师", "链接"].map(function (t) { return h("th", { text: t }); }))]),
          h("tbody", {}, rows.length ? rows : [h("tr", {}, [h("td", { colspan: 5, className: "empty", text: "暂无课程。" })])])])]),
        roleAtLeast("admin") ? form : h("p", { className: "muted", text: "管理员可以添加课程。" })]);
    }, failed);
  }

  // Why zhuqi-bot disabled a target (the platform's words are English
  // technical detail: they stay in the tooltip).
  function disabledWhy(reason) {
    var r = reason || "";
    if (/blocked/i.test(r)) return "用户已屏蔽机器人";
    if (/kicked|not a member|230002/i.test(r)) return "机器人已被移出群聊";
    if (/chat not found|upgraded/i.test(r)) return "找不到该会话";
    if (/deactivated/i.test(r)) return "用户账号已停用";
    if (/81013|invalid|unlicensed/i.test(r)) return "成员已离开或不在应用可见范围内";
    return "平台拒绝投递";
  }

  function targetState(t) {
    if (!t.disabled) return h("td", { text: "正常" });
    var at = (t.disabled_at || "").replace("T", " ").slice(0, 16);
    return h("td", { className: "warn", title: t.disabled_reason || "",
      text: "已停用：" + disabledWhy(t.disabled_reason) + (at ? "（" + at + "）" : "") });
  }

  var CHANNELS = { "wecom-robot": "企业微信群机器人", "dingtalk-robot": "钉钉群机器人", "feishu-bot": "飞书机器人",
    telegram: "Telegram", generic: "通用 Webhook", "wecom-app": "企业微信应用", "dingtalk-app": "钉钉应用机器人",
    "feishu-chat": "飞书应用会话", sms: "短信" };

  function viewTargets() {
    loading();
    Promise.all([api("GET", "/api/admin/targets"), loadRegions(), loadTopics()]).then(function (all) {
      var r = all[0];
      var list = listOf(r.body, "targets");
      var rows = list.map(function (t) {
        return h("tr", {}, [h("td", { text: t.name || t.id }), h("td", { text: CHANNELS[t.channel] || t.channel }),
          h("td", { text: t.address || t.chat_id || "" }), h("td", { className: "tags", text: (t.tags || []).map(tagLabel).join("，") }),
          targetState(t),
          h("td", {}, [roleAtLeast("admin") && t.disabled ? h("button", { type: "button", text: "重新启用", onclick: function () {
            api("POST", "/api/admin/targets/" + encodeURIComponent(t.id) + "/enable").then(function () {
              flash("已重新启用。");
              viewTargets();
            }, function (e) { flash(e.message, true); });
          } }) : null, " ",
          roleAtLeast("admin") ? h("button", { type: "button", className: "danger", text: "删除", onclick: function () {
            if (!window.confirm("确定删除推送对象“" + (t.name || t.id) + "”？")) return;
            api("DELETE", "/api/admin/targets/" + encodeURIComponent(t.id)).then(function () {
              flash("已删除。");
              viewTargets();
            }, function (e) { flash(e.message, true); });
          } }) : null])]);
      });
      var form = h("form", { className: "card form", onsubmit: function (ev) {
        ev.preventDefault();
        var b = { channel: form.elements.channel.value, address: form.elements.address.value.trim(),
          name: form.elements.name.value.trim(),
          tags: form.elements.tags.value.split(/[,，\s]+/).filter(Boolean) };
        if (form.elements.secret.value) b.secret = form.elements.secret.value;
        if (form.elements.chat_id.value) b.chat_id = form.elements.chat_id.value.trim();
        api("POST", "/api/admin/targets", b).then(function () { flash("推送对象已保存。"); viewTargets(); },
          function (e) { flash(e.message, true); });
      } }, [h("strong", { text: "添加推送对象" }), h("div", { className: "row" }, [
        h("label", {}, ["名称", h("input", { type: "text", name: "name", required: true })]),
        h("label", {}, ["平台", select("channel", [["wecom-robot", "企业微信群机器人"], ["dingtalk-robot", "钉钉群机器人"],
          ["feishu-bot", "飞书机器人"], ["telegram", "Telegram"], ["generic", "通用 Webhook"],
          ["wecom-app", "企业微信应用（成员 UserID）"], ["dingtalk-app", "钉钉应用机器人（group:/user:）"],
          ["feishu-chat", "飞书应用会话（chat_id）"]].map(function (o) {
            return h("option", { value: o[0], text: o[1] });
          }), "wecom-robot")])]),
        h("label", {}, ["Webhook 地址或密钥", h("input", { type: "text", name: "address", required: true })]),
        h("div", { className: "row" }, [h("label", {}, ["签名密钥（钉钉、飞书、通用）", h("input", { type: "password", name: "secret", autocomplete: "off" })]),
          h("label", {}, ["Telegram chat_id", h("input", { type: "text", name: "chat_id" })])]),
        h("label", {}, ["标签（逗号分隔，如 staff、510100、tax）", h("input", { type: "text", name: "tags" })]),
        h("button", { type: "submit", className: "primary", text: "保存" })]);
      page("推送对象", [h("div", { className: "tablewrap" }, [h("table", {}, [h("thead", {}, [h("tr", {},
        ["名称", "平台", "地址", "标签", "状态", ""].map(function (t) { return h("th", { text: t }); }))]),
        h("tbody", {}, rows.length ? rows : [h("tr", {}, [h("td", { colspan: 6, className: "empty", text: "暂无推送对象。" })])])])]),
        roleAtLeast("admin") ? form : h("p", { className: "muted", text: "管理员可以管理推送对象。" })]);
    }, failed);
  }

  function rememberNotice(id) {
    var ids = [];
    try { ids = JSON.parse(localStorage.getItem(NOTICES_KEY) || "[]"); } catch (e) { ids = []; }
    ids = [id].concat(ids.filter(function (x) { return x !== id; })).slice(0, 20);
    localStorage.setItem(NOTICES_KEY, JSON.stringify(ids));
  }

  function progress(t) {
    var total = Math.max(t.total || 0, 1);
    var sw = 100 * (t.sent || 0) / total, fw = 100 * (t.failed || 0) / total;
    return h("div", { className: "progress", title: "已发送 " + (t.sent || 0) + "，失败 " + (t.failed || 0) + "，共 " + (t.total || 0) }, [
      svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none" }, [
        svg("rect", { x: 0, y: 0, width: sw, height: 10, "class": "sent" }),
        svg("rect", { x: sw, y: 0, width: fw, height: 10, "class": "failed" })])]);
  }

  var STATE = { scheduled: "定时待发", pending: "待发送", sending: "发送中", done: "已完成" };

  function viewNotices() {
    loading();
    api("GET", "/api/admin/notices").then(function (r) { return listOf(r.body, "notices"); }, function () {
      /* No list endpoint: show the notices sent from this browser. */
      var ids = [];
      try { ids = JSON.parse(localStorage.getItem(NOTICES_KEY) || "[]"); } catch (e) { ids = []; }
      return Promise.all(ids.map(function (id) {
        return api("GET", "/api/admin/notices/" + encodeURIComponent(id)).then(function (x) {
          return x.body.notice || x.body;
        }, function () { return null; });
      })).then(function (l) { return l.filter(Boolean); });
    }).then(function (list) {
      var rows = list.map(function (n) {
        var t = n.totals || {};
        return h("tr", { className: "rowlink", onclick: function () { location.hash = "#/notice/" + encodeURIComponent(n.id); } }, [
          h("td", { text: n.title }), h("td", { text: STATE[n.state] || n.state || "" }), h("td", { text: fmtTime(n.send_at || n.created_at) }),
          h("td", {}, [progress(t), h("span", { className: "muted", text: (t.sent || 0) + "/" + (t.total || 0) + (t.failed ? "，失败 " + t.failed : "") })])]);
      });
      var form = h("form", { className: "card form", onsubmit: function (ev) {
        ev.preventDefault();
        var b = { title: form.elements.title.value.trim(), body: form.elements.body.value,
          audience: { tags: form.elements.tags.value.split(/[,，\s]+/).filter(Boolean) } };
        if (form.elements.send_at.value) b.send_at = form.elements.send_at.value + ":00+08:00";
        api("POST", "/api/admin/notices", b).then(function (res) {
          var id = res.body && res.body.notice && res.body.notice.id;
          if (id) { rememberNotice(id); location.hash = "#/notice/" + encodeURIComponent(id); }
          flash("通知已提交发送。");
        }, function (e) { flash(e.message, true); });
      } }, [h("strong", { text: "发送服务通知" }),
        h("label", {}, ["标题", h("input", { type: "text", name: "title", required: true, maxlength: 100 })]),
        h("label", {}, ["内容", h("textarea", { name: "body", required: true })]),
        h("div", { className: "row" }, [h("label", {}, ["发送对象标签（逗号分隔）", h("input", { type: "text", name: "tags", required: true, placeholder: "如 510100, tax" })]),
          h("label", {}, ["定时发送（北京时间，可不填）", h("input", { type: "datetime-local", name: "send_at" })])]),
        h("button", { type: "submit", className: "primary", text: "发送", disabled: !roleAtLeast("admin") })]);
      page("服务通知", [roleAtLeast("admin") ? form : null, h("div", { className: "tablewrap" }, [h("table", {}, [
        h("thead", {}, [h("tr", {}, ["标题", "状态", "发送时间", "送达进度"].map(function (t) { return h("th", { text: t }); }))]),
        h("tbody", {}, rows.length ? rows : [h("tr", {}, [h("td", { colspan: 4, className: "empty", text: "暂无通知。" })])])])])]);
    }, failed);
  }

  function viewNotice(id) {
    loading();
    api("GET", "/api/admin/notices/" + encodeURIComponent(id)).then(function (r) {
      var n = r.body.notice || r.body, t = n.totals || {};
      var rows = (n.targets || []).map(function (x) {
        return h("tr", {}, [h("td", { text: x.target }), h("td", { text: x.channel || "" }), h("td", { text: x.status }),
          h("td", { text: String(x.attempts || 0) }), h("td", { text: x.last_error || "" }), h("td", { text: fmtTime(x.sent_at || x.next_attempt_at || "") })]);
      });
      page("通知：" + n.title, [h("div", { className: "card" }, [progress(t), h("p", { className: "muted",
        text: (STATE[n.state] || n.state || "") + "：共 " + (t.total || 0) + "，已发送 " + (t.sent || 0) + "，排队 " + (t.queued || 0) +
          "，重试中 " + (t.retrying || 0) + "，失败 " + (t.failed || 0) })]),
        h("div", { className: "tablewrap" }, [h("table", {}, [h("thead", {}, [h("tr", {},
          ["推送对象", "平台", "状态", "尝试次数", "最近错误", "时间"].map(function (x) { return h("th", { text: x }); }))]),
          h("tbody", {}, rows)])]),
        h("p", {}, [h("button", { type: "button", text: "刷新", onclick: function () { viewNotice(id); } })])]);
    }, failed);
  }

  /* An audit entry's detail ("from=submitted to=accepted public=0 …", or
   * a small JSON object) in words; the raw text stays in the title. */
  var RATING_NAMES = { satisfied: "满意", basically_satisfied: "基本满意", dissatisfied: "不满意" };
  function statusName(id) {
    var found = "";
    ["complaint", "consult"].forEach(function (form) {
      ((workflow && workflow.machines[form] || {}).statuses || []).forEach(function (s) {
        if (!found && s.id === id) found = s.label;
      });
    });
    return found || id;
  }
  function auditDetail(d) {
    if (!d) return "";
    if (d.charAt(0) === "{") {
      try {
        var o = JSON.parse(d);
        if (o.file) return "附件 " + o.file;
        if (o.channel) return (CHANNELS[o.channel] || o.channel) + (o.created ? "，新建" : "，修改");
      } catch (e) { /* shown as it is */ }
      return d;
    }
    var kv = {};
    d.split(" ").forEach(function (p) {
      var i = p.indexOf("=");
      if (i > 0) kv[p.slice(0, i)] = p.slice(i + 1);
    });
    var out = [];
    if (kv.from && kv.to) out.push(statusName(kv.from) + " → " + statusName(kv.to));
    else if (kv.from) out.push("原状态：" + statusName(kv.from));
    if (kv.public === "1") out.push("已告知企业");
    if (kv.public === "0") out.push("仅内部备注");
    if (kv.result) {
      var res = ((workflow && workflow.results) || []).filter(function (x) { return x.id === kv.result; })[0];
      out.push("结果：" + (res ? res.label : kv.result));
    }
    if (kv.handler) out.push("承办人：" + kv.handler);
    if (kv.office) out.push("承办单位：" + officeName(kv.office));
    if (kv.days) out.push("延长 " + kv.days + " 天");
    if (kv.format) out.push((kv.format === "csv" ? "CSV" : "JSON Lines") + (kv.masked === "1" ? "（脱敏）" : ""));
    if (kv.rows) out.push(kv.rows + " 条");
    if (kv.ok === "0") out.push("未完成");
    if (kv.rating) out.push(RATING_NAMES[kv.rating] || kv.rating);
    return out.length ? out.join("，") : d;
  }

  function viewAudit(params) {
    loading();
    Promise.all([api("GET", "/api/admin/audit?" + qs({ limit: 100, before: params.before })),
      loadWorkflow().catch(function () { return null; }), loadRegions()]).then(function (all) {
      var r = all[0];
      var NAMES = { sign_in: "登录", case_view: "查看案件", case_transition: "变更状态", case_note: "添加备注",
        case_assign: "分派", case_extension: "延长期限", export: "导出", file_download: "查看附件",
        case_withdraw: "企业撤回", case_evaluate: "企业评价", retention_purge: "到期删除个人信息",
        target_save: "保存推送对象", target_delete: "删除推送对象", target_enable: "重新启用推送对象",
        class_save: "保存课程", notice_create: "发送服务通知" };
      var rows = r.body.entries.map(function (e) {
        var d = new Date(parseInt(e.at_ms, 10) + 8 * 3600 * 1000).toISOString().replace("T", " ").slice(0, 19);
        return h("tr", {}, [h("td", { text: d }), h("td", { text: e.who + "（" + (ROLE_NAMES[e.role] || e.role) + "）" }),
          h("td", { text: NAMES[e.action] || e.action }), h("td", { text: e.target }), h("td", { text: e.addr }),
          h("td", { className: "muted", title: e.detail || "", text: auditDetail(e.detail) })]);
      });
      page("操作日志", [h("div", { className: "tablewrap" }, [h("table", {}, [h("thead", {}, [h("tr", {},
        ["时间", "工作人员", "操作", "对象", "地址", "详情"].map(function (t) { return h("th", { text: t }); }))]),
        h("tbody", {}, rows)])]),
        r.body.next_before ? h("p", {}, [h("a", { className: "button", href: "#/audit?before=" + r.body.next_before, text: "更早的记录" })]) : null]);
    }, failed);
  }

  /* ---- routing ----------------------------------------------------------- */

  function route() {
    var r = parseHash();
    var name = r.parts[0] || "cases";
    if (!token()) { me = null; showNav(); viewLogin(); return; }
    if (!me) {
      api("GET", "/api/admin/me").then(function (x) { me = x.body; showNav(); route(); }, function () {});
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-nav]"), function (a) {
      a.className = a.getAttribute("data-nav") === (name === "case" ? "cases" : name === "notice" ? "notices" : name) ? "on" : "";
    });
    if (name === "login") viewLogin();
    else if (name === "case" && r.parts[1]) viewCase(decodeURIComponent(r.parts[1]));
    else if (name === "stats") viewStats(r.params);
    else if (name === "digest") viewDigest(r.params);
    else if (name === "classes") viewClasses();
    else if (name === "targets") viewTargets();
    else if (name === "notices") viewNotices();
    else if (name === "notice" && r.parts[1]) viewNotice(decodeURIComponent(r.parts[1]));
    else if (name === "audit") viewAudit(r.params);
    else viewCases(r.params);
  }

  document.getElementById("sign-out").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    me = null;
    showNav();
    location.hash = "#/login";
  });
  /* Below 600 px the menu folds behind a button (admin.css). */
  document.getElementById("menu-toggle").addEventListener("click", function () {
    var nav = document.getElementById("nav");
    var open = !nav.classList.contains("open");
    nav.classList.toggle("open", open);
    this.setAttribute("aria-expanded", open ? "true" : "false");
  });
  window.addEventListener("hashchange", function () {
    document.getElementById("nav").classList.remove("open");
    document.getElementById("menu-toggle").setAttribute("aria-expanded", "false");
    flash("");
    route();
  });
  route();
})();
