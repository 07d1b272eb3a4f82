#!/usr/bin/env node
/* Browser tests of the zhuqi mobile pages: Debian's chromium driven by
 * playwright-core (no browser download), against a private stack
 * (tests/browser/stack.py: Redis + zhuqi-fcgi + the real nginx site).
 *
 *   node tests/browser/run.js           (scripts/browser-test.sh does the setup)
 *
 * Environment: ZQ_CHROMIUM (default /usr/bin/chromium), ZQ_BIN_DIR (passed
 * to the stack, default build/asan), ZQ_BROWSER_ONLY=substring runs the
 * matching tests only. Screenshots go to tests/browser/out/. Prints one line
 * per test (ok - / not ok -) and "browser: N passed, N failed". */
'use strict';

const { chromium } = require('playwright-core');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const OUT = path.join(HERE, 'out');
const CHROMIUM = process.env.ZQ_CHROMIUM || '/usr/bin/chromium';
const ONLY = process.env.ZQ_BROWSER_ONLY || '';
const TEST_TIMEOUT_MS = 60000;
const PAGE_LIMIT_GZIP = 60 * 1024;
const NET_MSG = '网络不通或服务暂时不可用，您填写的内容已保留，请稍后重试';

/* ---- data ------------------------------------------------------------ */

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/* A code with a correct GB 32100 check character, computed here
 * independently of the page's and the server's code. */
function uscc(body17) {
  let total = 0;
  for (let i = 0; i < 17; i++) total += ALPHABET.indexOf(body17[i]) * WEIGHTS[i];
  return body17 + ALPHABET[(31 - (total % 31)) % 31];
}

function badCheck(code) {
  const i = ALPHABET.indexOf(code[17]);
  return code.slice(0, 17) + ALPHABET[(i + 1) % 31];
}

const GOOD_USCC = uscc('91510100MA61R7XQ3');
const MOBILE = '13812345678';
const EVIL_NAME = '<script>window.__zqXss=1</script>成都示例科技有限公司<img src=x onerror="window.__zqXss=2">';

const CONSULT = {
  topic: 'tax',
  company_name: EVIL_NAME,
  uscc: GOOD_USCC.toLowerCase(),
  region: '510100',
  contact_name: '张三',
  mobile: '138 1234 5678',
  question: '请问小规模纳税人增值税减免政策如何申请？需要准备哪些材料？',
  preferred_time: 'morning'
};

const COMPLAINT = {
  payer_type: 'organ',
  size_at_signing: 'small',
  overdue: 'yes',
  proceedings: 'none',
  contract_amount_fen: '150,000',
  paid_fen: '0',
  issue_types: ['overdue', 'non_cash'],
  company_name: '成都示例科技有限公司',
  uscc: GOOD_USCC,
  size: 'small',
  region: '510100',
  address: '成都市高新区天府大道 100 号',
  contact_name: '张三',
  mobile: MOBILE,
  respondent_name: '某市某局',
  respondent_type: 'organ',
  respondent_uscc: '',
  respondent_region: '500000',
  contract_name: '办公设备采购合同',
  contract_no: 'HT-2025-001',
  signing_date: '2025-01-05',
  supply_type: 'goods',
  delivery_date: '2025-02-01',
  acceptance_based: true,
  acceptance_date: '2025-02-05',
  payment_term: 'within_30',
  amount_fen: '123,456.78',
  undisputed_fen: '100000',
  due_date: '2025-03-07',
  facts: '我公司于 2025 年 1 月签订合同并按期交付全部设备，\n对方验收合格后至今未付款，多次催款无果。',
  demand: '请求督促对方支付欠款及逾期利息。',
  evidence: '采购合同\n验收单\n增值税发票',
  no_other_proceedings: true,
  facts_true: true,
  consent: true
};

/* ---- small helpers ----------------------------------------------------- */

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(a, b, msg) {
  if (a !== b) throw new Error(`${msg}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms);
    })
  ]).finally(() => clearTimeout(t));
}

/* One HTTP request to the stack from node (not the browser). */
function httpReq(base, method, p, { body, headers } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, base);
    const data = body === undefined ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = Object.assign({}, headers || {});
    if (data) {
      h['Content-Type'] = h['Content-Type'] || 'application/json';
      h['Content-Length'] = data.length;
    }
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error('timeout')));
    if (data) req.write(data);
    req.end();
  });
}

/* ---- the stack --------------------------------------------------------- */

class StackCtl {
  start() {
    fs.mkdirSync(OUT, { recursive: true });
    this.errLog = fs.openSync(path.join(OUT, 'stack.log'), 'w');
    this.proc = spawn('python3', [path.join(HERE, 'stack.py')], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', this.errLog],
      env: process.env
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve(code === null ? sig : code)));
    this.lines = [];
    this.waiters = [];
    let buf = '';
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    return withTimeout(this.nextLine(), 60000, 'stack start').then((line) => {
      assert(/^http:\/\/127\.0\.0\.1:\d+$/.test(line), `stack.py said ${line}`);
      this.base = line;
      return line;
    });
  }

  nextLine() {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.exited.then((c) => reject(new Error(`stack.py exited (${c})`)));
    });
  }

  async cmd(line) {
    this.proc.stdin.write(line + '\n');
    const ans = JSON.parse(await withTimeout(this.nextLine(), 30000, `stack command ${line}`));
    if (!ans.ok) throw new Error(`stack command ${line}: ${JSON.stringify(ans)}`);
    return ans;
  }

  async close() {
    if (!this.proc) return 0;
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGTERM'), 30000);
    const code = await this.exited;
    clearTimeout(t);
    fs.closeSync(this.errLog);
    return code;
  }
}

/* ---- browser ----------------------------------------------------------- */

const CHROME_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--lang=zh-CN'
];

let browser;
let stack;
let base;
const shared = {}; /* what one test leaves for another (case numbers) */

async function newPage(t, extra = {}) {
  const ctx = await browser.newContext({
    ...extra,
    viewport: { width: 360, height: 640 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 2,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    serviceWorkers: 'block'
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  t.contexts.push(ctx);
  page.on('pageerror', (e) => t.pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) t.pageErrors.push(m.text());
  });
  /* Nothing may leave the stack's host. */
  await ctx.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => {
    t.pageErrors.push('request off the stack: ' + route.request().url());
    route.abort();
  });
  return page;
}

async function shot(page, name, opts = {}) {
  await page.screenshot({ path: path.join(OUT, name + '.png'), fullPage: opts.fullPage !== false, animations: 'disabled' });
}

async function stepTitle(page) {
  return (await page.locator('#step-title').textContent()).trim();
}

async function waitStep(page, title, count) {
  /* A fresh draft opens on the start screen: go past it. */
  await page.waitForSelector('#step-title, #start-go', { timeout: 10000 }).catch(() => {});
  if (await page.locator('#start-go').isVisible().catch(() => false)) await page.click('#start-go');
  await page.waitForFunction(
    ([t, c]) => {
      const h = document.getElementById('step-title');
      const n = document.getElementById('step-count');
      return h && h.textContent.trim() === t && (!c || (n && n.textContent.trim() === c));
    },
    [title, count],
    { timeout: 10000 }
  ).catch(async () => {
    const got = await page.locator('#step-title').textContent().catch(() => '(none)');
    const banner = await page.locator('#app').innerText().catch(() => '');
    throw new Error(`expected step "${title}"${count ? ' (' + count + ')' : ''}, on "${got}"; page says: ${banner.slice(0, 300)}`);
  });
}

/* Fills the visible fields of the step on screen from values. */
async function fillStep(page, step, values) {
  for (const f of step.fields) {
    if (!(f.id in values)) continue;
    const wrap = page.locator(`[data-field="${f.id}"]`);
    if (!(await wrap.isVisible())) continue;
    const v = values[f.id];
    const sel = `#f-${f.id}`;
    if (f.type === 'enum' && f.multiple) {
      for (const o of f.options) {
        const box = page.locator(`input[name="${f.id}"][value="${o.value}"]`);
        if (v.includes(o.value)) await box.check();
        else await box.uncheck();
      }
    } else if (f.type === 'enum' && f.options.length <= 4) {
      await page.locator(`input[name="${f.id}"][value="${v}"]`).check();
    } else if (f.type === 'bool' && !f.must_be_true) {
      await page.locator(`input[name="${f.id}"][value="${v ? 'true' : 'false'}"]`).check();
    } else if (f.type === 'bool') {
      if (v) await page.locator(sel).check();
      else await page.locator(sel).uncheck();
    } else if (f.type === 'enum') {
      await page.selectOption(sel, v);
    } else if (f.type === 'region') {
      if (/^51/.test(v)) {
        await page.selectOption(sel, v);
      } else {
        await page.selectOption(sel, 'OUT');
        await page.selectOption(sel + '-prov', v);
      }
    } else {
      await page.fill(sel, String(v));
    }
  }
}

async function next(page) {
  await page.locator('[data-primary]').click();
}

/* No horizontal scroll; every control labelled; tap targets and input
 * fonts big enough. Returns a list of problems. */
async function layoutProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const de = document.documentElement;
    if (de.scrollWidth > de.clientWidth + 1) out.push(`horizontal scroll: ${de.scrollWidth} > ${de.clientWidth}`);
    document.querySelectorAll('body *').forEach((n) => {
      const r = n.getBoundingClientRect();
      if (r.width > 0 && r.right > de.clientWidth + 1 && getComputedStyle(n).position !== 'fixed' && !n.closest('.visually-hidden, .skip')) {
        out.push(`wider than the screen: <${n.tagName.toLowerCase()} id=${n.id} class=${n.className}> right=${Math.round(r.right)}`);
      }
    });
    document.querySelectorAll('input, select, textarea').forEach((n) => {
      if (n.type === 'hidden') return;
      const named = (n.labels && n.labels.length && Array.from(n.labels).some((l) => l.textContent.trim())) ||
        n.getAttribute('aria-label') || n.getAttribute('aria-labelledby');
      if (!named) out.push(`no label: ${n.tagName.toLowerCase()}#${n.id}`);
      const visible = n.offsetParent !== null;
      if (visible && n.type !== 'radio' && n.type !== 'checkbox' && parseFloat(getComputedStyle(n).fontSize) < 16) {
        out.push(`font under 16px: #${n.id}`);
      }
    });
    const targets = document.querySelectorAll('button, .btn, .entry, .linkbtn, label.choice, .site-nav a, .brand, input[type=text], input[type=tel], input[type=date], select, textarea');
    targets.forEach((n) => {
      if (n.offsetParent === null) return;
      const r = n.getBoundingClientRect();
      if (r.height < 44 - 0.5 || r.width < 44 - 0.5) out.push(`tap target ${Math.round(r.width)}x${Math.round(r.height)}: ${n.tagName.toLowerCase()}#${n.id} "${n.textContent.trim().slice(0, 20)}"`);
    });
    return out.slice(0, 10);
  });
}

async function assertLayout(page, where) {
  const p = await layoutProblems(page);
  assert(p.length === 0, `${where}: ${p.join('; ')}`);
}

let schemas = {};
async function schema(form) {
  if (!schemas[form]) {
    const r = await httpReq(base, 'GET', '/api/forms/' + form);
    eq(r.status, 200, 'schema ' + form);
    schemas[form] = JSON.parse(r.body.toString('utf8'));
  }
  return schemas[form];
}

function fieldSteps(s) {
  return s.steps.filter((st) => !st.review);
}

/* The complaint's eligibility check (the gate step, first) answered with
 * COMPLAINT's eligible answers; the steps after it. */
async function passGate(page, s) {
  const gate = s.steps[0];
  if (!gate.gate) return;
  await waitStep(page, gate.title);
  await fillStep(page, gate, COMPLAINT);
  await next(page);
}

function afterGate(s) {
  return fieldSteps(s).filter((st) => !st.gate);
}

/* ---- the tests ----------------------------------------------------------- */

const tests = [];
function test(name, fn) {
  tests.push({ name, fn });
}

test('consultation: start page, fill, review, submit, ZX number', async (t) => {
  const s = await schema('consult');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  await page.goto(base + '/');
  await page.waitForSelector('#classes-body p:not(.loading), #classes-body ul');
  await shot(page, 'index');
  await page.click('#go-consult');
  await waitStep(page, steps[0].title, `第 1 步，共 ${s.steps.length} 步`);
  eq(await page.locator('#form-title').textContent(), s.title, 'form title');
  for (let i = 0; i < steps.length; i++) {
    await waitStep(page, steps[i].title, `第 ${i + 1} 步，共 ${s.steps.length} 步`);
    await fillStep(page, steps[i], CONSULT);
    await assertLayout(page, 'consult step ' + (i + 1));
    await shot(page, `consult-step${i + 1}`);
    await next(page);
  }
  await waitStep(page, '核对并提交');
  const review = await page.locator('#app').innerText();
  for (const want of [EVIL_NAME, '财税', '成都市', GOOD_USCC, '13812345678', '工作日上午', '张三']) {
    assert(review.includes(want), `review lacks ${want}`);
  }
  eq(await page.evaluate(() => window.__zqXss), undefined, 'markup in a company name ran');
  eq(await page.locator('section.review').count(), steps.length, 'review groups');
  await assertLayout(page, 'consult review');
  await shot(page, 'consult-review');
  await page.click('#submit-case');
  await page.waitForURL(/\/success\.html\?id=/);
  const id = (await page.locator('#case-no').textContent()).trim();
  assert(/^ZX\d{8}-\d{4,}$/.test(id), 'case number ' + id);
  assert(await page.locator('#next-consult').isVisible(), 'consultation next steps shown');
  assert(!(await page.locator('#sms-note').isVisible()), 'SMS promised while SMS is off');
  eq(await page.evaluate(() => localStorage.getItem('zq:idem:consult')), null, 'idempotency key kept after success');
  await assertLayout(page, 'success page');
  await shot(page, 'success-consult');
  shared.consult = { id, mobile: MOBILE };
});

test('complaint: every step, review, edit a group, submit, TS number', async (t) => {
  const s = await schema('complaint');
  const steps = fieldSteps(s);
  const total = s.steps.length;
  const page = await newPage(t);
  await page.goto(base + '/');
  await page.click('#go-complaint');
  for (let i = 0; i < steps.length; i++) {
    const st = steps[i];
    await waitStep(page, st.title, `第 ${i + 1} 步，共 ${total} 步`);
    eq(await page.locator('progress').getAttribute('value'), String(i + 1), 'progress value');
    if (st.id === 'debt') {
      /* conditions apply live */
      assert(!(await page.locator('#f-acceptance_date').isVisible()), 'acceptance date shown before the answer');
      await page.check('input[name="acceptance_based"][value="true"]');
      assert(await page.locator('#f-acceptance_date').isVisible(), 'acceptance date hidden after 是');
      await page.check('input[name="payment_term"][value="other"]');
      assert(await page.locator('#f-payment_term_note').isVisible(), 'payment term note hidden after 其他期限');
      await page.check('input[name="payment_term"][value="within_30"]');
      assert(!(await page.locator('#f-payment_term_note').isVisible()), 'payment term note still shown');
      eq(await page.locator('#f-amount_fen').getAttribute('inputmode'), 'decimal', 'money inputmode');
      eq(await page.locator('#f-signing_date').getAttribute('type'), 'date', 'date input type');
    }
    if (st.id === 'complainant') {
      eq(await page.locator('#f-mobile').getAttribute('inputmode'), 'tel', 'mobile inputmode');
      eq(await page.locator('#f-uscc').getAttribute('autocapitalize'), 'characters', 'uscc autocapitalize');
    }
    if (st.id === 'claim') {
      await page.fill('#f-facts', COMPLAINT.facts);
      const counter = await page.locator('#f-facts-count').textContent();
      assert(/已输入 \d+ 字，最多 5000 字/.test(counter), 'character counter: ' + counter);
    }
    await fillStep(page, st, COMPLAINT);
    await assertLayout(page, `complaint step ${i + 1}`);
    await shot(page, `complaint-step${i + 1}`);
    if (st.id === 'respondent') {
      /* the picture for the README: one screen of a step, as on a phone */
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, 'complaint-form', { fullPage: false });
    }
    await next(page);
  }
  await waitStep(page, '核对并提交', `第 ${total} 步，共 ${total} 步`);
  let review = await page.locator('#app').innerText();
  for (const want of ['123,456.78 元', '100,000.00 元', '四川省外 · 重庆市', '成都市', '机关', '小型', '货物',
    '2025年1月5日', '交付（验收）后 30 日内', '是', '未填写', '采购合同\n验收单']) {
    assert(review.includes(want), `review lacks ${JSON.stringify(want)}`);
  }
  eq(await page.locator('section.review').count(), steps.length, 'review groups');
  await assertLayout(page, 'complaint review');
  await shot(page, 'complaint-review');
  /* edit one group from the review and come back to it */
  await page.locator('section[data-group="respondent"] button', { hasText: '修改' }).click();
  await waitStep(page, '被投诉方', `第 ${steps.findIndex((x) => x.id === 'respondent') + 1} 步，共 ${total} 步`);
  eq(await page.inputValue('#f-respondent_name'), COMPLAINT.respondent_name, 'respondent name kept');
  eq(await page.inputValue('#f-respondent_region'), 'OUT', 'outside Sichuan kept');
  eq(await page.inputValue('#f-respondent_region-prov'), '500000', 'province kept');
  eq((await page.locator('[data-primary]').textContent()).trim(), '保存并返回核对', 'button while editing');
  await page.fill('#f-respondent_name', '某市某局（已更正）');
  await page.selectOption('#f-respondent_region', '510700');
  await next(page);
  await waitStep(page, '核对并提交');
  review = await page.locator('#app').innerText();
  assert(review.includes('某市某局（已更正）'), 'edited name not on review');
  assert(review.includes('绵阳市') && !review.includes('重庆市'), 'edited region not on review');
  await page.click('#submit-case');
  await page.waitForURL(/\/success\.html\?id=/);
  const id = (await page.locator('#case-no').textContent()).trim();
  assert(/^TS\d{8}-\d{4,}$/.test(id), 'case number ' + id);
  assert(await page.locator('#next-complaint').isVisible(), 'complaint next steps shown');
  const next_ = await page.locator('#next-complaint').innerText();
  assert(next_.includes('10 个工作日') && next_.includes('30 日') && next_.includes('90 日'), 'time limits on success page');
  await shot(page, 'success', { fullPage: false });
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.click('#copy');
  await page.waitForFunction(() => document.getElementById('copy-out').textContent.trim() !== '');
  eq((await page.locator('#copy-out').textContent()).trim(), '已复制编号 ' + id, 'copy message');
  eq(await page.evaluate(() => navigator.clipboard.readText()), id, 'clipboard');
  await shot(page, 'success-complaint');
  shared.complaint = { id, mobile: MOBILE };
});

test('能否投诉: an ineligible enterprise stops at the first screen and learns where to go (360×640)', async (t) => {
  const s = await schema('complaint');
  const gate = s.steps[0];
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=complaint');
  await waitStep(page, '能否投诉', `第 1 步，共 ${s.steps.length} 步`);
  /* Every question of the check is on this one screen. */
  for (const f of gate.fields) assert(await page.locator(`[data-field="${f.id}"]`).isVisible(), 'gate question hidden: ' + f.id);
  await fillStep(page, gate, COMPLAINT);
  eq(await page.locator('.stop-notice').count(), 0, 'a stop notice for eligible answers');
  eq((await page.locator('[data-primary]').textContent()).trim(), '保存，下一步', 'button for eligible answers');
  /* A private payer: said at once, before saving, with where to go. */
  await page.selectOption('#f-payer_type', 'person');
  const notice = page.locator('.stop-notice');
  await notice.waitFor();
  const person = gate.fields[0].options.find((o) => o.value === 'person').stop;
  const text = await notice.innerText();
  assert(text.includes(person.reason) && text.includes(person.where), 'stop notice: ' + text);
  assert(text.includes('12345') && text.includes('12315'), 'where to go: ' + text);
  /* The button no longer promises a next step. */
  eq((await page.locator('[data-primary]').textContent()).trim(), '确认并查看办理途径', 'button under a stop');
  await assertLayout(page, 'gate stop notice');
  await shot(page, 'complaint-gate-stop');
  /* Saving the answer shows the page that says so, and the way back. */
  await next(page);
  await page.waitForSelector('.stop-page h2');
  const stopPage = await page.locator('.stop-page').innerText();
  assert(stopPage.includes('暂时不能在这里投诉') && stopPage.includes(person.where), 'stop page: ' + stopPage);
  await assertLayout(page, 'gate stop page');
  /* A reload keeps the answer and says it again on the check's screen. */
  await page.reload();
  await waitStep(page, '能否投诉');
  await page.locator('.stop-notice').waitFor();
  /* Already before a court: the other process is named. */
  await page.selectOption('#f-payer_type', 'organ');
  eq(await page.locator('.stop-notice').count(), 0, 'stop notice left after an eligible answer');
  eq((await page.locator('[data-primary]').textContent()).trim(), '保存，下一步', 'button label back');
  await page.check('input[name="proceedings"][value="accepted"]');
  assert((await page.locator('.stop-notice').innerText()).includes('诉讼、仲裁或调解程序'), 'proceedings stop');
  await page.check('input[name="proceedings"][value="none"]');
  await next(page);
  await waitStep(page, '投诉企业', `第 2 步，共 ${s.steps.length} 步`);
  /* The size answered in the check is already chosen. */
  eq(await page.locator('input[name="size"]:checked').getAttribute('value'), 'small', 'size pre-filled from the check');
});

test('the amount owed and the due date are computed, with how, and can be changed', async (t) => {
  const s = await schema('complaint');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=complaint');
  let i = 0;
  for (; steps[i].id !== 'debt'; i++) {
    await waitStep(page, steps[i].title);
    if (steps[i].id === 'respondent') {
      eq(await page.locator('input[name="respondent_type"]:checked').getAttribute('value'), 'organ',
        'payer type pre-filled from the check');
    }
    await fillStep(page, steps[i], COMPLAINT);
    await next(page);
  }
  await waitStep(page, steps[i].title);
  await page.fill('#f-contract_amount_fen', '150,000');
  await page.fill('#f-paid_fen', '25000.50');
  eq(await page.inputValue('#f-amount_fen'), '124999.50', 'owed = contract − paid');
  await page.fill('#f-paid_fen', '0');
  eq(await page.inputValue('#f-amount_fen'), '150000', 'owed follows the paid amount');
  await page.fill('#f-signing_date', '2026-01-05');
  await page.check('input[name="supply_type"][value="goods"]');
  await page.fill('#f-delivery_date', '2026-02-20');
  await page.check('input[name="acceptance_based"][value="true"]');
  await page.fill('#f-acceptance_date', '2026-03-01');
  await page.check('input[name="payment_term"][value="within_60"]');
  eq(await page.inputValue('#f-due_date'), '2026-04-30', 'due date = acceptance + 60 days');
  eq((await page.locator('#f-due_date-note').textContent()).trim(), '按验收合格日期 2026-03-01 加 60 天计算，可以修改。', 'how it was computed');
  /* Not agreed: the regulation's 30 days for a 机关. */
  await page.check('input[name="payment_term"][value="none"]');
  eq(await page.inputValue('#f-due_date'), '2026-03-31', 'due date by the payer type');
  await assertLayout(page, 'debt step with computed values');
  await shot(page, 'complaint-computed');
  /* The enterprise's own date stays, and the sentence goes. */
  await page.fill('#f-due_date', '2026-04-15');
  await page.check('input[name="payment_term"][value="within_30"]');
  eq(await page.inputValue('#f-due_date'), '2026-04-15', 'own due date kept');
  eq((await page.locator('#f-due_date-note').textContent()).trim(), '', 'sentence left on an own date');
  /* A wrong relation is refused with its text, beside the field. */
  await page.fill('#f-amount_fen', '150000.01');
  await next(page);
  await page.locator('#f-amount_fen-err').waitFor();
  eq((await page.locator('#f-amount_fen-err').textContent()).trim(), '拖欠金额应大于 0，且不能超过合同金额', 'amount relation');
  await page.fill('#f-amount_fen', '150000');
  await page.fill('#f-contract_name', COMPLAINT.contract_name);
  await next(page);
  await waitStep(page, steps[i + 1].title);
});

test('bad USCC and mobile: client-side messages, then the server 422 beside the fields', async (t) => {
  const s = await schema('complaint');
  const first = afterGate(s)[0];
  const page = await newPage(t);
  let puts = 0;
  await page.goto(base + '/form.html?form=complaint');
  await passGate(page, s);
  page.on('request', (r) => {
    if (r.method() === 'PUT') puts += 1;
  });
  await waitStep(page, first.title);
  await fillStep(page, first, Object.assign({}, COMPLAINT, { uscc: badCheck(GOOD_USCC), mobile: '12345' }));
  await next(page);
  await page.locator('#f-uscc-err').waitFor({ state: 'visible' });
  eq((await page.locator('#f-uscc-err').textContent()).trim(), '统一社会信用代码校验位不正确，请核对', 'client uscc message');
  eq((await page.locator('#f-mobile-err').textContent()).trim(), '手机号码应为 11 位数字（现在 5 位）', 'client mobile message');
  eq(await page.getAttribute('#f-uscc', 'aria-invalid'), 'true', 'uscc aria-invalid');
  eq(await page.getAttribute('#f-mobile', 'aria-invalid'), 'true', 'mobile aria-invalid');
  assert((await page.getAttribute('#f-uscc', 'aria-describedby')).split(' ').includes('f-uscc-err'), 'uscc error not in aria-describedby');
  eq(await page.evaluate(() => document.activeElement && document.activeElement.id), 'f-uscc', 'focus on the first error');
  assert(await page.locator('[data-field="uscc"] .field-error').isVisible(), 'message not beside the field');
  eq(puts, 0, 'requests sent despite client errors');
  await shot(page, 'errors-client');

  /* Fixing the value clears its message as one types. */
  await page.fill('#f-uscc', GOOD_USCC);
  assert(!(await page.locator('#f-uscc-err').isVisible()), 'uscc message stays after the fix');
  await page.fill('#f-mobile', MOBILE);

  /* Bypass the page's checks: the request is rewritten on its way out. */
  const bad = badCheck(GOOD_USCC);
  await page.route('**/api/intake/complaint/steps/complainant', (route) => {
    const body = JSON.parse(route.request().postData());
    body.answers.uscc = bad;
    body.answers.mobile = '12345678901';
    route.continue({ postData: JSON.stringify(body) });
  });
  await next(page);
  await page.waitForFunction(() => {
    const e = document.getElementById('f-mobile-err');
    return e && !e.hidden && e.textContent.includes('不是有效的手机号码');
  });
  eq((await page.locator('#f-uscc-err').textContent()).trim(), '统一社会信用代码校验位不正确，请核对', 'server uscc message');
  eq((await page.locator('#f-mobile-err').textContent()).trim(), '手机号码不是有效的手机号码，请核对', 'server mobile message');
  eq(await page.getAttribute('#f-mobile', 'aria-invalid'), 'true', 'mobile aria-invalid after 422');
  assert((await page.locator('#banner').innerText()).includes('请检查标出的内容'), 'server summary message');
  eq(await page.evaluate(() => document.activeElement && document.activeElement.id), 'f-uscc', 'focus on the first server error');
  eq(await stepTitle(page), first.title, 'still on the first step');
  eq(puts, 1, 'one PUT');
  await shot(page, 'errors-server');

  /* Without the rewrite the same values go through. */
  await page.unroute('**/api/intake/complaint/steps/complainant');
  await next(page);
  await waitStep(page, afterGate(s)[1].title, `第 3 步，共 ${s.steps.length} 步`);
});

test('reload after step 2 resumes at step 3 with the answers kept', async (t) => {
  const s = await schema('complaint');
  const steps = afterGate(s);
  const total = s.steps.length;
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=complaint');
  await passGate(page, s);
  for (let i = 0; i < 2; i++) {
    await waitStep(page, steps[i].title);
    await fillStep(page, steps[i], COMPLAINT);
    await next(page);
  }
  await waitStep(page, steps[2].title, `第 4 步，共 ${total} 步`);
  /* typed on step 3, not saved yet */
  await page.fill('#f-contract_name', '尚未保存的合同名称');
  await page.fill('#f-amount_fen', '8,800.50');
  await page.reload();
  await waitStep(page, steps[2].title, `第 4 步，共 ${total} 步`);
  eq(await page.inputValue('#f-contract_name'), '尚未保存的合同名称', 'unsaved text after reload');
  eq(await page.inputValue('#f-amount_fen'), '8,800.50', 'unsaved money after reload');
  await shot(page, 'resume-step3');
  await page.click('text=上一步');
  await waitStep(page, steps[1].title, `第 3 步，共 ${total} 步`);
  eq(await page.inputValue('#f-respondent_name'), COMPLAINT.respondent_name, 'step 2 answer');
  eq(await page.inputValue('#f-respondent_region-prov'), '500000', 'step 2 province');
  assert(await page.locator('input[name="respondent_type"][value="organ"]').isChecked(), 'step 2 enum');
  await page.click('text=上一步');
  await waitStep(page, steps[0].title, `第 2 步，共 ${total} 步`);
  eq(await page.inputValue('#f-uscc'), GOOD_USCC, 'step 1 uscc');
  eq(await page.inputValue('#f-mobile'), MOBILE, 'step 1 mobile (normalised by the server)');
  /* the browser's back button goes forward again through history */
  await page.goBack();
  await waitStep(page, steps[1].title);
  await page.goBack();
  await waitStep(page, steps[2].title);
  eq(await page.inputValue('#f-contract_name'), '尚未保存的合同名称', 'typed value after navigating');
  await shot(page, 'resume-back');
});

/* A case of this form, from an earlier test or made through the API. */
async function ensureCase(form = 'consult') {
  if (shared[form]) return shared[form];
  const s = await schema(form);
  const start = await httpReq(base, 'POST', '/api/intake/' + form);
  const cookie = (start.headers['set-cookie'] || [''])[0].split(';')[0];
  const csrf = JSON.parse(start.body.toString()).csrf;
  const values = form === 'consult' ? Object.assign({}, CONSULT, { company_name: '成都示例科技有限公司' }) : COMPLAINT;
  const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
  for (const st of fieldSteps(s)) {
    const answers = {};
    st.fields.forEach((f) => {
      if (f.id in values) answers[f.id] = values[f.id];
    });
    const r = await httpReq(base, 'PUT', `/api/intake/${form}/steps/${st.id}`, { body: { answers }, headers });
    eq(r.status, 200, `save ${form}/${st.id}: ${r.body}`);
  }
  const r = await httpReq(base, 'POST', `/api/intake/${form}/submit`, {
    headers: Object.assign({ 'Idempotency-Key': 'browser-' + Date.now() }, headers)
  });
  eq(r.status, 201, 'submit ' + form);
  shared[form] = { id: JSON.parse(r.body.toString()).case.id, mobile: MOBILE };
  return shared[form];
}

test('lookup: status 已提交 with the right mobile; not found with a wrong one', async (t) => {
  const c = await ensureCase();
  const page = await newPage(t);
  await page.goto(base + '/lookup.html?id=' + encodeURIComponent(c.id));
  eq(await page.inputValue('#case-id'), c.id, 'id prefilled');
  await page.fill('#case-mobile', '+86 138-1234-5678');
  await page.click('#lookup-btn');
  await page.locator('#case-status').waitFor();
  eq((await page.locator('#case-status').textContent()).trim(), '已提交', 'status');
  const text = await page.locator('#case-result').innerText();
  assert(text.includes(c.id) && text.includes('138****5678'), 'case facts shown masked');
  assert(!text.includes('13812345678'), 'full mobile shown');
  eq(await page.locator('ol.history li').count(), 1, 'history entries');
  assert((await page.locator('ol.history li').innerText()).includes('已提交'), 'history label');
  assert(/\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}/.test(await page.locator('ol.history time').textContent()), 'history time');
  await assertLayout(page, 'lookup result');
  await shot(page, 'lookup-found');

  await page.fill('#case-mobile', '13900000000');
  await page.click('#lookup-btn');
  await page.locator('#result .notice').waitFor();
  const wrong = (await page.locator('#result .notice').innerText()).trim();
  eq(wrong, '未找到该案件，请核对案件编号和手机号码。', 'wrong mobile message');
  await shot(page, 'lookup-notfound');
  await page.fill('#case-id', 'ZX20000101-9999');
  await page.fill('#case-mobile', MOBILE);
  await page.click('#lookup-btn');
  await page.locator('#result .notice').waitFor();
  eq((await page.locator('#result .notice').innerText()).trim(), wrong, 'unknown id message equals wrong mobile message');
  /* a complaint shows the deadline running now, when the server gives one */
  {
    const complaint = await ensureCase('complaint');
    const api = await httpReq(base, 'POST', `/api/cases/${complaint.id}/lookup`, { body: { mobile: MOBILE } });
    eq(api.status, 200, 'complaint lookup');
    const dl = JSON.parse(api.body.toString()).case.deadline;
    await page.fill('#case-id', complaint.id);
    await page.fill('#case-mobile', MOBILE);
    await page.click('#lookup-btn');
    await page.locator('#case-status').waitFor();
    if (dl && dl.due) {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dl.due);
      const shown = await page.locator('#case-result .notice').innerText();
      assert(shown.includes(`${m[1]}年${+m[2]}月${+m[3]}日`) && shown.includes(dl.what), 'deadline not shown: ' + shown);
      t.notes.push(`deadline shown: ${shown.replace(/\s+/g, ' ')}`);
    }
    await shot(page, 'lookup-complaint');
  }
  /* client-side format check, no request */
  await page.fill('#case-id', 'abc');
  await page.click('#lookup-btn');
  assert((await page.locator('#case-id-err').textContent()).includes('格式不正确'), 'id format message');
});

/* The code of the last verification SMS queued for mobile. Until the fake
 * platform has the vendors' SMS endpoints it reads the queued notice from
 * the outbox (its body is {"use":"code","params":{"code":…}}); then it
 * should read the SMS the fake received. */
async function smsCodeSent(mobile) {
  const prefix = (await stack.cmd('prefix')).result;
  const entries = (await stack.cmd('redis ' + JSON.stringify(['XREVRANGE', prefix + 'outbox:prio', '+', '-', 'COUNT', '200']))).result || [];
  for (const [, fields] of entries) {
    const f = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
    let target = {};
    try {
      target = JSON.parse(f.tj || '{}');
    } catch (e) {
      continue;
    }
    if (target.channel !== 'sms' || target.address !== mobile) continue;
    const body = JSON.parse((await stack.cmd('redis ' + JSON.stringify(['HGET', prefix + 'notice:' + f.n, 'body']))).result);
    if (body.use === 'code') return body.params.code;
  }
  throw new Error('no verification SMS queued for ' + mobile);
}

test('SMS code: 获取验证码 with a countdown, a wrong code, the right one, submit; lookup by mobile', async (t) => {
  /* SMS on and complaints verified, for this test only. */
  await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'tencent' }, verify: { submit_complaint: true } }));
  try {
    const mobile = '13712345670';
    const values = Object.assign({}, COMPLAINT, { mobile });
    const s = await schema('complaint');
    const steps = fieldSteps(s);
    const page = await newPage(t);
    await page.goto(base + '/form.html?form=complaint');
    for (let i = 0; i < steps.length; i++) {
      const st = steps[i];
      await waitStep(page, st.title);
      if (i === 0) assert(await page.locator('#resume-open').isVisible(), '在其他设备继续填写 not offered');
      await fillStep(page, st, values);
      if (st.id === 'complainant') {
        const send = page.locator('[data-field="mobile"] .sms-send');
        eq((await send.textContent()).trim(), '获取验证码', 'button label');
        await send.click();
        const code = page.locator('[data-field="mobile"] .sms-input');
        await code.waitFor();
        eq(await code.getAttribute('autocomplete'), 'one-time-code', 'code autocomplete');
        eq(await code.getAttribute('inputmode'), 'numeric', 'code inputmode');
        await page.waitForFunction(() => /^重新获取\(\d+s\)$/.test(document.querySelector('.sms-send').textContent));
        assert(await send.isDisabled(), 'resend enabled during the countdown');
        const status = await page.locator('[data-field="mobile"] .sms-status').textContent();
        assert(status.includes('137****5670') && status.includes('5 分钟'), 'sent message: ' + status);
        const right = await smsCodeSent(mobile);
        const wrong = right.slice(0, 5) + String((Number(right[5]) + 1) % 10);
        await code.fill(wrong);
        const err = page.locator('[data-field="mobile"] .sms-code-field .field-error');
        await err.waitFor();
        eq((await err.textContent()).trim(), '验证码不正确，还可尝试4次。', 'wrong code message');
        await assertLayout(page, 'code entry');
        await shot(page, 'sms-code-wrong');
        await code.fill(right);
        await page.waitForFunction(() => /已验证/.test(document.querySelector('.sms-status').textContent));
        assert(!(await code.isVisible()), 'code input still shown after verification');
        await assertLayout(page, 'code verified');
        await shot(page, 'sms-code-verified');
      }
      await next(page);
    }
    await waitStep(page, '核对并提交');
    assert(!(await page.locator('#app').innerText()).includes('提交前请先验证手机号码'), 'review asks to verify again');
    await page.click('#submit-case');
    await page.waitForURL(/\/success\.html\?id=/);
    const id = (await page.locator('#case-no').textContent()).trim();
    assert(/^TS\d{8}-\d{4,}$/.test(id), 'case number ' + id);
    assert(await page.locator('#sms-note').isVisible(), 'progress SMS not mentioned while SMS is on');
    assert(await page.locator('#info-sms').isVisible(), 'the request for material by SMS not mentioned while SMS is on');

    /* 按手机号查询全部: the same number, a code of its own (purpose lookup). */
    const lp = await newPage(t);
    await lp.goto(base + '/lookup.html');
    await lp.click('#by-mobile-open');
    await lp.locator('#all-mobile').waitFor();
    await lp.fill('#all-mobile', mobile);
    /* One code per number and minute: play the minute gone by dropping
     * the number's send log (otp.h: otp:m:{tag}). */
    const tag = require('crypto').createHash('sha256').update('zq-mobile:' + mobile).digest('hex').slice(0, 32);
    await stack.cmd('redis ' + JSON.stringify(['DEL', (await stack.cmd('prefix')).result + 'otp:m:' + tag]));
    await lp.click('#by-mobile .sms-send');
    await lp.locator('#by-mobile .sms-input').waitFor();
    assert((await lp.locator('#by-mobile .sms-status').textContent()).includes('已发送'), 'lookup code not sent');
    await lp.fill('#by-mobile .sms-input', await smsCodeSent(mobile));
    await lp.locator('#mobile-result [data-case]').first().waitFor();
    const list = await lp.locator('#mobile-result').innerText();
    assert(list.includes(id) && list.includes('137****5670'), 'case not listed: ' + list);
    await assertLayout(lp, 'lookup by mobile');
    await shot(lp, 'lookup-by-mobile');
  } finally {
    await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'none' }, verify: { submit_complaint: false } }));
  }
});

test('lookup page: 按手机号查询全部 only when SMS codes are on (GET /api/verify, no session)', async (t) => {
  /* SMS off, as the stack starts: the section stays hidden. */
  const page = await newPage(t);
  const calls = [];
  page.on('request', (r) => calls.push(r.method() + ' ' + new URL(r.url()).pathname));
  await page.goto(base + '/lookup.html');
  await page.locator('#by-mobile[data-verify="off"]').waitFor({ state: 'attached' });
  assert(!(await page.locator('#by-mobile').isVisible()), '按手机号查询全部 shown while SMS is off');
  assert(calls.includes('GET /api/verify'), 'no GET /api/verify: ' + calls.join(', '));
  assert(!calls.some((c) => c.endsWith('/api/session')), 'a session was made: ' + calls.join(', '));
  eq((await page.context().cookies()).filter((c) => c.name === 'zq_sid').length, 0, 'session cookie');
  await assertLayout(page, 'lookup without SMS');
  await shot(page, 'lookup-sms-off');
  /* SMS on: shown, and it works as before. */
  await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'tencent' } }));
  try {
    const on = await newPage(t);
    await on.goto(base + '/lookup.html');
    await on.locator('#by-mobile[data-verify="on"]').waitFor();
    assert(await on.locator('#by-mobile').isVisible(), '按手机号查询全部 hidden while SMS is on');
    await on.click('#by-mobile-open');
    await on.locator('#all-mobile').waitFor();
    await assertLayout(on, 'lookup with SMS');
  } finally {
    await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'none' } }));
  }
});

test('补充材料: a case in needs_info shows the request; mobile code, text and a file, sent; 已提交 again', async (t) => {
  await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'tencent' }, verify: { supplement: true } }));
  try {
    const prefix = (await stack.cmd('prefix')).result;
    const token = (await stack.cmd('staff_token')).result;
    const mobile = '13712345672';
    const created = Date.now() - 86400e3;
    const day = new Date(created + 8 * 3600e3).toISOString().slice(0, 10).replace(/-/g, '');
    const id = `TS${day}-8901`;
    await seedCase(prefix, id, 'complaint', created, Object.assign({}, COMPLAINT, { mobile }), '510100');
    const mv = await httpReq(base, 'POST', `/api/admin/cases/${id}/transitions`, {
      body: { to: 'needs_info', message: '请补充加盖公章的采购合同。' },
      headers: { Authorization: 'Bearer ' + token }
    });
    eq(mv.status, 200, 'needs_info move: ' + mv.body);
    const due = JSON.parse(mv.body.toString()).case.supplement.supply_by;

    const page = await newPage(t);
    await page.goto(base + '/lookup.html?id=' + encodeURIComponent(id));
    await page.fill('#case-mobile', mobile);
    await page.click('#lookup-btn');
    await page.locator('#case-status').waitFor();
    eq((await page.locator('#case-status').textContent()).trim(), '待补充材料', 'status');
    const box = page.locator('#case-result .supplement');
    const asked = await box.innerText();
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(due);
    assert(asked.includes('请补充加盖公章的采购合同。'), 'request message not shown: ' + asked);
    assert(asked.includes(`${m[1]}年${+m[2]}月${+m[3]}日`), 'supply date not shown: ' + asked);
    await assertLayout(page, 'supplement request');
    await shot(page, 'supplement-request');

    await box.locator('button', { hasText: '补充材料' }).click();
    await box.locator('.sms-send').click();
    await box.locator('.sms-input').waitFor();
    await box.locator('.sms-input').fill(await smsCodeSent(mobile));
    await box.locator('.supplement-form textarea').waitFor();
    /* Nothing typed, nothing added: a Chinese refusal, no request. */
    await box.locator('button', { hasText: '提交补充材料' }).click();
    eq((await box.locator('.supplement-form > .field-error').textContent()).trim(), '请填写补充说明或上传补充材料。', 'empty answer message');
    await box.locator('.supplement-form textarea').fill('已补充盖章合同扫描件。');
    /* A PDF through the same upload control as the form's, with progress. */
    let sawProgress = false;
    page.on('request', (req) => {
      if (req.url().includes(`/api/cases/${id}/files`)) sawProgress = true;
    });
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(30000, 120), Buffer.from('\ntrailer\n%%EOF\n')]);
    await box.locator('fieldset.file-kind[data-kind="contract"] input[type=file]:not([capture])').setInputFiles({
      name: '盖章合同.pdf', mimeType: 'application/pdf', buffer: pdf
    });
    await box.locator('fieldset.file-kind[data-kind="contract"] li.file-item[data-file]').waitFor();
    assert(sawProgress, 'the upload did not go to the case');
    await assertLayout(page, 'supplement answer');
    await shot(page, 'supplement-answer');
    await box.locator('button', { hasText: '提交补充材料' }).click();
    await page.waitForFunction(() => {
      const s = document.querySelector('#case-status');
      return s && s.textContent.trim() === '已提交';
    });
    const done = await page.locator('#case-result').innerText();
    assert(done.includes('补充材料已提交'), 'no confirmation: ' + done);
    assert(done.includes('已补充盖章合同扫描件。') && done.includes('盖章合同.pdf'), 'answer not in the history: ' + done);
    eq(await page.locator('#case-result .supplement').count(), 0, 'the request still offered');
    await assertLayout(page, 'supplement sent');
    await shot(page, 'supplement-sent');
    const d = await httpReq(base, 'GET', `/api/admin/cases/${id}`, { headers: { Authorization: 'Bearer ' + token } });
    const c = JSON.parse(d.body.toString()).case;
    eq(c.status, 'submitted', 'staff status');
    assert(c.files.some((f) => f.later && f.name === '盖章合同.pdf'), 'file not among the case files');
  } finally {
    await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'none' } }));
  }
});

test('在其他设备继续填写: mobile + code on a second phone picks up the draft', async (t) => {
  await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'tencent' }, verify: { submit_complaint: true } }));
  try {
    const mobile = '13712345671';
    const s = await schema('complaint');
    const first = afterGate(s)[0];
    /* The first phone saves step 1 with the number. */
    const a = await newPage(t);
    await a.goto(base + '/form.html?form=complaint');
    await passGate(a, s);
    await waitStep(a, first.title);
    await fillStep(a, first, Object.assign({}, COMPLAINT, { mobile }));
    await next(a);
    await waitStep(a, afterGate(s)[1].title);
    /* The second phone: another browser, another session. */
    const b = await newPage(t);
    await b.goto(base + '/form.html?form=complaint');
    await waitStep(b, s.steps[0].title);
    await b.click('#resume-open');
    await b.locator('#resume-mobile').waitFor();
    await assertLayout(b, 'resume');
    await b.click('#app .sms-send');
    const err = b.locator('#resume-mobile-err');
    await err.waitFor();
    eq((await err.textContent()).trim(), '请先填写手机号码', 'empty mobile message');
    await b.fill('#resume-mobile', mobile);
    await b.click('#app .sms-send');
    await b.locator('#app .sms-input').waitFor();
    await b.fill('#app .sms-input', await smsCodeSent(mobile));
    await waitStep(b, afterGate(s)[1].title);
    assert((await b.locator('#banner').innerText()).includes('已载入您在其他设备上填写的内容'), 'resume note');
    await b.click('text=上一步');
    await waitStep(b, first.title);
    eq(await b.inputValue('#f-company_name'), COMPLAINT.company_name, 'company name carried over');
    eq(await b.inputValue('#f-mobile'), mobile, 'mobile carried over');
    /* The code proved the number: the mobile shows as verified here too. */
    assert((await b.locator('[data-field="mobile"] .sms-status').textContent()).includes('已验证'), 'mobile not shown verified');
    await shot(b, 'resume-done');
  } finally {
    await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'none' }, verify: { submit_complaint: false } }));
  }
});

test('chat hand-over: a 网页填写 link opens the chat draft once', async (t) => {
  const sc = await schema('consult');
  const steps = sc.steps.filter((s) => !s.review);
  const prefix = (await stack.cmd('prefix')).result;
  const token = require('crypto').randomBytes(32).toString('hex');
  const answers = {
    topic: 'financing', company_name: '成都聊天转网页有限公司', uscc: GOOD_USCC, region: '510100',
    contact_name: '李四', mobile: '13812345678'
  };
  /* what lib/dialogue.c stores for the link: the web draft layout */
  const draft = { form: 'consult', step: steps[1].id, answers, done: [steps[0].id] };
  await stack.cmd('redis ' + JSON.stringify(['SET', prefix + 'handoff:' + token, JSON.stringify(draft), 'EX', '900']));
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=consult#handoff=' + token);
  await waitStep(page, steps[1].title);
  assert((await page.locator('#app').innerText()).includes('已载入您在聊天中填写的内容'), 'hand-over notice');
  assert(!(await page.evaluate(() => location.hash)).includes('handoff'), 'token left in the address');
  await fillStep(page, steps[1], CONSULT);
  await next(page);
  await page.locator('text=成都聊天转网页有限公司').first().waitFor({ timeout: 10000 });
  await shot(page, 'handoff-review');
  /* the link works once */
  const again = await newPage(t);
  await again.goto(base + '/form.html?form=consult#handoff=' + token);
  await again.locator('text=聊天中的填写链接已失效或已使用').first().waitFor({ timeout: 10000 });
});

/* The width and height in a JPEG's SOF marker. */
function jpegSize(b) {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return { w: 0, h: 0 };
    const m = b[i + 1];
    const len = b.readUInt16BE(i + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { h: b.readUInt16BE(i + 5), w: b.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  return { w: 0, h: 0 };
}

test('evidence files: photo scaled and uploaded with progress, upload cut and retried, reload, remove, submit', async (t) => {
  const s = await schema('complaint');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=complaint');
  const values = Object.assign({}, COMPLAINT, { company_name: '成都证据上传测试有限公司' });
  let i = 0;
  for (; steps[i].id !== 'claim'; i++) {
    await waitStep(page, steps[i].title);
    await fillStep(page, steps[i], values);
    await next(page);
  }
  await waitStep(page, steps[i].title);
  const kind = page.locator('fieldset.file-kind[data-kind="contract"]');
  assert((await kind.innerText()).includes('合同'), 'contract kind shown');
  assert((await kind.innerText()).includes('签字盖章'), 'contract hint shown');
  await assertLayout(page, 'files step');
  /* A camera photo, 3000 x 2000: made here as a real JPEG. */
  const photo = Buffer.from(await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 3000;
    c.height = 2000;
    const g = c.getContext('2d');
    for (let y = 0; y < 2000; y += 50) {
      g.fillStyle = `hsl(${y % 360},60%,50%)`;
      g.fillRect(0, y, 3000, 50);
    }
    const b = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.9));
    const a = new Uint8Array(await b.arrayBuffer());
    let bin = '';
    for (let k = 0; k < a.length; k++) bin += String.fromCharCode(a[k]);
    return btoa(bin);
  }), 'base64');
  /* The first upload's connection is cut; progress was on screen. */
  let cut = 0;
  let sawProgress = 0;
  let sentType = '';
  let sentBytes = 0;
  let sentBody = Buffer.alloc(0);
  await page.route('**/api/intake/complaint/files?kind=contract', async (route) => {
    sentType = route.request().headers()['content-type'];
    sentBody = route.request().postDataBuffer() || Buffer.alloc(0);
    sentBytes = sentBody.length;
    if (cut === 0) {
      cut++;
      sawProgress = await page.locator('fieldset[data-kind="contract"] .file-item.uploading progress').count();
      await route.abort('connectionreset');
      return;
    }
    await route.continue();
  });
  await kind.locator('input[type=file][capture]').setInputFiles({ name: 'IMG_0001.jpg', mimeType: 'image/jpeg', buffer: photo });
  const msg = kind.locator('.file-msg.error');
  await msg.waitFor();
  assert((await msg.innerText()).includes('上传中断'), 'interrupted message: ' + (await msg.innerText()));
  eq(sawProgress, 1, 'progress bar while uploading');
  eq(sentType, 'image/jpeg', 'photo sent as JPEG');
  await shot(page, 'files-interrupted');
  await msg.locator('button', { hasText: '重试' }).click();
  await kind.locator('.file-item[data-file]').waitFor();
  eq(cut, 1, 'one cut upload');
  assert((await kind.innerText()).includes('IMG_0001.jpg'), 'uploaded photo listed');
  /* Scaled in the browser: what went out is the 2560 px JPEG. */
  const dims = await page.evaluate(async () => {
    const r = await fetch('/api/intake/complaint', { credentials: 'same-origin' });
    return (await r.json()).answers.evidence_files;
  });
  eq(dims.length, 1, 'one upload in the draft');
  eq(dims[0].type, 'image/jpeg', 'stored type');
  eq(dims[0].size, sentBytes, 'stored size is what was sent');
  const size = jpegSize(sentBody);
  eq(Math.max(size.w, size.h), 2560, 'photo scaled to 2560 px: ' + JSON.stringify(size));
  eq(size.h, Math.round(2000 * 2560 / 3000), 'aspect kept');
  /* A PDF picked as an invoice, then removed. */
  const inv = page.locator('fieldset.file-kind[data-kind="invoice"]');
  await inv.locator('input[type=file]:not([capture])').setInputFiles({
    name: '发票.pdf', mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')
  });
  await inv.locator('.file-item[data-file]').waitFor();
  await shot(page, 'files-uploaded');
  /* A reload keeps both (from the draft). */
  await page.reload();
  await waitStep(page, steps[i].title);
  await page.locator('fieldset[data-kind="contract"] .file-item[data-file]').waitFor();
  eq(await page.locator('.file-item[data-file]').count(), 2, 'uploads after reload');
  await page.locator('fieldset[data-kind="invoice"] button', { hasText: '删除' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.file-item[data-file]').length === 1);
  await fillStep(page, steps[i], values);
  await next(page);
  for (i++; i < steps.length; i++) {
    await waitStep(page, steps[i].title);
    await fillStep(page, steps[i], values);
    await next(page);
  }
  await waitStep(page, '核对并提交');
  const review = await page.locator('#app').innerText();
  assert(review.includes('合同：IMG_0001.jpg'), 'review lists the file: ' + review.slice(0, 2000));
  assert(!review.includes('发票.pdf'), 'removed file not on the review');
  await page.click('#submit-case');
  await page.waitForURL(/\/success\.html\?id=/);
  const id = (await page.locator('#case-no').textContent()).trim();
  assert(/^TS\d{8}-\d{4,}$/.test(id), 'case number ' + id);
});

/* Page errors and CSP refusals of a page the test did not open itself
 * (a popup), as newPage records them. */
function watchPage(t, page) {
  page.on('pageerror', (e) => t.pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) t.pageErrors.push(m.text());
  });
  return page;
}

test('receipt: a complaint with an evidence file, 打印回执 on the success page, A4 PDF; 查看回执 on the lookup page', async (t) => {
  const s = await schema('complaint');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=complaint');
  const values = Object.assign({}, COMPLAINT, { company_name: '成都回执打印测试有限公司', mobile: '13612345601' });
  const fileName = '2026年度办公设备采购合同扫描件_双方盖章_final_version_2.pdf';
  for (let i = 0; i < steps.length; i++) {
    await waitStep(page, steps[i].title);
    if (steps[i].id === 'claim') {
      const kind = page.locator('fieldset.file-kind[data-kind="contract"]');
      await kind.locator('input[type=file]:not([capture])').setInputFiles({
        name: fileName, mimeType: 'application/pdf',
        buffer: Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')
      });
      await kind.locator('.file-item[data-file]').waitFor();
    }
    await fillStep(page, steps[i], values);
    await next(page);
  }
  await waitStep(page, '核对并提交');
  await page.click('#submit-case');
  await page.waitForURL(/\/success\.html\?id=/);
  const id = (await page.locator('#case-no').textContent()).trim();
  assert(/^TS\d{8}-\d{4,}$/.test(id), 'case number ' + id);
  /* 材料不全的，会请您补充: through the lookup page; no SMS while SMS is off. */
  assert((await page.locator('#next-complaint').innerText()).includes('“待补充材料”'), 'how a request for material shows');
  assert(!(await page.locator('#info-sms').isVisible()), 'SMS promised while SMS is off');
  const link = page.locator('#receipt-link');
  await link.waitFor();
  eq((await link.textContent()).trim(), '打印回执', 'link text');
  await assertLayout(page, 'success page with the receipt link');
  await shot(page, 'success-receipt-link');

  const [rp] = await Promise.all([page.waitForEvent('popup'), link.click()]);
  watchPage(t, rp);
  await rp.waitForLoadState();
  const text = await rp.locator('main').innerText();
  assert(text.includes(id), 'case number on the receipt');
  assert(text.includes('企业名称') && text.includes('成都回执打印测试有限公司'), 'a label and its answer');
  assert(text.includes(fileName) && text.includes('合同'), 'the file on the receipt');
  assert(text.includes('136****5601') && !text.includes('13612345601'), 'mobile masked');
  await assertLayout(rp, 'receipt at 360 px');
  await shot(rp, 'receipt');
  /* 打印 calls window.print, and is not printed itself. */
  await rp.evaluate(() => {
    window.zqPrinted = 0;
    window.print = () => {
      window.zqPrinted++;
    };
  });
  await rp.click('#print');
  eq(await rp.evaluate(() => window.zqPrinted), 1, 'window.print called');
  await rp.emulateMedia({ media: 'print' });
  assert(!(await rp.locator('#print').isVisible()), 'the print button shows in print');
  const pdf = await rp.pdf({ format: 'A4' });
  eq(pdf.slice(0, 5).toString('latin1'), '%PDF-', 'a PDF');
  assert(pdf.length > 1000, 'PDF size ' + pdf.length);
  const box = /MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(pdf.toString('latin1'));
  assert(box && Math.abs(+box[1] - 595.3) < 2 && Math.abs(+box[2] - 841.9) < 2, 'A4 pages: ' + (box && box[0]));
  fs.writeFileSync(path.join(OUT, 'receipt.pdf'), pdf);

  /* The lookup page in the same browser: 查看回执 after the case is shown. */
  const lp = watchPage(t, await page.context().newPage());
  await lp.goto(base + '/lookup.html?id=' + encodeURIComponent(id));
  await lp.fill('#case-mobile', values.mobile);
  await lp.click('#lookup-btn');
  const view = lp.locator('#case-result .receipt-link a');
  await view.waitFor();
  eq((await view.textContent()).trim(), '查看回执', 'lookup link text');
  await assertLayout(lp, 'lookup result with the receipt link');
  const [rp2] = await Promise.all([lp.waitForEvent('popup'), view.click()]);
  watchPage(t, rp2);
  await rp2.waitForLoadState();
  assert((await rp2.locator('main').innerText()).includes(id), 'receipt from the lookup page');

  /* Another phone: the plain 403 page. */
  const other = await newPage(t);
  const resp = await other.goto(base + '/api/cases/' + encodeURIComponent(id) + '/receipt');
  eq(resp.status(), 403, 'a stranger\'s receipt');
  assert((await other.locator('h1').innerText()).includes('无法查看回执'), '403 page title');
  assert(!(await other.locator('main').innerText()).includes('成都回执打印测试有限公司'), 'answers on the 403 page');
  await assertLayout(other, 'receipt refused');
  await shot(other, 'receipt-refused');
});

test('server down: plain message, typed values kept, retry succeeds', async (t) => {
  const s = await schema('consult');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  const values = Object.assign({}, CONSULT, { company_name: '成都断网测试有限公司' });
  await page.goto(base + '/form.html?form=consult');
  await waitStep(page, steps[0].title);
  await fillStep(page, steps[0], values);
  await stack.cmd('stop fcgi');
  let restarted = false;
  try {
    await next(page);
    await page.locator('#banner .notice').waitFor();
    assert((await page.locator('#banner').innerText()).includes(NET_MSG), 'network message');
    eq(await page.inputValue('#f-company_name'), values.company_name, 'typed value after the failure');
    eq(await page.inputValue('#f-mobile'), values.mobile, 'typed mobile after the failure');
    await shot(page, 'offline-save');
    /* a reload while it is down: the page says so, and nothing is lost */
    await page.reload();
    await page.locator('#app .notice').waitFor();
    assert((await page.locator('#app').innerText()).includes(NET_MSG), 'network message after reload');
    await shot(page, 'offline-reload');
    await stack.cmd('start fcgi');
    restarted = true;
  } finally {
    if (!restarted) await stack.cmd('start fcgi').catch(() => {});
  }
  await page.locator('#app button', { hasText: '重试' }).click();
  await waitStep(page, steps[0].title);
  eq(await page.inputValue('#f-company_name'), values.company_name, 'typed value after the retry');
  eq(await page.inputValue('#f-uscc'), values.uscc.toUpperCase(), 'typed uscc after the retry');
  eq(await page.inputValue('#f-topic'), values.topic, 'typed select after the retry');
  await next(page);
  await waitStep(page, steps[1].title, `第 2 步，共 ${s.steps.length} 步`);
  await shot(page, 'offline-recovered');
});

test('a submission whose answer was lost: retry and reload reuse the Idempotency-Key, one case', async (t) => {
  const s = await schema('consult');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  const values = Object.assign({}, CONSULT, { company_name: '成都重试测试有限公司' });
  const keys = [];
  page.on('request', (r) => {
    if (/\/submit$/.test(r.url())) keys.push(r.headers()['idempotency-key']);
  });
  async function fillAll() {
    for (let i = 0; i < steps.length; i++) {
      await waitStep(page, steps[i].title);
      await fillStep(page, steps[i], values);
      await next(page);
    }
    await waitStep(page, '核对并提交');
  }
  await page.goto(base + '/form.html?form=consult');
  await fillAll();
  /* The server makes the case; its answer never reaches the page. */
  let made = null;
  await page.route('**/api/intake/consult/submit', async (route) => {
    const res = await route.fetch();
    made = (await res.json()).case;
    await route.abort('connectionreset');
  });
  await page.click('#submit-case');
  await page.locator('#banner .notice').waitFor();
  assert((await page.locator('#banner').innerText()).includes(NET_MSG), 'network message after the lost answer');
  assert(made && /^ZX/.test(made.id), 'the server made no case');
  await page.unroute('**/api/intake/consult/submit');
  await shot(page, 'submit-lost');
  await page.locator('#banner button', { hasText: '重试' }).click();
  await page.waitForURL(/\/success\.html\?id=/);
  eq((await page.locator('#case-no').textContent()).trim(), made.id, 'the retry got the same case');
  eq(keys.length, 2, 'submit requests');
  eq(keys[0], keys[1], 'the retry reused the Idempotency-Key');

  /* Again, but the page is reloaded instead of retried. */
  keys.length = 0;
  await page.goto(base + '/form.html?form=consult');
  await fillAll();
  await page.route('**/api/intake/consult/submit', async (route) => {
    const res = await route.fetch();
    made = (await res.json()).case;
    await route.abort('connectionreset');
  });
  await page.click('#submit-case');
  await page.locator('#banner .notice').waitFor();
  await page.unroute('**/api/intake/consult/submit');
  await page.reload();
  await page.waitForURL(/\/success\.html\?id=/);
  eq((await page.locator('#case-no').textContent()).trim(), made.id, 'the reload found the same case');
  eq(keys.length, 2, 'submit requests');
  eq(keys[0], keys[1], 'the reload reused the Idempotency-Key');
  eq(await page.evaluate(() => localStorage.getItem('zq:idem:consult')), null, 'key dropped after success');
});

test('expired draft says 填写已超时 and starts again with the answers; 429 says wait', async (t) => {
  const s = await schema('complaint');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=complaint');
  await waitStep(page, steps[0].title);
  await fillStep(page, steps[0], COMPLAINT);
  await next(page);
  await waitStep(page, steps[1].title);
  await fillStep(page, steps[1], COMPLAINT);
  /* rate limited: a wait message with a countdown, then it goes on */
  await page.route('**/api/intake/complaint/steps/*', (route) => route.fulfill({
    status: 429,
    headers: { 'Retry-After': '2', 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ error: { code: 'rate_limited', message: '请求过于频繁，请稍后再试' } })
  }));
  await next(page);
  await page.locator('#banner .notice').waitFor();
  assert((await page.locator('#banner').innerText()).includes('请求过于频繁，请 2 秒后再试'), 'wait message');
  assert(await page.locator('#banner button').isDisabled(), 'retry is not held back');
  await shot(page, 'rate-limited');
  await page.unroute('**/api/intake/complaint/steps/*');
  /* the session goes away on the server */
  const sid = (await page.context().cookies()).find((c) => c.name === 'zq_sid');
  assert(sid, 'no zq_sid cookie');
  const prefix = (await stack.cmd('prefix')).result;
  await stack.cmd('redis ' + JSON.stringify(['DEL', prefix + 'sess:' + sid.value]));
  await page.locator('#banner button:enabled', { hasText: '重试' }).click({ timeout: 5000 });
  await page.locator('#app .notice', { hasText: '填写已超时' }).waitFor();
  await shot(page, 'expired');
  await page.locator('#app button', { hasText: '重新开始' }).click();
  await waitStep(page, steps[0].title, `第 1 步，共 ${s.steps.length} 步`);
  eq(await page.inputValue('#f-payer_type'), COMPLAINT.payer_type, 'saved answer offered again');
  await next(page);
  await waitStep(page, steps[1].title, `第 2 步，共 ${s.steps.length} 步`);
  eq(await page.inputValue('#f-company_name'), COMPLAINT.company_name, 'typed value kept across the restart');
  eq(await page.inputValue('#f-uscc'), GOOD_USCC, 'typed code kept across the restart');
  await next(page);
  await waitStep(page, steps[2].title, `第 3 步，共 ${s.steps.length} 步`);
});

/* ---- issue 16: the enterprise's side (start screen, stepper, drafts,
 * back from success, footer, offline, classes) ----------------------------- */

test('start screen and named stepper: what to prepare, how long, aria-current', async (t) => {
  const s = await schema('complaint');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  await page.goto(base + '/form.html?form=complaint');
  await page.locator('#start-go').waitFor();
  const start = await page.locator('#app').innerText();
  assert(Array.isArray(s.prepare) && s.prepare.length > 0, 'schema has no prepare list');
  for (const line of s.prepare) assert(start.includes(line), `start screen lacks ${line}`);
  assert(start.includes(`大约需要 ${s.minutes} 分钟`), 'start screen says how long');
  assert(start.includes(steps[0].title), 'start screen names the steps');
  eq(await page.locator('.stepper').count(), 0, 'no stepper before the first step');
  await assertLayout(page, 'start screen');
  await shot(page, 'form-start');
  await page.click('#start-go');
  await waitStep(page, steps[0].title, `第 1 步，共 ${s.steps.length} 步`);
  const names = await page.locator('.stepper li .stepper-name').allTextContents();
  eq(JSON.stringify(names), JSON.stringify(s.steps.map((x) => x.title)), 'stepper names from the schema');
  eq(await page.locator('.stepper li[aria-current="step"] .stepper-name').textContent(), steps[0].title, 'current step marked');
  eq(await page.locator('.stepper li[aria-current]').count(), 1, 'one current step');
  await assertLayout(page, 'stepper on step 1');
  await fillStep(page, steps[0], COMPLAINT);
  await next(page);
  await waitStep(page, steps[1].title, `第 2 步，共 ${s.steps.length} 步`);
  eq(await page.locator('.stepper li[aria-current="step"] .stepper-name').textContent(), steps[1].title, 'current step moved');
  assert((await page.locator(`.stepper li[data-step="${steps[0].id}"]`).getAttribute('class')).includes('done'), 'step 1 marked done');
  await shot(page, 'form-stepper', { fullPage: false });
  /* the browser's back button goes back a step */
  await page.goBack();
  await waitStep(page, steps[0].title);
});

test('start page badge only when the server has the draft; an expired draft says so', async (t) => {
  const s = await schema('complaint');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  /* a mark in this browser alone is no draft: no badge */
  await page.goto(base + '/');
  await page.evaluate(() => localStorage.setItem('zq:started:consult', '1'));
  await page.goto(base + '/form.html?form=complaint');
  await waitStep(page, steps[0].title);
  await fillStep(page, steps[0], COMPLAINT);
  await next(page);
  await waitStep(page, steps[1].title);
  await page.goto(base + '/');
  await page.locator('[data-badge="complaint"]').waitFor();
  assert((await page.locator('[data-badge="complaint"]').textContent()).includes('已完成 1 步'), 'badge says how far');
  await page.locator('[data-gone="consult"]').waitFor();
  eq(await page.locator('[data-badge="consult"]').count(), 0, 'badge for a draft the server does not have');
  await assertLayout(page, 'start page with a badge');
  await shot(page, 'index-badge');
  /* the draft expires on the server */
  const sid = (await page.context().cookies()).find((c) => c.name === 'zq_sid');
  const prefix = (await stack.cmd('prefix')).result;
  await stack.cmd('redis ' + JSON.stringify(['DEL', prefix + 'sess:' + sid.value]));
  /* the form says so plainly instead of an empty step 1 */
  await page.goto(base + '/form.html?form=complaint');
  await page.locator('#app .notice', { hasText: '填写已超时' }).waitFor();
  assert((await page.locator('#app').innerText()).includes('草稿已删除'), 'the draft is gone');
  eq(await page.locator('#step-title').count(), 0, 'an empty step 1 was opened');
  await shot(page, 'form-draft-gone');
  /* and so does the start page, once, without a badge */
  await page.goto(base + '/');
  await page.locator('[data-gone="complaint"]').waitFor();
  assert((await page.locator('[data-gone="complaint"]').textContent()).includes('填写已超时'), 'expired message on the start page');
  eq(await page.locator('[data-badge="complaint"]').count(), 0, 'badge for an expired draft');
  /* starting again works */
  await page.goto(base + '/form.html?form=complaint');
  await waitStep(page, steps[0].title, `第 1 步，共 ${s.steps.length} 步`);
});

test('back from the success page: what was just filed, and a new one', async (t) => {
  const s = await schema('consult');
  const steps = fieldSteps(s);
  const page = await newPage(t);
  const values = Object.assign({}, CONSULT, { company_name: '成都返回测试有限公司' });
  await page.goto(base + '/');
  await page.click('#go-consult');
  for (let i = 0; i < steps.length; i++) {
    await waitStep(page, steps[i].title);
    await fillStep(page, steps[i], values);
    await next(page);
  }
  await waitStep(page, '核对并提交');
  await page.click('#submit-case');
  await page.waitForURL(/\/success\.html\?id=/);
  const id = (await page.locator('#case-no').textContent()).trim();
  await page.goBack();
  await page.locator('#filed-title').waitFor();
  const said = await page.locator('#app').innerText();
  assert(said.includes(id), 'the case number after going back');
  eq(await page.locator('#app a', { hasText: '查看提交结果' }).getAttribute('href'), 'success.html?id=' + encodeURIComponent(id), 'link to the success page');
  eq(await page.locator('#app a', { hasText: '查询办理进度' }).getAttribute('href'), 'lookup.html?id=' + encodeURIComponent(id), 'link to the lookup');
  eq(await page.locator('#step-title').count(), 0, 'a blank form after going back');
  await assertLayout(page, 'back from success');
  await shot(page, 'back-from-success');
  await page.click('#filed-new');
  await waitStep(page, steps[0].title, `第 1 步，共 ${s.steps.length} 步`);
  eq(await page.inputValue('#f-company_name'), '', 'the new form is empty');
});

test('footer and cannot-connect state: organisers, hotline, filing numbers', async (t) => {
  const page = await newPage(t);
  for (const p of ['/', '/lookup.html', '/form.html?form=consult']) {
    await page.goto(base + p);
    await page.locator('footer .site-info').waitFor();
    const foot = await page.locator('footer').innerText();
    for (const want of ['主办单位：四川省经济和信息化厅（测试）', '028-12345678', '工作日 9:00-17:00', '蜀ICP备00000000号-1', '川公网安备51010000000000号']) {
      assert(foot.includes(want), `${p} footer lacks ${want}`);
    }
  }
  eq(await page.locator('footer a.tel').getAttribute('href'), 'tel:028-12345678'.replace('-', ''), 'hotline link');
  await assertLayout(page, 'footer');
  await stack.cmd('stop fcgi');
  try {
    /* nothing typed: no promise that something was kept */
    await page.goto(base + '/form.html?form=complaint');
    await page.locator('#app .notice').waitFor();
    await page.locator('#app .notice .contact-line:not([hidden])').waitFor();
    const text = await page.locator('#app').innerText();
    assert(text.includes('暂时无法连接'), 'cannot connect');
    assert(!text.includes('内容已保留'), '内容已保留 with nothing typed');
    assert(text.includes('028-12345678'), 'hotline in the cannot-connect state');
    await assertLayout(page, 'cannot connect');
    await shot(page, 'offline-hotline');
    await page.goto(base + '/');
    await page.locator('#classes-body .contact-line:not([hidden])').waitFor();
    assert((await page.locator('footer').innerText()).includes('028-12345678'), 'footer from the kept copy');
  } finally {
    await stack.cmd('start fcgi');
  }
});

test('class card: 进入直播 before and during a class, 观看回放 after it; how to subscribe', async (t) => {
  const prefix = (await stack.cmd('prefix')).result;
  const bj = (ms) => new Date(ms + 8 * 3600e3).toISOString();
  const mk = (id, startMs, extra) => Object.assign({
    id, date: bj(startMs).slice(0, 10), time: bj(startMs).slice(11, 16), title: '课程 ' + id, speaker: '', start_ms: startMs
  }, extra);
  const now = Date.now();
  const classes = [
    mk('b-soon', now + 86400e3, { live_url: 'https://example.invalid/soon', replay_url: 'https://example.invalid/r0' }),
    mk('b-live', now - 1800e3, { live_url: 'https://example.invalid/live' }),
    mk('b-done', now - 3 * 3600e3, { live_url: 'https://example.invalid/old', replay_url: 'https://example.invalid/replay' })
  ];
  for (const c of classes) {
    await stack.cmd('redis ' + JSON.stringify(['ZADD', prefix + 'classes', String(c.start_ms), JSON.stringify(c)]));
  }
  try {
    const page = await newPage(t);
    await page.goto(base + '/');
    await page.waitForSelector('#classes-body li[data-class="b-done"]');
    const link = (id) => page.locator(`li[data-class="${id}"] a.class-link`);
    eq(await link('b-soon').textContent(), '进入直播', 'before the class');
    eq(await link('b-soon').getAttribute('href'), 'https://example.invalid/soon', 'live link before');
    eq(await link('b-live').textContent(), '进入直播', 'during the class');
    assert((await page.locator('li[data-class="b-live"]').innerText()).includes('直播中'), 'live mark');
    eq(await link('b-done').textContent(), '观看回放', 'after the class');
    eq(await link('b-done').getAttribute('href'), 'https://example.invalid/replay', 'replay link');
    const sub = page.locator('#classes-subscribe');
    await sub.waitFor();
    assert((await sub.textContent()).includes('订阅'), 'how to subscribe');
    await assertLayout(page, 'class card');
    await shot(page, 'index-classes');
  } finally {
    await stack.cmd('redis ' + JSON.stringify(['DEL', prefix + 'classes']));
  }
});

async function pageWeight(p) {
  const gz = { 'Accept-Encoding': 'gzip' };
  const html = await httpReq(base, 'GET', p, { headers: gz });
  eq(html.status, 200, 'GET ' + p);
  const text = require('zlib').gunzipSync(html.body).toString('utf8');
  assert(html.headers['content-encoding'] === 'gzip', p + ' not gzipped');
  const refs = new Set();
  const rx = /(?:src|href)="([^"#]+)"/g;
  let m;
  while ((m = rx.exec(text))) {
    const u = m[1];
    if (/^(https?:)?\/\//.test(u)) throw new Error(`${p} refers to another host: ${u}`);
    if (/\.(js|css|svg)(\?|$)/.test(u)) refs.add(new URL(u, base + p).pathname + new URL(u, base + p).search);
  }
  /* images the stylesheet pulls in */
  let total = html.body.length;
  const parts = [`html ${html.body.length}`];
  for (const r of refs) {
    const a = await httpReq(base, 'GET', r, { headers: gz });
    eq(a.status, 200, 'GET ' + r);
    total += a.body.length;
    parts.push(`${path.basename(r.split('?')[0])} ${a.body.length}`);
    if (/\.css/.test(r)) {
      const css = (a.headers['content-encoding'] === 'gzip' ? require('zlib').gunzipSync(a.body) : a.body).toString();
      const urx = /url\("?([^")]+)"?\)/g;
      let u;
      while ((u = urx.exec(css))) {
        const ip = new URL(u[1], base + r).pathname;
        const img = await httpReq(base, 'GET', ip, { headers: gz });
        total += img.body.length;
        parts.push(`${path.basename(ip)} ${img.body.length}`);
      }
    }
  }
  /* the form page renders the schema it fetches: count it too */
  const form = /[?&]form=([a-z_]+)/.exec(p);
  if (form) {
    const sch = await httpReq(base, 'GET', '/api/forms/' + form[1], { headers: gz });
    eq(sch.status, 200, 'schema ' + form[1]);
    total += sch.body.length;
    parts.push(`schema ${sch.body.length}${sch.headers['content-encoding'] === 'gzip' ? '' : ' (not gzipped)'}`);
  }
  return { total, parts };
}

test('every page: no horizontal scroll at 360px, labelled inputs, tap targets, under 60 KB gzip', async (t) => {
  const c = await ensureCase();
  const pages = [
    '/',
    '/form.html?form=consult',
    '/form.html?form=complaint',
    '/success.html?id=' + c.id,
    '/lookup.html?id=' + c.id
  ];
  const page = await newPage(t);
  for (const p of pages) {
    await page.goto(base + p);
    await page.waitForLoadState('networkidle');
    await assertLayout(page, p);
  }
  /* without JavaScript the pages say what is needed */
  const nojs = await newPage(t, { javaScriptEnabled: false });
  for (const p of ['/form.html?form=complaint', '/lookup.html']) {
    await nojs.goto(base + p);
    assert(/JavaScript/.test(await nojs.locator('main').innerText()), `${p} without JavaScript says nothing`);
  }
  await shot(nojs, 'nojs-form', { fullPage: false });
  /* an upcoming class shows on the start page; none scheduled says so */
  const empty = await newPage(t);
  await empty.goto(base + '/');
  await empty.waitForSelector('#classes-body p:not(.loading)');
  assert((await empty.locator('#classes-body').innerText()).includes('近期没有安排财税云课堂'), 'no-class message');
  const prefix = (await stack.cmd('prefix')).result;
  const soon = Date.now() + 86400000;
  const cls = { date: new Date(soon + 8 * 3600e3).toISOString().slice(0, 10), time: '14:30', title: '小规模纳税人增值税优惠政策解读<b>直播</b>', live_url: 'https://example.invalid/live' };
  await stack.cmd('redis ' + JSON.stringify(['ZADD', prefix + 'classes', String(soon), JSON.stringify(cls)]));
  try {
    await empty.reload();
    await empty.waitForSelector('#classes-body ul li');
    const li = await empty.locator('#classes-body li').innerText();
    assert(li.includes('小规模纳税人增值税优惠政策解读<b>直播</b>'), 'class title rendered as text');
    assert(li.includes('14:30'), 'class time');
    /* the live link as the staff console stores it (live_url) */
    assert((await empty.locator('#classes-body a.class-link').getAttribute('href')) ===
      'https://example.invalid/live', 'class live link');
    await assertLayout(empty, 'start page with a class');
    await shot(empty, 'index-class');
  } finally {
    await stack.cmd('redis ' + JSON.stringify(['DEL', prefix + 'classes']));
  }
  const sizes = [];
  for (const p of pages) {
    const w = await pageWeight(p);
    sizes.push(`${p}: ${w.total} bytes gzip (${w.parts.join(', ')})`);
    assert(w.total < PAGE_LIMIT_GZIP, `${p} is ${w.total} bytes gzip`);
  }
  t.notes.push(...sizes);
});

/* ---- staff console (nginx/html/admin/) ------------------------------------ */

/* A desktop context, with the same guards as newPage(): page errors, CSP
 * reports and any request off the stack fail the test. */
async function newDesktopPage(t) {
  const ctx = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    serviceWorkers: 'block',
    acceptDownloads: true
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  t.contexts.push(ctx);
  page.on('pageerror', (e) => t.pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) t.pageErrors.push(m.text());
  });
  await ctx.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => {
    t.pageErrors.push('request off the stack: ' + route.request().url());
    route.abort();
  });
  return page;
}

/* Stores a case as lib/cases.c does (hash, history, indexes). */
async function seedCase(prefix, id, form, createdMs, answers, region) {
  const ck = prefix + 'case:' + id;
  const cmds = [
    ['HSET', ck, 'id', id, 'form', form, 'status', 'submitted', 'created_ms', String(createdMs), 'updated_ms',
      String(createdMs), 'answers', JSON.stringify(answers), 'mobile', answers.mobile, 'region', region,
      'source', 'web', 'dup_of', ''],
    ['RPUSH', ck + ':log', JSON.stringify({ at_ms: createdMs, from: '', to: 'submitted', by: 'web', note: '' })]
  ];
  for (const idx of ['cases:all', 'cases:type:' + form, 'cases:status:submitted', 'cases:region:' + region]) {
    cmds.push(['ZADD', prefix + idx, String(createdMs), id]);
  }
  for (const c of cmds) await stack.cmd('redis ' + JSON.stringify(c));
}

test('staff console: sign in, filter, open a case, accept it, history and deadline, export, charts', async (t) => {
  const prefix = (await stack.cmd('prefix')).result;
  const token = (await stack.cmd('staff_token')).result;
  const created = Date.now() - 2 * 86400e3;
  const day = new Date(created + 8 * 3600e3).toISOString().slice(0, 10).replace(/-/g, '');
  const ts = `TS${day}-8801`;
  await seedCase(prefix, ts, 'complaint', created, Object.assign({}, COMPLAINT, {
    company_name: '<img src=x onerror="window.__zqXss=3">成都控制台测试有限公司', amount_fen: 12345678,
    respondent_region: '500000', mobile: MOBILE }), '510100');
  await seedCase(prefix, `TS${day}-8802`, 'complaint', created + 1000, Object.assign({}, COMPLAINT, {
    company_name: '绵阳控制台测试有限公司', amount_fen: 100, respondent_region: '510700', mobile: MOBILE }), '510700');
  await seedCase(prefix, `ZX${day}-8801`, 'consult', created + 2000, Object.assign({}, CONSULT, {
    company_name: '德阳咨询企业', mobile: MOBILE }), '510600');

  const page = await newDesktopPage(t);
  await page.goto(base + '/admin/');
  await page.waitForSelector('input[name=token]');
  await shot(page, 'admin-login');
  await page.fill('input[name=token]', 'wrong-token');
  await page.click('button[type=submit]');
  await page.waitForSelector('#flash.err:not([hidden])');
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#case-rows tr[data-id]');
  eq((await page.locator('#who-name').textContent()).trim(), 'tester（管理员）', 'signed-in name');
  const all = await page.locator('#case-rows tr[data-id]').count();
  assert(all >= 3, `case rows: ${all}`);

  /* Filter: complaints in 成都 whose text has 控制台测试 (other tests leave
   * cases of their own in the same stack). */
  await page.selectOption('#filters select[name=type]', 'complaint');
  await page.selectOption('#filters select[name=region]', '510100');
  await page.fill('#filters input[name=q]', '控制台测试');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('type=complaint') &&
    document.getElementById('count') && /全部/.test(document.getElementById('count').textContent) &&
    document.querySelectorAll('#case-rows tr[data-id]').length === 1);
  const row = page.locator(`#case-rows tr[data-id="${ts}"]`);
  assert(await row.count() === 1, 'the filtered row');
  assert((await row.innerText()).includes('<img src=x'), 'company name shown as text');
  eq(await row.locator('[data-deadline]').getAttribute('data-deadline'), 'ok', 'deadline badge');
  await shot(page, 'admin-list');

  /* Open it, accept it. */
  await row.click();
  await page.waitForSelector('#case-status');
  eq((await page.locator('#case-status').textContent()).trim(), '已提交', 'status before');
  assert((await page.locator('#case-deadline').innerText()).includes('受理审查期限'), 'review deadline');
  assert((await page.locator('#app').innerText()).includes('川渝跨区域协作'), 'cross-region flag');
  eq(await page.locator('#history li').count(), 1, 'history before');
  /* The server makes the move but its answer is lost: the console retries
   * once with the same Idempotency-Key and gets the move back (not 409). */
  const moveKeys = [];
  let lost = 0;
  await page.route('**/api/admin/cases/*/transitions', async (route) => {
    moveKeys.push(route.request().headers()['idempotency-key']);
    if (lost++ > 0) return route.continue();
    await route.fetch();
    await route.abort('connectionreset');
  });
  /* A move opens its form: the note is internal, "tell the enterprise"
   * is not ticked, and the preview shows what the lookup will show. */
  await page.click('#moves [data-move=accepted]');
  await page.waitForSelector('#move-form:not([hidden])');
  eq(await page.locator('#move-public').isChecked(), false, 'public box not pre-ticked');
  assert(await page.locator('#move-message-box').isHidden(), 'no message box until ticked');
  assert((await page.locator('#move-preview').innerText()).includes('内部说明不会公开'), 'preview without a message');
  await page.fill('#move-note', '材料齐全，予以受理');
  assert(!(await page.locator('#move-preview').innerText()).includes('材料齐全'), 'the note is not in the preview');
  await page.check('#move-public');
  await page.selectOption('#move-template', { label: '已受理' });
  const msg = await page.locator('#move-message').inputValue();
  assert(msg.includes('您的投诉已受理'), 'template filled the message: ' + msg);
  assert((await page.locator('#move-preview').innerText()).includes('您的投诉已受理'), 'preview shows the message');
  /* Primary actions are not in the destructive colour. */
  const colours = await page.evaluate(() => {
    const bg = (sel) => getComputedStyle(document.querySelector(sel)).backgroundColor;
    const fg = (sel) => getComputedStyle(document.querySelector(sel)).color;
    return { primary: bg('#move-submit'), danger: fg('#moves [data-move=rejected]') };
  });
  assert(colours.primary !== colours.danger, `primary ${colours.primary} vs danger ${colours.danger}`);
  await shot(page, 'admin-move');
  await page.click('#move-submit');
  await page.waitForFunction(() => document.getElementById('case-status') &&
    document.getElementById('case-status').textContent.trim() === '已受理');
  await page.unroute('**/api/admin/cases/*/transitions');
  eq(moveKeys.length, 2, 'transition requests');
  assert(/^[A-Za-z0-9_-]{8,64}$/.test(moveKeys[0] || ''), 'Idempotency-Key ' + moveKeys[0]);
  eq(moveKeys[1], moveKeys[0], 'the retry reused the Idempotency-Key');
  eq(await page.locator('#flash.err').count(), 0, 'no error shown after the retried move');
  eq(await page.locator('#history li').count(), 2, 'history after');
  const hist = await page.locator('#history').innerText();
  assert(hist.includes('已提交 → 已受理') && hist.includes('内部说明：材料齐全，予以受理') && hist.includes('tester'), 'history entry');
  assert(hist.includes('对企业说明：您的投诉已受理'), 'the message in the history');
  const dl = await page.locator('#case-deadline').innerText();
  assert(dl.includes('转办期限'), 'transfer deadline: ' + dl);
  const stored = (await stack.cmd('redis ' + JSON.stringify(['HGET', prefix + 'case:' + ts, 'status']))).result;
  eq(stored, 'accepted', 'stored status');
  assert(await page.evaluate(() => window.__zqXss === undefined), 'no script ran');
  await shot(page, 'admin-case');

  /* 转办 needs a department from the list; the outcome of the answer is
   * asked for with a result type and an amount. */
  await page.click('#moves [data-move=transferred]');
  assert(await page.locator('#move-department').isVisible(), 'department list for 转办');
  assert(await page.locator('#move-outcome').isHidden(), 'no outcome for 转办');
  await page.fill('#move-note', '转住建部门');
  await page.click('#move-submit');
  await page.waitForSelector('#flash.err:not([hidden])');
  await page.selectOption('#move-department', { label: '住房和城乡建设部门' });
  await page.click('#move-submit');
  await page.waitForFunction(() => document.getElementById('case-status').textContent.trim() === '已转办');
  eq((await page.locator('#case-department').textContent()).trim(), '住房和城乡建设部门', 'department shown');
  /* The extension has no number filled in. */
  eq(await page.locator('form input[name=days]').inputValue(), '', 'no pre-filled extension');
  await page.click('#moves [data-move=answered]');
  assert(await page.locator('#move-outcome').isVisible(), 'outcome asked for 书面答复');
  await page.fill('#move-note', '已督促付款');
  await page.selectOption('#move-result', 'paid_part');
  await page.fill('#move-recovered', '1,000.50');
  await page.click('#move-submit');
  await page.waitForFunction(() => document.getElementById('case-status').textContent.trim() === '已答复');
  eq((await page.locator('#case-result').textContent()).trim(), '已部分支付，追回 1,000.50 元', 'result shown');
  /* 承办人 from the staff list. */
  const handlers = await page.locator('form select[name=handler] option').allTextContents();
  assert(handlers.some((x) => x.startsWith('tester')), 'staff list: ' + handlers.join('/'));
  await page.selectOption('form select[name=handler]', 'tester');
  await page.click('form:has(select[name=handler]) button[type=submit]');
  await page.waitForFunction(() => document.getElementById('history').innerText.includes('分派：承办人 tester'));
  assert((await page.locator('#history').innerText()).includes('成都市经济和信息化局') ||
    (await page.locator('#history').innerText()).includes('经济和信息化厅'), 'office by name in the history');
  assert(!/分派：.*5[0-9]{5}/.test(await page.locator('#history').innerText()), 'no office code in the history');

  /* Export what the filter shows. */
  await page.goto(base + '/admin/#/cases?type=complaint');
  await page.waitForSelector('#case-rows tr[data-id]');
  const [dlEvent] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const file = await dlEvent.path();
  const csv = fs.readFileSync(file);
  eq(csv.slice(0, 3).toString('hex'), 'efbbbf', 'CSV byte order mark');
  const text = csv.slice(3).toString('utf8');
  const lines = text.split('\r\n').filter(Boolean);
  assert(lines[0].startsWith('案件编号,'), 'CSV header');
  assert(lines.length >= 3 && lines.every((l, i) => i === 0 || l.startsWith('TS')), 'complaints only');
  assert(text.includes(ts) && text.includes('已答复') && text.includes('已部分支付'), 'the answered case in the export');
  assert(/^cases-\d{4}-\d{2}-\d{2}\.csv$/.test(dlEvent.suggestedFilename()), 'file name');

  /* The pages over issue 5's endpoints: a class, a push target, a notice
   * and its delivery report. */
  await page.goto(base + '/admin/#/classes');
  await page.waitForSelector('form input[name=title]');
  const classDay = new Date(Date.now() + 20 * 86400e3 + 8 * 3600e3).toISOString().slice(0, 10);
  await page.fill('form input[name=date]', classDay);
  await page.fill('form input[name=time]', '14:30');
  await page.fill('form input[name=title]', '控制台测试课程');
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('table') &&
    document.querySelector('table').innerText.includes('控制台测试课程'));
  /* after the class, staff add its replay link to the same class */
  await page.locator('tr', { hasText: '控制台测试课程' }).locator('button[data-edit-class]').click();
  eq(await page.inputValue('form input[name=title]'), '控制台测试课程', 'editor filled with the class');
  await page.fill('form input[name=live_url]', 'https://example.invalid/console-live');
  await page.fill('form input[name=replay_url]', 'https://example.invalid/console-replay');
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => {
    const rows = Array.from(document.querySelectorAll('tr')).filter((r) => r.innerText.includes('控制台测试课程'));
    return rows.length === 1 && rows[0].querySelector('a[href="https://example.invalid/console-replay"]');
  });
  await page.goto(base + '/admin/#/targets');
  await page.waitForSelector('form select[name=channel]');
  await page.selectOption('form select[name=channel]', 'generic');
  await page.fill('form input[name=name]', '控制台测试群');
  await page.fill('form input[name=address]', 'http://127.0.0.1:9/console-test');
  await page.fill('form input[name=secret]', 'console-test-secret');
  await page.fill('form input[name=tags]', 'staff, 510100');
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('table') &&
    document.querySelector('table').innerText.includes('控制台测试群'));
  /* Tags as names, the code beside them (labels, not codes). */
  const tagCell = await page.locator('tr', { hasText: '控制台测试群' }).locator('td.tags').innerText();
  eq(tagCell, '工作人员（staff），成都市（510100）', 'target tags');
  await page.goto(base + '/admin/#/notices');
  await page.waitForSelector('form input[name=title]');
  await page.fill('form input[name=title]', '控制台测试通知');
  await page.fill('form textarea[name=body]', '本月 27 日财税云课堂。');
  await page.fill('form input[name=tags]', 'staff');
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => location.hash.startsWith('#/notice/') &&
    document.querySelector('h1') && document.querySelector('h1').textContent.includes('控制台测试通知'));
  assert(await page.locator('.progress svg').count() === 1, 'delivery progress bar');
  await shot(page, 'admin-notice');

  /* The digest page says from November that next year's holidays are missing. */
  await page.goto(base + '/admin/#/digest?date=2026-11-02');
  await page.waitForSelector('[data-calendar-missing="2027"]');
  await page.goto(base + '/admin/#/digest?date=2026-10-30');
  await page.waitForFunction(() => document.getElementById('app').innerText.includes('2026-10-30：逾期'));
  eq(await page.locator('[data-calendar-missing]').count(), 0, 'no calendar warning in October');

  /* The audit log in words: the acceptance above as 已提交 → 已受理. */
  await page.goto(base + '/admin/#/audit');
  await page.waitForFunction(() => Array.from(document.querySelectorAll('td')).some((td) =>
    td.textContent.startsWith('已提交 → 已受理') && /from=submitted to=accepted/.test(td.title)));
  assert(!(await page.locator('td', { hasText: /from=|to=/ }).count()), 'a raw audit detail shown');

  /* Statistics drawn in SVG. */
  await page.goto(base + '/admin/#/stats');
  await page.waitForSelector('#chart-region rect');
  assert(await page.locator('#chart-region rect').count() >= 3, 'bars by region');
  assert(await page.locator('#chart-month rect').count() >= 1, 'bars by month');
  assert((await page.locator('#amounts-payer').innerText()).includes('机关'), 'amounts by payer type');
  assert((await page.locator('#amounts-department').innerText()).includes('住房和城乡建设部门'), 'amounts by department');
  assert((await page.locator('#on-time').innerText()).includes('转办期限'), 'on-time share per deadline');
  await shot(page, 'admin-stats');
  shared.consoleCase = ts;
});

/* The enterprise's side of a request for more material, done over HTTP as
 * the lookup page does it: a session, the code, an upload, the answer. */
async function answerSupplement(id, mobile, text, file) {
  const start = await httpReq(base, 'POST', '/api/session');
  const cookie = (start.headers['set-cookie'] || [''])[0].split(';')[0];
  const headers = { Cookie: cookie, 'X-CSRF-Token': JSON.parse(start.body.toString()).csrf };
  let r = await httpReq(base, 'POST', '/api/sms/code', { body: { mobile, purpose: 'supplement' }, headers });
  eq(r.status, 202, 'supplement code: ' + r.body);
  r = await httpReq(base, 'POST', '/api/sms/verify', { body: { mobile, purpose: 'supplement', code: await smsCodeSent(mobile) }, headers });
  eq(r.status, 200, 'supplement verify: ' + r.body);
  r = await httpReq(base, 'POST', `/api/cases/${id}/files?kind=invoice`, {
    body: file.data, headers: Object.assign({ 'X-File-Name': encodeURIComponent(file.name), 'Content-Type': 'application/pdf' }, headers)
  });
  eq(r.status, 201, 'supplement upload: ' + r.body);
  const fid = JSON.parse(r.body.toString()).file.id;
  r = await httpReq(base, 'POST', `/api/cases/${id}/supplements`, { body: { text, files: [fid] }, headers });
  eq(r.status, 200, 'supplement: ' + r.body);
  return fid;
}

test('staff console: the request for more material, its date and overdue mark, the enterprise answer with its file', async (t) => {
  await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'tencent' }, verify: { supplement: true } }));
  try {
    const prefix = (await stack.cmd('prefix')).result;
    const token = (await stack.cmd('staff_token')).result;
    const auth = { Authorization: 'Bearer ' + token };
    const created = Date.now() - 20 * 86400e3;
    const day = new Date(created + 8 * 3600e3).toISOString().slice(0, 10).replace(/-/g, '');
    /* One waiting since long ago: its date has passed. */
    const late = `TS${day}-8911`;
    await seedCase(prefix, late, 'complaint', created, Object.assign({}, COMPLAINT, { mobile: '13712345673' }), '510100');
    const askedAt = created + 86400e3;
    const supplyBy = new Date(askedAt + 8 * 3600e3 + 3 * 86400e3).toISOString().slice(0, 10);
    for (const c of [
      ['RPUSH', prefix + 'case:' + late + ':log', JSON.stringify({ at_ms: askedAt, from: 'submitted', to: 'needs_info', by: 'hd1', note: '', public: true, message: '请补充对账单。', supply_by: supplyBy })],
      ['HSET', prefix + 'case:' + late, 'status', 'needs_info'],
      ['ZREM', prefix + 'cases:status:submitted', late],
      ['ZADD', prefix + 'cases:status:needs_info', String(created), late]
    ]) await stack.cmd('redis ' + JSON.stringify(c));
    /* One answered: the text and a PNG from the enterprise. */
    const done = `TS${day}-8912`;
    const mobile = '13712345674';
    await seedCase(prefix, done, 'complaint', created, Object.assign({}, COMPLAINT, { mobile }), '510100');
    const mv = await httpReq(base, 'POST', `/api/admin/cases/${done}/transitions`, { body: { to: 'needs_info', message: '请补充发票。' }, headers: auth });
    eq(mv.status, 200, 'needs_info: ' + mv.body);
    /* ASCII only: httpReq sends a string body as it is. */
    const pdf = '%PDF-1.7\n' + 'x'.repeat(2000) + '\ntrailer\n%%EOF\n';
    const fid = await answerSupplement(done, mobile, '发票已补充，请查收。', { name: '发票.pdf', data: pdf });

    const page = await newDesktopPage(t);
    await page.goto(base + '/admin/');
    await page.waitForSelector('input[name=token]');
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('#case-rows tr[data-id]');
    await page.goto(base + '/admin/#/case/' + encodeURIComponent(late));
    await page.waitForSelector('#case-supply-by');
    eq((await page.locator('#case-status').textContent()).trim(), '待补充材料', 'status');
    assert((await page.locator('#case-supply-by').innerText()).includes(supplyBy), 'supply date');
    eq(await page.locator('[data-supply-overdue]').count(), 1, 'overdue mark');
    eq((await page.locator('#case-deadline [data-deadline]').textContent()).trim(), '补充期限已过', 'deadline badge');
    assert((await page.locator('#app').innerText()).includes('请补充对账单。'), 'request shown');
    await shot(page, 'admin-supplement-overdue');

    await page.goto(base + '/admin/#/case/' + encodeURIComponent(done));
    await page.waitForFunction((id) => document.querySelector('h1') && document.querySelector('h1').textContent.includes(id), done);
    await page.waitForSelector('#history');
    eq((await page.locator('#case-status').textContent()).trim(), '已提交', 'answered status');
    const hist = await page.locator('#history').innerText();
    assert(hist.includes('企业补充说明：发票已补充，请查收。'), 'answer text in the history: ' + hist);
    assert(/等待补充材料 \d+ 个工作日/.test(hist), 'days waited in the history: ' + hist);
    assert(hist.includes('补充期限：'), 'request date in the history');
    eq(await page.locator(`#history button[data-file="${fid}"]`).count(), 1, 'file in the history');
    const later = page.locator(`#case-files li:has(button[data-file="${fid}"])`);
    assert((await later.innerText()).includes('企业补充'), 'file listed as added later');
    const [dl] = await Promise.all([
      page.waitForResponse((r) => r.url().includes(`/files/${fid}`)),
      page.locator(`#history button[data-file="${fid}"]`).click()
    ]);
    eq(dl.status(), 200, 'download from the history');
    await shot(page, 'admin-supplement-answer');
    /* The download was audited. */
    const audit = await httpReq(base, 'GET', '/api/admin/audit', { headers: auth });
    assert(audit.body.toString().includes(fid) && audit.body.toString().includes('file_download'), 'download not audited');

    /* The move form: a request needs its message; the date is offered. */
    const ask = `TS${day}-8913`;
    await seedCase(prefix, ask, 'complaint', created, Object.assign({}, COMPLAINT, { mobile: '13712345675' }), '510100');
    await page.goto(base + '/admin/#/case/' + encodeURIComponent(ask));
    await page.waitForSelector('#moves button[data-move="needs_info"]');
    await page.click('#moves button[data-move="needs_info"]');
    assert(await page.locator('#move-public').isChecked(), 'message ticked for a request');
    assert(await page.locator('#move-supply-by').isVisible(), 'date offered');
    await page.click('#move-submit');
    await page.waitForSelector('#flash.err:not([hidden])');
    assert((await page.locator('#flash').textContent()).includes('补充的全部材料'), 'message asked for');
    await page.fill('#move-message', '请补充：合同原件扫描件。');
    await page.click('#move-submit');
    await page.waitForSelector('#case-supply-by');
    eq((await page.locator('#case-status').textContent()).trim(), '待补充材料', 'requested');
  } finally {
    await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'none' } }));
  }
});

/* The console on a phone (390x844 and 360x640): a menu button, the case list as cards
 * (number, company, status, deadline), no horizontal scroll, 16 px inputs
 * and 44 px targets, on the list, a case and the statistics. */
for (const [vw, vh] of [[390, 844], [360, 640]]) test(`staff console on a phone (${vw}x${vh}): menu button, case cards, no horizontal scroll`, async (t) => {
  const token = (await stack.cmd('staff_token')).result;
  const ctx = await browser.newContext({ viewport: { width: vw, height: vh }, isMobile: true, hasTouch: true,
    deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', serviceWorkers: 'block' });
  t.contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => t.pageErrors.push(String(e && e.message ? e.message : e)));
  await ctx.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => {
    t.pageErrors.push('request off the stack: ' + route.request().url());
    route.abort();
  });
  await page.goto(base + '/admin/');
  await page.waitForSelector('input[name=token]');
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#case-rows tr[data-id]');
  /* The menu folds behind a button. */
  assert(await page.locator('#menu-toggle').isVisible(), 'menu button');
  assert(await page.locator('#nav').isHidden(), 'menu closed');
  await page.click('#menu-toggle');
  assert(await page.locator('#nav a[data-nav=stats]').isVisible(), 'menu open');
  eq(await page.locator('#menu-toggle').getAttribute('aria-expanded'), 'true', 'aria-expanded');
  await shot(page, `admin-phone-menu-${vw}`);
  await page.click('#menu-toggle');
  /* The filters fold behind one line until opened. */
  assert(await page.locator('#filter-box > summary').isVisible(), 'filter summary');
  assert(await page.locator('#filters').isHidden(), 'filters folded on a phone');
  await page.click('#filter-box > summary');
  assert(await page.locator('#filters input[name=q]').isVisible(), 'filters open');
  await page.click('#filter-box > summary');
  /* Cards: the number, the company, the status and the deadline only. */
  const card = page.locator('#case-rows tr[data-id]').first();
  const shownCells = await card.evaluate((tr) => Array.from(tr.children)
    .filter((td) => getComputedStyle(td).display !== 'none').map((td) => td.className.split(' ')[0]));
  eq(shownCells.join(','), 'c-id,c-company,c-status,c-deadline', 'card cells');
  assert(await page.locator('table.cases thead').isHidden(), 'no table head on a phone');
  await assertLayout(page, `console list at ${vw}`);
  await shot(page, `admin-phone-list-${vw}`);
  await page.goto(base + '/admin/#/case/' + encodeURIComponent(shared.consoleCase || ''));
  await page.waitForSelector('#case-status');
  await assertLayout(page, `console case at ${vw}`);
  await shot(page, `admin-phone-case-${vw}`);
  await page.goto(base + '/admin/#/stats');
  await page.waitForSelector('#amounts-payer');
  await assertLayout(page, `console stats at ${vw}`);
  await shot(page, `admin-phone-stats-${vw}`);
});

/* ---- runner -------------------------------------------------------------- */

/* The enterprise's own actions on the lookup page (issue 15): 撤回投诉 with
 * a confirm step, a reason and the mobile's code; then a closed case rated
 * with the three choices and a comment; a refusal said in Chinese; the
 * console shows both. */
test('withdraw and evaluate on the lookup page: confirm, code, reason; rating once; console', async (t) => {
  await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'tencent' } }));
  try {
    const prefix = (await stack.cmd('prefix')).result;
    const mobile = '13712345690';
    const created = Date.now() - 86400e3;
    const day = new Date(created + 8 * 3600e3).toISOString().slice(0, 10).replace(/-/g, '');
    const [open, closed, rated] = [`TS${day}-8901`, `TS${day}-8902`, `TS${day}-8903`];
    const answers = Object.assign({}, COMPLAINT, { mobile, company_name: '撤回测试有限公司' });
    for (const id of [open, closed, rated]) await seedCase(prefix, id, 'complaint', created, answers, '510100');
    for (const id of [closed, rated]) {
      await stack.cmd('redis ' + JSON.stringify(['HSET', prefix + 'case:' + id, 'status', 'closed']));
      await stack.cmd('redis ' + JSON.stringify(['RPUSH', prefix + 'case:' + id + ':log',
        JSON.stringify({ at_ms: created + 1000, from: 'answered', to: 'closed', by: 'hd1', note: '' })]));
    }

    const page = await newPage(t);
    await page.goto(base + '/lookup.html?id=' + encodeURIComponent(open));
    await page.fill('#case-mobile', mobile);
    await page.click('#lookup-btn');
    const box = page.locator('#case-result [data-own="withdraw"]');
    await box.locator('button', { hasText: '撤回投诉' }).click();
    /* The confirm step: what it means, an optional reason, the code. */
    await box.locator('.withdraw-form').waitFor();
    assert((await box.innerText()).includes('撤回后本投诉将终止办理'), 'no warning');
    await box.locator('button', { hasText: '确认撤回' }).click();
    const msg = box.locator('.own-tail > .field-error');
    await msg.waitFor();
    eq((await msg.textContent()).trim(), '请先获取短信验证码，验证本案件登记的手机号码。', 'unverified message');
    await box.locator('.sms-send').click();
    await box.locator('.sms-input').waitFor();
    await box.locator('.sms-input').fill(await smsCodeSent(mobile));
    await page.waitForFunction(() => /已验证/.test(document.querySelector('#case-result .sms-status').textContent));
    await box.locator('textarea').fill('已与对方协商解决');
    await assertLayout(page, 'withdraw confirm');
    await shot(page, 'lookup-withdraw-confirm');
    await box.locator('button', { hasText: '确认撤回' }).click();
    await page.waitForFunction(() => document.querySelector('#case-status').textContent.trim() === '已撤回');
    assert((await page.locator('#case-result ol.history').innerText()).includes('企业撤回：已与对方协商解决'), 'history');
    eq(await page.locator('#case-result [data-own]').count(), 0, 'no action left on a withdrawn case');
    await shot(page, 'lookup-withdrawn');

    /* The closed case in the same session: the number is proved already. */
    await page.fill('#case-id', closed);
    await page.click('#lookup-btn');
    const ev = page.locator('#case-result [data-own="evaluate"]');
    await ev.locator('button', { hasText: '评价办理结果' }).click();
    await ev.locator('.evaluate-form').waitFor();
    eq(await ev.locator('.sms-code').count(), 0, 'code asked again');
    eq(await ev.locator('.choice').count(), 3, 'three choices');
    await ev.locator('button', { hasText: '提交评价' }).click();
    await ev.locator('.own-tail > .field-error').waitFor();
    eq((await ev.locator('.own-tail > .field-error').textContent()).trim(), '请选择满意、基本满意或不满意', 'no choice');
    await ev.locator('.choice', { hasText: '基本满意' }).click();
    await ev.locator('textarea').fill('办理及时，回款还差一部分');
    await assertLayout(page, 'evaluation form');
    await shot(page, 'lookup-evaluate');
    await ev.locator('button', { hasText: '提交评价' }).click();
    const done = page.locator('#case-result [data-own="rated"]');
    await done.waitFor();
    const doneText = await done.innerText();
    assert(doneText.includes('基本满意') && doneText.includes('办理及时，回款还差一部分'), 'rating shown: ' + doneText);
    await shot(page, 'lookup-rated');

    /* Rated meanwhile (another phone): the refusal in Chinese. */
    await page.fill('#case-id', rated);
    await page.click('#lookup-btn');
    const ev2 = page.locator('#case-result [data-own="evaluate"]');
    await ev2.locator('button', { hasText: '评价办理结果' }).click();
    await ev2.locator('.choice', { hasText: '满意' }).first().click();
    await stack.cmd('redis ' + JSON.stringify(['HSET', prefix + 'case:' + rated, 'rating', 'dissatisfied']));
    await ev2.locator('button', { hasText: '提交评价' }).click();
    await page.waitForFunction(() => /只能评价一次/.test(document.querySelector('#case-result').innerText));
    await assertLayout(page, 'evaluation refused');

    /* The console: withdrawn by the enterprise, and the rating. */
    const token = (await stack.cmd('staff_token')).result;
    const desk = await newDesktopPage(t);
    await desk.goto(base + '/admin/');
    await desk.fill('input[name=token]', token);
    await desk.click('button[type=submit]');
    await desk.waitForSelector('#case-rows');
    await desk.goto(base + '/admin/#/case/' + open);
    await desk.waitForSelector('#case-withdrawn-by');
    assert((await desk.locator('#history').innerText()).includes('企业（短信验证）'), 'history names the enterprise');
    await desk.goto(base + '/admin/#/case/' + closed);
    await desk.waitForSelector('#case-rating');
    eq((await desk.locator('#case-rating').textContent()).trim(), '基本满意：办理及时，回款还差一部分', 'rating in the console');
    await desk.goto(base + '/admin/#/stats');
    await desk.waitForSelector('#satisfaction-region');
    assert((await desk.locator('#stat-satisfaction').innerText()).includes('满意及基本满意'), 'satisfaction summary');
    assert(await desk.locator('#chart-satisfaction-month rect').count() >= 1, 'satisfaction by month chart');
    await shot(desk, 'admin-satisfaction');
  } finally {
    await stack.cmd('config ' + JSON.stringify({ sms: { provider: 'none' } }));
  }
});

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  for (const f of fs.readdirSync(OUT)) if (f.endsWith('.png')) fs.unlinkSync(path.join(OUT, f));
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;
  stack = new StackCtl();
  try {
    base = await stack.start();
  } catch (e) {
    console.log(`not ok - stack: ${e.message} (see ${path.relative(ROOT, path.join(OUT, 'stack.log'))})`);
    await stack.close().catch(() => {});
    console.log('browser: 0 passed, 1 failed');
    process.exit(1);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'zq-chromium-'));
  try {
    /* launch() gives chromium a fresh temporary --user-data-dir of its own
     * (it refuses one in args); the run's own temp dir holds its downloads
     * and traces. */
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROME_ARGS,
      downloadsPath: profile,
      tracesDir: profile,
      timeout: 30000
    });
  } catch (e) {
    console.log(`not ok - chromium: ${e.message.split('\n')[0]}`);
    await stack.close().catch(() => {});
    console.log('browser: 0 passed, 1 failed');
    process.exit(1);
  }
  console.log(`# chromium ${browser.version()}, stack ${base}`);
  const chosen = tests.filter((x) => !ONLY || x.name.includes(ONLY));
  for (let i = 0; i < chosen.length; i++) {
    const tc = chosen[i];
    const t = { contexts: [], pageErrors: [], notes: [] };
    const started = Date.now();
    try {
      await withTimeout(tc.fn(t), TEST_TIMEOUT_MS, 'test');
      if (t.pageErrors.length) throw new Error('page errors: ' + t.pageErrors.slice(0, 3).join(' | '));
      passed += 1;
      console.log(`ok - ${tc.name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failed += 1;
      const msg = String(e && e.message ? e.message : e).split('\n')[0];
      console.log(`not ok - ${tc.name}: ${msg}`);
      for (const ctx of t.contexts) {
        for (const pg of ctx.pages()) {
          await pg.screenshot({ path: path.join(OUT, `fail-${i + 1}.png`), fullPage: true }).catch(() => {});
        }
      }
    }
    t.notes.forEach((n) => console.log('# ' + n));
    for (const ctx of t.contexts) await ctx.close().catch(() => {});
  }
  await browser.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
  const code = await stack.close();
  if (code !== 0) {
    failed += 1;
    console.log(`not ok - stack teardown: stack.py exited ${code} (see ${path.relative(ROOT, path.join(OUT, 'stack.log'))})`);
  }
  console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)}s, screenshots in ${path.relative(ROOT, OUT)}/`);
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log('not ok - runner: ' + (e && e.stack ? e.stack : e));
  console.log('browser: 0 passed, 1 failed');
  if (stack) stack.close().catch(() => {});
  process.exit(1);
});
