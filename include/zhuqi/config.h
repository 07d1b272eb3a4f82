/* Configuration: zhuqi.ini parsed with inih, defaults for every key,
 * ZHUQI_<SECTION>_<KEY> environment overrides, and a masked dump. */
#ifndef ZHUQI_CONFIG_H
#define ZHUQI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "zhuqi/common.h"

#define ZQ_MAX_TOKENS 64
#define ZQ_MAX_SENTINELS 8

/* Clock skew accepted on signed webhook requests: WeCom one hour, as it
 * documents; Feishu (with an Encrypt Key) eight hours, because Feishu
 * retries an unanswered event after 15 s, 5 min, 1 h and 6 h (about 7.1 h
 * in all) and a retry must still verify (its event_id stops the replay);
 * the generic channel five minutes. DingTalk's is [dingtalk] sign_window.
 * [chat] dedup_ttl may not be shorter than the longest window in use, or
 * a request replayed after its id was forgotten would still verify. */
#define ZQ_CONFIG_SIGN_WINDOW_S 3600
#define ZQ_CONFIG_FEISHU_WINDOW_S 28800
#define ZQ_CONFIG_GENERIC_WINDOW_S 300

typedef enum zq_role {
    ZQ_ROLE_NONE = 0,
    ZQ_ROLE_VIEWER = 1,
    ZQ_ROLE_HANDLER = 2,
    ZQ_ROLE_ADMIN = 3,
} zq_role;

/* A staff bearer token: only the SHA-256 of the token is kept. */
typedef struct zq_token {
    char name[64];
    zq_role role;
    unsigned char hash[32];
} zq_token;

typedef struct zq_redis_config {
    /* "host:port" or "unix:/path/to/redis.sock"; ignored when
     * nsentinels > 0. */
    char address[256];
    /* "host:port" of each sentinel; when any are set the master is
     * asked for by master_name on every (re)connect. */
    char sentinels[ZQ_MAX_SENTINELS][128];
    int nsentinels;
    char master_name[64];
    char password[128]; /* secret */
    int db;
    int connect_timeout_ms;
    int command_timeout_ms;
    int backoff_min_ms; /* first wait after a failed connect */
    int backoff_max_ms; /* the wait doubles up to this */
    char prefix[32];    /* key namespace, default "zq:" */
    /* Replicas a case write waits for (WAIT) before its 2xx: -1 (auto) is
     * 1 when the master has any connected replica, else 0; 0 never waits.
     * See zq_store_wait(). */
    int wait_replicas;
    int wait_timeout_ms; /* how long WAIT may block; 0 or less: 500 */
} zq_redis_config;

/* What an SMS is about (smsq.h): a verification code, or a status of a
 * case the complainant may see. Each has a template in [sms] (tpl_<use>,
 * text_<use>) and its own param names:
 *   code                                      code, minutes
 *   accepted rejected transferred needs_info
 *   answered closed                           case, status, deadline */
#define ZQ_SMS_USES                                                                                \
    "code", "accepted", "rejected", "transferred", "needs_info", "answered", "closed"
#define ZQ_SMS_NUSES 7
#define ZQ_SMS_TPL_PARAMS 8      /* variables of one template */
#define ZQ_SMS_GW_FIELDS 8       /* [sms_gateway] field_1 .. field_8 */
#define ZQ_SMS_PARAM_NAME_MAX 33 /* bytes of a param or vendor variable name, NUL included */

/* [sms] and [sms_gateway] (smsq.h, specs/sms.md): who sends SMS and how.
 * Checked at load (zq_sms_config_check): a provider that cannot work is a
 * startup error. */
typedef struct zq_sms_config {
    char provider[16]; /* "none", "tencent", "alibaba" or "gateway" */
    char tencent_base_url[256];
    char alibaba_base_url[256];
    char key_id[128];      /* Tencent SecretId / Alibaba AccessKeyId / gateway basic user */
    char secret[256];      /* secret: ZHUQI_SMS_SECRET or secret_file, never in the file */
    char secret_file[256]; /* a file of mode 0600 (or stricter) holding the secret */
    char app_id[64];       /* Tencent SmsSdkAppId; the gateway's {app_id} */
    char region[32];       /* Tencent X-TC-Region */
    char sign_name[64];    /* the approved signature text, without 【】 */
    /* Per use (ZQ_SMS_USES order): "<template id>: [vendor=]name, ..."
     * (zq_sms_tpl_parse), and the wording with {name} placeholders (the
     * gateway's {rendered_text}). */
    char tpl[ZQ_SMS_NUSES][256];
    char text[ZQ_SMS_NUSES][512];
    /* Per-number limits (0: the provider's default; looser values are
     * clamped to it, see zq_sms_limits). */
    int interval_s;
    int per_hour;
    int per_day;
    int code_max_age_s; /* a code not sent by then is dropped (dead letter) */
    struct {
        char url[512];
        char method[8];                    /* POST | GET */
        char body_format[8];               /* json | form | query */
        char content_mode[16];             /* text | template */
        char auth[8];                      /* none | basic | bearer | header */
        char auth_header[64];              /* the header of auth = header */
        char field[ZQ_SMS_GW_FIELDS][256]; /* "name = value with {placeholders}" */
        char success_pointer[128];         /* RFC 6901; "": the HTTP status decides */
        char success_values[256];
        char msgid_pointer[128];
        char error_pointer[128];
        char error_message_pointer[128];
        char retry_codes[256];
        char throttle_codes[256];
        char http_success[32]; /* "200-299", "202" */
        int throttle_s;        /* wait after a throttle code without Retry-After */
    } gw;
} zq_sms_config;

/* The index of use in ZQ_SMS_USES, or -1. */
int zq_sms_use_index(const char *use);
/* The name of use i ("code"), or NULL. */
const char *zq_sms_use_name(int i);
/* True when name is a param of use i. */
bool zq_sms_param_known(int use, const char *name);

/* A template: the vendor's id and its variables in order, each with the
 * vendor's name (Alibaba's ${var}; Tencent's are positional) and ours. */
typedef struct zq_sms_tpl {
    char id[65];
    int n;
    char vendor[ZQ_SMS_TPL_PARAMS][ZQ_SMS_PARAM_NAME_MAX];
    char name[ZQ_SMS_TPL_PARAMS][ZQ_SMS_PARAM_NAME_MAX];
} zq_sms_tpl;

/* Parses tpl_<use> "<id>[: [vendor=]name[, ...]]" ("1110: code, minutes";
 * "SMS_154950909: caseno=case, status") for use i: the id 1..64 of
 * A-Z a-z 0-9 _ - ., names of the use's params, vendor names 1..32 of
 * A-Z a-z 0-9 _. Returns 0, or -ZQ_EINVAL with an English reason. */
int zq_sms_tpl_parse(int use, const char *s, zq_sms_tpl *out, char *why, size_t whysz);

/* The HTTP statuses of [sms_gateway] http_success, "A-B" or "A" (100 to
 * 599), into lo and hi. Returns 0 or -ZQ_EINVAL. */
int zq_sms_http_range(const char *s, int *lo, int *hi);

/* True when v is in list, a comma-separated list of codes, each bare
 * (0, FREQ_LIMIT) or in double quotes ("0000"). */
bool zq_sms_code_in(const char *list, const char *v);

/* True when use i can be sent with sms: the provider is set and the use
 * has its template (tpl_<use>; the gateway in text mode: text_<use>). */
bool zq_sms_use_configured(const zq_sms_config *sms, int use);

/* True when name (len bytes) is a placeholder of [sms_gateway] fields:
 * phone_bare phone_e164 rendered_text template_id params_json sign_name
 * app_id key_id uuid unix_ms unix_s use. */
bool zq_sms_placeholder_known(const char *name, size_t len);

/* Splits a field "name = value" into name (out, 65 bytes; 1..64 of
 * A-Z a-z 0-9 _ - .) and *value (borrowed, spaces around trimmed off the
 * front). Returns 0 or -ZQ_EINVAL. */
int zq_sms_field_split(const char *s, char name[65], const char **value);

/* Reads a secret from path into out (outsz bytes): a regular file that
 * neither group nor others may read or write (mode 0600 or stricter),
 * its content without the line break at its end, 1 to outsz - 1 bytes of
 * printable text. Returns 0, or -ZQ_EINVAL / -ZQ_EIO with an English
 * reason (never the content). */
int zq_secret_file_read(const char *path, char *out, size_t outsz, char *why, size_t whysz);

/* Checks sms as a whole (the provider's required keys, templates, the
 * gateway's fields and placeholders). Returns 0 or -ZQ_EINVAL with an
 * English reason naming the key. */
int zq_sms_config_check(const zq_sms_config *sms, char *why, size_t whysz);

typedef struct zq_config {
    char path[512]; /* the file it was read from ("" for defaults) */
    struct {
        /* "unix:/path.sock", "host:port", or "fd:0" (socket inherited
         * from a supervisor). */
        char listen[256];
        int threads;
        int backlog;
        size_t max_body;    /* bytes; larger bodies get 413 */
        int retry_after_s;  /* Retry-After on 503 */
        int shutdown_ms;    /* how long SIGTERM waits for in-flight work */
        bool cookie_secure; /* Secure flag on cookies (behind TLS) */
        char pid_file[256]; /* "" for none */
        bool debug_routes;  /* /api/_debug/... for tests; never in production */
        /* The local stack (make run, tests): nginx serves it over plain
         * HTTP on loopback, so cookie_secure may be false without a
         * warning. */
        bool local_http;
        char socket_group[64]; /* group of the unix socket; "" for the process's */
    } server;
    zq_redis_config redis;
    struct {
        char level[16]; /* debug, info, warn, error */
    } log;
    struct {
        zq_token tokens[ZQ_MAX_TOKENS];
        int ntokens;
    } staff;
    struct {
        /* Relative paths are relative to the configuration file's folder. */
        char forms_dir[256];
        char regions[256];
        char holidays_dir[256];
        int session_ttl_s;         /* sliding lifetime of a draft */
        int idempotency_ttl_s;     /* how long a submit key maps to its case */
        int duplicate_window_days; /* same complainant+respondent+amount */
        bool uscc_warn_only;       /* pilot codes that fail the check pass */
        long long money_ceiling_yuan;
        int lookup_per_minute; /* status lookups per client address */
        int lookup_fail_max;   /* wrong mobiles that lock a case's lookup; 0: off */
        int lookup_lockout_s;  /* the failure window and the lockout */
        int quota_ip;          /* stored submissions per client (IPv6: /64) and day; 0: off */
        int quota_mobile;      /* per mobile and day; 0: off */
        int quota_uscc;        /* per credit code and day; 0: off */
        char office_name[128]; /* printed on the receipt; "": none */
    } intake;
    struct {
        int review_workdays;       /* decide on acceptance, from submission */
        int transfer_workdays;     /* transfer after acceptance (10 by law) */
        int answer_days;           /* written result after transfer (30 by law) */
        int answer_max_days;       /* with an extension (90 by law) */
        char handling[256];        /* departments and message templates (handling.json) */
        int supplement_days;       /* working days to supply more material (default date) */
        char supplement_clock[16]; /* "pause" or "restart": the review clock meanwhile */
    } workflow;
    struct {
        int poll_ms;       /* idle wait between outbox reads */
        char consumer[64]; /* consumer name in the group; "" = host-pid */
        char pid_file[256];
        int max_transfers;        /* HTTP transfers in flight at once */
        int connect_timeout_ms;   /* per transfer */
        int timeout_ms;           /* per transfer, total */
        int max_attempts;         /* then dead-lettered */
        int max_age_s;            /* since first enqueued; then dead-lettered */
        int retry_base_ms;        /* first back-off; doubles per attempt */
        int retry_max_ms;         /* back-off ceiling */
        int claim_idle_ms;        /* entries idle this long are taken over */
        int lease_ms;             /* scheduler lease */
        int catch_up_grace_s;     /* late reminders still sent within this */
        long long clock_offset_s; /* test only: shifts the scheduler's clock */
        char digest_time[8];      /* "HH:MM" Beijing time on working days; "" off */
        char digest_tag[64];      /* targets that receive the staff digest */
        int reminder_shift_min;   /* :00 / :30 sends leave this much later */
        /* Relative paths are relative to the configuration file's folder. */
        char reminders[256];
        char templates_dir[256];
    } bot;
    struct {
        /* Base URLs of the platforms (tests point them at the fake). */
        char wecom_base_url[256];
        char dingtalk_base_url[256];
        /* The DingTalk app API (tokens, app robot messages): another host
         * than the robots' oapi.dingtalk.com. */
        char dingtalk_api_base_url[256];
        char feishu_base_url[256];
        char telegram_base_url[256];
        /* Rate limits per target; 0 = none. */
        int wecom_per_minute;
        int dingtalk_per_minute;
        int feishu_per_minute;
        int feishu_per_second;
        int telegram_per_minute;
        int telegram_per_second;
        int telegram_bot_per_second; /* per bot token, over all its chats */
        int generic_per_minute;
        int generic_per_second;
        /* Content byte limits; 0 = the platform's documented limit. */
        size_t wecom_max_bytes;
        size_t dingtalk_max_bytes;
        size_t feishu_max_bytes;
        size_t telegram_max_bytes;
        size_t generic_max_bytes;
        int rate_window_ms; /* what "a minute" is (tests shorten it) */
        int rate_slack_ms;  /* safety margin added to each window */
        /* zq_netguard_parse() list of the addresses generic targets may
         * reach although not public, and over plain http. */
        char generic_allow[512];
        /* WeCom app messages to one member (wecom-app targets): at most
         * the platform's 30 a minute and 1000 an hour, which it drops
         * silently beyond; a larger value is clamped (channel.h). */
        int wecom_app_per_minute;
        int wecom_app_per_hour;
    } channels;
    /* Inbound chat webhooks (fcgi/hooks.c, lib/inbound_*.c). A platform
     * whose keys are empty is not configured: its hook answers 404. */
    struct {
        char token[128];
        char encoding_aes_key[64]; /* secret; 43 characters */
        char corp_id[64];
        /* The app's Secret and AgentId, for the access token and the app
         * messages that reach subscribed members (wecom-app targets);
         * empty / 0: 订阅 is off on WeCom. */
        char corp_secret[256]; /* secret */
        int agent_id;
    } wecom;
    struct {
        char app_secret[256]; /* secret */
        /* The app's AppKey (Client ID) for the access token, and the
         * robot's robotCode ("" = app_key) for app robot messages
         * (dingtalk-app targets); empty app_key: 订阅 is off on DingTalk. */
        char app_key[128];
        char robot_code[128];
        /* Seconds a sign header stays valid around its timestamp. */
        int sign_window_s;
    } dingtalk;
    struct {
        char verification_token[128];
        char encrypt_key[128]; /* secret; "" when events come unencrypted */
        char app_id[64];
        char app_secret[128]; /* secret */
    } feishu;
    struct {
        char secret_token[257]; /* secret; 1..256 of A-Z a-z 0-9 _ - */
        char bot_token[128];    /* secret */
        char username[33];      /* "" or the bot's username, without "@" */
    } telegram;
    struct {
        char secret[256]; /* secret */
        /* Where 订阅 from a generic chat pushes (signed with secret);
         * "" = 订阅 is off on the generic channel. */
        char push_url[512];
    } generic;
    struct {
        int session_ttl_s;      /* sliding lifetime of a chat session */
        int dedup_ttl_s;        /* how long a platform message id is remembered */
        size_t max_text;        /* longest text message accepted, bytes */
        size_t max_body;        /* longest webhook body accepted, bytes */
        char web_base_url[256]; /* public site for 网页填写 links; "" = off */
    } chat;
    /* Case events in zhuqi-bot (announce.h). */
    struct {
        int announce_per_minute; /* per target and window; 0: no batching */
        int announce_window_ms;
        /* Progress SMS to the complainant's mobile ([sms] must be set up). */
        bool sms_progress;
        char sms_quiet_hours[12]; /* "HH:MM-HH:MM" Beijing time, or "" */
    } events;
    zq_sms_config sms;
    /* SMS verification codes (otp.h) and where they are asked for. */
    struct {
        char pepper[257];      /* secret; the HMAC key of stored codes, >= 32 bytes */
        char pepper_file[256]; /* or a file holding it (mode 0600) */
        bool submit_complaint; /* a complaint needs its mobile verified */
        bool submit_consult;   /* a consultation too */
        bool resume;           /* drafts resumed on another device with a code */
        bool lookup;           /* every case of a verified mobile */
        bool supplement;       /* answering a request for material */
        int code_ttl_s;        /* lifetime of a code */
        int max_tries;         /* tries per code */
        int verified_ttl_s;    /* how long a session stays verified */
        int resend_s;          /* one code per number in this many seconds; 0: off */
        int mobile_per_hour, mobile_per_day;
        int client_per_hour, client_per_day;
        int daily_budget; /* codes per Beijing day in all; 0: off */
    } verify;
    /* Evidence files (include/zhuqi/filestore.h, include/zhuqi/files.h). */
    struct {
        /* The store's folder and the folder nginx writes upload bodies to
         * (client_body_temp_path): both on one filesystem, so that an
         * upload moves into the store by rename. Relative paths are
         * relative to the configuration file's folder. */
        char dir[256];
        char upload_temp_dir[256];
        size_t max_file_size; /* bytes of one file */
        int max_files;        /* files of one draft or case */
        size_t max_case_size; /* bytes of all the files of one draft or case */
        bool require_kinds;   /* a kind marked required must be uploaded (web) */
        int sweep_grace_s;    /* a gone draft's uploads live this long past its TTL */
        char backend[8];      /* "dir" or "s3" */
        char s3_endpoint[256];
        char s3_bucket[64];
        char s3_region[32];
        char s3_access_key[128];
        char s3_secret[256];      /* secret */
        char s3_secret_file[256]; /* or the secret read from this file */
    } files;
    /* Personal data retention (retention.h). Drafts and chat sessions
     * expire by [intake] and [chat] session_ttl. */
    struct {
        int closed_case_days; /* closed cases keep personal data this long */
        int audit_days;       /* audit entries older than this are trimmed */
        int report_days;      /* delivery reports older than this are deleted */
        char daily_time[8];   /* "HH:MM" Beijing: zhuqi-bot's daily run; "" = off */
    } retention;
    /* What every page's footer and "cannot connect" state say (GET
     * /api/site); "" leaves a line out. */
    struct {
        char organizer[256];     /* 主办单位 */
        char hotline[64];        /* a telephone number */
        char hotline_hours[128]; /* when it answers */
        char icp[128];           /* ICP 备案号, "蜀ICP备…号" */
        char police[128];        /* 公安备案号, "川公网安备…号" */
        char subscribe[512];     /* how to get the tax-day reminders in a chat app */
    } site;
} zq_config;

/* Fills cfg with the default of every key. */
void zq_config_defaults(zq_config *cfg);

/* Reads path over the defaults, then applies ZHUQI_* environment
 * overrides, then checks cross-key rules. On error returns a negative
 * ZQ_E* code and err->msg names the file, line and key. cfg is only
 * written on success. */
int zq_config_load(const char *path, zq_config *cfg, zq_err *err);

/* Parses "name:role:sha256hex" (role is viewer, handler or admin). */
int zq_config_parse_token(const char *s, zq_token *out, zq_err *err);

/* Prints the effective configuration as ini text, secrets masked. */
void zq_config_dump(const zq_config *cfg, FILE *out);

const char *zq_role_name(zq_role r);

#endif
