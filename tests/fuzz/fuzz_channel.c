/* Fuzzes the outbound renderer and its byte-aware splitter (lib/push/channel.c
 * zq_channel_render) with fuzzed titles and bodies, for every platform,
 * at the default limits and at small ones that force splitting. Checks
 * what the platforms need: every request is JSON, every part is within
 * the limit as that platform measures it, Telegram's HTML tags are
 * balanced in every part, and there are at most ZQ_CHANNEL_MAX_PARTS
 * parts.
 * Input: a mode byte (bits 0-2: platform; bit 3: a signing secret; bit 4:
 * mentions; bit 5: mention all; bit 6: a DingTalk app target is a group,
 * not a user), a limit byte (0: the default, else
 * 64 + 24 * n bytes), a line with the title, then the body. */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/channel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* UTF-16 units of the visible text of Telegram HTML (tags 0, an entity
 * 1), and whether the tags nest properly. */
static size_t telegram_weight(const char *s, size_t len, bool *balanced)
{
    char stack[16][16];
    int depth = 0;
    size_t i = 0, w = 0;

    *balanced = true;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c == '<') {
            const char *gt = memchr(s + i, '>', len - i);
            bool close = i + 1 < len && s[i + 1] == '/';
            size_t k = i + (close ? 2 : 1), n = 0;
            char name[16];

            FUZZ_CHECK(gt != NULL);
            while (k + n < (size_t)(gt - s) && s[k + n] != ' ' && n < sizeof(name) - 1)
                n++;
            memcpy(name, s + k, n);
            name[n] = '\0';
            if (close) {
                if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
                    *balanced = false;
                else
                    depth--;
            } else if (depth < 16) {
                memcpy(stack[depth++], name, n + 1);
            }
            i = (size_t)(gt - s) + 1;
            continue;
        }
        if (c == '&') {
            const char *semi = memchr(s + i, ';', len - i < 12 ? len - i : 12);

            FUZZ_CHECK(semi != NULL); /* a bare '&' is always escaped */
            w++;
            i = (size_t)(semi - s) + 1;
            continue;
        }
        w += c >= 0xF0 ? 2 : (c & 0xC0) == 0x80 ? 0 : 1;
        i++;
    }
    if (depth != 0)
        *balanced = false;
    return w;
}

static const char *sget(json_t *o, const char *a, const char *b, size_t *len)
{
    json_t *v = json_object_get(o, a);

    if (b != NULL)
        v = json_object_get(v, b);
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const mobiles[] = {"13800138000", "+86-139-0000-0000", "100"};
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in), lim = fuzz_u8(&in);
    zq_channel_kind kind = (zq_channel_kind)((mode & 7) % ZQ_CH__COUNT);
    char *title = fuzz_line(&in, 1024), *body;
    size_t blen, n = 0, i, limit, len;
    zq_channel_config cc;
    zq_target t;
    zq_message m;
    zq_outreq *reqs = NULL;
    zq_err err = {0};
    int rc;

    body = fuzz_rest(&in, &blen);
    zq_channel_config_defaults(&cc);
    cc.wecom_agent_id = 1000002;
    snprintf(cc.dingtalk_robot_code, sizeof(cc.dingtalk_robot_code), "%s", "dingfuzz");
    if (lim != 0)
        cc.limits[kind].max_bytes = 64 + 24 * (size_t)lim;
    limit = cc.limits[kind].max_bytes;
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "%s", "fuzz");
    t.kind = kind;
    switch (kind) {
    case ZQ_CH_TELEGRAM:
        snprintf(t.address, sizeof(t.address), "%s", "123456:ABC-fuzz");
        snprintf(t.chat_id, sizeof(t.chat_id), "%s", "-100123");
        break;
    case ZQ_CH_GENERIC:
        snprintf(t.address, sizeof(t.address), "%s", "http://127.0.0.1:9/hook");
        break;
    case ZQ_CH_DINGTALK_APP:
        snprintf(t.address, sizeof(t.address), "%s", mode & 64 ? "group:cid+/=" : "user:u1");
        break;
    default: snprintf(t.address, sizeof(t.address), "%s", "fuzz-key"); break;
    }
    if (mode & 8)
        snprintf(t.secret, sizeof(t.secret), "%s", "SECfuzz");
    memset(&m, 0, sizeof(m));
    m.title = title;
    m.body = body;
    if (mode & 16) {
        m.mention_mobiles = mobiles;
        m.nmentions = ZQ_ARRAY_LEN(mobiles);
    }
    m.mention_all = (mode & 32) != 0;

    rc = zq_channel_render(&cc, &t, &m, FUZZ_NOW_MS, &reqs, &n, &err);
    if (rc < 0) {
        FUZZ_CHECK(reqs == NULL && n == 0);
        FUZZ_CHECK(rc == -ZQ_EINVAL || rc == -ZQ_ETOOBIG);
        goto out;
    }
    FUZZ_CHECK(n >= 1 && n <= ZQ_CHANNEL_MAX_PARTS + 1);
    for (i = 0; i < n; i++) {
        json_t *j = json_loadb(reqs[i].body.data, reqs[i].body.len, 0, NULL);
        const char *s;
        bool balanced;

        FUZZ_CHECK(j != NULL);
        FUZZ_CHECK(reqs[i].url[0] != '\0' && strpbrk(reqs[i].url, " \r\n") == NULL);
        switch (kind) {
        case ZQ_CH_WECOM:
            if ((s = sget(j, "markdown", "content", &len)) != NULL)
                FUZZ_CHECK(len <= limit);
            break;
        case ZQ_CH_DINGTALK:
            FUZZ_CHECK((s = sget(j, "markdown", "text", &len)) != NULL);
            FUZZ_CHECK(len <= limit);
            break;
        case ZQ_CH_FEISHU:
        case ZQ_CH_FEISHU_CHAT: FUZZ_CHECK(reqs[i].body.len <= limit); break;
        case ZQ_CH_WECOM_APP:
            FUZZ_CHECK((s = sget(j, "markdown", "content", &len)) != NULL);
            FUZZ_CHECK(len <= limit);
            FUZZ_CHECK(reqs[i].auth == ZQ_AUTH_WECOM);
            break;
        case ZQ_CH_DINGTALK_APP: {
            /* The markdown text is inside the msgParam JSON string. */
            json_t *p = (s = sget(j, "msgParam", NULL, &len)) ? json_loadb(s, len, 0, NULL) : NULL;

            FUZZ_CHECK(p != NULL);
            FUZZ_CHECK(sget(p, "text", NULL, &len) != NULL && len <= limit);
            json_decref(p);
            break;
        }
        case ZQ_CH_TELEGRAM:
            FUZZ_CHECK((s = sget(j, "text", NULL, &len)) != NULL);
            FUZZ_CHECK(telegram_weight(s, len, &balanced) <= limit);
            FUZZ_CHECK(balanced);
            break;
        case ZQ_CH_GENERIC:
            FUZZ_CHECK((s = sget(j, "markdown", NULL, &len)) != NULL);
            FUZZ_CHECK(len <= limit);
            break;
        default: break;
        }
        json_decref(j);
    }
out:
    zq_outreq_free_all(reqs, n);
    free(title);
    free(body);
    return 0;
}
