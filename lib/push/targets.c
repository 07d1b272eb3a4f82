/* Push targets in Redis: validation of what staff (or a chat subscription)
 * send, storage with tag indexes kept in step by one Lua script, and the
 * staff view with credentials masked. */
#include "zhuqi/targets.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "channel_int.h"
#include "zhuqi/buf.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/netguard.h"

/* Replaces the record and moves the id between tag sets. Tags are kept as
 * one comma-separated field (a tag never holds a comma), the layout the
 * chat subscriptions (lib/chat/dialogue*.c) write too. KEYS: target hash, the set
 * of all ids. ARGV: prefix, id, tags, now, then field value pairs. Returns
 * {created (1/0), created_ms}. */
/* The destination index of a chat subscription (targets:dest:{sha}, see
 * targets.h): the SHA-1 of "channel\naddress\nchat_id", the same the
 * fan-out (notices.c) computes. Lua, shared by the scripts below. */
#define DEST_LUA                                                                                   \
    "local function dest(k)\n"                                                                     \
    "  local f = redis.call('HMGET', k, 'channel', 'address', 'chat_id', 'source')\n"              \
    "  if not f[4] or string.sub(f[4], 1, 5) ~= 'chat:' then return nil end\n"                     \
    "  return ARGV[1] .. 'targets:dest:' .. redis.sha1hex((f[1] or '') .. '\\n' ..\n"              \
    "    (f[2] or '') .. '\\n' .. (f[3] or ''))\n"                                                 \
    "end\n"

static zq_script save_script = {
    .src =
        DEST_LUA "local old = redis.call('HGET', KEYS[1], 'tags')\n"
                 "local created = redis.call('HGET', KEYS[1], 'created_ms')\n"
                 "local od = dest(KEYS[1])\n"
                 "if od then redis.call('SREM', od, ARGV[2]) end\n"
                 "if old then\n"
                 "  for tag in string.gmatch(old, '[^,]+') do\n"
                 "    redis.call('SREM', ARGV[1] .. 'targets:tag:' .. tag, ARGV[2])\n"
                 "  end\n"
                 "end\n"
                 "redis.call('DEL', KEYS[1])\n"
                 "redis.call('HSET', KEYS[1], 'tags', ARGV[3], 'created_ms', created or ARGV[4],\n"
                 "  'updated_ms', ARGV[4], unpack(ARGV, 5))\n"
                 "for tag in string.gmatch(ARGV[3], '[^,]+') do\n"
                 "  redis.call('SADD', ARGV[1] .. 'targets:tag:' .. tag, ARGV[2])\n"
                 "end\n"
                 "local nd = dest(KEYS[1])\n"
                 "if nd then redis.call('SADD', nd, ARGV[2]) end\n"
                 "redis.call('SADD', KEYS[2], ARGV[2])\n"
                 "if created then return {0, created} end\n"
                 "return {1, ARGV[4]}\n"};

/* KEYS: target hash, set of all. ARGV: prefix, id. Returns 1 or 0. */
static zq_script delete_script = {
    .src = DEST_LUA "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
                    "local od = dest(KEYS[1])\n"
                    "if od then redis.call('SREM', od, ARGV[2]) end\n"
                    "local old = redis.call('HGET', KEYS[1], 'tags')\n"
                    "if old then\n"
                    "  for tag in string.gmatch(old, '[^,]+') do\n"
                    "    redis.call('SREM', ARGV[1] .. 'targets:tag:' .. tag, ARGV[2])\n"
                    "  end\n"
                    "end\n"
                    "redis.call('DEL', KEYS[1])\n"
                    "redis.call('SREM', KEYS[2], ARGV[2])\n"
                    "return 1\n"};

/* Deletes every chat subscription to one destination. KEYS: the set of
 * all ids. ARGV: prefix, channel, address, chat_id, then ids to check too
 * (records older than the index). Returns the number deleted. */
static zq_script delete_dest_script = {
    .src = "local p = ARGV[1]\n"
           "local ix = p .. 'targets:dest:' .. redis.sha1hex(ARGV[2] .. '\\n' .. ARGV[3] .. "
           "'\\n' .. ARGV[4])\n"
           "local ids = redis.call('SMEMBERS', ix)\n"
           "for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end\n"
           "local n = 0\n"
           "for _, t in ipairs(ids) do\n"
           "  local k = p .. 'target:' .. t\n"
           "  local f = redis.call('HMGET', k, 'channel', 'address', 'chat_id', 'source', 'tags')\n"
           "  if f[1] == ARGV[2] and f[2] == ARGV[3] and (f[3] or '') == ARGV[4] and f[4] and\n"
           "      string.sub(f[4], 1, 5) == 'chat:' then\n"
           "    for tag in string.gmatch(f[5] or '', '[^,]+') do\n"
           "      redis.call('SREM', p .. 'targets:tag:' .. tag, t)\n"
           "    end\n"
           "    redis.call('DEL', k)\n"
           "    redis.call('SREM', KEYS[1], t)\n"
           "    n = n + 1\n"
           "  end\n"
           "end\n"
           "redis.call('DEL', ix)\n"
           "return n\n"};

/* Disables (ARGV[1] a reason) or enables (ARGV[1] "") a target. KEYS:
 * target hash. ARGV: reason, now. Returns 1, or 0 when there is none. */
static zq_script disable_script = {
    .src = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
           "if ARGV[1] == '' then\n"
           "  redis.call('HDEL', KEYS[1], 'disabled', 'disabled_reason', 'disabled_at_ms')\n"
           "else\n"
           "  redis.call('HSET', KEYS[1], 'disabled', '1', 'disabled_reason', ARGV[1],\n"
           "    'disabled_at_ms', ARGV[2])\n"
           "end\n"
           "return 1\n"};

bool zq_target_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n >= ZQ_TARGET_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

bool zq_tag_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n >= ZQ_TAG_MAX || !zq_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == ',' || c == '{' || c == '}' || c == '*' || c == '?' ||
            c == '[' || c == ']')
            return false;
    }
    return true;
}

/* Secrets: UTF-8 text without spaces or control characters. */
static bool secret_ok(const char *s)
{
    size_t n = strlen(s);

    if (!zq_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Checks and normalises the address of t for its channel. Returns 0 or
 * -1 with a Chinese message. */
static int check_address(zq_target *t, const char *in, const char **msg)
{
    const zq_channel_ops *ops = zq_channel_ops_of(t->kind);
    char v[sizeof(t->address)];

    if (strlen(in) >= sizeof(v) || !zq_ch_printable(in, strlen(in))) {
        *msg = "地址过长或含有空格等不可见字符。";
        return -1;
    }
    if (ops == NULL) {
        *msg = "不支持的渠道。";
        return -1;
    }
    if (ops->address(in, v, sizeof(v), msg) < 0)
        return -1;
    /* v has t->address's size, so it always fits. */
    memcpy(t->address, v, strlen(v) + 1);
    return 0;
}

int zq_target_check_outbound(const zq_target *t, const zq_config *cfg, const char **msg)
{
    zq_netguard g;
    char why[200];

    if (t->kind != ZQ_CH_GENERIC)
        return 0;
    if (zq_netguard_parse(cfg->channels.generic_allow, &g, why, sizeof(why)) < 0) {
        /* The loader checked it; were it wrong, nothing is allowed. */
        memset(&g, 0, sizeof(g));
    }
    return zq_netguard_url(&g, t->address, msg) < 0 ? -ZQ_EINVAL : 0;
}

/* A string member of in, or NULL; *bad when present but not a string. */
static const char *get_str(json_t *in, const char *key, bool *bad)
{
    json_t *v = json_object_get(in, key);

    *bad = false;
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

int zq_target_from_json(json_t *in, zq_target_rec *out, const char **field, const char **msg)
{
    static const char *const known[] = {"id",      "channel", "address", "secret",
                                        "chat_id", "name",    "tags"};
    const zq_channel_ops *ops;
    const char *s, *key;
    json_t *tags, *v;
    bool bad;
    size_t i;

    memset(out, 0, sizeof(*out));
    *field = NULL;
    *msg = NULL;
    if (!json_is_object(in)) {
        *field = "_";
        *msg = "请求内容应为 JSON 对象。";
        return -ZQ_EINVAL;
    }
    json_object_foreach(in, key, v)
    {
        bool ok = false;
        for (i = 0; i < ZQ_ARRAY_LEN(known); i++)
            ok = ok || strcmp(known[i], key) == 0;
        if (!ok) {
            *field = "_";
            *msg = "请求中含有不认识的字段。";
            return -ZQ_EINVAL;
        }
    }
    s = get_str(in, "id", &bad);
    if (bad || (s != NULL && !zq_target_id_valid(s))) {
        *field = "id";
        *msg = "编号应为 1 到 40 位字母、数字、- 或 _。";
        return -ZQ_EINVAL;
    }
    if (s != NULL && zq_fmt(out->t.id, sizeof(out->t.id), "%s", s) < 0) {
        *field = "id";
        *msg = "编号应为 1 到 40 位字母、数字、- 或 _。";
        return -ZQ_EINVAL;
    }
    s = get_str(in, "channel", &bad);
    if (s != NULL && zq_channel_parse(s, &out->t.kind) == 0 && out->t.kind == ZQ_CH_SMS) {
        /* SMS recipients are the complainants' verified mobiles: only the
         * system queues to them (smsq.h), never a stored target. */
        *field = "channel";
        *msg = "短信接收方由系统按投诉人的手机号码自动生成，不能手动添加。";
        return -ZQ_EINVAL;
    }
    if (s == NULL || zq_channel_parse(s, &out->t.kind) < 0) {
        *field = "channel";
        *msg = "渠道应为 wecom-robot、dingtalk-robot、feishu-bot、telegram、generic、wecom-app、"
               "dingtalk-app 或 feishu-chat。";
        return -ZQ_EINVAL;
    }
    s = get_str(in, "address", &bad);
    if (s == NULL || *s == '\0') {
        *field = "address";
        *msg = "请填写机器人地址。";
        return -ZQ_EINVAL;
    }
    if (check_address(&out->t, s, msg) < 0) {
        *field = "address";
        return -ZQ_EINVAL;
    }
    s = get_str(in, "secret", &bad);
    if (bad || (s != NULL && (strlen(s) >= sizeof(out->t.secret) || !secret_ok(s)))) {
        *field = "secret";
        *msg = "签名密钥最长 255 个字符，不能含空格。";
        return -ZQ_EINVAL;
    }
    if (s != NULL && !zq_channel_ops_of(out->t.kind)->takes_secret && *s != '\0') {
        *field = "secret";
        *msg = "该渠道不使用签名密钥。";
        return -ZQ_EINVAL;
    }
    if (s != NULL && zq_fmt(out->t.secret, sizeof(out->t.secret), "%s", s) < 0) {
        *field = "secret";
        *msg = "签名密钥最长 255 个字符，不能含空格。";
        return -ZQ_EINVAL;
    }
    s = get_str(in, "chat_id", &bad);
    ops = zq_channel_ops_of(out->t.kind);
    if (ops->chat_id != NULL && (!bad || ops->chat_id_required)) {
        if (ops->chat_id(s, &out->t, msg) < 0) {
            *field = "chat_id";
            return -ZQ_EINVAL;
        }
    } else if (bad || (s != NULL && *s != '\0')) {
        *field = "chat_id";
        *msg = "只有 Telegram 和通用 Webhook 渠道使用聊天编号。";
        return -ZQ_EINVAL;
    }
    s = get_str(in, "name", &bad);
    if (bad || (s != NULL && (strlen(s) >= sizeof(out->name) || !zq_utf8_valid(s, strlen(s)) ||
                              zq_ch_has_control(s)))) {
        *field = "name";
        *msg = "名称最长 40 个汉字，不能含控制字符。";
        return -ZQ_EINVAL;
    }
    if (s != NULL && zq_fmt(out->name, sizeof(out->name), "%s", s) < 0) {
        *field = "name";
        *msg = "名称最长 40 个汉字，不能含控制字符。";
        return -ZQ_EINVAL;
    }
    tags = json_object_get(in, "tags");
    if (tags != NULL && !json_is_array(tags)) {
        *field = "tags";
        *msg = "标签应为字符串数组。";
        return -ZQ_EINVAL;
    }
    if (json_array_size(tags) > ZQ_TARGET_MAX_TAGS) {
        *field = "tags";
        *msg = "标签最多 32 个。";
        return -ZQ_EINVAL;
    }
    json_array_foreach(tags, i, v)
    {
        const char *tag = json_string_value(v);
        bool dup = false;

        if (tag == NULL || !zq_tag_valid(tag)) {
            *field = "tags";
            *msg = "标签应为 1 到 63 字节的文字，不能含空格、逗号或括号。";
            return -ZQ_EINVAL;
        }
        for (int j = 0; j < out->ntags; j++)
            dup = dup || strcmp(out->tags[j], tag) == 0;
        /* zq_tag_valid bounds tag below ZQ_TAG_MAX: it fits. */
        if (!dup && zq_fmt(out->tags[out->ntags], ZQ_TAG_MAX, "%s", tag) == 0)
            out->ntags++;
    }
    memcpy(out->source, "admin", sizeof("admin"));
    return 0;
}

/* "abcd…wxyz" for a credential: enough to recognise it, not to use it.
 * out must hold at least 13 bytes. */
static void mask_secretish(const char *s, char out[static 13])
{
    size_t n = strlen(s);

    /* 12 bytes at most: it fits. */
    if (n <= 8 || zq_fmt(out, 13, "%.4s****%s", s, s + n - 4) < 0)
        memcpy(out, "****", sizeof("****"));
}

json_t *zq_target_to_json(const zq_target_rec *r)
{
    const zq_channel_ops *ops = zq_channel_ops_of(r->t.kind);
    char addr[600], created[32], updated[32];
    json_t *tags = json_array(), *o;

    if (ops != NULL && ops->address_public) {
        /* addr is larger than r->t.address: the part before ? or # fits. */
        char path[sizeof(addr)];
        size_t n = strcspn(r->t.address, "?#");

        memcpy(path, r->t.address, n);
        path[n] = '\0';
        zq_url_mask_userinfo(path, addr, sizeof(addr));
    } else {
        mask_secretish(r->t.address, addr);
    }
    for (int i = 0; i < r->ntags; i++)
        json_array_append_new(tags, json_string(r->tags[i]));
    zq_time_iso(r->created_ms, created);
    zq_time_iso(r->updated_ms, updated);
    o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:s, s:s, s:s}", "id", r->t.id, "channel",
                  zq_channel_name(r->t.kind), "address", addr, "has_secret", r->t.secret[0] != '\0',
                  "name", r->name, "tags", tags, "source", r->source, "created_at", created,
                  "updated_at", updated);
    if (o != NULL && ops != NULL &&
        (ops->chat_id_required || (ops->chat_id != NULL && r->t.chat_id[0] != '\0')))
        json_object_set_new(o, "chat_id", json_string(r->t.chat_id));
    if (o != NULL)
        json_object_set_new(o, "disabled", json_boolean(r->disabled));
    if (o != NULL && r->disabled) {
        char at[32];

        zq_time_iso(r->disabled_at_ms, at);
        json_object_set_new(o, "disabled_reason", json_string(r->disabled_reason));
        json_object_set_new(o, "disabled_at", json_string(at));
    }
    return o;
}

/* A stored field into dst, cut to dstsz - 1 bytes: the record was
 * checked on save, so only a hand-edited one is longer, and a cut field
 * then shows as such rather than hiding the record. */
static void copy_str(char *dst, size_t dstsz, const redisReply *v)
{
    size_t n = v->type == REDIS_REPLY_STRING ? v->len : 0;

    if (n > dstsz - 1)
        n = dstsz - 1;
    if (n > 0)
        memcpy(dst, v->str, n);
    dst[n] = '\0';
}

/* Tags as stored: "a,b,c" (or a JSON array, as early records had). */
static void parse_tags(const char *s, size_t len, zq_target_rec *out)
{
    if (len > 0 && s[0] == '[') {
        json_t *a = json_loadb(s, len, 0, NULL), *e;
        size_t j;

        json_array_foreach(a, j, e)
        {
            if (out->ntags < ZQ_TARGET_MAX_TAGS && json_is_string(e) &&
                zq_tag_valid(json_string_value(e)) &&
                zq_fmt(out->tags[out->ntags], ZQ_TAG_MAX, "%s", json_string_value(e)) == 0)
                out->ntags++;
        }
        json_decref(a);
        return;
    }
    for (size_t i = 0; i < len && out->ntags < ZQ_TARGET_MAX_TAGS;) {
        size_t j = i;

        while (j < len && s[j] != ',')
            j++;
        if (j > i && j - i < ZQ_TAG_MAX) {
            memcpy(out->tags[out->ntags], s + i, j - i);
            out->tags[out->ntags][j - i] = '\0';
            out->ntags++;
        }
        i = j + 1;
    }
}

int zq_target_from_reply(const redisReply *r, zq_target_rec *out)
{
    bool have_channel = false;
    long long n;

    memset(out, 0, sizeof(*out));
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return -ZQ_EREPLY;
    if (r->elements == 0)
        return -ZQ_ENOTFOUND;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "id") == 0) {
            copy_str(out->t.id, sizeof(out->t.id), v);
        } else if (strcmp(k->str, "channel") == 0) {
            have_channel = zq_channel_parse(v->str, &out->t.kind) == 0;
        } else if (strcmp(k->str, "address") == 0) {
            copy_str(out->t.address, sizeof(out->t.address), v);
        } else if (strcmp(k->str, "secret") == 0) {
            copy_str(out->t.secret, sizeof(out->t.secret), v);
        } else if (strcmp(k->str, "chat_id") == 0) {
            copy_str(out->t.chat_id, sizeof(out->t.chat_id), v);
        } else if (strcmp(k->str, "name") == 0) {
            copy_str(out->name, sizeof(out->name), v);
        } else if (strcmp(k->str, "source") == 0) {
            copy_str(out->source, sizeof(out->source), v);
        } else if (strcmp(k->str, "created_ms") == 0 &&
                   zq_parse_ll(v->str, v->len, 0, INT64_MAX, &n) == 0) {
            out->created_ms = n;
        } else if (strcmp(k->str, "updated_ms") == 0 &&
                   zq_parse_ll(v->str, v->len, 0, INT64_MAX, &n) == 0) {
            out->updated_ms = n;
        } else if (strcmp(k->str, "tags") == 0) {
            parse_tags(v->str, v->len, out);
        } else if (strcmp(k->str, "disabled") == 0) {
            out->disabled = strcmp(v->str, "1") == 0;
        } else if (strcmp(k->str, "disabled_reason") == 0) {
            copy_str(out->disabled_reason, sizeof(out->disabled_reason), v);
        } else if (strcmp(k->str, "disabled_at_ms") == 0 &&
                   zq_parse_ll(v->str, v->len, 0, INT64_MAX, &n) == 0) {
            out->disabled_at_ms = n;
        }
    }
    if (!have_channel || out->t.id[0] == '\0' || out->t.address[0] == '\0')
        return -ZQ_EREPLY;
    return 0;
}

int zq_target_save(zq_store *st, zq_target_rec *r, int64_t now_ms, bool *created, zq_err *err)
{
    const char *p = zq_store_prefix(st);
    char k_target[ZQ_STORE_KEY_MAX], k_all[ZQ_STORE_KEY_MAX], now[24], hex[17];
    zq_buf tags = {0};
    const char *argv[20];
    redisReply *rep = NULL;
    long long cms;
    int rc = 0, argc = 0;

    if (r->t.id[0] == '\0') {
        if (zq_random_hex(hex, 8) < 0)
            return zq_err_set(err, ZQ_EIO, "target: no randomness");
        if (zq_fmt(r->t.id, sizeof(r->t.id), "tg-%s", hex) < 0)
            return zq_err_set(err, ZQ_ETOOBIG, "target: id too long");
    }
    for (int i = 0; i < r->ntags; i++)
        zq_buf_printf(&tags, "%s%s", i > 0 ? "," : "", r->tags[i]);
    if (tags.oom)
        return zq_err_set(err, ZQ_ENOMEM, "target: out of memory");
    if (zq_store_key(st, k_target, sizeof(k_target), "target:%s", r->t.id) < 0 ||
        zq_store_key(st, k_all, sizeof(k_all), "targets") < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0) {
        rc = zq_err_set(err, ZQ_ETOOBIG, "target: key too long");
        goto out;
    }
    argv[argc++] = k_target;
    argv[argc++] = k_all;
    argv[argc++] = p;
    argv[argc++] = r->t.id;
    argv[argc++] = tags.data ? tags.data : "";
    argv[argc++] = now;
    argv[argc++] = "id";
    argv[argc++] = r->t.id;
    argv[argc++] = "channel";
    argv[argc++] = zq_channel_name(r->t.kind);
    argv[argc++] = "address";
    argv[argc++] = r->t.address;
    argv[argc++] = "secret";
    argv[argc++] = r->t.secret;
    argv[argc++] = "chat_id";
    argv[argc++] = r->t.chat_id;
    argv[argc++] = "name";
    argv[argc++] = r->name;
    argv[argc++] = "source";
    argv[argc++] = r->source[0] ? r->source : "admin";
    rep = zq_store_script(st, err, &save_script, 2, argc, argv, NULL);
    if (rep == NULL) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER) {
        rc = zq_err_set(err, ZQ_EREPLY, "target: save failed: %s",
                        rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        goto out;
    }
    *created = rep->element[0]->integer == 1;
    r->updated_ms = now_ms;
    r->created_ms = now_ms;
    if (rep->element[1]->type == REDIS_REPLY_STRING &&
        zq_parse_ll(rep->element[1]->str, rep->element[1]->len, 0, INT64_MAX, &cms) == 0)
        r->created_ms = cms;
out:
    if (rep != NULL)
        freeReplyObject(rep);
    zq_buf_free(&tags);
    return rc;
}

int zq_target_delete(zq_store *st, const char *id, zq_err *err)
{
    const char *p = zq_store_prefix(st);
    char k_target[ZQ_STORE_KEY_MAX], k_all[ZQ_STORE_KEY_MAX];
    const char *argv[4];
    redisReply *rep;
    int rc = 0;

    if (!zq_target_id_valid(id))
        return zq_err_set(err, ZQ_ENOTFOUND, "target: bad id");
    if (zq_store_key(st, k_target, sizeof(k_target), "target:%s", id) < 0 ||
        zq_store_key(st, k_all, sizeof(k_all), "targets") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "target: key too long");
    argv[0] = k_target;
    argv[1] = k_all;
    argv[2] = p;
    argv[3] = id;
    rep = zq_store_script(st, err, &delete_script, 2, 4, argv, NULL);
    if (rep == NULL)
        return -ZQ_EUNAVAIL;
    if (rep->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "target: delete failed: %s",
                        rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    else if (rep->integer == 0)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "target %s not found", id);
    freeReplyObject(rep);
    return rc;
}

int zq_target_set_disabled(zq_store *st, const char *id, const char *reason, int64_t now_ms,
                           zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX], now[24], why[ZQ_TARGET_REASON_MAX];
    const char *argv[3];
    redisReply *rep;
    int rc = 0;

    if (!zq_target_id_valid(id))
        return zq_err_set(err, ZQ_ENOTFOUND, "target: bad id");
    if (zq_store_key(st, key, sizeof(key), "target:%s", id) < 0 ||
        zq_fmt(now, sizeof(now), "%lld", (long long)now_ms) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "target: key too long");
    /* A reason is shown, not parsed: cut it on a character boundary. */
    if (reason != NULL) {
        const char *r = reason[0] != '\0' ? reason : "disabled";
        size_t n = zq_utf8_cut(r, strlen(r), sizeof(why) - 1);

        memcpy(why, r, n);
        why[n] = '\0';
    } else {
        why[0] = '\0';
    }
    argv[0] = key;
    argv[1] = why;
    argv[2] = now;
    rep = zq_store_script(st, err, &disable_script, 1, 3, argv, NULL);
    if (rep == NULL)
        return -ZQ_EUNAVAIL;
    if (rep->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "target: disable failed: %s",
                        rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    else if (rep->integer == 0)
        rc = zq_err_set(err, ZQ_ENOTFOUND, "target %s not found", id);
    freeReplyObject(rep);
    return rc;
}

int zq_target_delete_chat(zq_store *st, const zq_target *t, const char *also, int *deleted,
                          zq_err *err)
{
    char k_all[ZQ_STORE_KEY_MAX];
    const char *argv[6];
    redisReply *rep;
    int rc = 0, argc = 0;

    *deleted = 0;
    if (zq_store_key(st, k_all, sizeof(k_all), "targets") < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "target: key too long");
    argv[argc++] = k_all;
    argv[argc++] = zq_store_prefix(st);
    argv[argc++] = zq_channel_name(t->kind);
    argv[argc++] = t->address;
    argv[argc++] = t->chat_id;
    if (also != NULL && zq_target_id_valid(also))
        argv[argc++] = also;
    rep = zq_store_script(st, err, &delete_dest_script, 1, argc, argv, NULL);
    if (rep == NULL)
        return -ZQ_EUNAVAIL;
    if (rep->type != REDIS_REPLY_INTEGER)
        rc = zq_err_set(err, ZQ_EREPLY, "target: delete failed: %s",
                        rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    else
        *deleted = (int)rep->integer;
    freeReplyObject(rep);
    return rc;
}

int zq_target_group_id(const char *channel, const zq_target *t, char out[ZQ_TARGET_ID_MAX])
{
    char source[ZQ_TARGET_ID_MAX + 700];

    /* "group:" holds a colon, which no user key has (dialogue.h): this id
     * never meets a person's. The chat_id (Telegram, generic) or else the
     * address (DingTalk "group:<cid>", Feishu "oc_...") names the chat;
     * neither is a secret. */
    if (zq_fmt(source, sizeof(source), "chat:%s:group:%s:%s", channel, zq_channel_name(t->kind),
               t->chat_id[0] != '\0' ? t->chat_id : t->address) < 0)
        return -ZQ_EINVAL;
    return zq_target_chat_id(source, out);
}

int zq_target_load(zq_store *st, const char *id, zq_target_rec *out, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *rep;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!zq_target_id_valid(id))
        return zq_err_set(err, ZQ_ENOTFOUND, "target: bad id");
    if (zq_store_key(st, key, sizeof(key), "target:%s", id) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "target: key too long");
    rep = zq_store_commandv(st, err, 2, (const char *[]){"HGETALL", key}, NULL);
    if (rep == NULL)
        return -ZQ_EUNAVAIL;
    rc = zq_target_from_reply(rep, out);
    freeReplyObject(rep);
    if (rc == -ZQ_ENOTFOUND)
        return zq_err_set(err, ZQ_ENOTFOUND, "target %s not found", id);
    if (rc < 0)
        return zq_err_set(err, ZQ_EREPLY, "target %s: malformed record", id);
    return 0;
}

int zq_target_page(zq_store *st, const char *tag, const char *cursor, int limit, json_t *list,
                   char next[32], zq_err *err)
{
    redisReply *scan, **reps = NULL;
    const redisReply *ids;
    char key[ZQ_STORE_KEY_MAX];
    int rc = 0, n;

    rc = tag != NULL ? zq_store_key(st, key, sizeof(key), "targets:tag:%s", tag)
                     : zq_store_key(st, key, sizeof(key), "targets");
    if (rc < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "target: key too long");
    scan = zq_store_command(st, err, "SSCAN %s %s COUNT %d", key, cursor, limit);
    if (scan == NULL)
        return -ZQ_EUNAVAIL;
    if (scan->type != REDIS_REPLY_ARRAY || scan->elements != 2 ||
        scan->element[0]->type != REDIS_REPLY_STRING ||
        scan->element[1]->type != REDIS_REPLY_ARRAY) {
        rc = zq_err_set(err, ZQ_EREPLY, "target: SSCAN failed: %s",
                        scan->type == REDIS_REPLY_ERROR ? scan->str : "unexpected reply");
        goto out;
    }
    /* Redis cursors are 64-bit numbers: 20 digits at most. */
    if (zq_fmt(next, 32, "%s", scan->element[0]->str) < 0) {
        rc = zq_err_set(err, ZQ_EREPLY, "target: SSCAN cursor too long");
        goto out;
    }
    ids = scan->element[1];
    n = (int)ids->elements;
    if (n <= 0)
        goto out;
    /* Every key is checked before the first append: the pipeline is sent
     * whole or not at all, so the replies read match the commands. */
    for (int i = 0; i < n; i++)
        if (zq_store_key(st, key, sizeof(key), "target:%s", ids->element[i]->str) < 0) {
            rc = zq_err_set(err, ZQ_ETOOBIG, "target: a target key is too long");
            goto out;
        }
    reps = calloc((size_t)n, sizeof(redisReply *));
    if (reps == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "target: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        (void)zq_store_key(st, key, sizeof(key), "target:%s", ids->element[i]->str);
        zq_store_appendv(st, 2, (const char *[]){"HGETALL", key}, NULL);
    }
    if (zq_store_read_replies(st, err, n, reps) < 0) {
        rc = -ZQ_EUNAVAIL;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        zq_target_rec r;

        if (zq_target_from_reply(reps[i], &r) == 0)
            json_array_append_new(list, zq_target_to_json(&r));
        freeReplyObject(reps[i]);
    }
out:
    free(reps);
    freeReplyObject(scan);
    return rc;
}

int zq_target_chat_id(const char *source, char out[ZQ_TARGET_ID_MAX])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    char hex[2 * SHA_DIGEST_LENGTH + 1];
    const char *ch, *user;
    size_t chlen;

    out[0] = '\0';
    if (source == NULL || strncmp(source, "chat:", 5) != 0)
        return -ZQ_EINVAL;
    ch = source + 5;
    user = strchr(ch, ':');
    if (user == NULL || user == ch || user[1] == '\0')
        return -ZQ_EINVAL;
    chlen = (size_t)(user - ch);
    if (chlen > 16 || !zq_ch_token_chars(ch, chlen, "_-"))
        return -ZQ_EINVAL;
    /* SHA-1 of "<channel>:<user>", as lib/chat/dialogue*.c names the target a
     * subscription creates. */
    SHA1((const unsigned char *)ch, strlen(ch), md);
    zq_hex(md, 8, hex);
    /* 5 + 16 + 1 + 16 bytes: always fits in ZQ_TARGET_ID_MAX. */
    return zq_fmt(out, ZQ_TARGET_ID_MAX, "chat-%.*s-%.16s", (int)chlen, ch, hex);
}

char *zq_target_inline_encode(const zq_target *t)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", t->id, "channel", zq_channel_name(t->kind),
                  "address", t->address, "secret", t->secret, "chat_id", t->chat_id);
    char *s;

    if (o == NULL)
        return NULL;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int zq_target_inline_decode(const char *s, size_t len, zq_target *out)
{
    json_t *o = json_loadb(s, len, 0, NULL);
    const char *id, *ch, *addr, *secret, *chat;
    int rc = -ZQ_EINVAL;

    memset(out, 0, sizeof(*out));
    if (o == NULL)
        return -ZQ_EINVAL;
    id = json_string_value(json_object_get(o, "id"));
    ch = json_string_value(json_object_get(o, "channel"));
    addr = json_string_value(json_object_get(o, "address"));
    secret = json_string_value(json_object_get(o, "secret"));
    chat = json_string_value(json_object_get(o, "chat_id"));
    if (id != NULL && ch != NULL && addr != NULL && zq_channel_parse(ch, &out->kind) == 0 &&
        strlen(id) < sizeof(out->id) && strlen(addr) < sizeof(out->address) &&
        (secret == NULL || strlen(secret) < sizeof(out->secret)) &&
        (chat == NULL || strlen(chat) < sizeof(out->chat_id))) {
        int bad = 0;

        /* Every length was checked above: these do not fail. */
        bad |= zq_fmt(out->id, sizeof(out->id), "%s", id);
        bad |= zq_fmt(out->address, sizeof(out->address), "%s", addr);
        bad |= zq_fmt(out->secret, sizeof(out->secret), "%s", secret ? secret : "");
        bad |= zq_fmt(out->chat_id, sizeof(out->chat_id), "%s", chat ? chat : "");
        rc = bad < 0 ? -ZQ_EINVAL : 0;
    }

    json_decref(o);
    return rc;
}

int zq_target_active(zq_store *st, const char *id, bool *active, zq_err *err)
{
    char key[ZQ_STORE_KEY_MAX];
    redisReply *r;

    *active = false;
    /* No target has an id that long: it does not exist. */
    if (zq_store_key(st, key, sizeof(key), "target:%s", id) < 0)
        return 0;
    /* Every stored target has a channel; a disabled one also "disabled". */
    r = zq_store_commandv(st, err, 4, (const char *[]){"HMGET", key, "channel", "disabled"}, NULL);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    *active = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              !(r->element[1]->type == REDIS_REPLY_STRING && strcmp(r->element[1]->str, "1") == 0);
    freeReplyObject(r);
    return 0;
}

void zq_target_ids_clear(zq_target_ids *ids)
{
    for (size_t i = 0; ids->id != NULL && i < ids->n; i++)
        free(ids->id[i]);
    free(ids->id);
    memset(ids, 0, sizeof(*ids));
}

/* Takes the strings of an array reply into out. Returns 0 or -ZQ_ENOMEM. */
static int take_ids(const redisReply *r, zq_target_ids *out)
{
    out->id = calloc(r->elements + 1, sizeof(*out->id));
    if (out->id == NULL)
        return -ZQ_ENOMEM;
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        out->id[out->n] = strdup(r->element[i]->str);
        if (out->id[out->n++] == NULL)
            return -ZQ_ENOMEM;
    }
    return 0;
}

/* The key of what + id (NULL: "") into *out, a new string (free()).
 * Returns 0, -ZQ_ENOMEM, or -ZQ_ETOOBIG when it does not fit a key. */
static int key_of(zq_store *st, const char *what, const char *id, char **out)
{
    *out = malloc(ZQ_STORE_KEY_MAX);
    if (*out == NULL)
        return -ZQ_ENOMEM;
    if (zq_store_key(st, *out, ZQ_STORE_KEY_MAX, "%s%s", what, id != NULL ? id : "") < 0)
        return -ZQ_ETOOBIG;
    return 0;
}

int zq_target_audience(zq_store *st, const char *audience, zq_target_ids *out, zq_err *err)
{
    json_t *a = json_loads(audience, 0, NULL), *tags, *v;
    const char **argv = NULL;
    char **keys = NULL;
    size_t i, n = 0, nkeys;
    redisReply *r = NULL;
    bool all_match;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (a == NULL)
        return 0;
    tags = json_object_get(a, "tags");
    nkeys = json_array_size(tags) + 2;
    all_match = json_is_string(json_object_get(a, "match")) &&
                strcmp(json_string_value(json_object_get(a, "match")), "all") == 0;
    argv = calloc(nkeys + 2, sizeof(*argv));
    keys = calloc(nkeys, sizeof(*keys));
    if (argv == NULL || keys == NULL)
        goto oom;
    if (json_is_true(json_object_get(a, "all"))) {
        if ((rc = key_of(st, "targets", "", &keys[0])) < 0)
            goto fail;
        argv[n++] = "SUNION";
        argv[n++] = keys[0];
    } else {
        argv[n++] = all_match ? "SINTER" : "SUNION";
        json_array_foreach(tags, i, v)
        {
            if ((rc = key_of(st, "targets:tag:", json_string_value(v), &keys[i])) < 0)
                goto fail;
            argv[n++] = keys[i];
        }
    }
    if (n > 1) {
        r = zq_store_commandv(st, err, (int)n, argv, NULL);
        if (r == NULL)
            rc = -ZQ_EUNAVAIL;
        else if (r->type == REDIS_REPLY_ARRAY && take_ids(r, out) < 0)
            goto oom;
    }
    goto out;
oom:
    rc = -ZQ_ENOMEM;
fail:
    rc = rc == -ZQ_ETOOBIG ? zq_err_set(err, ZQ_ETOOBIG, "audience: tag key too long")
                           : zq_err_set(err, ZQ_ENOMEM, "out of memory");
    zq_target_ids_clear(out);
out:
    if (r != NULL)
        freeReplyObject(r);
    for (i = 0; keys != NULL && i < nkeys; i++)
        free(keys[i]);
    free(keys);
    free(argv);
    json_decref(a);
    return rc;
}
