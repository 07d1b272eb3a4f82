/* Configuration: one table of keys drives defaults, zhuqi.ini parsing (via inih),
 * ZHUQI_<SECTION>_<KEY> environment overrides and the masked dump. */
#include "zhuqi/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zhuqi/buf.h"
#include "zhuqi/calendar.h"
#include "zhuqi/log.h"
#include "zhuqi/netguard.h"

#define MASK "********"
#define UNIX_PATH_MAX 107 /* sizeof(sun_path) - 1 */

typedef enum opt_type {
    OPT_STRING, /* char[]; min/max bound the length */
    OPT_INT,    /* int in [min, max] */
    OPT_INT64,  /* long long in [min, max] */
    OPT_BOOL,   /* true/false, yes/no, on/off, 1/0 */
    OPT_SIZE,   /* size_t in [min, max] bytes, "k" and "m" suffixes */
    OPT_LIST,   /* comma-separated host:port list into char[max][size] + int count */
    OPT_TOKEN,  /* staff tokens: repeatable in the file, a comma list in the environment */
} opt_type;

/* Extra rule for a string value: returns 0 or -1 with a reason in why. */
typedef int (*opt_check)(const char *v, char *why, size_t whysz);

typedef struct opt {
    const char *section;
    const char *key;
    opt_type type;
    size_t off;       /* of the field in zq_config */
    size_t size;      /* of a string field, or of one list item */
    size_t count_off; /* OPT_LIST: the int holding the number of items */
    long long min, max;
    bool secret;
    opt_check check;
    const char *def; /* the default, parsed like any other value */
    const char *env; /* the variable name when not ZHUQI_<SECTION>_<KEY> */
    const char *help;
} opt;

static int check_listen(const char *v, char *why, size_t whysz);
static int check_address(const char *v, char *why, size_t whysz);
static int check_level(const char *v, char *why, size_t whysz);
static int check_prefix(const char *v, char *why, size_t whysz);
static int check_name(const char *v, char *why, size_t whysz);
static int check_hhmm(const char *v, char *why, size_t whysz);
static int check_base_url(const char *v, char *why, size_t whysz);
static int check_aes_key(const char *v, char *why, size_t whysz);
static int check_tg_secret(const char *v, char *why, size_t whysz);
static int check_tg_username(const char *v, char *why, size_t whysz);
static int check_opt_url(const char *v, char *why, size_t whysz);
static int check_push_url(const char *v, char *why, size_t whysz);
static int check_generic_allow(const char *v, char *why, size_t whysz);
static int check_quiet_hours(const char *v, char *why, size_t whysz);
static int check_sms_provider(const char *v, char *why, size_t whysz);
static int check_files_backend(const char *v, char *why, size_t whysz);
static int check_supplement_clock(const char *v, char *why, size_t whysz);

#define FIELD(f) offsetof(zq_config, f), sizeof(((zq_config *)0)->f)
#define STR(sec, key, f, min, secret, check, def, help)                                            \
    {                                                                                              \
        sec, key, OPT_STRING, FIELD(f), 0, min, sizeof(((zq_config *)0)->f) - 1, secret, check,    \
            def, NULL, help                                                                        \
    }
#define NUM(sec, key, type, f, min, max, def, help)                                                \
    {                                                                                              \
        sec, key, type, FIELD(f), 0, min, max, false, NULL, def, NULL, help                        \
    }

static const opt opts[] = {
    STR("server", "listen", server.listen, 1, false, check_listen,
        "unix:/run/zhuqi/zhuqi-fcgi.sock",
        "unix:PATH, host:port, or fd:N (a socket inherited from a supervisor)"),
    NUM("server", "threads", OPT_INT, server.threads, 1, 1024, "64",
        "worker threads; each holds one FastCGI connection and one Redis connection"),
    NUM("server", "backlog", OPT_INT, server.backlog, 1, 65535, "1024", "listen(2) backlog"),
    NUM("server", "max_body", OPT_SIZE, server.max_body, 1024, 67108864, "1048576",
        "largest request body in bytes (k and m suffixes allowed); larger gets 413"),
    NUM("server", "retry_after", OPT_INT, server.retry_after_s, 1, 3600, "5",
        "seconds sent in Retry-After with 503 when Redis is unavailable"),
    NUM("server", "shutdown_timeout_ms", OPT_INT, server.shutdown_ms, 100, 60000, "5000",
        "how long SIGTERM waits for requests in flight"),
    NUM("server", "cookie_secure", OPT_BOOL, server.cookie_secure, 0, 1, "true",
        "set the Secure flag on cookies; false only on the local plain-HTTP stack"),
    STR("server", "pid_file", server.pid_file, 0, false, NULL, "", "pid file; empty for none"),
    NUM("server", "debug_routes", OPT_BOOL, server.debug_routes, 0, 1, "false",
        "enable /api/_debug/ routes for tests; never in production"),
    NUM("server", "local_http", OPT_BOOL, server.local_http, 0, 1, "false",
        "this is the local stack, served over plain HTTP on loopback (make run, tests)"),
    STR("server", "socket_group", server.socket_group, 0, false, check_name, "",
        "group of the unix socket (mode 0660), e.g. nginx's; empty: the process's group"),

    STR("redis", "address", redis.address, 1, false, check_address,
        "unix:/run/redis/redis-server.sock",
        "host:port or unix:PATH; ignored when sentinels are set"),
    {.section = "redis",
     .key = "sentinels",
     .type = OPT_LIST,
     .off = offsetof(zq_config, redis.sentinels),
     .size = sizeof(((zq_config *)0)->redis.sentinels[0]),
     .count_off = offsetof(zq_config, redis.nsentinels),
     .max = ZQ_MAX_SENTINELS,
     .def = "",
     .help = "comma-separated host:port of Redis Sentinels; empty to use address"},
    STR("redis", "master_name", redis.master_name, 1, false, check_name, "mymaster",
        "the master's name as the sentinels know it"),
    STR("redis", "password", redis.password, 0, true, NULL, "",
        "AUTH password; better set with ZHUQI_REDIS_PASSWORD than in this file"),
    NUM("redis", "db", OPT_INT, redis.db, 0, 15, "0", "database number"),
    NUM("redis", "connect_timeout_ms", OPT_INT, redis.connect_timeout_ms, 10, 60000, "500",
        "connect timeout"),
    NUM("redis", "command_timeout_ms", OPT_INT, redis.command_timeout_ms, 10, 60000, "1000",
        "timeout of each command"),
    NUM("redis", "backoff_min_ms", OPT_INT, redis.backoff_min_ms, 10, 60000, "100",
        "first wait after a failed connect"),
    NUM("redis", "backoff_max_ms", OPT_INT, redis.backoff_max_ms, 10, 300000, "2000",
        "the wait doubles up to this"),
    STR("redis", "prefix", redis.prefix, 1, false, check_prefix,
        "zq:", "key namespace: A-Z a-z 0-9 : _ { } -"),
    NUM("redis", "wait_replicas", OPT_INT, redis.wait_replicas, -1, 16, "-1",
        "replicas a case write waits for (WAIT) before answering; -1: 1 when any, 0: none"),
    NUM("redis", "wait_timeout_ms", OPT_INT, redis.wait_timeout_ms, 1, 60000, "500",
        "how long a write waits for its replicas; then 503"),

    STR("log", "level", log.level, 1, false, check_level, "info", "debug, info, warn or error"),

    {.section = "staff",
     .key = "token",
     .type = OPT_TOKEN,
     .off = offsetof(zq_config, staff),
     .max = ZQ_MAX_TOKENS,
     .secret = true,
     .def = "",
     .env = "ZHUQI_STAFF_TOKENS",
     .help = "name:role:sha256hex, one line per token; role is viewer, handler or admin"},

    STR("intake", "forms_dir", intake.forms_dir, 1, false, NULL, "forms",
        "folder of the form schemas (*.json); relative to this file's folder"),
    STR("intake", "regions", intake.regions, 1, false, NULL, "regions.json",
        "the region list; relative to this file's folder"),
    STR("intake", "holidays_dir", intake.holidays_dir, 1, false, NULL, "holidays",
        "folder of the yearly holiday calendars (YYYY.json); relative to this file's folder"),
    NUM("intake", "session_ttl", OPT_INT, intake.session_ttl_s, 60, 2592000, "1209600",
        "seconds a draft lives after its last change (sliding; default 14 days)"),
    NUM("intake", "idempotency_ttl", OPT_INT, intake.idempotency_ttl_s, 60, 31536000, "604800",
        "seconds an Idempotency-Key keeps returning the case it created"),
    NUM("intake", "duplicate_window_days", OPT_INT, intake.duplicate_window_days, 0, 3650, "30",
        "days in which the same complainant, respondent and amount mark a case possible_duplicate"),
    NUM("intake", "uscc_warn_only", OPT_BOOL, intake.uscc_warn_only, 0, 1, "false",
        "accept credit codes whose check character is wrong (early pilot codes)"),
    NUM("intake", "money_ceiling_yuan", OPT_INT64, intake.money_ceiling_yuan, 1, 90000000000000LL,
        "10000000000", "largest amount accepted in a money field, in yuan"),
    NUM("intake", "lookup_per_minute", OPT_INT, intake.lookup_per_minute, 1, 100000, "10",
        "case status lookups allowed per client address and minute"),
    NUM("intake", "lookup_fail_max", OPT_INT, intake.lookup_fail_max, 0, 1000, "5",
        "wrong mobiles for one case (within lookup_lockout) that lock its lookup; 0: off"),
    NUM("intake", "lookup_lockout", OPT_INT, intake.lookup_lockout_s, 1, 86400, "900",
        "seconds: the window failures are counted in, and how long a locked lookup stays locked"),
    NUM("intake", "quota_ip_per_day", OPT_INT, intake.quota_ip, 0, 1000000, "10",
        "cases stored per client address (IPv6: per /64) and Beijing day; 0: off"),
    NUM("intake", "quota_mobile_per_day", OPT_INT, intake.quota_mobile, 0, 1000000, "5",
        "cases stored per mobile number and Beijing day (web and chat); 0: off"),
    NUM("intake", "quota_uscc_per_day", OPT_INT, intake.quota_uscc, 0, 1000000, "5",
        "cases stored per unified social credit code and Beijing day (web and chat); 0: off"),
    STR("intake", "office_name", intake.office_name, 0, false, NULL, "",
        "the office's name printed at the top of the enterprise's receipt; \"\": none"),

    NUM("workflow", "review_workdays", OPT_INT, workflow.review_workdays, 1, 60, "10",
        "working days from submission to the decision on acceptance (unconfirmed locally)"),
    NUM("workflow", "transfer_workdays", OPT_INT, workflow.transfer_workdays, 1, 60, "10",
        "working days from acceptance to transfer to the handling department"),
    NUM("workflow", "answer_days", OPT_INT, workflow.answer_days, 1, 365, "30",
        "days from transfer to the written result"),
    NUM("workflow", "answer_max_days", OPT_INT, workflow.answer_max_days, 1, 365, "90",
        "days from transfer to the written result with an extension"),
    STR("workflow", "handling", workflow.handling, 1, false, NULL, "handling.json",
        "the receiving departments of a transfer and the message templates for the enterprise; "
        "relative to this file's folder"),
    NUM("workflow", "supplement_days", OPT_INT, workflow.supplement_days, 1, 60, "7",
        "working days the enterprise is given to supply more material (the default date)"),
    STR("workflow", "supplement_clock", workflow.supplement_clock, 1, false, check_supplement_clock,
        "pause",
        "the review clock while more material is awaited: pause (the days waited do not count) "
        "or restart (the review period starts again when the material arrives)"),

    NUM("bot", "poll_ms", OPT_INT, bot.poll_ms, 10, 60000, "1000",
        "idle wait between outbox reads"),
    STR("bot", "consumer", bot.consumer, 0, false, check_name, "",
        "consumer name in the stream group; empty for host-pid"),
    STR("bot", "pid_file", bot.pid_file, 0, false, NULL, "", "pid file; empty for none"),
    NUM("bot", "max_transfers", OPT_INT, bot.max_transfers, 1, 1024, "64",
        "HTTP transfers to the platforms in flight at once"),
    NUM("bot", "connect_timeout_ms", OPT_INT, bot.connect_timeout_ms, 100, 60000, "3000",
        "connect timeout of one transfer"),
    NUM("bot", "timeout_ms", OPT_INT, bot.timeout_ms, 500, 120000, "10000",
        "total timeout of one transfer"),
    NUM("bot", "max_attempts", OPT_INT, bot.max_attempts, 1, 100, "12",
        "attempts per message and target before it is dead-lettered"),
    NUM("bot", "max_age_s", OPT_INT, bot.max_age_s, 10, 2592000, "86400",
        "seconds after which an undelivered message is dead-lettered"),
    NUM("bot", "retry_base_ms", OPT_INT, bot.retry_base_ms, 10, 600000, "2000",
        "first retry back-off; doubles per attempt, with jitter"),
    NUM("bot", "retry_max_ms", OPT_INT, bot.retry_max_ms, 10, 86400000, "600000",
        "longest retry back-off"),
    NUM("bot", "claim_idle_ms", OPT_INT, bot.claim_idle_ms, 1000, 3600000, "60000",
        "outbox entries a crashed instance held this long are taken over"),
    NUM("bot", "lease_ms", OPT_INT, bot.lease_ms, 1000, 600000, "15000",
        "the scheduler lease; one instance schedules at a time"),
    NUM("bot", "catch_up_grace_s", OPT_INT, bot.catch_up_grace_s, 0, 2592000, "21600",
        "a reminder missed during downtime is still sent this long after its time"),
    NUM("bot", "clock_offset_s", OPT_INT64, bot.clock_offset_s, -315360000, 315360000, "0",
        "test only: seconds added to the scheduler's clock; never in production"),
    STR("bot", "digest_time", bot.digest_time, 0, false, check_hhmm, "08:30",
        "working mornings at this Beijing time, send the staff digest (cases overdue or due "
        "within two working days, per office); empty turns it off"),
    STR("bot", "digest_tag", bot.digest_tag, 1, false, check_name, "staff",
        "the push targets tagged so receive the staff digest"),
    NUM("bot", "reminder_shift_min", OPT_INT, bot.reminder_shift_min, 1, 29, "7",
        "reminders and the digest set for :00 or :30 (Beijing time) leave this many minutes "
        "later, away from the platforms' busiest minutes"),
    STR("bot", "reminders", bot.reminders, 1, false, NULL, "reminders.json",
        "the reminder rules; relative to this file's folder"),
    STR("bot", "templates_dir", bot.templates_dir, 1, false, NULL, "templates",
        "folder of the message templates (*.md); relative to this file's folder"),

    STR("channels", "wecom_base_url", channels.wecom_base_url, 1, false, check_base_url,
        "https://qyapi.weixin.qq.com", "WeCom API base URL"),
    STR("channels", "dingtalk_base_url", channels.dingtalk_base_url, 1, false, check_base_url,
        "https://oapi.dingtalk.com", "DingTalk API base URL"),
    STR("channels", "dingtalk_api_base_url", channels.dingtalk_api_base_url, 1, false,
        check_base_url, "https://api.dingtalk.com",
        "DingTalk new-style API base URL (app tokens, app robot messages)"),
    STR("channels", "feishu_base_url", channels.feishu_base_url, 1, false, check_base_url,
        "https://open.feishu.cn", "Feishu API base URL (Lark: https://open.larksuite.com)"),
    STR("channels", "telegram_base_url", channels.telegram_base_url, 1, false, check_base_url,
        "https://api.telegram.org", "Telegram Bot API base URL"),
    NUM("channels", "wecom_per_minute", OPT_INT, channels.wecom_per_minute, 0, 100000, "20",
        "messages per minute per WeCom robot; 0 for no limit"),
    NUM("channels", "dingtalk_per_minute", OPT_INT, channels.dingtalk_per_minute, 0, 100000, "20",
        "messages per minute per DingTalk robot; 0 for no limit"),
    NUM("channels", "feishu_per_minute", OPT_INT, channels.feishu_per_minute, 0, 100000, "100",
        "messages per minute per Feishu bot; 0 for no limit"),
    NUM("channels", "feishu_per_second", OPT_INT, channels.feishu_per_second, 0, 100000, "5",
        "messages per second per Feishu bot; 0 for no limit"),
    NUM("channels", "telegram_per_minute", OPT_INT, channels.telegram_per_minute, 0, 100000, "20",
        "messages per minute per Telegram chat; 0 for no limit"),
    NUM("channels", "telegram_per_second", OPT_INT, channels.telegram_per_second, 0, 100000, "1",
        "messages per second per Telegram chat; 0 for no limit"),
    NUM("channels", "telegram_bot_per_second", OPT_INT, channels.telegram_bot_per_second, 0, 100000,
        "30", "messages per second per Telegram bot, all its chats; 0 for no limit"),
    NUM("channels", "generic_per_minute", OPT_INT, channels.generic_per_minute, 0, 10000000, "0",
        "messages per minute per generic webhook; 0 for no limit"),
    NUM("channels", "generic_per_second", OPT_INT, channels.generic_per_second, 0, 10000000, "0",
        "messages per second per generic webhook; 0 for no limit"),
    NUM("channels", "wecom_max_bytes", OPT_SIZE, channels.wecom_max_bytes, 0, 1048576, "0",
        "content bytes per WeCom message; 0 for the platform's limit"),
    NUM("channels", "dingtalk_max_bytes", OPT_SIZE, channels.dingtalk_max_bytes, 0, 1048576, "0",
        "content bytes per DingTalk message; 0 for the platform's limit"),
    NUM("channels", "feishu_max_bytes", OPT_SIZE, channels.feishu_max_bytes, 0, 1048576, "0",
        "content bytes per Feishu message; 0 for the platform's limit"),
    NUM("channels", "telegram_max_bytes", OPT_SIZE, channels.telegram_max_bytes, 0, 1048576, "0",
        "content bytes per Telegram message; 0 for the platform's limit"),
    NUM("channels", "generic_max_bytes", OPT_SIZE, channels.generic_max_bytes, 0, 1048576, "0",
        "content bytes per generic webhook message; 0 for the default"),
    NUM("channels", "rate_window_ms", OPT_INT, channels.rate_window_ms, 600, 3600000, "60000",
        "the length of the per-minute window (the per-second window is 1/60 of it)"),
    NUM("channels", "rate_slack_ms", OPT_INT, channels.rate_slack_ms, 0, 60000, "1000",
        "margin added to every rate window for clock and network jitter"),
    STR("channels", "generic_allow", channels.generic_allow, 0, false, check_generic_allow, "",
        "addresses generic targets may reach although not public, also over http: "
        "address[/prefix][:port], comma-separated; empty: https to public ones only"),
    NUM("channels", "wecom_app_per_minute", OPT_INT, channels.wecom_app_per_minute, 1, 100000, "30",
        "WeCom app messages per minute to one member; at most 30 (WeCom drops the rest "
        "silently): a larger value is clamped"),
    NUM("channels", "wecom_app_per_hour", OPT_INT, channels.wecom_app_per_hour, 1, 100000, "1000",
        "WeCom app messages per hour to one member; at most 1000 (WeCom drops the rest "
        "silently): a larger value is clamped"),

    STR("wecom", "token", wecom.token, 0, false, NULL, "",
        "the Token of the app's callback (接收消息) settings; empty: /hook/wecom is off"),
    STR("wecom", "encoding_aes_key", wecom.encoding_aes_key, 0, true, check_aes_key, "",
        "the EncodingAESKey (43 characters)"),
    STR("wecom", "corp_id", wecom.corp_id, 0, false, NULL, "",
        "the CorpID: the receiver id every decrypted message must carry"),
    STR("wecom", "corp_secret", wecom.corp_secret, 0, true, NULL, "",
        "the app's Secret, for the access token of app messages; empty: no subscriptions"),
    NUM("wecom", "agent_id", OPT_INT, wecom.agent_id, 0, 2147483647, "0",
        "the app's AgentId, sent with every app message; 0: chat subscriptions are off"),
    STR("dingtalk", "app_secret", dingtalk.app_secret, 0, true, NULL, "",
        "the robot app's AppSecret, for the sign header; empty: /hook/dingtalk is off"),
    STR("dingtalk", "app_key", dingtalk.app_key, 0, false, NULL, "",
        "the app's AppKey (Client ID), for the access token; empty: chat subscriptions are off"),
    STR("dingtalk", "robot_code", dingtalk.robot_code, 0, false, NULL, "",
        "the robot's RobotCode for app robot messages; empty: the AppKey"),
    NUM("dingtalk", "sign_window", OPT_INT, dingtalk.sign_window_s, 30, 3600, "3600",
        "seconds a request's timestamp/sign pair is accepted around now (DingTalk: one hour)"),
    STR("feishu", "verification_token", feishu.verification_token, 0, false, NULL, "",
        "the event subscription's Verification Token; empty: /hook/feishu is off"),
    STR("feishu", "encrypt_key", feishu.encrypt_key, 0, true, NULL, "",
        "the Encrypt Key; when set, events must be encrypted and signed"),
    STR("feishu", "app_id", feishu.app_id, 0, false, NULL, "",
        "the app's App ID, for the tenant access token of replies"),
    STR("feishu", "app_secret", feishu.app_secret, 0, true, NULL, "",
        "the app's App Secret, for the tenant access token of replies"),
    STR("telegram", "secret_token", telegram.secret_token, 0, true, check_tg_secret, "",
        "the secret_token given to setWebhook; empty: /hook/telegram is off"),
    STR("telegram", "bot_token", telegram.bot_token, 0, true, NULL, "",
        "the bot's token, for long replies and subscriptions"),
    STR("telegram", "username", telegram.username, 0, false, check_tg_username, "",
        "the bot's username (without @); when set, /command@OtherBot in a group is left to "
        "that bot"),
    STR("generic", "secret", generic.secret, 0, true, NULL, "",
        "HMAC secret of the generic chat webhook; empty: /hook/generic is off"),
    STR("generic", "push_url", generic.push_url, 0, false, check_push_url, "",
        "where 订阅 from a generic chat pushes (signed with secret); empty: 订阅 is off"),
    NUM("chat", "session_ttl", OPT_INT, chat.session_ttl_s, 60, 2592000, "7200",
        "seconds a chat session lives after its last message (sliding)"),
    NUM("chat", "dedup_ttl", OPT_INT, chat.dedup_ttl_s, 60, 2592000, "86400",
        "seconds a platform message id is remembered, so retries are dropped"),
    NUM("chat", "max_text", OPT_SIZE, chat.max_text, 64, 1048576, "16384",
        "longest text message accepted, in bytes; longer ones are refused politely"),
    NUM("chat", "max_body", OPT_SIZE, chat.max_body, 1024, 16777216, "65536",
        "longest webhook request body accepted, in bytes; larger gets 413"),
    STR("chat", "web_base_url", chat.web_base_url, 0, false, check_opt_url, "",
        "public address of the site for 网页填写 links; empty turns the links off"),

    NUM("events", "announce_per_minute", OPT_INT, events.announce_per_minute, 0, 10000, "5",
        "new cases announced one by one per staff robot and window; the rest go out as one "
        "summary when the window closes; 0: every case alone"),
    NUM("events", "announce_window_ms", OPT_INT, events.announce_window_ms, 1000, 3600000, "60000",
        "the window of announce_per_minute in milliseconds (only tests shorten it)"),
    NUM("events", "sms_progress", OPT_BOOL, events.sms_progress, 0, 1, "true",
        "send the complainant an SMS at each status change it may see (needs [sms])"),
    STR("events", "sms_quiet_hours", events.sms_quiet_hours, 0, false, check_quiet_hours,
        "21:00-08:00",
        "Beijing clock times between which progress SMS wait for the morning, HH:MM-HH:MM; "
        "empty: none (verification codes are never held)"),

    STR("sms", "provider", sms.provider, 1, false, check_sms_provider, "none",
        "who sends SMS (verification codes, progress messages): none, tencent, alibaba or "
        "gateway (a 政务 SMS platform's HTTP interface)"),
    STR("sms", "tencent_base_url", sms.tencent_base_url, 1, false, check_base_url,
        "https://sms.tencentcloudapi.com", "Tencent Cloud SMS API base URL"),
    STR("sms", "alibaba_base_url", sms.alibaba_base_url, 1, false, check_base_url,
        "https://dysmsapi.aliyuncs.com", "Alibaba Cloud SMS API base URL"),
    STR("sms", "key_id", sms.key_id, 0, false, NULL, "",
        "Tencent SecretId, Alibaba AccessKeyId, or the gateway's basic-auth user"),
    STR("sms", "secret", sms.secret, 0, true, NULL, "",
        "Tencent SecretKey, Alibaba AccessKeySecret or the gateway's secret: only from the "
        "environment (ZHUQI_SMS_SECRET), never in this file; or use secret_file"),
    STR("sms", "secret_file", sms.secret_file, 0, false, NULL, "",
        "a file of mode 0600 (or stricter) holding the secret; relative to this file's folder"),
    STR("sms", "app_id", sms.app_id, 0, false, NULL, "",
        "Tencent SmsSdkAppId (digits); the gateway's {app_id}"),
    STR("sms", "region", sms.region, 1, false, NULL, "ap-guangzhou", "Tencent X-TC-Region"),
    STR("sms", "sign_name", sms.sign_name, 0, false, NULL, "",
        "the approved signature text (签名), without 【】"),
    STR("sms", "tpl_code", sms.tpl[0], 0, false, NULL, "",
        "the approved template of verification codes: \"<template id>: [vendor=]name, ...\" with "
        "names of code, minutes, in the template's order; empty: not sent"),
    STR("sms", "tpl_accepted", sms.tpl[1], 0, false, NULL, "",
        "the approved template of the case status accepted: \"<template id>: [vendor=]name, ...\" "
        "with names of case, status, deadline, in the template's order; empty: not sent"),
    STR("sms", "tpl_rejected", sms.tpl[2], 0, false, NULL, "",
        "the approved template of the case status rejected: \"<template id>: [vendor=]name, ...\" "
        "with names of case, status, deadline, in the template's order; empty: not sent"),
    STR("sms", "tpl_transferred", sms.tpl[3], 0, false, NULL, "",
        "the approved template of the case status transferred: \"<template id>: [vendor=]name, "
        "...\" with names of case, status, deadline, in the template's order; empty: not sent"),
    STR("sms", "tpl_needs_info", sms.tpl[4], 0, false, NULL, "",
        "the approved template of the case status needs_info: \"<template id>: [vendor=]name, "
        "...\" with names of case, status, deadline, in the template's order; empty: not sent"),
    STR("sms", "tpl_answered", sms.tpl[5], 0, false, NULL, "",
        "the approved template of the case status answered: \"<template id>: [vendor=]name, ...\" "
        "with names of case, status, deadline, in the template's order; empty: not sent"),
    STR("sms", "tpl_closed", sms.tpl[6], 0, false, NULL, "",
        "the approved template of the case status closed: \"<template id>: [vendor=]name, ...\" "
        "with names of case, status, deadline, in the template's order; empty: not sent"),
    STR("sms", "text_code", sms.text[0], 0, false, NULL, "",
        "the wording of tpl_code with {code}, {minutes}, as registered (the gateway's "
        "{rendered_text})"),
    STR("sms", "text_accepted", sms.text[1], 0, false, NULL, "",
        "the wording of tpl_accepted with {case}, {status}, {deadline}, as registered (the "
        "gateway's {rendered_text})"),
    STR("sms", "text_rejected", sms.text[2], 0, false, NULL, "",
        "the wording of tpl_rejected with {case}, {status}, {deadline}, as registered (the "
        "gateway's {rendered_text})"),
    STR("sms", "text_transferred", sms.text[3], 0, false, NULL, "",
        "the wording of tpl_transferred with {case}, {status}, {deadline}, as registered (the "
        "gateway's {rendered_text})"),
    STR("sms", "text_needs_info", sms.text[4], 0, false, NULL, "",
        "the wording of tpl_needs_info with {case}, {status}, {deadline}, as registered (the "
        "gateway's {rendered_text})"),
    STR("sms", "text_answered", sms.text[5], 0, false, NULL, "",
        "the wording of tpl_answered with {case}, {status}, {deadline}, as registered (the "
        "gateway's {rendered_text})"),
    STR("sms", "text_closed", sms.text[6], 0, false, NULL, "",
        "the wording of tpl_closed with {case}, {status}, {deadline}, as registered (the gateway's "
        "{rendered_text})"),
    NUM("sms", "per_number_interval_s", OPT_INT, sms.interval_s, 0, 86400, "0",
        "seconds between two SMS to one number; 0: the provider's (Tencent 30, Alibaba 60); "
        "less than that is raised to it"),
    NUM("sms", "per_number_per_hour", OPT_INT, sms.per_hour, 0, 1000, "0",
        "SMS per number in any hour; 0: the provider's (Alibaba 5, else none); more than the "
        "provider's is lowered to it"),
    NUM("sms", "per_number_per_day", OPT_INT, sms.per_day, 0, 1000, "0",
        "SMS per number in any 24 hours; 0: the provider's (10); more is lowered to it"),
    NUM("sms", "code_max_age_s", OPT_INT, sms.code_max_age_s, 30, 86400, "600",
        "a verification code not sent this long after it was queued is dropped (dead letter)"),

    STR("sms_gateway", "url", sms.gw.url, 0, false, NULL, "",
        "the 政务 SMS gateway's http(s) URL (provider gateway)"),
    STR("sms_gateway", "method", sms.gw.method, 1, false, NULL, "POST", "POST or GET"),
    STR("sms_gateway", "body_format", sms.gw.body_format, 1, false, NULL, "json",
        "json, form (x-www-form-urlencoded) or query (fields in the URL; GET needs it)"),
    STR("sms_gateway", "content_mode", sms.gw.content_mode, 1, false, NULL, "text",
        "text: we render 【sign_name】 + text_<use> into {rendered_text}; template: the gateway "
        "gets {template_id} and {params_json}"),
    STR("sms_gateway", "auth", sms.gw.auth, 1, false, NULL, "none",
        "none, basic (key_id and the secret), bearer (Authorization: Bearer <secret>) or header "
        "(auth_header: <secret>)"),
    STR("sms_gateway", "auth_header", sms.gw.auth_header, 0, false, NULL, "X-Api-Key",
        "the header carrying the secret with auth header"),
    STR("sms_gateway", "field_1", sms.gw.field[0], 0, false, NULL, "",
        "\"name = value\": a request field; placeholders {phone_bare} {phone_e164} "
        "{rendered_text} {template_id} {params_json} {sign_name} {app_id} {key_id} {uuid} "
        "{unix_ms} {unix_s} {use}"),
    STR("sms_gateway", "field_2", sms.gw.field[1], 0, false, NULL, "", "as field_1"),
    STR("sms_gateway", "field_3", sms.gw.field[2], 0, false, NULL, "", "as field_1"),
    STR("sms_gateway", "field_4", sms.gw.field[3], 0, false, NULL, "", "as field_1"),
    STR("sms_gateway", "field_5", sms.gw.field[4], 0, false, NULL, "", "as field_1"),
    STR("sms_gateway", "field_6", sms.gw.field[5], 0, false, NULL, "", "as field_1"),
    STR("sms_gateway", "field_7", sms.gw.field[6], 0, false, NULL, "", "as field_1"),
    STR("sms_gateway", "field_8", sms.gw.field[7], 0, false, NULL, "", "as field_1"),
    STR("sms_gateway", "success_pointer", sms.gw.success_pointer, 0, false, NULL, "",
        "JSON pointer (RFC 6901) of the answer's code, e.g. /code; empty: a status in "
        "http_success is success"),
    STR("sms_gateway", "success_values", sms.gw.success_values, 0, false, NULL, "",
        "codes meaning success, comma-separated: 0,200,\"0000\""),
    STR("sms_gateway", "msgid_pointer", sms.gw.msgid_pointer, 0, false, NULL, "",
        "JSON pointer of the message id in a success answer (logged)"),
    STR("sms_gateway", "error_pointer", sms.gw.error_pointer, 0, false, NULL, "",
        "JSON pointer of the error code (default: success_pointer)"),
    STR("sms_gateway", "error_message_pointer", sms.gw.error_message_pointer, 0, false, NULL, "",
        "JSON pointer of the error message"),
    STR("sms_gateway", "retry_codes", sms.gw.retry_codes, 0, false, NULL, "",
        "error codes to retry later (5xx and no answer always are), comma-separated"),
    STR("sms_gateway", "throttle_codes", sms.gw.throttle_codes, 0, false, NULL, "",
        "error codes meaning a frequency limit: wait throttle_s (or Retry-After), then again"),
    STR("sms_gateway", "http_success", sms.gw.http_success, 1, false, NULL, "200-299",
        "HTTP statuses of an accepted request: A-B or A (Kannel: 202)"),
    NUM("sms_gateway", "throttle_s", OPT_INT, sms.gw.throttle_s, 1, 86400, "60",
        "seconds to wait after a throttle code (or HTTP 429) without Retry-After"),

    STR("verify", "pepper", verify.pepper, 0, true, NULL, "",
        "HMAC key of stored SMS codes (>= 32 bytes); set ZHUQI_VERIFY_PEPPER or pepper_file"),
    STR("verify", "pepper_file", verify.pepper_file, 0, false, NULL, "",
        "file holding the pepper (mode 0600); relative to this file's folder"),
    NUM("verify", "submit_complaint", OPT_BOOL, verify.submit_complaint, 0, 1, "true",
        "a complaint is submitted only with its mobile verified by SMS code (when SMS is on)"),
    NUM("verify", "submit_consultation", OPT_BOOL, verify.submit_consult, 0, 1, "false",
        "a consultation too"),
    NUM("verify", "resume", OPT_BOOL, verify.resume, 0, 1, "true",
        "a draft may be resumed on another device with mobile + code"),
    NUM("verify", "lookup", OPT_BOOL, verify.lookup, 0, 1, "true",
        "every case of a mobile may be listed with mobile + code"),
    NUM("verify", "supplement", OPT_BOOL, verify.supplement, 0, 1, "true",
        "codes for answering a request for more material"),
    NUM("verify", "code_ttl", OPT_INT, verify.code_ttl_s, 1, 1800, "300",
        "seconds an SMS code stays valid"),
    NUM("verify", "max_tries", OPT_INT, verify.max_tries, 1, 10, "5",
        "tries per code; then it is burnt"),
    NUM("verify", "verified_ttl", OPT_INT, verify.verified_ttl_s, 60, 86400, "1800",
        "seconds a session stays verified for a mobile and purpose"),
    NUM("verify", "resend_interval", OPT_INT, verify.resend_s, 0, 3600, "60",
        "one code per mobile in this many seconds; 0: off"),
    NUM("verify", "mobile_per_hour", OPT_INT, verify.mobile_per_hour, 0, 100, "5",
        "codes per mobile in a rolling hour; 0: off"),
    NUM("verify", "mobile_per_day", OPT_INT, verify.mobile_per_day, 0, 100, "10",
        "codes per mobile in a rolling day; 0: off"),
    NUM("verify", "client_per_hour", OPT_INT, verify.client_per_hour, 0, 100000, "10",
        "codes per client address (IPv6: /64) in a rolling hour; 0: off"),
    NUM("verify", "client_per_day", OPT_INT, verify.client_per_day, 0, 100000, "50",
        "codes per client address (IPv6: /64) in a rolling day; 0: off"),
    NUM("verify", "daily_budget", OPT_INT, verify.daily_budget, 0, 10000000, "2000",
        "codes sent per Beijing day in all, against SMS pumping; 0: off"),

    STR("files", "dir", files.dir, 1, false, NULL, "/var/lib/zhuqi/files",
        "folder of the evidence file store (one filesystem with upload_temp_dir)"),
    STR("files", "upload_temp_dir", files.upload_temp_dir, 1, false, NULL,
        "/var/lib/zhuqi/files/incoming",
        "folder nginx writes upload bodies to (its client_body_temp_path); zhuqi-fcgi takes "
        "only files from there"),
    NUM("files", "max_file_size", OPT_SIZE, files.max_file_size, 1024, 1073741824, "10m",
        "largest evidence file in bytes (k, m suffixes); larger gets 413"),
    NUM("files", "max_files", OPT_INT, files.max_files, 1, 1000, "20",
        "most files one draft or case may hold; more gets 409"),
    NUM("files", "max_case_size", OPT_SIZE, files.max_case_size, 1024, 17179869184LL, "60m",
        "most bytes all the files of one draft or case may hold; more gets 413"),
    NUM("files", "require_kinds", OPT_BOOL, files.require_kinds, 0, 1, "true",
        "refuse a web submission without a file of each kind the form marks required (合同)"),
    NUM("files", "sweep_grace", OPT_INT, files.sweep_grace_s, 0, 604800, "600",
        "seconds past its session's end before zhuqi-bot removes a never-submitted upload"),
    STR("files", "backend", files.backend, 1, false, check_files_backend, "dir",
        "where the files are kept: dir (the folder dir) or s3 (an S3-compatible object store)"),
    STR("files", "s3_endpoint", files.s3_endpoint, 0, false, NULL, "",
        "s3: the store's address, scheme, host and port, no path (http://127.0.0.1:9000)"),
    STR("files", "s3_bucket", files.s3_bucket, 0, false, NULL, "",
        "s3: the bucket (objects are addressed path-style, {endpoint}/{bucket}/{id})"),
    STR("files", "s3_region", files.s3_region, 0, false, NULL, "us-east-1",
        "s3: the region the requests are signed for (AWS SigV4)"),
    STR("files", "s3_access_key", files.s3_access_key, 0, false, NULL, "", "s3: the access key id"),
    STR("files", "s3_secret", files.s3_secret, 0, true, NULL, "",
        "s3: the secret access key (better: ZHUQI_FILES_S3_SECRET or s3_secret_file)"),
    STR("files", "s3_secret_file", files.s3_secret_file, 0, false, NULL, "",
        "s3: a file holding the secret access key (first line), read at start and on SIGHUP"),

    NUM("retention", "closed_case_days", OPT_INT, retention.closed_case_days, 1, 36500, "1095",
        "days after closing (办结, 撤回) a case keeps names, mobiles, USCCs and free text; "
        "then zhuqi-admin retention or the bot's daily run erases them, keeping statistics"),
    NUM("retention", "audit_days", OPT_INT, retention.audit_days, 1, 36500, "1095",
        "days an audit log entry is kept"),
    NUM("retention", "report_days", OPT_INT, retention.report_days, 1, 36500, "180",
        "days a notice's delivery report (per-target results) is kept"),
    STR("retention", "daily_time", retention.daily_time, 0, false, check_hhmm, "03:30",
        "Beijing time HH:MM of zhuqi-bot's daily retention run (one bot, leased); empty: off"),

    STR("site", "organizer", site.organizer, 0, false, NULL, "",
        "the organisers' name in every page's footer (主办单位); empty: left out"),
    STR("site", "hotline", site.hotline, 0, false, NULL, "",
        "the telephone number pages offer, also when they cannot reach the server"),
    STR("site", "hotline_hours", site.hotline_hours, 0, false, NULL, "",
        "when the hotline answers, shown beside it (工作日 9:00-17:00)"),
    STR("site", "icp", site.icp, 0, false, NULL, "",
        "the site's ICP filing number (蜀ICP备...号), linked to beian.miit.gov.cn"),
    STR("site", "police", site.police, 0, false, NULL, "",
        "the site's public security filing number (川公网安备...号)"),
    STR("site", "subscribe", site.subscribe, 0, false, NULL,
        "在企业微信或钉钉中向“助企”机器人回复“订阅”，每月 27 日前会收到课程提醒。",
        "how to get the tax-day reminders in WeCom/DingTalk, under the class list; empty: none"),
};

#define NOPTS ZQ_ARRAY_LEN(opts)

static int check_sms_provider(const char *v, char *why, size_t whysz)
{
    if (strcmp(v, "none") == 0 || strcmp(v, "tencent") == 0 || strcmp(v, "alibaba") == 0 ||
        strcmp(v, "gateway") == 0)
        return 0;
    zq_fmt_msg(why, whysz, "must be none, tencent, alibaba or gateway");
    return -1;
}

/* Where each key got its value during one load, for error messages. */
typedef struct load_state {
    const char *path;
    FILE *f;
    char *line; /* getline buffer */
    size_t cap;
    int lineno;
    zq_config *cfg;
    int line_of[NOPTS]; /* line that set the key, 0 if not in the file */
    bool from_env[NOPTS];
    int err_line; /* first error found by us, 0 if none */
    char err_msg[256];
} load_state;

static bool is_host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* True for "host:port" with a DNS name, IPv4 or [IPv6] host and port 1..65535. */
static bool valid_hostport(const char *v)
{
    const char *colon = strrchr(v, ':');
    long long port;
    size_t hlen, i;

    if (colon == NULL || colon == v)
        return false;
    if (zq_parse_ll(colon + 1, strlen(colon + 1), 1, 65535, &port) != 0)
        return false;
    hlen = (size_t)(colon - v);
    if (v[0] == '[') {
        if (hlen < 3 || v[hlen - 1] != ']')
            return false;
        for (i = 1; i < hlen - 1; i++)
            if (!isxdigit((unsigned char)v[i]) && v[i] != ':' && v[i] != '.')
                return false;
        return true;
    }
    if (hlen > 253)
        return false;
    for (i = 0; i < hlen; i++)
        if (!is_host_char(v[i]))
            return false;
    return true;
}

static bool valid_unix(const char *v)
{
    size_t n;

    if (strncmp(v, "unix:", 5) != 0)
        return false;
    n = strlen(v + 5);
    return n >= 1 && n <= UNIX_PATH_MAX;
}

static int check_listen(const char *v, char *why, size_t whysz)
{
    long long fd;

    if (strncmp(v, "fd:", 3) == 0) {
        if (zq_parse_ll(v + 3, strlen(v + 3), 0, INT32_MAX, &fd) == 0)
            return 0;
    } else if (strncmp(v, "unix:", 5) == 0 ? valid_unix(v) : valid_hostport(v)) {
        return 0;
    }
    zq_fmt_msg(why, whysz, "must be unix:PATH (PATH 1 to %d bytes), host:port or fd:N",
               UNIX_PATH_MAX);
    return -1;
}

static int check_address(const char *v, char *why, size_t whysz)
{
    if (strncmp(v, "unix:", 5) == 0 ? valid_unix(v) : valid_hostport(v))
        return 0;
    zq_fmt_msg(why, whysz, "must be host:port or unix:PATH (PATH 1 to %d bytes)", UNIX_PATH_MAX);
    return -1;
}

static int check_level(const char *v, char *why, size_t whysz)
{
    zq_log_level l;

    if (zq_log_level_parse(v, &l) == 0)
        return 0;
    zq_fmt_msg(why, whysz, "must be debug, info, warn or error");
    return -1;
}

static int check_supplement_clock(const char *v, char *why, size_t whysz)
{
    if (strcmp(v, "pause") == 0 || strcmp(v, "restart") == 0)
        return 0;
    zq_fmt_msg(why, whysz, "must be pause or restart");
    return -1;
}

static int check_prefix(const char *v, char *why, size_t whysz)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && strchr(":_{}-", *p) == NULL) {
            zq_fmt_msg(why, whysz, "must contain only A-Z a-z 0-9 : _ { } -");
            return -1;
        }
    }
    return 0;
}

static int check_name(const char *v, char *why, size_t whysz)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL) {
            zq_fmt_msg(why, whysz, "must contain only A-Z a-z 0-9 . _ -");
            return -1;
        }
    }
    return 0;
}

/* "" or "HH:MM" (24-hour). */
static int check_hhmm(const char *v, char *why, size_t whysz)
{
    if (v[0] == '\0' || (strlen(v) == 5 && v[2] == ':' && v[0] >= '0' && v[0] <= '2' &&
                         v[1] >= '0' && v[1] <= '9' && v[3] >= '0' && v[3] <= '5' && v[4] >= '0' &&
                         v[4] <= '9' && (v[0] - '0') * 10 + (v[1] - '0') < 24))
        return 0;
    zq_fmt_msg(why, whysz, "must be HH:MM (24-hour) or empty");
    return -1;
}

/* http(s)://host[:port][/path], no query, no trailing slash, no spaces. */
static int check_base_url(const char *v, char *why, size_t whysz)
{
    const char *rest = strncmp(v, "https://", 8) == 0  ? v + 8
                       : strncmp(v, "http://", 7) == 0 ? v + 7
                                                       : NULL;
    size_t n = strlen(v);

    if (rest != NULL && *rest != '\0' && *rest != '/' && v[n - 1] != '/' &&
        strpbrk(v, " ?#\"'<>\\") == NULL)
        return 0;
    zq_fmt_msg(why, whysz, "must be http(s)://host[:port][/path] without a trailing slash");
    return -1;
}

/* Empty, or the 43 Base64 characters of a WeCom EncodingAESKey. */
static int check_aes_key(const char *v, char *why, size_t whysz)
{
    size_t n = strlen(v);

    if (n == 0 || (n == 43 && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789+/") == 43))
        return 0;
    zq_fmt_msg(why, whysz, "must be the 43 characters (A-Z a-z 0-9 + /) the WeCom console shows");
    return -1;
}

/* Empty, or what Telegram accepts as a webhook secret_token. */
static int check_tg_secret(const char *v, char *why, size_t whysz)
{
    size_t n = strlen(v);

    if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n)
        return 0;
    zq_fmt_msg(why, whysz, "must contain only A-Z a-z 0-9 _ -");
    return -1;
}

/* Empty, or a Telegram username: 5..32 of A-Z a-z 0-9 _ (no "@"). */
static int check_tg_username(const char *v, char *why, size_t whysz)
{
    size_t n = strlen(v);

    if (n == 0 ||
        (n >= 5 && n <= 32 &&
         strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n))
        return 0;
    zq_fmt_msg(why, whysz, "must be 5 to 32 of A-Z a-z 0-9 _, without the @");
    return -1;
}

static int check_files_backend(const char *v, char *why, size_t whysz)
{
    if (strcmp(v, "dir") == 0 || strcmp(v, "s3") == 0)
        return 0;
    zq_fmt_msg(why, whysz, "must be dir or s3");
    return -1;
}

static int check_quiet_hours(const char *v, char *why, size_t whysz)
{
    int a, z;

    if (zq_quiet_parse(v, &a, &z) == 0)
        return 0;
    zq_fmt_msg(why, whysz, "must be HH:MM-HH:MM (Beijing time, e.g. 21:00-08:00) or empty");
    return -1;
}

/* Empty, or a base URL. */
static int check_opt_url(const char *v, char *why, size_t whysz)
{
    return v[0] == '\0' ? 0 : check_base_url(v, why, whysz);
}

/* Empty, or a whole http(s) URL (a query allowed, no fragment, no spaces
 * or quotes): the generic channel's push address. */
static int check_generic_allow(const char *v, char *why, size_t whysz)
{
    zq_netguard g;

    return zq_netguard_parse(v, &g, why, whysz) < 0 ? -1 : 0;
}

static int check_push_url(const char *v, char *why, size_t whysz)
{
    const char *rest = strncmp(v, "https://", 8) == 0  ? v + 8
                       : strncmp(v, "http://", 7) == 0 ? v + 7
                                                       : NULL;
    const char *p;

    if (v[0] == '\0')
        return 0;
    for (p = v; rest != NULL && *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("#\"'<>\\", *p))
            rest = NULL;
    if (rest != NULL && *rest != '\0' && *rest != '/' && *rest != '?')
        return 0;
    zq_fmt_msg(why, whysz, "must be empty or a whole http(s)://host[:port][/path][?query] URL");
    return -1;
}

static int set_string(const opt *o, char *field, const char *v, char *why, size_t whysz)
{
    size_t n = strlen(v);

    if ((long long)n < o->min || (long long)n > o->max) {
        if (o->min > 0)
            zq_fmt_msg(why, whysz, "must be %lld to %lld characters long", o->min, o->max);
        else
            zq_fmt_msg(why, whysz, "must be at most %lld characters long", o->max);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            zq_fmt_msg(why, whysz, "must not contain control characters");
            return -1;
        }
    }
    if (o->check != NULL && o->check(v, why, whysz) != 0)
        return -1;
    memcpy(field, v, n + 1);
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < ZQ_ARRAY_LEN(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Bytes with an optional k (KiB) or m (MiB) suffix, within [min, max]. */
static int parse_size(const char *v, long long min, long long max, long long *out)
{
    size_t n = strlen(v);
    long long mult = 1, num;

    if (n > 0 && (v[n - 1] == 'k' || v[n - 1] == 'K')) {
        mult = 1024;
        n--;
    } else if (n > 0 && (v[n - 1] == 'm' || v[n - 1] == 'M')) {
        mult = 1024LL * 1024;
        n--;
    }
    if (zq_parse_ll(v, n, 0, max / mult, &num) != 0)
        return -1;
    num *= mult;
    if (num < min)
        return -1;
    *out = num;
    return 0;
}

/* Splits a comma list, trimming spaces around items. Calls fn for each
 * item; stops at the first failure. An empty string has no items. */
static int for_each_item(const char *v, int (*fn)(void *ctx, const char *item, int idx), void *ctx,
                         char *why, size_t whysz)
{
    char item[512];
    const char *p = v, *end;
    int idx = 0;

    while (*p == ' ')
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        size_t len;

        end = strchr(p, ',');
        len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        idx++;
        if (len == 0) {
            zq_fmt_msg(why, whysz, "item %d is empty", idx);
            return -1;
        }
        if (len >= sizeof(item)) {
            zq_fmt_msg(why, whysz, "item %d is too long", idx);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (fn(ctx, item, idx) != 0)
            return -1;
        if (end == NULL)
            return 0;
        p = end + 1;
        while (*p == ' ')
            p++;
    }
}

typedef struct list_ctx {
    const opt *o;
    char *base; /* first item */
    int *count;
    char *why;
    size_t whysz;
} list_ctx;

static int add_list_item(void *ctx, const char *item, int idx)
{
    list_ctx *c = ctx;

    if (*c->count >= c->o->max) {
        zq_fmt_msg(c->why, c->whysz, "at most %lld items", c->o->max);
        return -1;
    }
    if (strlen(item) >= c->o->size || !valid_hostport(item)) {
        zq_fmt_msg(c->why, c->whysz, "item %d \"%.64s\" must be host:port", idx, item);
        return -1;
    }
    memcpy(c->base + (size_t)*c->count * c->o->size, item, strlen(item) + 1);
    (*c->count)++;
    return 0;
}

typedef struct token_ctx {
    zq_config *cfg;
    bool many; /* items come from a list: name them in messages */
    char *why;
    size_t whysz;
} token_ctx;

/* Adds one token, rejecting duplicate names and duplicate hashes (which
 * would make the role of a token ambiguous). */
static int add_token(void *ctx, const char *item, int idx)
{
    token_ctx *c = ctx;
    zq_token t;
    zq_err e;
    char at[32] = "";

    if (c->many)
        if (zq_fmt(at, sizeof(at), "item %d: ", idx) < 0)
            at[0] = '\0';
    if (c->cfg->staff.ntokens >= ZQ_MAX_TOKENS) {
        zq_fmt_msg(c->why, c->whysz, "%sat most %d tokens", at, ZQ_MAX_TOKENS);
        return -1;
    }
    if (zq_config_parse_token(item, &t, &e) != 0) {
        zq_fmt_msg(c->why, c->whysz, "%s%s", at, e.msg);
        return -1;
    }
    for (int i = 0; i < c->cfg->staff.ntokens; i++) {
        const zq_token *o = &c->cfg->staff.tokens[i];

        if (strcmp(o->name, t.name) == 0) {
            zq_fmt_msg(c->why, c->whysz, "%sduplicate name \"%s\"", at, t.name);
            return -1;
        }
        if (memcmp(o->hash, t.hash, sizeof(t.hash)) == 0) {
            zq_fmt_msg(c->why, c->whysz, "%s\"%s\" has the same hash as \"%s\"", at, t.name,
                       o->name);
            return -1;
        }
    }
    c->cfg->staff.tokens[c->cfg->staff.ntokens++] = t;
    return 0;
}

/* Stores v into the key's field. repeat: a repeatable key seen again in
 * the file adds to the values instead of replacing them. Returns 0 or -1
 * with a reason in why. */
static int set_value(const opt *o, zq_config *cfg, const char *v, bool repeat, char *why,
                     size_t whysz)
{
    char *field = (char *)cfg + o->off;
    long long n;
    bool b;

    switch (o->type) {
    case OPT_STRING: return set_string(o, field, v, why, whysz);
    case OPT_INT:
        if (zq_parse_ll(v, strlen(v), o->min, o->max, &n) != 0) {
            zq_fmt_msg(why, whysz, "must be an integer between %lld and %lld", o->min, o->max);
            return -1;
        }
        *(int *)(void *)field = (int)n;
        return 0;
    case OPT_INT64:
        if (zq_parse_ll(v, strlen(v), o->min, o->max, &n) != 0) {
            zq_fmt_msg(why, whysz, "must be an integer between %lld and %lld", o->min, o->max);
            return -1;
        }
        *(long long *)(void *)field = n;
        return 0;
    case OPT_BOOL:
        if (parse_bool(v, &b) != 0) {
            zq_fmt_msg(why, whysz, "must be true or false");
            return -1;
        }
        *(bool *)(void *)field = b;
        return 0;
    case OPT_SIZE:
        if (parse_size(v, o->min, o->max, &n) != 0) {
            zq_fmt_msg(why, whysz,
                       "must be a size between %lld and %lld bytes (k, m suffixes allowed)", o->min,
                       o->max);
            return -1;
        }
        *(size_t *)(void *)field = (size_t)n;
        return 0;
    case OPT_LIST: {
        int *count = (int *)(void *)((char *)cfg + o->count_off);
        list_ctx c = {o, field, count, why, whysz};

        *count = 0;
        memset(field, 0, (size_t)o->max * o->size);
        return for_each_item(v, add_list_item, &c, why, whysz);
    }
    case OPT_TOKEN: {
        token_ctx c = {cfg, !repeat, why, whysz};

        if (repeat)
            return add_token(&c, v, 1);
        cfg->staff.ntokens = 0;
        memset(cfg->staff.tokens, 0, sizeof(cfg->staff.tokens));
        return for_each_item(v, add_token, &c, why, whysz);
    }
    }
    zq_fmt_msg(why, whysz, "unsupported type");
    return -1;
}

static const opt *find_opt(const char *section, const char *key, bool *section_known)
{
    *section_known = false;
    for (size_t i = 0; i < NOPTS; i++) {
        if (strcmp(opts[i].section, section) != 0)
            continue;
        *section_known = true;
        if (strcmp(opts[i].key, key) == 0)
            return &opts[i];
    }
    return NULL;
}

static bool section_known(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].section) == len && memcmp(opts[i].section, name, len) == 0)
            return true;
    return false;
}

static void env_name(const opt *o, char *buf, size_t sz)
{
    size_t n;

    /* A name that does not fit is no name: "" (getenv("") finds nothing). */
    if (o->env != NULL) {
        if (zq_fmt(buf, sz, "%s", o->env) < 0)
            buf[0] = '\0';
        return;
    }
    if (zq_fmt(buf, sz, "ZHUQI_%s_%s", o->section, o->key) < 0)
        buf[0] = '\0';
    for (n = 0; buf[n] != '\0'; n++)
        buf[n] = (char)toupper((unsigned char)buf[n]);
}

/* Catches a table entry whose type does not match its field. */
static bool opt_sane(const opt *o)
{
    switch (o->type) {
    case OPT_INT: return o->size == sizeof(int);
    case OPT_INT64: return o->size == sizeof(long long);
    case OPT_BOOL: return o->size == sizeof(bool);
    case OPT_SIZE: return o->size == sizeof(size_t);
    default: return true;
    }
}

void zq_config_defaults(zq_config *cfg)
{
    char why[256];

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NOPTS; i++) {
        /* The table is constant and checked by the tests: this cannot fail
         * unless someone broke the table. */
        if (!opt_sane(&opts[i]) ||
            set_value(&opts[i], cfg, opts[i].def, false, why, sizeof(why)) != 0)
            abort();
    }
}

static void fail_at(load_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error of the file (later ones are ignored). */
static void fail_at(load_state *st, int line, const char *fmt, ...)
{
    va_list ap;

    if (st->err_line != 0)
        return;
    st->err_line = line;
    va_start(ap, fmt);
    zq_vfmt_msg(st->err_msg, sizeof(st->err_msg), fmt, ap);
    va_end(ap);
}

/* inih line reader: counts lines for our messages, rejects lines inih
 * would split, and catches unknown sections even when they hold no key.
 * Returning NULL ends the parse, which we do after the first error. */
static char *read_line(char *dst, int num, void *user)
{
    load_state *st = user;
    ssize_t n;
    size_t len;
    const char *p;

    if (st->err_line != 0)
        return NULL;
    n = getline(&st->line, &st->cap, st->f);
    if (n < 0)
        return NULL;
    st->lineno++;
    len = (size_t)n;
    while (len > 0 && (st->line[len - 1] == '\n' || st->line[len - 1] == '\r'))
        len--;
    if (num < 3 || len > (size_t)num - 3) {
        fail_at(st, st->lineno, "%s:%d: line too long (at most %d characters)", st->path,
                st->lineno, num - 3);
        return NULL;
    }
    memcpy(dst, st->line, len);
    dst[len] = '\n';
    dst[len + 1] = '\0';

    for (p = dst; *p == ' ' || *p == '\t'; p++)
        ;
    if (*p == '[') {
        const char *end = strchr(p + 1, ']');

        if (end != NULL && !section_known(p + 1, (size_t)(end - p - 1)))
            fail_at(st, st->lineno, "%s:%d: [%.*s]: unknown section", st->path, st->lineno,
                    (int)(end - p - 1 > 64 ? 64 : end - p - 1), p + 1);
    }
    return dst;
}

static int handle_kv(void *user, const char *section, const char *key, const char *value)
{
    load_state *st = user;
    const opt *o;
    bool sec_ok;
    char why[200];
    size_t i;

    if (st->err_line != 0)
        return 0;
    if (section[0] == '\0') {
        fail_at(st, st->lineno, "%s:%d: %s: key outside any [section]", st->path, st->lineno, key);
        return 0;
    }
    o = find_opt(section, key, &sec_ok);
    if (o == NULL) {
        fail_at(st, st->lineno, "%s:%d: [%s] %s: unknown %s", st->path, st->lineno, section, key,
                sec_ok ? "key" : "section");
        return 0;
    }
    i = (size_t)(o - opts);
    if (st->line_of[i] != 0 && o->type != OPT_TOKEN) {
        fail_at(st, st->lineno, "%s:%d: [%s] %s: set twice (first on line %d)", st->path,
                st->lineno, section, key, st->line_of[i]);
        return 0;
    }
    if (set_value(o, st->cfg, value, true, why, sizeof(why)) != 0) {
        fail_at(st, st->lineno, "%s:%d: [%s] %s: %s", st->path, st->lineno, section, key, why);
        return 0;
    }
    st->line_of[i] = st->lineno;
    return 1;
}

/* Applies ZHUQI_* variables over what the file set. */
static int apply_env(load_state *st, zq_err *err)
{
    char name[80], why[200];

    for (size_t i = 0; i < NOPTS; i++) {
        const char *v;

        env_name(&opts[i], name, sizeof(name));
        v = getenv(name);
        if (v == NULL)
            continue;
        if (set_value(&opts[i], st->cfg, v, false, why, sizeof(why)) != 0)
            return zq_err_set(err, ZQ_EINVAL, "environment %s: %s", name, why);
        st->from_env[i] = true;
    }
    return 0;
}

/* Names where key i got its value, for a message about it. */
static void origin(const load_state *st, size_t i, char *buf, size_t sz)
{
    char name[80];

    if (st->from_env[i]) {
        env_name(&opts[i], name, sizeof(name));
        zq_fmt_msg(buf, sz, "environment %s", name);
    } else if (st->line_of[i] != 0) {
        zq_fmt_msg(buf, sz, "%s:%d: [%s] %s", st->path, st->line_of[i], opts[i].section,
                   opts[i].key);
    } else {
        zq_fmt_msg(buf, sz, "%s: [%s] %s", st->path, opts[i].section, opts[i].key);
    }
}

static size_t opt_index(const char *section, const char *key)
{
    bool known;
    const opt *o = find_opt(section, key, &known);

    return o != NULL ? (size_t)(o - opts) : 0;
}

/* The longest signature window of the chat webhooks that are on, in
 * seconds, and the platform it belongs to (0 and "" when none signs). */
static int longest_sign_window(const zq_config *c, const char **who)
{
    int w = 0;

    *who = "";
    if (c->generic.secret[0] != '\0' && ZQ_CONFIG_GENERIC_WINDOW_S > w) {
        w = ZQ_CONFIG_GENERIC_WINDOW_S;
        *who = "generic";
    }
    if (c->dingtalk.app_secret[0] != '\0' && c->dingtalk.sign_window_s > w) {
        w = c->dingtalk.sign_window_s;
        *who = "dingtalk";
    }
    if (c->feishu.encrypt_key[0] != '\0' && ZQ_CONFIG_FEISHU_WINDOW_S > w) {
        w = ZQ_CONFIG_FEISHU_WINDOW_S;
        *who = "feishu";
    }
    if (c->wecom.token[0] != '\0' && ZQ_CONFIG_SIGN_WINDOW_S > w) {
        w = ZQ_CONFIG_SIGN_WINDOW_S;
        *who = "wecom";
    }
    return w;
}

/* [sms]: the secret only from the environment or a file of mode 0600
 * (read here, relative to the configuration's folder), then the SMS
 * settings as a whole. */
static int sms_rules(const load_state *st, zq_err *err)
{
    zq_sms_config *c = &st->cfg->sms;
    char where[400], why[300], path[512];
    size_t i = opt_index("sms", "secret");
    int rc;

    /* "secret =" (empty, as the dump writes it) says nothing. */
    if (st->line_of[i] != 0 && !st->from_env[i] && c->secret[0] != '\0') {
        origin(st, i, where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL,
                          "%s: the SMS secret may not be written in the file: set "
                          "ZHUQI_SMS_SECRET or secret_file",
                          where);
    }
    if (c->secret_file[0] != '\0') {
        origin(st, opt_index("sms", "secret_file"), where, sizeof(where));
        if (c->secret[0] != '\0')
            return zq_err_set(err, ZQ_EINVAL, "%s: set either ZHUQI_SMS_SECRET or secret_file",
                              where);
        rc = c->secret_file[0] == '/' || strrchr(st->path, '/') == NULL
                 ? zq_fmt(path, sizeof(path), "%s", c->secret_file)
                 : zq_fmt(path, sizeof(path), "%.*s/%s", (int)(strrchr(st->path, '/') - st->path),
                          st->path, c->secret_file);
        if (rc < 0 || zq_secret_file_read(path, c->secret, sizeof(c->secret), why, sizeof(why)) < 0)
            return zq_err_set(err, ZQ_EINVAL, "%s: %s", where, rc < 0 ? "path too long" : why);
    }
    if (zq_sms_config_check(c, why, sizeof(why)) < 0)
        return zq_err_set(err, ZQ_EINVAL, "%s: %s", st->path, why);
    return 0;
}

/* Rules that involve more than one key. */
static int check_rules(const load_state *st, zq_err *err)
{
    const zq_redis_config *r = &st->cfg->redis;
    const char *who;
    char where[400];
    int win;

    if (st->cfg->bot.retry_base_ms > st->cfg->bot.retry_max_ms) {
        origin(st, opt_index("bot", "retry_base_ms"), where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL, "%s: must not be greater than retry_max_ms (%d)", where,
                          st->cfg->bot.retry_max_ms);
    }
    if (st->cfg->bot.claim_idle_ms <= st->cfg->bot.timeout_ms) {
        origin(st, opt_index("bot", "claim_idle_ms"), where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL,
                          "%s: must be greater than timeout_ms (%d), or live transfers are "
                          "taken over",
                          where, st->cfg->bot.timeout_ms);
    }
    if (st->cfg->wecom.corp_secret[0] != '\0' &&
        (st->cfg->wecom.agent_id <= 0 || st->cfg->wecom.corp_id[0] == '\0')) {
        origin(st, opt_index("wecom", "corp_secret"), where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL, "%s: needs [wecom] agent_id and corp_id too", where);
    }
    if (st->cfg->generic.push_url[0] != '\0' && st->cfg->generic.secret[0] == '\0') {
        origin(st, opt_index("generic", "push_url"), where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL, "%s: needs [generic] secret too", where);
    }
    if (st->cfg->dingtalk.app_key[0] != '\0' && st->cfg->dingtalk.app_secret[0] == '\0') {
        origin(st, opt_index("dingtalk", "app_key"), where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL, "%s: needs [dingtalk] app_secret too", where);
    }
    win = longest_sign_window(st->cfg, &who);
    if (st->cfg->chat.dedup_ttl_s < win) {
        origin(st, opt_index("chat", "dedup_ttl"), where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL,
                          "%s: must be at least %d, the %s webhook's signature window (a request "
                          "replayed after its message id is forgotten would be taken again)",
                          where, win, who);
    }
    if (sms_rules(st, err) < 0)
        return -ZQ_EINVAL;
    if (r->backoff_min_ms > r->backoff_max_ms) {
        size_t imin = opt_index("redis", "backoff_min_ms");
        size_t imax = opt_index("redis", "backoff_max_ms");

        if (st->from_env[imin] || st->line_of[imin] != 0) {
            origin(st, imin, where, sizeof(where));
            return zq_err_set(err, ZQ_EINVAL, "%s: must not be greater than backoff_max_ms (%d)",
                              where, r->backoff_max_ms);
        }
        origin(st, imax, where, sizeof(where));
        return zq_err_set(err, ZQ_EINVAL, "%s: must not be less than backoff_min_ms (%d)", where,
                          r->backoff_min_ms);
    }
    return 0;
}

int zq_config_load(const char *path, zq_config *cfg, zq_err *err)
{
    load_state *st = NULL;
    zq_config *tmp = NULL;
    char eb[128];
    int rc, ret;

    if (path == NULL || strlen(path) >= sizeof(cfg->path))
        return zq_err_set(err, ZQ_EINVAL, "config path missing or too long");
    st = calloc(1, sizeof(*st));
    tmp = malloc(sizeof(*tmp));
    if (st == NULL || tmp == NULL) {
        rc = zq_err_set(err, ZQ_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    zq_config_defaults(tmp);
    memcpy(tmp->path, path, strlen(path) + 1); /* its length was checked above */
    st->path = path;
    st->cfg = tmp;
    st->f = fopen(path, "r");
    if (st->f == NULL) {
        rc =
            zq_err_set(err, ZQ_EIO, "%s: cannot open: %s", path, strerror_r(errno, eb, sizeof(eb)));
        goto out;
    }
    ret = ini_parse_stream(read_line, st, handle_kv, st);
    if (ferror(st->f)) {
        rc =
            zq_err_set(err, ZQ_EIO, "%s: cannot read: %s", path, strerror_r(errno, eb, sizeof(eb)));
        goto out;
    }
    if (ret > 0 && (st->err_line == 0 || ret < st->err_line)) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s:%d: syntax error: expected [section] or key = value",
                        path, ret);
        goto out;
    }
    if (st->err_line != 0) {
        rc = zq_err_set(err, ZQ_EINVAL, "%s", st->err_msg);
        goto out;
    }
    if (ret < 0) {
        rc = zq_err_set(err, ZQ_ENOMEM, "%s: parser out of memory", path);
        goto out;
    }
    rc = apply_env(st, err);
    if (rc != 0)
        goto out;
    rc = check_rules(st, err);
    if (rc != 0)
        goto out;
    *cfg = *tmp;
out:
    if (st != NULL) {
        if (st->f != NULL)
            fclose(st->f);
        free(st->line);
        free(st);
    }
    if (tmp != NULL) {
        /* it may hold the Redis password */
        memset(tmp, 0, sizeof(*tmp));
        free(tmp);
    }
    return rc;
}

static bool valid_token_name(const char *s, size_t len)
{
    if (len < 1 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
            return false;
    return true;
}

int zq_config_parse_token(const char *s, zq_token *out, zq_err *err)
{
    static const char *const roles[] = {"viewer", "handler", "admin"};
    const char *c1, *c2, *hex;
    zq_token t;
    size_t rlen;

    memset(&t, 0, sizeof(t));
    if (s == NULL || (c1 = strchr(s, ':')) == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
        return zq_err_set(err, ZQ_EINVAL, "token must be name:role:sha256hex");
    if (!valid_token_name(s, (size_t)(c1 - s)))
        return zq_err_set(err, ZQ_EINVAL,
                          "token name must be 1 to 63 characters of A-Z a-z 0-9 _ . -");
    memcpy(t.name, s, (size_t)(c1 - s));
    rlen = (size_t)(c2 - c1 - 1);
    for (size_t i = 0; i < ZQ_ARRAY_LEN(roles); i++)
        if (strlen(roles[i]) == rlen && memcmp(roles[i], c1 + 1, rlen) == 0)
            t.role = (zq_role)(ZQ_ROLE_VIEWER + (int)i);
    if (t.role == ZQ_ROLE_NONE)
        return zq_err_set(err, ZQ_EINVAL, "token \"%s\": role must be viewer, handler or admin",
                          t.name);
    hex = c2 + 1;
    if (strlen(hex) != 2 * sizeof(t.hash))
        return zq_err_set(err, ZQ_EINVAL, "token \"%s\": hash must be 64 hex digits (SHA-256)",
                          t.name);
    for (size_t i = 0; i < sizeof(t.hash); i++) {
        int hi = zq_hexval(hex[2 * i]), lo = zq_hexval(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return zq_err_set(err, ZQ_EINVAL, "token \"%s\": hash must be 64 hex digits (SHA-256)",
                              t.name);
        t.hash[i] = (unsigned char)(hi << 4 | lo);
    }
    if (out != NULL)
        *out = t;
    return 0;
}

/* Prints one key's value; secrets as MASK. */
static void dump_value(const opt *o, const zq_config *cfg, FILE *out)
{
    const char *field = (const char *)cfg + o->off;

    switch (o->type) {
    case OPT_STRING:
        /* An empty secret stays empty, so that "not set" remains visible. */
        fprintf(out, "%s = %s\n", o->key, o->secret && field[0] != '\0' ? MASK : field);
        break;
    case OPT_INT: fprintf(out, "%s = %d\n", o->key, *(const int *)(const void *)field); break;
    case OPT_INT64:
        fprintf(out, "%s = %lld\n", o->key, *(const long long *)(const void *)field);
        break;
    case OPT_BOOL:
        fprintf(out, "%s = %s\n", o->key, *(const bool *)(const void *)field ? "true" : "false");
        break;
    case OPT_SIZE: fprintf(out, "%s = %zu\n", o->key, *(const size_t *)(const void *)field); break;
    case OPT_LIST: {
        int n = *(const int *)(const void *)((const char *)cfg + o->count_off);

        fprintf(out, "%s = ", o->key);
        for (int i = 0; i < n; i++)
            fprintf(out, "%s%s", i > 0 ? "," : "", field + (size_t)i * o->size);
        fputc('\n', out);
        break;
    }
    case OPT_TOKEN:
        if (cfg->staff.ntokens == 0)
            fprintf(out, "# %s = (none)\n", o->key);
        for (int i = 0; i < cfg->staff.ntokens; i++)
            fprintf(out, "%s = %s:%s:%s\n", o->key, cfg->staff.tokens[i].name,
                    zq_role_name(cfg->staff.tokens[i].role), MASK);
        break;
    }
}

void zq_config_dump(const zq_config *cfg, FILE *out)
{
    const char *section = NULL;

    fprintf(out, "# effective configuration from %s\n",
            cfg->path[0] != '\0' ? cfg->path : "(defaults)");
    for (size_t i = 0; i < NOPTS; i++) {
        if (section == NULL || strcmp(section, opts[i].section) != 0) {
            section = opts[i].section;
            fprintf(out, "\n[%s]\n", section);
        }
        fprintf(out, "# %s\n", opts[i].help);
        dump_value(&opts[i], cfg, out);
    }
}

const char *zq_role_name(zq_role r)
{
    switch (r) {
    case ZQ_ROLE_NONE: return "none";
    case ZQ_ROLE_VIEWER: return "viewer";
    case ZQ_ROLE_HANDLER: return "handler";
    case ZQ_ROLE_ADMIN: return "admin";
    }
    return "none";
}
