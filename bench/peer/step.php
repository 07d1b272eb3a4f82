<?php
// The PHP peer of zhuqi's complaint step, measured beside it by `make bench`
// (bench/run.py's "PHP peer" row) and checked by tests/e2e/test_bench_peer.py.
//
// The same contract as zhuqi for the paths the bench sends (specs api.md):
//   POST /api/intake/complaint                    start a draft: sets zq_sid,
//                                                 201 {"csrf","form","step","answers","done"}
//   PUT  /api/intake/complaint/steps/{step}       save one step (the eligibility
//                                                 check or the complainant): 200 with
//                                                 the draft view, 422 with "fields"
// and the same session: a Redis hash {prefix}sess:{sid} with "csrf" and the
// draft as JSON in "f:complaint", read with HMGET + EXPIRE and written with
// HSET + EXPIRE (+ the draft's mobile index) in one pipeline each, as
// lib/intake/session.c does; the same CSRF check (X-CSRF-Token against the
// session's, 403 csrf_failed), the same validators for the fields of those
// two steps (required, text length and control characters, options,
// regions, the USCC with its GB 32100-2015 check character, the mobile rule
// of shared/specs/intake.md), the gate's stop rules, steps in order, and the
// same error shape and messages.
//
// The schema (the steps' fields, the regions) and the Redis address come
// from the file named by the FastCGI parameter PEER_CONFIG, a PHP file
// returning an array that bench/peer/peer.py writes from config/forms and
// config/regions.json: opcache keeps it compiled, so no request parses JSON
// for it, as zhuqi loads its schema once at start.
//
// What it leaves out, to be told apart from zhuqi when reading the figures:
// duplicate JSON keys are taken (PHP keeps the last), there are no uploads,
// no cross-field rules (none touch these steps), and no request log line.

declare(strict_types=1);

const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const SID_HEX = 64;

/** Sends status + JSON (compact, UTF-8 unescaped, as zhuqi's jansson). */
function respond(int $status, $body): void
{
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    header('Cache-Control: no-store');
    echo json_encode($body, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
}

function respond_error(int $status, string $code, string $message, ?array $fields = null): void
{
    $err = ['code' => $code, 'message' => $message];
    if ($fields !== null) {
        $err['fields'] = (object)$fields;
    }
    respond($status, ['error' => $err]);
}

// --- the validators (lib/intake/validate.c's rules) ------------------------

/** Trims ASCII white space and U+3000 from both ends. */
function zq_trim(string $s): string
{
    $s = trim($s, " \t\n\r\v\f");
    while (str_starts_with($s, "\u{3000}") || str_ends_with($s, "\u{3000}")) {
        if (str_starts_with($s, "\u{3000}")) {
            $s = substr($s, 3);
        } else {
            $s = substr($s, 0, -3);
        }
        $s = trim($s, " \t\n\r\v\f");
    }
    return $s;
}

/** Full-width ASCII forms (U+FF01..U+FF5E) to ASCII, U+3000 to a space. */
function fold(string $s): string
{
    if (!preg_match('/[\x80-\xff]/', $s)) {
        return $s;
    }
    return preg_replace_callback('/[\x{FF01}-\x{FF5E}\x{3000}]/u', function ($m) {
        if ($m[0] === "\u{3000}") {
            return ' ';
        }
        return chr(mb_ord_utf8($m[0]) - 0xFEE0);
    }, $s) ?? $s;
}

/** The code point of one UTF-8 character of 3 bytes (all fold() meets). */
function mb_ord_utf8(string $c): int
{
    return ((ord($c[0]) & 0x0F) << 12) | ((ord($c[1]) & 0x3F) << 6) | (ord($c[2]) & 0x3F);
}

function utf8_chars(string $s): int
{
    return preg_match_all('/./su', $s);
}

/**
 * Classifies a raw input as validate.c's classify(): ['empty'], ['string', s]
 * (trimmed, not empty), ['int', n], ['bool'], ['other'].
 */
function classify($in): array
{
    if ($in === null) {
        return ['empty'];
    }
    if (is_string($in)) {
        $s = zq_trim($in);
        return $s === '' ? ['empty'] : ['string', $s];
    }
    if (is_int($in)) {
        return ['int', $in];
    }
    if (is_bool($in)) {
        return ['bool'];
    }
    return ['other'];
}

class Invalid extends Exception
{
}

function empty_answer(array $f, bool $choose)
{
    if (!empty($f['required'])) {
        throw new Invalid(($choose ? '请选择' : '请填写') . $f['label']);
    }
    return null;
}

function v_text(array $f, $in)
{
    $c = classify($in);
    if ($c[0] === 'empty') {
        return empty_answer($f, false);
    }
    if ($c[0] !== 'string') {
        throw new Invalid($f['label'] . '格式不正确');
    }
    $s = $c[1];
    if (!preg_match('//u', $s)) {
        throw new Invalid($f['label'] . '含有无法识别的字符，请重新输入');
    }
    if (strpbrk($s, "\r\n") !== false) {
        if (empty($f['multiline'])) {
            throw new Invalid($f['label'] . '只能填写一行');
        }
        $s = str_replace("\r\n", "\n", $s);
        $s = str_replace("\r", "\n", $s);
    }
    if (preg_match('/[\x00-\x09\x0B-\x1F\x7F]|\xC2[\x80-\x9F]/', $s)) {
        throw new Invalid($f['label'] . '不能包含制表符等控制字符，请删除后再提交');
    }
    $n = utf8_chars($s);
    if (($f['min'] ?? 0) > 0 && $n < $f['min']) {
        throw new Invalid(sprintf('%s至少 %d 个字（现在 %d 个字）', $f['label'], $f['min'], $n));
    }
    if (($f['max'] ?? 0) > 0 && $n > $f['max']) {
        throw new Invalid(sprintf('%s最多 %d 个字（现在 %d 个字）', $f['label'], $f['max'], $n));
    }
    return $s;
}

/** The option s names (value, label, value in any case, 1-based number), or -1. */
function option_of(array $f, string $s): int
{
    foreach ($f['options'] as $i => $o) {
        if ($o['value'] === $s) {
            return $i;
        }
    }
    foreach ($f['options'] as $i => $o) {
        if ($o['label'] === $s) {
            return $i;
        }
    }
    foreach ($f['options'] as $i => $o) {
        if (strcasecmp($o['value'], $s) === 0) {
            return $i;
        }
    }
    $t = fold($s);
    if (preg_match('/^[0-9]{1,4}$/', $t) && (int)$t >= 1 && (int)$t <= count($f['options'])) {
        return (int)$t - 1;
    }
    return -1;
}

function v_enum(array $f, $in)
{
    $c = classify($in);
    $k = -1;
    if ($c[0] === 'empty') {
        return empty_answer($f, true);
    }
    if ($c[0] === 'int' && $c[1] >= 1 && $c[1] <= count($f['options'])) {
        $k = $c[1] - 1;
    } elseif ($c[0] === 'string') {
        $k = option_of($f, $c[1]);
    }
    if ($k < 0) {
        throw new Invalid('请从选项中选择' . $f['label']);
    }
    return $f['options'][$k]['value'];
}

/** GB 32100-2015: the check character of the first 17, or '' when one is not in the alphabet. */
function uscc_check_char(string $code17): string
{
    $sum = 0;
    $w = 1;
    for ($i = 0; $i < 17; $i++) {
        $v = strpos(USCC_ALPHABET, $code17[$i]);
        if ($v === false) {
            return '';
        }
        $sum += $v * $w;
        $w = $w * 3 % 31;
    }
    return USCC_ALPHABET[(31 - $sum % 31) % 31];
}

function v_uscc(array $f, $in)
{
    $c = classify($in);
    if ($c[0] === 'empty') {
        return empty_answer($f, false);
    }
    if ($c[0] !== 'string') {
        throw new Invalid($f['label'] . '格式不正确');
    }
    $t = fold($c[1]);
    if (!preg_match('//u', $t)) {
        throw new Invalid($f['label'] . '应为 18 位数字或大写字母');
    }
    $code = strtoupper(str_replace(' ', '', $t));
    $n = utf8_chars($code);
    if ($n !== 18) {
        throw new Invalid(sprintf('%s应为 18 位（现在 %d 位）', $f['label'], $n));
    }
    for ($i = 0; $i < 18; $i++) {
        $ch = $code[$i];
        if (strpos(USCC_ALPHABET, $ch) !== false) {
            continue;
        }
        if (strpos('IOSVZ', $ch) !== false) {
            throw new Invalid(sprintf('%s第 %d 位是“%s”：代码中不使用字母 I、O、S、V、Z，请核对',
                                      $f['label'], $i + 1, $ch));
        }
        if (ord($ch) > 0x20 && ord($ch) < 0x7F) {
            throw new Invalid(sprintf('%s第 %d 位“%s”无效：只能是数字或大写字母', $f['label'], $i + 1, $ch));
        }
        throw new Invalid($f['label'] . '只能包含数字和大写字母');
    }
    if (uscc_check_char($code) !== $code[17]) {
        throw new Invalid($f['label'] . '校验位不正确，请核对');
    }
    return $code;
}

function v_mobile(array $f, $in)
{
    $c = classify($in);
    if ($c[0] === 'empty') {
        return empty_answer($f, false);
    }
    if ($c[0] === 'int') {
        $s = (string)$c[1];
    } elseif ($c[0] === 'string') {
        $s = $c[1];
    } else {
        throw new Invalid($f['label'] . '格式不正确');
    }
    $t = fold($s);
    $d = '';
    $plus = false;
    $len = strlen($t);
    for ($i = 0; $i < $len; $i++) {
        $ch = $t[$i];
        if ($ch === ' ' || $ch === '-') {
            continue;
        }
        if ($ch === '+' && $d === '' && !$plus) {
            $plus = true;
            continue;
        }
        if ($ch < '0' || $ch > '9') {
            throw new Invalid($f['label'] . '只能填写数字（可以带空格、短横线或 +86）');
        }
        $d .= $ch;
    }
    if ($plus) {
        if (!str_starts_with($d, '86')) {
            throw new Invalid($f['label'] . '请填写中国大陆的 11 位手机号码');
        }
        $d = substr($d, 2);
    } elseif (strlen($d) === 13 && str_starts_with($d, '86')) {
        $d = substr($d, 2);
    }
    if (strlen($d) !== 11) {
        throw new Invalid(sprintf('%s应为 11 位数字（现在 %d 位）', $f['label'], strlen($d)));
    }
    if ($d[0] !== '1' || $d[1] < '3') {
        throw new Invalid($f['label'] . '不是有效的手机号码，请核对');
    }
    return $d;
}

function v_region(array $f, $in, array $regions)
{
    $c = classify($in);
    if ($c[0] === 'empty') {
        return empty_answer($f, true);
    }
    $r = null;
    if ($c[0] === 'string' || $c[0] === 'int') {
        $r = $regions[fold((string)$c[1])] ?? null;
    }
    $outside = !empty($f['allow_outside']);
    if ($r === null) {
        throw new Invalid('请选择' . $f['label'] . ($outside ? '：四川省内的市（州）或其他省份'
                                                            : '：四川省内的市（州）'));
    }
    if (!$r[1] && !$outside) {
        throw new Invalid($f['label'] . '须为四川省内的市（州）');
    }
    return $r[0];
}

function validate_field(array $f, $in, array $regions)
{
    switch ($f['type']) {
        case 'text':
            return v_text($f, $in);
        case 'enum':
            return v_enum($f, $in);
        case 'uscc':
            return v_uscc($f, $in);
        case 'mobile':
            return v_mobile($f, $in);
        case 'region':
            return v_region($f, $in, $regions);
    }
    throw new Invalid($f['label'] . '格式不正确');
}

/** The stop option an eligibility answer picked, or null (zq_form_stop). */
function gate_stop(array $form, array $answers): ?array
{
    $gate = $form['steps'][0];
    if (empty($gate['gate'])) {
        return null;
    }
    foreach ($gate['fields'] as $g) {
        $v = $answers[$g['id']] ?? null;
        if (!is_string($v)) {
            continue;
        }
        foreach ($g['options'] as $o) {
            if (isset($o['stop']) && $o['value'] === $v) {
                return $o['stop'];
            }
        }
    }
    return null;
}

// --- the session ------------------------------------------------------------

function redis_of(array $cfg): Redis
{
    $r = new Redis();
    // One connection per FPM worker, kept across requests.
    $r->pconnect($cfg['redis_host'], $cfg['redis_port'], 2.0);
    return $r;
}

function sess_key(array $cfg, string $sid): string
{
    return $cfg['prefix'] . 'sess:' . $sid;
}

function draft_view(array $form, string $csrf, array $draft): array
{
    return ['csrf' => $csrf, 'form' => $form['id'], 'step' => next_step($form, $draft),
            'answers' => (object)($draft['answers'] ?? []), 'done' => $draft['done'] ?? []];
}

function next_step(array $form, array $draft): string
{
    foreach ($form['steps'] as $st) {
        if (!in_array($st['id'], $draft['done'] ?? [], true)) {
            return $st['id'];
        }
    }
    return $form['next_after'];
}

function set_cookie(array $cfg, string $sid): void
{
    header(sprintf('Set-Cookie: zq_sid=%s; Path=/api/; Max-Age=%d; HttpOnly; SameSite=Lax',
                   $sid, $cfg['ttl'] + 3600));
}

function save_draft(Redis $r, array $cfg, string $sid, array $draft, ?string $csrf): void
{
    $key = sess_key($cfg, $sid);
    $json = json_encode(['step' => $draft['step'], 'answers' => (object)$draft['answers'],
                         'done' => $draft['done']], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
    $p = $r->multi(Redis::PIPELINE);
    if ($csrf !== null) {
        $p->hMSet($key, ['csrf' => $csrf, 'f:complaint' => $json]);
    } else {
        $p->hSet($key, 'f:complaint', $json);
    }
    $p->expire($key, $cfg['ttl']);
    $m = $draft['answers']['mobile'] ?? null;
    if (is_string($m) && strlen($m) === 11) {
        $tag = substr(hash('sha256', 'zq-mobile:' . $m), 0, 32);
        $p->set($cfg['prefix'] . 'draftmob:complaint:' . $tag, $sid, ['EX' => $cfg['ttl']]);
    }
    $p->exec();
}

function start(array $cfg): void
{
    $form = $cfg['form'];
    $sid = bin2hex(random_bytes(SID_HEX / 2));
    $csrf = bin2hex(random_bytes(SID_HEX / 2));
    $draft = ['step' => $form['steps'][0]['id'], 'answers' => [], 'done' => []];
    save_draft(redis_of($cfg), $cfg, $sid, $draft, $csrf);
    set_cookie($cfg, $sid);
    respond(201, draft_view($form, $csrf, $draft));
}

function step(array $cfg, string $step_id): void
{
    $form = $cfg['form'];
    $st = null;
    foreach ($form['steps'] as $s) {
        if ($s['id'] === $step_id) {
            $st = $s;
        }
    }
    if ($st === null) {
        respond_error(404, 'unknown_step', '没有这个填写步骤。');
        return;
    }
    $sid = $_COOKIE['zq_sid'] ?? null;
    $csrf = null;
    $draft = null;
    $r = redis_of($cfg);
    if (is_string($sid) && strlen($sid) === SID_HEX && ctype_xdigit($sid) && strtolower($sid) === $sid) {
        $key = sess_key($cfg, $sid);
        [$got] = $r->multi(Redis::PIPELINE)->hMGet($key, ['csrf', 'f:complaint'])
                   ->expire($key, $cfg['ttl'])->exec();
        if (is_string($got['csrf'] ?? false) && strlen($got['csrf']) === SID_HEX) {
            $csrf = $got['csrf'];
        }
        if (is_string($got['f:complaint'] ?? false)) {
            $draft = json_decode($got['f:complaint'], true);
        }
    }
    if ($csrf === null || !is_array($draft)) {
        if (isset($_COOKIE['zq_sid'])) {
            respond_error(410, 'session_expired', '填写已超时，请重新开始。');
        } else {
            respond_error(404, 'no_draft', '没有正在填写的内容，请先开始填写。');
        }
        return;
    }
    if (!hash_equals($csrf, (string)($_SERVER['HTTP_X_CSRF_TOKEN'] ?? ''))) {
        respond_error(403, 'csrf_failed', '页面已过期或请求来源不可信，请刷新页面后重试。');
        return;
    }
    $ct = strtolower(trim(explode(';', $_SERVER['CONTENT_TYPE'] ?? '')[0]));
    if ($ct !== 'application/json') {
        respond_error(415, 'unsupported_media_type', '请求内容类型不受支持，请使用 application/json。');
        return;
    }
    $raw = file_get_contents('php://input');
    if (!preg_match('//u', $raw)) {
        respond_error(400, 'invalid_utf8', '请求内容不是有效的 UTF-8 文本。');
        return;
    }
    $body = json_decode($raw);
    if ($body === null && json_last_error() !== JSON_ERROR_NONE) {
        respond_error(400, 'malformed_json', '请求内容不是有效的 JSON。');
        return;
    }
    foreach ($form['steps'] as $s) {
        if ($s['id'] === $st['id']) {
            break;
        }
        if (!in_array($s['id'], $draft['done'] ?? [], true)) {
            respond(409, ['error' => ['code' => 'step_out_of_order', 'message' => '请先完成前面的步骤。',
                                      'step' => $s['id']]]);
            return;
        }
    }
    $input = is_object($body) ? ($body->answers ?? null) : null;
    if (!is_object($input)) {
        respond_error(400, 'bad_request', '请求内容应包含 answers 对象。');
        return;
    }
    $input = get_object_vars($input);
    $answers = is_array($draft['answers'] ?? null) ? $draft['answers'] : [];
    $errors = [];
    foreach ($input as $k => $v) {
        if (!isset($st['index'][$k])) {
            $errors[$k] = '表单中没有这一项';
        }
    }
    // The other steps' answers as they stand; nothing after the
    // eligibility check is taken while one of its answers rules it out.
    foreach ($st['fields'] as $f) {
        unset($answers[$f['id']]);
    }
    $stop = empty($st['gate']) ? gate_stop($form, $answers) : null;
    $norm = [];
    if ($stop !== null) {
        $errors += ['_' => $stop['reason'] . $stop['where']];
    } else {
        foreach ($st['fields'] as $f) {
            try {
                $norm[$f['id']] = validate_field($f, $input[$f['id']] ?? null, $cfg['regions']);
            } catch (Invalid $e) {
                $errors += [$f['id'] => $e->getMessage()];
            }
        }
    }
    if ($errors) {
        respond_error(422, 'validation_failed', '请检查标出的内容。', $errors);
        return;
    }
    $draft['answers'] = $answers + $norm;
    if (!in_array($st['id'], $draft['done'] ?? [], true)) {
        $draft['done'][] = $st['id'];
    }
    $draft['step'] = next_step($form, $draft);
    save_draft($r, $cfg, $sid, $draft, null);
    set_cookie($cfg, $sid);
    respond(200, draft_view($form, $csrf, $draft));
}

function main(): void
{
    $cfg = require $_SERVER['PEER_CONFIG'];
    $path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
    $method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
    $base = '/api/intake/' . $cfg['form']['id'];
    try {
        if ($path === $base) {
            if ($method !== 'POST') {
                header('Allow: POST');
                respond_error(405, 'method_not_allowed', '请求方法不受支持。');
                return;
            }
            start($cfg);
        } elseif (str_starts_with($path, $base . '/steps/') && !str_contains(substr($path, strlen($base) + 7), '/')) {
            if ($method !== 'PUT') {
                header('Allow: PUT');
                respond_error(405, 'method_not_allowed', '请求方法不受支持。');
                return;
            }
            step($cfg, substr($path, strlen($base) + 7));
        } else {
            respond_error(404, 'not_found', '没有这个地址。');
        }
    } catch (RedisException $e) {
        header('Retry-After: 5');
        respond_error(503, 'storage_unavailable', '服务暂时不可用，请稍后重试。您填写的内容不会丢失。');
    }
}

main();
