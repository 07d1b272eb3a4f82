/* What lib/push's channel files share, private to lib/push: the table of
 * outbound platforms (one zq_channel_ops per kind, each in its
 * ch_<platform>.c, found by zq_channel_ops_of), the state a renderer
 * works on, and the text, request and answer helpers the platforms have
 * in common (channel_text.c, channel_classify.c). channel.c drives the
 * table: it holds no knowledge of any one platform. */
#ifndef ZHUQI_PUSH_CHANNEL_INT_H
#define ZHUQI_PUSH_CHANNEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "zhuqi/buf.h"
#include "zhuqi/channel.h"
#include "zhuqi/common.h"
#include "zhuqi/config.h"

#define ZQ_CHANNEL_DEFAULT_TITLE "通知"
#define ZQ_CHANNEL_LABEL_FMT "（%zu/%zu）"
/* A Retry-After (or Telegram's retry_after) beyond a day is taken as a day. */
#define ZQ_CHANNEL_RETRY_AFTER_MAX_S 86400

/* How a part's size is measured against the platform's limit. */
typedef enum weigh_mode {
    W_BYTES,    /* UTF-8 bytes (WeCom, DingTalk, generic) */
    W_JSON,     /* bytes once JSON-escaped (Feishu: the limit is on the body) */
    W_JSON2,    /* bytes once JSON-escaped twice (a Feishu card inside "content") */
    W_TELEGRAM, /* UTF-16 units of the visible text: tags 0, an entity 1 */
} weigh_mode;

/* The markup the markdown subset is converted into. */
typedef enum md_mode {
    MD_HTML, /* Telegram parse_mode HTML */
    MD_LARK, /* Feishu card markdown */
    MD_PLAIN,
} md_mode;

/* What the platform renderers share: the parts and how to label them. */
typedef struct zq_ch_render {
    const zq_channel_config *cc;
    const zq_target *t;
    const zq_message *m;
    int64_t now_ms;
    const char *title; /* normalised, cut; may be "" */
    zq_buf *parts;
    size_t nparts;
    zq_outreq *reqs;
    size_t nreqs;
    zq_err *err;
} zq_ch_render;

/* The text a platform lays out before it is split into parts. */
typedef struct zq_ch_text {
    zq_buf full;        /* the message in the platform's markup */
    zq_buf suffix;      /* what the last part adds after the text (mentions) */
    weigh_mode wm;      /* how the limit counts */
    bool label_in_text; /* "（i/n）" is a line of the text (else in a header) */
    size_t fixed;       /* what each request spends beside the text (a JSON envelope) */
} zq_ch_text;

/* One outbound platform: what every switch on the channel kind used to
 * decide, in one place. Hooks left NULL take the default named beside
 * them. */
typedef struct zq_channel_ops {
    zq_channel_kind kind;
    const char *name;         /* wire name: "wecom-robot" */
    const char *default_base; /* base URL of specs/channels.md or the vendor docs */
    zq_channel_limits limits; /* documented defaults */
    bool app;                 /* sent through an app's message API with a token */
    bool limit_on_body;       /* max_bytes counts the whole request body */
    bool json_answer;         /* the platform answers with a JSON code to read */
    /* The chat replies (chat_outbox.h) whose channel starts with one of
     * these are answered like this kind (zq_channel_of_reply). */
    const char *reply_prefix[2];

    /* Targets (targets.c). takes_secret: a signing secret may be set.
     * address: checks and normalises what staff typed (a key, a token, a
     * whole webhook URL...) into out; 0, or -1 with a Chinese message.
     * chat_id: checks the chat id (s NULL when absent) into t; NULL: the
     * kind takes none. chat_id_required: a target without one is refused.
     * address_public: shown as is (a URL without its query) instead of
     * masked like a credential. */
    bool takes_secret;
    int (*address)(const char *in, char *out, size_t outsz, const char **msg);
    int (*chat_id)(const char *s, zq_target *t, const char **msg);
    bool chat_id_required;
    bool address_public;

    /* The dry run's stand-in target (NULL: ""). */
    const char *sample_address, *sample_secret, *sample_chat_id;

    /* Configuration: the [channels] settings of the platform (base_url
     * NULL: keep the default), and for an app kind whether its app's
     * credentials are set (NULL: never). */
    void (*settings)(const zq_config *cfg, zq_channel_limits *lim, const char **base_url);
    bool (*configured)(const zq_config *cfg);

    /* Rendering: check the target beyond what every kind needs (NULL: an
     * address of UTF-8 text); lay out the title and body (both
     * normalised; title not NULL) into tx; how many requests beyond the
     * parts a message needs (NULL: none); build the requests of rd. Each
     * returns 0 or a negative code. */
    int (*check)(const zq_channel_config *cc, const zq_target *t, zq_err *err);
    int (*compose)(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body, zq_ch_text *tx);
    size_t (*extra_requests)(const zq_message *m);
    int (*render)(zq_ch_render *rd);

    /* Answers: classify one that is 2xx or 4xx (o: the body as a JSON
     * object when json_answer, else NULL; may be NULL); token_rejected
     * (NULL: never) says an app token must be fetched again. */
    zq_delivery (*classify)(long status, json_t *o, const char *retry_after,
                            int64_t *retry_after_ms, char *reason, size_t reasonsz);
    bool (*token_rejected)(long status, json_t *o);
} zq_channel_ops;

/* The platform of k, or NULL for a kind out of range. */
const zq_channel_ops *zq_channel_ops_of(zq_channel_kind k);

extern const zq_channel_ops zq_ch_wecom, zq_ch_wecom_app;
extern const zq_channel_ops zq_ch_dingtalk, zq_ch_dingtalk_app;
extern const zq_channel_ops zq_ch_feishu, zq_ch_feishu_chat;
extern const zq_channel_ops zq_ch_telegram;
extern const zq_channel_ops zq_ch_generic;
extern const zq_channel_ops zq_ch_sms;

/* ---- text (channel_text.c) ---- */

/* Copies s into b without '\r' and other control characters; '\n' and
 * '\t' are kept, or become spaces with oneline. Returns 0 or -ZQ_ENOMEM. */
int zq_ch_norm_text(zq_buf *b, const char *s, bool oneline);
/* Appends n bytes of s escaped for mode (attr: '"' too). */
int zq_ch_md_escape(zq_buf *b, md_mode mode, const char *s, size_t n, bool attr);
/* Appends the markdown subset of s converted for mode. */
int zq_ch_md_convert(zq_buf *b, md_mode mode, const char *s, size_t n);
/* The weight of len bytes of s under m. */
size_t zq_ch_weigh(weigh_mode m, const char *s, size_t len);
/* Splits s into at most ZQ_CHANNEL_MAX_PARTS parts of at most budget;
 * a longer text is cut and says so. Returns 0 or -ZQ_ENOMEM. */
int zq_ch_split(weigh_mode m, const char *s, size_t len, size_t budget, zq_buf *parts,
                size_t *nparts, bool *truncated);
/* "**title**\n\n" and the body, as markdown robots take it. */
int zq_ch_compose_md(const zq_ch_render *rd, const zq_buf *title, const zq_buf *body,
                     zq_ch_text *tx);

/* Checks of what goes into a request. */
bool zq_ch_mobile_ok(const char *s);
/* Printable ASCII without spaces; not url: only [A-Za-z0-9:_-]. */
bool zq_ch_token_ok(const char *s, bool url);
/* 1..max bytes of A-Z a-z 0-9 and the characters of extra. */
bool zq_ch_id_chars(const char *s, size_t max, const char *extra);

/* Requests: a new JSON string; the body from root (taken); the URL of r
 * from u; the "（i/n）" label of part i of n ("" for one part; 0 or
 * -ZQ_ETOOBIG when outsz cannot hold it); part i with its label line in
 * front; the mention array (new, or NULL). */
json_t *zq_ch_jstr(const char *s, size_t n);
int zq_ch_set_body(zq_outreq *r, json_t *root);
int zq_ch_set_url(zq_ch_render *rd, zq_outreq *r, const zq_buf *u);
int zq_ch_label(char *out, size_t outsz, size_t i, size_t n);
int zq_ch_labelled(zq_buf *b, const zq_ch_render *rd, size_t i);
json_t *zq_ch_mobiles_json(const zq_message *m, bool with_all);
/* root, or NULL after dropping it when bad (a failed jansson call). */
json_t *zq_ch_built(json_t *root, int bad);
/* The title (or the default one) and part i's label, appended to b. */
int zq_ch_titled(zq_buf *b, const zq_ch_render *rd, size_t i);

/* The body of part i's request, built with the scratch buffers a and b
 * (empty): a new reference, or NULL when out of memory. */
typedef json_t *(*zq_ch_part_fn)(const zq_ch_render *rd, size_t i, zq_buf *a, zq_buf *b);
/* Points every request of rd at url with auth and gives each part the
 * body part builds. Returns 0 or a negative code. */
int zq_ch_render_parts(zq_ch_render *rd, const zq_buf *url, zq_outreq_auth auth,
                       zq_ch_part_fn part);

/* Target addresses as staff type them (targets.c). */
/* Printable ASCII without spaces. */
bool zq_ch_printable(const char *s, size_t n);
/* n bytes of ASCII letters, digits and the characters of extra. */
bool zq_ch_token_chars(const char *s, size_t n, const char *extra);
/* A control character in s. */
bool zq_ch_has_control(const char *s);
/* When in is a URL, the value of its query parameter name (query) or the
 * path segment after name (not query); else in itself: copied into out
 * when it is a robot key of 8..128 letters, digits, '-' and '_'.
 * Returns 0 or -1. */
int zq_ch_robot_key(const char *in, const char *name, bool query, char *out, size_t outsz);
/* When in is a URL, the path segment after marker; else in. 0 or -1. */
int zq_ch_take_segment(const char *in, const char *marker, char *out, size_t outsz);
/* An http(s) URL with a host, printable. */
bool zq_ch_http_url(const char *s);

/* ---- answers (channel_classify.c) ---- */

/* Writes the reason printf-style, made printable. */
void zq_ch_say(char *reason, size_t reasonsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Retry-After (delta-seconds or an HTTP-date) in ms; 0 when absent. */
int64_t zq_ch_retry_after(const char *v);
/* The JSON object in body, or NULL; a new reference. */
json_t *zq_ch_parse_object(const char *body, size_t len);
/* An integer member (false when missing); a string member or "" (borrowed). */
bool zq_ch_get_int(json_t *o, const char *key, long long *out);
const char *zq_ch_get_str(json_t *o, const char *key);
/* The first id of a string or non-empty array member ("" when none). */
void zq_ch_id_list(json_t *o, const char *key, char *out, size_t outsz);
/* WeCom's and DingTalk's {"errcode":N,"errmsg":"..."} as who: 0 done,
 * -1 (busy) and the nretry codes of retry retry, any other code fails;
 * no errcode retries on 2xx and fails otherwise. */
zq_delivery zq_ch_errcode(const char *who, long status, json_t *o, const long long *retry,
                          size_t nretry, char *reason, size_t reasonsz);

#endif
