/* Outbound messaging platforms: one message model rendered into each
 * platform's native request (WeCom, DingTalk, Feishu, Telegram, generic
 * webhook, and the app message APIs that reach the chats of a WeCom app,
 * a DingTalk app robot and a Feishu app), signed, split on character
 * boundaries at the platform's byte limit, and the platform's answer
 * classified into done / retry / fail. Pure functions: no I/O, so the bot
 * and the tests share them. (The app kinds need an access token: the
 * requests say which, and zhuqi-bot adds it when it sends, see
 * apptoken.h.) */
#ifndef ZHUQI_CHANNEL_H
#define ZHUQI_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"
#include "zhuqi/config.h"
#include "zhuqi/netguard.h"

typedef enum zq_channel_kind {
    ZQ_CH_WECOM = 0, /* "wecom-robot" */
    ZQ_CH_DINGTALK,  /* "dingtalk-robot" */
    ZQ_CH_FEISHU,    /* "feishu-bot" */
    ZQ_CH_TELEGRAM,  /* "telegram" */
    ZQ_CH_GENERIC,   /* "generic" */
    /* Chats reached through an app's message API with an access token
     * (what 订阅 in an app chat creates; apptoken.h). */
    ZQ_CH_WECOM_APP,    /* "wecom-app": a member of a WeCom self-built app */
    ZQ_CH_DINGTALK_APP, /* "dingtalk-app": a group or a user of a DingTalk app robot */
    ZQ_CH_FEISHU_CHAT,  /* "feishu-chat": a chat (group or p2p) of a Feishu app bot */
    /* A mainland mobile reached through the [sms] provider (smsq.h):
     * address = the 11 bare digits. Only the system creates these (inline
     * in an outbox entry); the staff API refuses them. */
    ZQ_CH_SMS, /* "sms" */
    ZQ_CH__COUNT,
} zq_channel_kind;

/* The wire name ("wecom-robot"), and back. parse returns 0 or -ZQ_EINVAL. */
const char *zq_channel_name(zq_channel_kind k);
int zq_channel_parse(const char *name, zq_channel_kind *out);

/* The kind whose answers a chat reply of channel (chat_outbox.h: an
 * inbound adapter's name, "dingtalk-session", "wecom-app", ...) gets:
 * the kind of that wire name, else the robot of the platform it names
 * (Feishu and "lark" replies are feishu-chat: they go through the IM API
 * with the tenant token), else generic. */
zq_channel_kind zq_channel_of_reply(const char *channel);

/* True for the kinds sent through an app's message API with an access
 * token (wecom-app, dingtalk-app, feishu-chat). */
bool zq_channel_is_app(zq_channel_kind k);

/* Per-platform limits (defaults from specs/channels.md; see
 * zq_channel_config for overrides). What max_bytes measures:
 *   wecom-robot     UTF-8 bytes of markdown.content (default 4096)
 *   dingtalk-robot  UTF-8 bytes of markdown.text (default 20000)
 *   feishu-bot      bytes of the whole JSON request body (default 20000)
 *   telegram        characters (UTF-16 code units, as Telegram counts them)
 *                   of the visible text after entity parsing (default 4096)
 *   generic         UTF-8 bytes of "markdown" (default 65536)
 *   wecom-app       UTF-8 bytes of markdown.content (default 2048)
 *   dingtalk-app    bytes of the msgParam JSON string as sent (title, text
 *                   and their JSON escapes; default 15000, the documented
 *                   limit of groupMessages/send)
 *   feishu-chat     bytes of the whole JSON request body (default 30000:
 *                   Feishu's 30 KB for cards)
 * 0 means the documented default. */
typedef struct zq_channel_limits {
    size_t max_bytes;
    int per_minute; /* 0: none */
    int per_second; /* 0: none */
    int per_hour;   /* 0: none; a window of 60 "minutes" ([channels] rate_window_ms) */
} zq_channel_limits;

/* WeCom's limits on app messages to one member (vendor docs, 访问频率限制,
 * developer.work.weixin.qq.com/document/path/90454): beyond them the
 * platform answers errcode 0 and drops the message, so no configuration
 * may raise them. */
#define ZQ_WECOM_APP_PER_MINUTE_MAX 30
#define ZQ_WECOM_APP_PER_HOUR_MAX 1000

/* A message longer than this many parts is cut: its last part ends with
 * "……（内容过长，已截断）". */
#define ZQ_CHANNEL_MAX_PARTS 20

/* Where each platform lives (base URLs, so tests point them at the local
 * fake) and limit overrides. */
typedef struct zq_channel_config {
    char base_url[ZQ_CH__COUNT][256]; /* "https://qyapi.weixin.qq.com" ... */
    zq_channel_limits limits[ZQ_CH__COUNT];
    /* The apps' identities that go into the body: the WeCom app's AgentId
     * (0: not configured) and the DingTalk robot's robotCode ("": not
     * configured). Without them the app kinds cannot be rendered. */
    long long wecom_agent_id;
    char dingtalk_robot_code[128];
    /* [channels] generic_allow: where generic targets may connect besides
     * public addresses over https (netguard.h). */
    zq_netguard generic_guard;
    /* [sms]: the provider, its credentials and templates (a copy). */
    zq_sms_config sms;
} zq_channel_config;

/* Fills the defaults of specs/channels.md. */
void zq_channel_config_defaults(zq_channel_config *cc);

/* The channel settings of cfg ([channels] base URLs and limits, the apps'
 * identities of [wecom] and [dingtalk]) over the defaults. */
void zq_channel_config_from(const zq_config *cfg, zq_channel_config *cc);

/* The [channels] limits of kind k in cfg: max_bytes as configured (0: the
 * documented default; always 0 for the app kinds, whose limits are the
 * documented ones) and the rates per minute and per second (0: none). An
 * app kind takes its platform's rates. All 0 for an unknown kind. */
zq_channel_limits zq_channel_limits_from(const zq_config *cfg, zq_channel_kind k);

/* Logs a warning for each limit in cfg that asks for more than its
 * platform allows and is clamped (the WeCom app's per member; the SMS
 * vendors' per number are zq_sms_limits', sms.h). Returns how many. */
int zq_channel_warn_limits(const zq_config *cfg);

/* True when k is an app kind whose app has its credentials in cfg:
 * wecom-app [wecom] corp_id, corp_secret and agent_id; dingtalk-app
 * [dingtalk] app_key and app_secret; feishu-chat [feishu] app_id and
 * app_secret. False for the other kinds. */
bool zq_channel_app_configured(const zq_config *cfg, zq_channel_kind k);

/* A push target. */
typedef struct zq_target {
    char id[48];
    zq_channel_kind kind;
    /* wecom: robot key; dingtalk: access_token; feishu: hook token;
     * telegram: bot token; generic: full URL; wecom-app: the member's
     * userid (touser); dingtalk-app: "group:<openConversationId>" or
     * "user:<userId>"; feishu-chat: the chat_id ("oc_..."). */
    char address[512];
    char secret[256];  /* dingtalk / feishu / generic signing secret; "" none */
    char chat_id[129]; /* telegram chat id; generic: the subscribed chat ("" none) */
} zq_target;

/* A message: title, body in a small markdown subset (**bold**, [text](url),
 * "- " list items, line breaks), and mentions. Strings borrowed. */
typedef struct zq_message {
    const char *title;
    const char *body;
    const char *const *mention_mobiles;
    size_t nmentions;
    bool mention_all;
    /* A key stable across the retries of one outbox entry ("<notice>:
     * <target>"), or NULL. The app kinds hand it to the platform's own
     * duplicate suppression: feishu-chat sends a "uuid" per part derived
     * from it, wecom-app asks for the duplicate check
     * (ZQ_WECOM_DUP_INTERVAL_S). */
    const char *idem;
} zq_message;

/* WeCom app messages' duplicate_check_interval: its maximum, 4 hours. */
#define ZQ_WECOM_DUP_INTERVAL_S 14400

/* The access token a request needs, added by the sender (the token is
 * not the renderer's business: it changes, and is shared by every
 * instance through Redis, see apptoken.h). */
typedef enum zq_outreq_auth {
    ZQ_AUTH_NONE = 0,
    ZQ_AUTH_WECOM,    /* "access_token=T" appended to the URL's query */
    ZQ_AUTH_DINGTALK, /* header "x-acs-dingtalk-access-token: T" */
    ZQ_AUTH_FEISHU,   /* header "Authorization: Bearer T" (tenant token) */
} zq_outreq_auth;

/* One HTTP request to send: a POST, or a GET (get: an SMS gateway's
 * query). Free arrays of them with zq_outreq_free_all(). The sizes hold
 * a signed SMS request (sms.h: an Alibaba query in the URL, the vendors'
 * signature headers). */
#define ZQ_OUTREQ_MAX_HEADERS 10
typedef struct zq_outreq {
    char url[4096];
    zq_buf body;
    const char *content_type;                 /* static; "" for none (an empty body) */
    char headers[ZQ_OUTREQ_MAX_HEADERS][720]; /* "Name: value" lines beyond Content-Type */
    int nheaders;
    zq_outreq_auth auth; /* the token to add before sending */
    bool get;            /* a GET without a body */
} zq_outreq;

/* Renders m for target t: native format (WeCom markdown, DingTalk markdown
 * with title and at, Feishu interactive card, Telegram HTML with escaping,
 * generic JSON), signed as the platform wants at now_ms, and split into
 * parts at the byte limit on character boundaries (each part says
 * "(1/3)"; a single message cut short says so). Returns 0 and a new array
 * of *n requests in *out (free with zq_outreq_free_all), or a negative
 * code (-ZQ_EINVAL: bad target or message, err says which).
 *
 * Send the requests in order. Per platform:
 *   wecom-robot     {"msgtype":"markdown"}; the title is a **bold** first
 *                   line. Markdown cannot mention by mobile, so with
 *                   mentions one more request follows: {"msgtype":"text"}
 *                   with text.mentioned_mobile_list (+ "@all").
 *   dingtalk-robot  {"msgtype":"markdown","markdown":{title,text}}; the
 *                   last part carries "at" and "@mobile ..." in its text.
 *                   URL has timestamp and sign (encoded once) with a secret.
 *   feishu-bot      {"msg_type":"interactive"} card: header = title, one
 *                   "markdown" element; "timestamp"/"sign" in the body
 *                   with a secret. mention_all adds <at id=all></at>;
 *                   mobiles cannot be mentioned by a custom bot (ignored).
 *   telegram        {chat_id,text,parse_mode:"HTML",
 *                   disable_web_page_preview:true}; mentions ignored.
 *   generic         {"title","text" (plain),"markdown","mentions",
 *                   "mention_all","part","parts"[,"chat" when chat_id is
 *                   set: a chat subscription]}; with a secret the
 *                   headers X-Zhuqi-Timestamp (Unix seconds) and
 *                   X-Zhuqi-Signature.
 *   wecom-app       POST {wecom}/cgi-bin/message/send (auth ZQ_AUTH_WECOM)
 *                   {"touser","msgtype":"markdown","agentid",
 *                   "markdown":{"content"}}; the title is a **bold** first
 *                   line; mentions ignored (a message to one member); with
 *                   m->idem also "enable_duplicate_check":1 and
 *                   "duplicate_check_interval".
 *   dingtalk-app    POST {dingtalk api}/v1.0/robot/groupMessages/send with
 *                   {"robotCode","openConversationId","msgKey":
 *                   "sampleMarkdown","msgParam":"{\"title\",\"text\"}"},
 *                   or .../v1.0/robot/oToMessages/batchSend with "userIds":
 *                   [id] for a user (auth ZQ_AUTH_DINGTALK); mentions
 *                   ignored (the app API has no @mobile).
 *   feishu-chat     POST {feishu}/open-apis/im/v1/messages?receive_id_type=
 *                   chat_id (auth ZQ_AUTH_FEISHU) {"receive_id","msg_type":
 *                   "interactive","content":"<the card of feishu-bot as a
 *                   JSON string>"[,"uuid": 32 hex digits from m->idem and
 *                   the part]}; no signature (the token is the proof).
 *   sms             the [sms] provider's SendSms (sms.h, ch_sms.c): Tencent
 *                   TC3, Alibaba ACS3 or the gateway's request, signed at
 *                   now_ms with a fresh nonce, from the body smsq.h writes
 *                   ({"use","params"}) and the use's template; -ZQ_ENOTSUP
 *                   without a provider or a template for the use. Its
 *                   answers are read by zq_sms_answer (sms.h), not here.
 * Split parts start with a line "（i/n）" (Feishu: in the card header;
 * DingTalk: in markdown.title too); lines are kept whole when possible,
 * never a UTF-8 character, an HTML entity or a tag is cut, and Telegram
 * tags open at a cut are closed and reopened in the next part. */
int zq_channel_render(const zq_channel_config *cc, const zq_target *t, const zq_message *m,
                      int64_t now_ms, zq_outreq **out, size_t *n, zq_err *err);
void zq_outreq_free_all(zq_outreq *reqs, size_t n);

/* Fills t with a stand-in target of kind k (placeholder address, secret
 * and chat id), to show a platform's wire format (zhuqi-bot --dry-run). */
void zq_channel_sample_target(zq_channel_kind k, zq_target *t);

typedef enum zq_delivery {
    ZQ_DELIVERY_DONE = 0,
    ZQ_DELIVERY_RETRY, /* network error, 5xx, 429, throttling codes */
    ZQ_DELIVERY_FAIL,  /* bad key, bad signature, too long, ... */
} zq_delivery;

/* Classifies the platform's answer: http_status 0 means no answer
 * (network error or timeout); body may be NULL; retry_after is the
 * Retry-After header or NULL. Reads the error code in the body, not only
 * the status. Sets *retry_after_ms (0 when the platform did not say) and a
 * short English reason ("dingtalk errcode 310000: sign not match").
 * Any platform: no answer, 5xx and 429 retry; 3xx fails (redirects are
 * not followed). WeCom/DingTalk errcode and Feishu code: 0 done; -1
 * (busy), 45009, 130101, 11232 and 9499 "too many request" retry; any
 * other code fails. HTTP 2xx without a readable code (garbage, HTML,
 * empty) retries: the platform may or may not have sent it. Telegram:
 * ok:true done, 429 retries with parameters.retry_after, other errors
 * fail. Generic: 2xx done, 429 retries with Retry-After, other 4xx fail.
 * retry_after_ms is capped at one day.
 * The app kinds: wecom-app like WeCom, and also done only when the answer
 * names no "invaliduser"/"unlicenseduser" (then it fails); 42001, 40014,
 * 40001 (token expired or invalid) and 45033 retry. dingtalk-app: 2xx
 * with a JSON object is done unless "invalidStaffIdList" is not empty
 * (fails) or "flowControlledStaffIdList" is not empty (retries); a 4xx
 * body {"code","message"} fails, except throttling (a code with
 * "QpsLimit", "Throttling" or "FlowControl") and "InvalidAuthentication"
 * (the token), which retry. feishu-chat like Feishu, plus 99991400 and
 * 230020 (frequency limits) and the token codes (zq_channel_token_rejected)
 * retrying. */
zq_delivery zq_channel_classify(zq_channel_kind k, long http_status, const char *body, size_t len,
                                const char *retry_after, int64_t *retry_after_ms, char *reason,
                                size_t reasonsz);

/* True when the platform's answer to a failed send says the destination
 * itself is gone, so every later message to it would fail the same way:
 * telegram HTTP 403 (bot blocked by the user, kicked from the group, user
 * deactivated, not a member) or 400 "chat not found" / group upgraded to
 * a supergroup; a group robot's webhook that no longer exists (wecom-robot
 * errcode 93000, dingtalk-robot errcode 300005, feishu-bot code 19001);
 * feishu-chat code 230002 (bot not in the chat); wecom-app
 * errcode 81013 (user, department and tag all invalid) or an errcode 0
 * naming the member in invaliduser/unlicenseduser. False for every other
 * answer and kind (sms included: its targets are not stored, and a
 * refused number fails that one message). When true, writes a short
 * English reason. */
bool zq_channel_target_gone(zq_channel_kind k, long http_status, const char *body, size_t len,
                            char *reason, size_t reasonsz);

/* True when the answer to a request with an access token says the token
 * is expired or invalid, so it must be fetched again before a retry:
 * wecom-app errcode 42001, 40014 or 40001; dingtalk-app code
 * "InvalidAuthentication" (or HTTP 401); feishu-chat code 99991661,
 * 99991663, 99991668 or 99991677. False for every other kind. */
bool zq_channel_token_rejected(zq_channel_kind k, long http_status, const char *body, size_t len);

/* Signatures, exposed for inbound verification and tests. Each writes a
 * NUL-terminated string into out and returns 0, or -ZQ_ETOOBIG (out
 * too small: 45 bytes for Base64, 72 for generic), -ZQ_ENOMEM. */
/* Base64(HMAC-SHA256(key=secret, msg=timestamp_ms + "\n" + secret)),
 * not URL-encoded (DingTalk robot send and inbound). */
int zq_sign_dingtalk(const char *secret, int64_t timestamp_ms, char *out, size_t outsz);
/* Base64(HMAC-SHA256(key=timestamp_s + "\n" + secret, msg="")) (Feishu). */
int zq_sign_feishu(const char *secret, int64_t timestamp_s, char *out, size_t outsz);
/* "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)) (generic). */
int zq_sign_generic(const char *secret, const char *timestamp, const char *body, size_t len,
                    char *out, size_t outsz);

/* Appends s percent-encoded to b (RFC 3986 unreserved kept, "%2B" upper
 * case). Returns 0 or -ZQ_ENOMEM. */
int zq_url_encode(zq_buf *b, const char *s);
/* The same for len bytes of s (which may hold NULs). */
int zq_url_encode_n(zq_buf *b, const char *s, size_t len);

#endif
