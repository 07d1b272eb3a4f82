/* Fuzzes the parsers of the staff API's JSON (behind a token, but still
 * input from outside): push targets (lib/push/targets.c), classes
 * (lib/push/reminders.c), notice audiences, mentions and times
 * (lib/push/notices.c), the reminder lead times, the inline target of an
 * outbox entry, and the chat id of a case source. What one of them accepts
 * must come out of it again unchanged (normalised values are fixed
 * points), and a target the API accepts must be one a message can be
 * rendered for.
 * Input: a mode byte (bits 0-2: which parser), then the bytes (JSON for
 * the JSON parsers). */
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/channel.h"
#include "zhuqi/notices.h"
#include "zhuqi/reminders.h"
#include "zhuqi/targets.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static bool same_target(const zq_target *a, const zq_target *b)
{
    return a->kind == b->kind && strcmp(a->id, b->id) == 0 && strcmp(a->address, b->address) == 0 &&
           strcmp(a->secret, b->secret) == 0 && strcmp(a->chat_id, b->chat_id) == 0;
}

static void target(json_t *j)
{
    zq_target_rec r, r2;
    const char *field = NULL, *msg = NULL;
    zq_channel_config cc;
    zq_message m = {.title = "测试", .body = "内容"};
    zq_outreq *reqs = NULL;
    zq_target back;
    zq_err err = {0};
    json_t *view;
    size_t n = 0;
    char *enc;
    int rc;

    if (zq_target_from_json(j, &r, &field, &msg) < 0) {
        FUZZ_CHECK(field != NULL && msg != NULL && msg[0] != '\0');
        return;
    }
    FUZZ_CHECK_STR(r.t.id);
    FUZZ_CHECK_STR(r.t.address);
    FUZZ_CHECK_STR(r.t.secret);
    FUZZ_CHECK_STR(r.t.chat_id);
    FUZZ_CHECK_STR(r.name);
    FUZZ_CHECK(r.ntags >= 0 && r.ntags <= ZQ_TARGET_MAX_TAGS);
    for (int i = 0; i < r.ntags; i++)
        FUZZ_CHECK(zq_tag_valid(r.tags[i]));
    view = zq_target_to_json(&r);
    FUZZ_CHECK(view != NULL);
    /* The staff view never shows a secret. */
    FUZZ_CHECK(json_object_get(view, "secret") == NULL);
    /* What was accepted is accepted again as the staff view shows it back,
     * with the address and secret of the original (the view masks them). */
    {
        static const char *const keep[] = {"id", "channel", "name", "tags"};
        json_t *again = json_object();

        FUZZ_CHECK(again != NULL);
        for (size_t i = 0; i < ZQ_ARRAY_LEN(keep); i++)
            if (json_object_get(view, keep[i]) != NULL)
                json_object_set(again, keep[i], json_object_get(view, keep[i]));
        if (r.t.id[0] == '\0')
            json_object_del(again, "id");
        json_object_set_new(again, "address", json_string(r.t.address));
        if (r.t.secret[0] != '\0')
            json_object_set_new(again, "secret", json_string(r.t.secret));
        if (r.t.chat_id[0] != '\0')
            json_object_set_new(again, "chat_id", json_string(r.t.chat_id));
        json_decref(view);
        view = again;
    }
    if (zq_target_from_json(view, &r2, &field, &msg) != 0) {
        char *s = json_dumps(view, JSON_COMPACT);

        fprintf(stderr, "fuzz: target view %s refused: %s: %s\n", s ? s : "?", field, msg);
        free(s);
        FUZZ_CHECK(!"an accepted target is accepted again");
    }
    FUZZ_CHECK(same_target(&r.t, &r2.t));
    json_decref(view);
    /* The outbox's inline form round-trips. */
    enc = zq_target_inline_encode(&r.t);
    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK(zq_target_inline_decode(enc, strlen(enc), &back) == 0 && same_target(&r.t, &back));
    free(enc);
    /* The API stores a target only when it also passes the outbound
     * rules (https, no userinfo, public literal addresses): what it refuses
     * need not render. */
    {
        static zq_config cfg;
        static bool cfg_ready;

        if (!cfg_ready) {
            zq_config_defaults(&cfg);
            cfg_ready = true;
        }
        msg = NULL;
        if (zq_target_check_outbound(&r.t, &cfg, &msg) != 0) {
            FUZZ_CHECK(msg != NULL && msg[0] != '\0');
            return;
        }
    }
    /* A target the API stores can be sent to (the app kinds once their
     * app is configured). */
    zq_channel_config_defaults(&cc);
    cc.wecom_agent_id = 1000002;
    snprintf(cc.dingtalk_robot_code, sizeof(cc.dingtalk_robot_code), "%s", "dingfuzz");
    rc = zq_channel_render(&cc, &r.t, &m, FUZZ_NOW_MS, &reqs, &n, &err);
    if (rc != 0) {
        fprintf(stderr, "fuzz: stored target %s/%s cannot be rendered: %s\n",
                zq_channel_name(r.t.kind), r.t.address, err.msg);
        FUZZ_CHECK(!"an accepted target can be rendered");
    }
    zq_outreq_free_all(reqs, n);
}

static void klass(json_t *j)
{
    zq_class c, c2;
    const char *field = NULL, *msg = NULL;
    json_t *back;

    if (zq_class_from_json(j, &c, &field, &msg) < 0) {
        FUZZ_CHECK(msg != NULL && msg[0] != '\0');
        return;
    }
    FUZZ_CHECK_STR(c.id);
    FUZZ_CHECK_STR(c.title);
    FUZZ_CHECK_STR(c.live_url);
    /* The stored member, as the staff API would send it again. */
    back = zq_class_to_json(&c);
    FUZZ_CHECK(back != NULL);
    json_object_del(back, "start_ms");
    if (c.id[0] == '\0')
        json_object_del(back, "id");
    if (zq_class_from_json(back, &c2, &field, &msg) != 0) {
        fprintf(stderr, "fuzz: stored class refused: %s: %s\n", field, msg);
        FUZZ_CHECK(!"a stored class is read back");
    }
    FUZZ_CHECK(strcmp(c.title, c2.title) == 0 && strcmp(c.date, c2.date) == 0 &&
               strcmp(c.time, c2.time) == 0 && c.start_ms == c2.start_ms &&
               strcmp(c.live_url, c2.live_url) == 0 && strcmp(c.replay_url, c2.replay_url) == 0 &&
               strcmp(c.speaker, c2.speaker) == 0);
    json_decref(back);
}

/* A normalised audience or mention list is its own normal form. */
static void fixed_point(int (*parse)(json_t *, json_t **, const char **), json_t *j)
{
    json_t *out = NULL, *again = NULL;
    const char *msg = NULL;

    if (parse(j, &out, &msg) < 0) {
        FUZZ_CHECK(out == NULL && msg != NULL && msg[0] != '\0');
        return;
    }
    FUZZ_CHECK(json_is_object(out));
    if (parse(out, &again, &msg) != 0 || !json_equal(out, again)) {
        char *a = json_dumps(out, JSON_COMPACT),
             *b = again ? json_dumps(again, JSON_COMPACT) : NULL;

        fprintf(stderr, "fuzz: %s normalises to %s (%s)\n", a ? a : "?", b ? b : "an error",
                msg ? msg : "");
        free(a);
        free(b);
        FUZZ_CHECK(!"a normalised value is its own normal form");
    }
    json_decref(out);
    json_decref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    size_t len;
    char *s = fuzz_rest(&in, &len);
    json_t *j = NULL;
    int64_t ms = 0;
    int d = 0, h = 0, mi = 0;
    char id[ZQ_TARGET_ID_MAX];
    zq_target t, t2;

    if ((mode & 7) <= 3)
        j = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    switch (mode & 7) {
    case 0: target(j); break;
    case 1: klass(j); break;
    case 2: fixed_point(zq_audience_parse, j); break;
    case 3: fixed_point(zq_mentions_parse, j); break;
    case 4:
        if (zq_time_parse(s, &ms) == 0)
            FUZZ_CHECK(ms >= -62135596800000LL && ms <= 253402300799999LL);
        break;
    case 5:
        if (zq_lead_parse(s, &d, &h, &mi) == 0)
            FUZZ_CHECK(d >= -27 && d <= 27 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59);
        break;
    case 6:
        if (zq_target_inline_decode(s, len, &t) == 0) {
            char *enc;

            FUZZ_CHECK_STR(t.address);
            FUZZ_CHECK_STR(t.secret);
            FUZZ_CHECK_STR(t.chat_id);
            FUZZ_CHECK_STR(t.id);
            FUZZ_CHECK(t.kind >= 0 && t.kind < ZQ_CH__COUNT);
            enc = zq_target_inline_encode(&t);
            FUZZ_CHECK(enc != NULL);
            FUZZ_CHECK(zq_target_inline_decode(enc, strlen(enc), &t2) == 0 && same_target(&t, &t2));
            free(enc);
        }
        break;
    default:
        if (zq_target_chat_id(s, id) == 0)
            FUZZ_CHECK(zq_target_id_valid(id));
        break;
    }
    json_decref(j);
    free(s);
    return 0;
}
