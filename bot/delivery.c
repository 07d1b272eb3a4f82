/* Delivery: outbox entries become HTTP transfers and their outcomes go
 * back to Redis. An entry is held as a job: NEW (read, to resolve), READY
 * (target, message and rendered requests in hand), SENDING (a part in
 * libcurl), SETTLE (outcome known, to be written). Resolving is one
 * pipelined round trip per batch (completion marks, targets, message
 * content not in the cache); outcomes are written in one pipelined round
 * trip per loop turn. See lib/push/outbox.c for the guarantees. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zhuqi/apptoken.h"
#include "zhuqi/calendar.h"
#include "zhuqi/chat_outbox.h"
#include "zhuqi/log.h"
#include "zhuqi/ratelimit.h"
#include "zhuqi/sms.h"
#include "zhuqi/smsq.h"
#include "zhuqi/smsreport.h"
#include "zhuqi/targets.h"

typedef enum jstate { J_FREE = 0, J_NEW, J_READY, J_SENDING, J_SETTLE } jstate;

/* A notice's content, shared by the jobs that send it. */
struct content {
    char id[ZQ_NOTICE_ID_MAX];
    zq_notice_content c;
    int refs;
    uint64_t used;
    bool valid;
};

typedef struct job {
    jstate state;
    zq_entry e;
    zq_target target;
    zq_channel_kind kind;
    struct content *content;
    zq_outreq *reqs;
    size_t nreqs;
    size_t part;
    char **reply_hdrs; /* reply entries: parsed "Name: value" lines */
    int nreply_hdrs;
    char **reply_bodies; /* reply entries with parts: each request's body (owned) */
    size_t nreply_bodies;
    /* App kinds (apptoken.h): the part's URL with the access token
     * (WeCom) or the token's header line (DingTalk, Feishu). */
    char send_url[1700];
    char auth_hdr[ZQ_APPTOKEN_MAX + 48];
    bool token_refresh; /* fetch a new token before the next send */
    bool token_retried; /* the platform refused the token once already */
    bool sms_resigned;  /* an SMS vendor refused the clock or nonce once already */
    bool skip_rate;     /* the next send reuses the slot of a request refused unsent */
    /* The rate-limit slots the part in flight holds (ratelimit.h): its
     * logs and its member, released when the transfer ends. */
    char rl_keys[2][ZQ_RATE_KEY_MAX];
    int nrl_keys;
    char rl_member[128];
    zq_settle op;
    char reason[300];
} job;

#define SETTLE_BATCH 256
#define MOVE_BATCH 1000

/* A finished transfer's hold on its rate-limit slots, to release. */
struct rate_release {
    char keys[2][ZQ_RATE_KEY_MAX];
    int nkeys;
    char member[128];
};

int zq_delivery_init(zq_bot *b)
{
    b->njobs = 2 * b->cfg->bot.max_transfers;
    b->ncache = b->njobs + 16;
    b->jobs = calloc((size_t)b->njobs, sizeof(*b->jobs));
    b->cache = calloc((size_t)b->ncache, sizeof(*b->cache));
    b->lookups = calloc((size_t)b->njobs, sizeof(*b->lookups));
    b->resolving = calloc((size_t)b->njobs, sizeof(struct job *));
    b->releases = calloc((size_t)b->njobs, sizeof(*b->releases));
    b->nreleases = 0;
    memcpy(b->claim_cursor[0], "0-0", sizeof("0-0"));
    memcpy(b->claim_cursor[1], "0-0", sizeof("0-0"));
    return b->jobs != NULL && b->cache != NULL && b->lookups != NULL && b->resolving != NULL &&
                   b->releases != NULL
               ? 0
               : -ZQ_ENOMEM;
}

static void content_unref(struct content *c)
{
    if (c != NULL && c->refs > 0)
        c->refs--;
}

static void job_release(job *j)
{
    zq_entry_clear(&j->e);
    zq_outreq_free_all(j->reqs, j->nreqs);
    content_unref(j->content);
    for (int i = 0; i < j->nreply_hdrs; i++)
        free(j->reply_hdrs[i]);
    free(j->reply_hdrs);
    for (size_t i = 0; j->reply_bodies != NULL && i < j->nreply_bodies; i++)
        free(j->reply_bodies[i]);
    free(j->reply_bodies);
    memset(j, 0, sizeof(*j));
}

void zq_delivery_free(zq_bot *b)
{
    for (int i = 0; b->jobs != NULL && i < b->njobs; i++)
        if (b->jobs[i].state != J_FREE)
            job_release(&b->jobs[i]);
    for (int i = 0; b->cache != NULL && i < b->ncache; i++)
        zq_notice_content_clear(&b->cache[i].c);
    free(b->jobs);
    free(b->cache);
    free(b->lookups);
    free(b->resolving);
    free(b->releases);
    b->releases = NULL;
    b->nreleases = 0;
    b->jobs = NULL;
    b->cache = NULL;
    b->lookups = NULL;
    b->resolving = NULL;
}

static int count_state(const zq_bot *b, jstate s)
{
    int n = 0;

    for (int i = 0; i < b->njobs; i++)
        n += b->jobs[i].state == s;
    return n;
}

int zq_delivery_held(const zq_bot *b)
{
    return b->njobs - count_state(b, J_FREE);
}

int zq_delivery_unsettled(const zq_bot *b)
{
    return count_state(b, J_SETTLE);
}

static const char *channel_of(const job *j)
{
    return zq_channel_name(j->kind);
}

/* Writes a failure reason printf-style into out (outsz > 0 bytes). A
 * reason is read by people in the delivery report: one that does not
 * fit is cut, on a character boundary so that it stays UTF-8. */
static void why_fmt(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_fmt(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = zq_vfmt(out, outsz, fmt, ap);
    va_end(ap);
    if (rc == -ZQ_ETOOBIG)
        out[zq_utf8_cut(out, strlen(out), outsz - 1)] = '\0';
    else if (rc < 0)
        out[0] = '\0';
}

/* Records the outcome of j; the job waits for zq_delivery_flush. */
static void settle(zq_bot *b, job *j, zq_settle_kind k, int attempts, int64_t due_ms,
                   const char *reason)
{
    why_fmt(j->reason, sizeof(j->reason), "%s", reason ? reason : "");
    j->op.kind = k;
    j->op.e = &j->e;
    j->op.now_ms = zq_now_ms();
    j->op.due_ms = due_ms;
    j->op.attempts = attempts;
    j->op.parts_done = (int)j->part;
    j->op.reason = j->reason;
    j->op.channel = j->e.reply ? j->e.reply_channel : channel_of(j);
    j->state = J_SETTLE;
    zq_outreq_free_all(j->reqs, j->nreqs);
    j->reqs = NULL;
    j->nreqs = 0;
    content_unref(j->content);
    j->content = NULL;
    switch (k) {
    case ZQ_SETTLE_DEAD:
        b->n_dead++;
        ZQ_WARN("event=dead_letter notice=%s target=%s channel=%s attempts=%d reason=\"%s\"",
                j->e.notice, j->e.target, j->op.channel, attempts, j->reason);
        break;
    case ZQ_SETTLE_RETRY:
        b->n_retry++;
        ZQ_WARN("event=delivery_retry notice=%s target=%s channel=%s attempts=%d in_ms=%lld "
                "reason=\"%s\"",
                j->e.notice, j->e.target, j->op.channel, attempts,
                (long long)(due_ms - j->op.now_ms), j->reason);
        break;
    case ZQ_SETTLE_DEFER:
        b->n_deferred++;
        ZQ_DEBUG("event=rate_limited notice=%s target=%s wait_ms=%lld part=%d", j->e.notice,
                 j->e.target, (long long)(due_ms - j->op.now_ms), j->op.parts_done);
        break;
    case ZQ_SETTLE_SKIP:
        b->n_skipped++;
        ZQ_INFO("event=already_delivered notice=%s target=%s", j->e.notice, j->e.target);
        break;
    case ZQ_SETTLE_DONE: break;
    }
}

/* A cached notice content, or NULL. Takes a reference. */
static struct content *cache_get(zq_bot *b, const char *id)
{
    for (int i = 0; i < b->ncache; i++) {
        struct content *c = &b->cache[i];
        if (c->valid && strcmp(c->id, id) == 0) {
            c->refs++;
            c->used = ++b->tick;
            return c;
        }
    }
    return NULL;
}

/* Stores content (taken over) in the least recently used free slot.
 * Returns it with a reference, or NULL when every slot is in use. */
static struct content *cache_put(zq_bot *b, const char *id, zq_notice_content *c)
{
    struct content *best = NULL;

    for (int i = 0; i < b->ncache; i++) {
        struct content *s = &b->cache[i];
        if (s->refs == 0 && (best == NULL || !s->valid || (best->valid && s->used < best->used)))
            best = s;
    }
    /* Notice ids are ZQ_NOTICE_ID_MAX bytes at most; a longer one is not
     * cached, since a cut one could name another notice. */
    if (best == NULL || strlen(id) >= sizeof(best->id)) {
        zq_notice_content_clear(c);
        return NULL;
    }
    zq_notice_content_clear(&best->c);
    memcpy(best->id, id, strlen(id) + 1);
    best->c = *c;
    memset(c, 0, sizeof(*c));
    best->valid = true;
    best->refs = 1;
    best->used = ++b->tick;
    return best;
}

/* The access token the current part of j needs (apptoken.h). */
static zq_outreq_auth job_auth(const job *j)
{
    if (j->e.reply)
        return strcmp(j->e.reply_auth, ZQ_CHAT_AUTH_WECOM) == 0 ? ZQ_AUTH_WECOM : ZQ_AUTH_NONE;
    return j->reqs != NULL && j->part < j->nreqs ? j->reqs[j->part].auth : ZQ_AUTH_NONE;
}

/* Splits a reply series' body (a JSON array of e.reply_parts request
 * bodies) into j->reply_bodies. Returns 0 or -1 (malformed, or out of
 * memory). */
static int split_reply_parts(job *j)
{
    json_t *a = json_loads(j->e.reply_body, 0, NULL), *v;
    size_t i, n = (size_t)j->e.reply_parts;
    int rc = -1;

    if (!json_is_array(a) || json_array_size(a) != n || n > ZQ_CHAT_OUTBOX_MAX_PARTS)
        goto out;
    j->reply_bodies = calloc(n, sizeof(*j->reply_bodies));
    if (j->reply_bodies == NULL)
        goto out;
    j->nreply_bodies = n;
    j->nreqs = n;
    json_array_foreach(a, i, v)
    {
        if (!json_is_object(v) || (j->reply_bodies[i] = json_dumps(v, JSON_COMPACT)) == NULL)
            goto out;
    }
    rc = 0;
out:
    json_decref(a);
    return rc;
}

/* A retry that is not a platform's answer (a token we could not get). */
static void retry_later(zq_bot *b, job *j, const char *reason)
{
    int attempts = j->e.attempts + 1;
    int64_t delay;

    if (attempts >= b->cfg->bot.max_attempts) {
        char why[300];

        why_fmt(why, sizeof(why), "gave up after %d attempts: %.200s", attempts, reason);
        settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, why);
        return;
    }
    delay = zq_outbox_backoff_ms(attempts, b->cfg->bot.retry_base_ms, b->cfg->bot.retry_max_ms, 0,
                                 zq_bot_random(b));
    settle(b, j, ZQ_SETTLE_RETRY, attempts, zq_now_ms() + delay, reason);
}

/* Adds "Authorization: Bearer <tenant access token>" to a Feishu IM
 * reply (apptoken.h). Returns 0, or -1 after settling the job. */
static int add_tenant_token(zq_bot *b, job *j)
{
    char tok[ZQ_APPTOKEN_MAX], line[ZQ_APPTOKEN_MAX + 48], why[300], nourl[1] = "";
    zq_apptoken_app app;
    zq_err err = {0};
    char **h;
    int rc;

    zq_apptoken_for(b->cfg, ZQ_AUTH_FEISHU, &app);
    rc = zq_apptoken_get(b->st, &app, false, b->cfg->bot.timeout_ms, tok, &err);
    if (rc == -ZQ_EUNAVAIL)
        zq_bot_redis(b, rc, "feishu_token", &err);
    if (rc < 0) {
        why_fmt(why, sizeof(why), "feishu tenant token: %s", err.msg);
        if (rc == -ZQ_EAUTH)
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, why);
        else
            retry_later(b, j, why);
        return -1;
    }
    if (zq_apptoken_apply(ZQ_AUTH_FEISHU, tok, nourl, sizeof(nourl), line, sizeof(line)) < 0) {
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "access token too long for the request");
        return -1;
    }
    h = realloc(j->reply_hdrs, (size_t)(j->nreply_hdrs + 1) * sizeof(*h));
    if (h == NULL || (h[j->nreply_hdrs] = strdup(line)) == NULL) {
        if (h != NULL)
            j->reply_hdrs = h;
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "out of memory");
        return -1;
    }
    j->reply_hdrs = h;
    j->nreply_hdrs++;
    return 0;
}

/* Prepares a chat reply entry. Returns 0, or -1 after settling it. */
static int prepare_reply(zq_bot *b, job *j, int64_t now_ms)
{
    json_t *h = json_loads(j->e.reply_headers ? j->e.reply_headers : "[]", 0, NULL), *v;
    size_t i;

    j->kind = zq_channel_of_reply(j->e.reply_channel);
    if (j->e.reply_expires_ms > 0 && now_ms > j->e.reply_expires_ms) {
        json_decref(h);
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0,
               "reply expired before it could be sent (session webhook gone)");
        return -1;
    }
    if (j->e.reply_auth[0] != '\0' && strcmp(j->e.reply_auth, ZQ_CHAT_AUTH_FEISHU) != 0 &&
        strcmp(j->e.reply_auth, ZQ_CHAT_AUTH_WECOM) != 0) {
        json_decref(h);
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "reply needs an unknown kind of auth");
        return -1;
    }
    if (!json_is_array(h) || json_array_size(h) > 4) {
        json_decref(h);
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "reply has malformed headers");
        return -1;
    }
    j->reply_hdrs = calloc(json_array_size(h) + 1, sizeof(*j->reply_hdrs));
    json_array_foreach(h, i, v)
    {
        const char *s = json_string_value(v);
        if (j->reply_hdrs != NULL && s != NULL && strlen(s) < 320 && strpbrk(s, "\r\n") == NULL &&
            strncasecmp(s, "Content-Type:", 13) != 0)
            j->reply_hdrs[j->nreply_hdrs++] = strdup(s);
    }
    json_decref(h);
    if (j->reply_hdrs == NULL) {
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "out of memory");
        return -1;
    }
    if (strcmp(j->e.reply_auth, ZQ_CHAT_AUTH_FEISHU) == 0 && add_tenant_token(b, j) < 0)
        return -1;
    if (j->e.reply_parts > 0) {
        if (split_reply_parts(j) < 0) {
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "reply has malformed parts");
            return -1;
        }
    } else {
        j->nreqs = 1;
    }
    /* A series resumes after the parts the platform already took. */
    j->part = j->e.parts_done > 0 ? (size_t)j->e.parts_done : 0;
    if (j->part >= j->nreqs) {
        settle(b, j, ZQ_SETTLE_DONE, j->e.attempts, 0, "");
        return -1;
    }
    return 0;
}

/* The age after which an SMS entry is dead-lettered instead of sent: a
 * verification code's [sms] code_max_age_s, else [bot] max_age_s. */
static int64_t sms_max_age_ms(const zq_bot *b, const job *j)
{
    int64_t age = (int64_t)b->cfg->bot.max_age_s * 1000;
    int64_t code = (int64_t)b->cfg->sms.code_max_age_s * 1000;

    if (j->content != NULL && zq_sms_body_use(j->content->c.body) == 0 && code < age)
        age = code;
    return age;
}

/* True after settling j as dead when the SMS would leave at at_ms past
 * its max age (a code that would arrive expired). */
static bool sms_too_old(zq_bot *b, job *j, int64_t at_ms)
{
    int64_t max = sms_max_age_ms(b, j);

    if (j->e.first_ms <= 0 || at_ms - j->e.first_ms <= max)
        return false;
    settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0,
           max < (int64_t)b->cfg->bot.max_age_s * 1000
               ? "gave up: a verification code older than [sms] code_max_age_s"
               : "gave up: older than [bot] max_age_s");
    return true;
}

/* Renders a notice entry for its target. Returns 0, or -1 after settling. */
static int prepare_notice(zq_bot *b, job *j)
{
    zq_message m;
    zq_err err = {0};
    char idem[ZQ_NOTICE_ID_MAX + sizeof(j->target.id) + 2];

    memset(&m, 0, sizeof(m));
    /* The same for every retry of this entry: the platforms' duplicate
     * suppression (channel.h) then drops a resend whose answer was lost. */
    if (zq_fmt(idem, sizeof(idem), "%s:%s", j->e.notice, j->target.id) == 0)
        m.idem = idem;
    m.title = j->content->c.title;
    m.body = j->content->c.body;
    m.mention_mobiles = (const char *const *)j->content->c.mobiles;
    m.nmentions = j->content->c.nmobiles;
    m.mention_all = j->content->c.mention_all;
    if (j->kind == ZQ_CH_SMS && sms_too_old(b, j, zq_now_ms()))
        return -1;
    if (zq_channel_render(&b->cc, &j->target, &m, zq_now_ms(), &j->reqs, &j->nreqs, &err) < 0) {
        char why[300];

        why_fmt(why, sizeof(why), "cannot render: %s", err.msg);
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, why);
        return -1;
    }
    j->part = (size_t)j->e.parts_done;
    if (j->part >= j->nreqs) {
        settle(b, j, ZQ_SETTLE_DONE, j->e.attempts, 0, "");
        return -1;
    }
    return 0;
}

/* Holds a progress SMS in [events] sms_quiet_hours until the window
 * ends (a verification code is never held: someone is waiting for it).
 * Returns true when j was deferred. */
static bool sms_quiet(zq_bot *b, job *j, int64_t now_ms)
{
    json_t *body;
    const char *use;
    int64_t until;
    int start, end;
    bool code;

    if (zq_quiet_parse(b->cfg->events.sms_quiet_hours, &start, &end) < 0 ||
        (until = zq_quiet_until(now_ms, start, end)) == 0)
        return false;
    body = json_loads(j->content->c.body ? j->content->c.body : "", 0, NULL);
    use = json_string_value(json_object_get(body, "use"));
    code = use == NULL || strcmp(use, "code") == 0;
    json_decref(body);
    if (code)
        return false;
    settle(b, j, ZQ_SETTLE_DEFER, j->e.attempts, until, "");
    return true;
}

/* Moves j on with what the lookup found: settled, or READY. */
static void resolve_one(zq_bot *b, job *j, zq_outbox_lookup *l, int64_t now_ms)
{
    if (l->done) {
        settle(b, j, ZQ_SETTLE_SKIP, j->e.attempts, 0, "");
        return;
    }
    if (j->e.reply) {
        if (prepare_reply(b, j, now_ms) == 0)
            j->state = J_READY;
        return;
    }
    if (j->e.inline_target != NULL) {
        if (zq_target_inline_decode(j->e.inline_target, strlen(j->e.inline_target), &j->target) <
            0) {
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "malformed inline target");
            return;
        }
    } else if (l->target_rc == -ZQ_ENOTFOUND) {
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "target deleted");
        return;
    } else if (l->target_rc < 0) {
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0,
               "target record unusable (unknown channel or no address)");
        return;
    } else {
        j->target = l->target;
    }
    j->kind = j->target.kind;
    if (j->content == NULL) {
        struct content *have = cache_get(b, j->e.notice);

        if (have != NULL)
            j->content = have;
        else if (l->want_content && l->content_rc == 0)
            j->content = cache_put(b, j->e.notice, &l->content);
        if (j->content == NULL) {
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "message no longer exists");
            return;
        }
    }
    if (j->kind == ZQ_CH_SMS && sms_quiet(b, j, now_ms))
        return;
    if (prepare_notice(b, j) == 0)
        j->state = J_READY;
}

/* Resolves every NEW job in one pipelined round trip. */
static void resolve_new(zq_bot *b)
{
    int64_t now_ms = zq_now_ms();
    int64_t max_age_ms = (int64_t)b->cfg->bot.max_age_s * 1000;
    zq_outbox_lookup *l = b->lookups;
    job **list = b->resolving;
    int n = 0, rc;
    zq_err err = {0};

    for (int k = 0; k < b->njobs; k++) {
        job *j = &b->jobs[k];

        if (j->state != J_NEW)
            continue;
        if (j->e.malformed) {
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "malformed outbox entry");
            continue;
        }
        if (j->e.first_ms > 0 && now_ms - j->e.first_ms > max_age_ms) {
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "gave up: older than [bot] max_age_s");
            continue;
        }
        list[n++] = j;
    }
    if (n == 0)
        return;
    for (int k = 0; k < n; k++) {
        job *j = list[k];

        l[k].e = &j->e;
        l[k].want_target = !j->e.reply && j->e.inline_target == NULL;
        l[k].want_content = false;
        if (j->e.reply)
            continue;
        j->content = cache_get(b, j->e.notice);
        /* Fetched once per batch: later jobs of the same notice find it
         * in the cache. */
        l[k].want_content = j->content == NULL;
        for (int q = 0; q < k && l[k].want_content; q++)
            if (l[q].want_content && strcmp(list[q]->e.notice, j->e.notice) == 0)
                l[k].want_content = false;
    }
    rc = zq_outbox_lookup_all(b->st, l, n, &err);
    zq_bot_redis(b, rc, "resolve", &err);
    if (rc < 0) {
        for (int k = 0; k < n; k++) {
            content_unref(list[k]->content);
            list[k]->content = NULL;
        }
        return;
    }
    for (int k = 0; k < n; k++)
        resolve_one(b, list[k], &l[k], now_ms);
    for (int k = 0; k < n; k++)
        zq_notice_content_clear(&l[k].content);
}

/* Puts the access token the request r of an app kind needs into j
 * (send_url, auth_hdr): the cached one, or a fresh one when j was told
 * to refresh. Returns 0; 1 after settling j (credentials missing or
 * refused: a dead letter with the platform's reason; the token endpoint
 * unreachable: retry later, and for a moment after that every message of
 * the app waits without asking it again); -1 when Redis is away (j stays
 * ready). */
static int add_app_token(zq_bot *b, job *j, zq_outreq_auth auth, const char *url)
{
    char tok[ZQ_APPTOKEN_MAX], why[300];
    zq_apptoken_app app;
    zq_err err = {0};
    int rc;
    struct zq_token_failure *failed;
    int64_t now;

    if (zq_apptoken_for(b->cfg, auth, &app) < 0 ||
        (unsigned)app.kind >= ZQ_ARRAY_LEN(b->token_failed)) {
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "request needs an unknown kind of auth");
        return 1;
    }
    failed = &b->token_failed[app.kind];
    now = zq_mono_ms();
    if (now < failed->until_mono) {
        /* The token endpoint failed a moment ago: refused credentials are
         * refused again; an outage is waited out without counting an
         * attempt, and without asking again for every message. */
        if (failed->rc == -ZQ_EAUTH) {
            why_fmt(why, sizeof(why), "%s access token: %.240s", channel_of(j), failed->msg);
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, why);
        } else {
            settle(b, j, ZQ_SETTLE_DEFER, j->e.attempts, zq_now_ms() + (failed->until_mono - now),
                   "");
        }
        return 1;
    }
    rc = zq_apptoken_get(b->st, &app, j->token_refresh, b->cfg->bot.timeout_ms, tok, &err);
    if (rc == -ZQ_EIO || rc == -ZQ_EAUTH) {
        int64_t hold = b->cfg->bot.retry_base_ms > 1000 ? b->cfg->bot.retry_base_ms : 1000;

        failed->until_mono = zq_mono_ms() + hold;
        failed->rc = rc;
        why_fmt(failed->msg, sizeof(failed->msg), "%s", err.msg);
    }
    if (rc == -ZQ_EUNAVAIL) {
        zq_bot_redis(b, rc, "app_token", &err);
        return -1;
    }
    if (rc < 0) {
        why_fmt(why, sizeof(why), "%s access token: %.240s", channel_of(j), err.msg);
        if (rc == -ZQ_EAUTH)
            settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, why);
        else
            retry_later(b, j, why);
        return 1;
    }
    j->token_refresh = false;
    if (strlen(url) >= sizeof(j->send_url) ||
        zq_apptoken_apply(auth, tok, memcpy(j->send_url, url, strlen(url) + 1), sizeof(j->send_url),
                          j->auth_hdr, sizeof(j->auth_hdr)) < 0) {
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "access token too long for the request");
        return 1;
    }
    return 0;
}

/* The Telegram bot token j sends with: the target's address, or for a
 * reply the <token> of ".../bot<token>/sendMessage". Writes "" when there
 * is none. */
static void telegram_token(const job *j, char *out, size_t outsz)
{
    const char *u, *end, *start;

    out[0] = '\0';
    if (!j->e.reply) {
        /* A cut token is no token: leave "" (none) when it does not fit. */
        if (zq_fmt(out, outsz, "%s", j->target.address) < 0)
            out[0] = '\0';
        return;
    }

    u = j->e.reply_url;
    end = u ? strrchr(u, '/') : NULL;
    if (end == NULL)
        return;
    for (start = end; start > u && start[-1] != '/'; start--)
        ;
    if (end - start > 3 && strncmp(start, "bot", 3) == 0 && (size_t)(end - start - 3) < outsz) {
        memcpy(out, start + 3, (size_t)(end - start - 3));
        out[end - start - 3] = '\0';
    }
}

/* j's rate-limit logs (ratelimit.h): its target's (a notice's target; a
 * reply only when it names its chat's log, "rl") and, for Telegram, its
 * bot's over all chats. Writes their keys into j->rl_keys, their windows
 * into w and wb (which must live until the reservation), keys[] and a new
 * j->rl_member. Returns how many logs (0: no limit), or -1 (cannot
 * happen: the member always fits). */
static int rate_keys(zq_bot *b, job *j, zq_rate_window w[3], zq_rate_window *wb,
                     zq_rate_key keys[2])
{
    char tok[sizeof(j->target.address)], bot_id[ZQ_BOT_TGBOT_ID_MAX];
    char hook_id[ZQ_BOT_TGBOT_ID_MAX];
    const char *tid = j->e.reply ? j->e.reply_rl : j->e.target;
    int nk = 0;

    /* A robot's limit is the webhook's, whichever targets share it: two
     * targets saved with one Feishu or WeCom hook fill one log. */
    if (!j->e.reply &&
        (j->kind == ZQ_CH_WECOM || j->kind == ZQ_CH_DINGTALK || j->kind == ZQ_CH_FEISHU)) {
        zq_bot_hook_id(j->target.address, hook_id);
        tid = hook_id;
    }
    if (tid[0] != '\0') {
        int nw = zq_bot_rate_windows(b->cfg, j->kind, w);

        if (nw > 0) {
            zq_rate_log_key(b->st, tid, j->rl_keys[nk]);
            keys[nk] = (zq_rate_key){j->rl_keys[nk], w, nw};
            nk++;
        }
    }
    if (j->kind == ZQ_CH_TELEGRAM && zq_bot_telegram_bot_window(b->cfg, wb) > 0) {
        telegram_token(j, tok, sizeof(tok));
        if (tok[0] != '\0') {
            zq_bot_telegram_bot_id(tok, bot_id);
            zq_rate_log_key(b->st, bot_id, j->rl_keys[nk]);
            keys[nk] = (zq_rate_key){j->rl_keys[nk], wb, 1};
            nk++;
        }
    }
    if (nk > 0 && zq_fmt(j->rl_member, sizeof(j->rl_member), "%s:%016llx", b->consumer,
                         (unsigned long long)zq_bot_random(b)) < 0)
        return -1;
    return nk;
}

/* The hold of a reservation: the slot is held while the request is in
 * flight, up to the transfer's whole timeout, and a second more for our
 * own delays. */
static int64_t rate_hold_ms(const zq_bot *b)
{
    return (int64_t)b->cfg->bot.timeout_ms + b->cfg->bot.connect_timeout_ms + 1000;
}

/* After j's reservation of nk logs answered wait: returns 0 (go: j holds
 * its slots) or 1 after deferring j. */
static int rate_after(zq_bot *b, job *j, int nk, int64_t wait)
{
    if (wait > 0) {
        /* An SMS waits for its number's limit, unless it would leave too
         * late to matter. */
        if (j->kind == ZQ_CH_SMS && !j->e.reply && sms_too_old(b, j, zq_now_ms() + wait))
            return 1;
        settle(b, j, ZQ_SETTLE_DEFER, j->e.attempts, zq_now_ms() + wait, "");
        return 1;
    }
    j->nrl_keys = nk;
    return 0;
}

/* Writes the releases of finished transfers (release_rate) in one call. */
static void flush_releases(zq_bot *b)
{
    zq_rate_release_op ops[128];
    const char *keys[128][2];
    zq_err err = {0};
    int done = 0;

    while (done < b->nreleases) {
        int n = 0, rc;

        for (; done < b->nreleases && n < (int)ZQ_ARRAY_LEN(ops); done++, n++) {
            struct rate_release *r = &b->releases[done];

            keys[n][0] = r->keys[0];
            keys[n][1] = r->keys[1];
            ops[n] = (zq_rate_release_op){keys[n], r->nkeys, r->member};
        }
        rc = zq_rate_release_all(b->st, ops, n, &err);
        zq_bot_redis(b, rc, "ratelimit", &err);
    }
    b->nreleases = 0;
}

/* Ends j's hold on its rate-limit slots: its request is over. The
 * release is written with the others at the next flush (a later release
 * only holds the slot a moment longer), or at once when there is no room
 * to keep it. */
static void release_rate(zq_bot *b, job *j)
{
    struct rate_release *r;

    if (j->nrl_keys == 0)
        return;
    if (b->nreleases == b->njobs)
        flush_releases(b);
    r = &b->releases[b->nreleases++];
    for (int k = 0; k < j->nrl_keys; k++)
        memcpy(r->keys[k], j->rl_keys[k], sizeof(r->keys[k]));
    r->nkeys = j->nrl_keys;
    memcpy(r->member, j->rl_member, sizeof(r->member));
    j->nrl_keys = 0;
}

/* What j's next part sends (the auth header aside). */
typedef struct job_req {
    const char *hdrs[ZQ_OUTREQ_MAX_HEADERS + 1];
    int nh;
    const char *url, *ctype, *body;
    size_t blen;
} job_req;

static void job_request(const job *j, job_req *q)
{
    q->nh = 0;
    if (j->e.reply) {
        q->url = j->e.reply_url;
        q->ctype = "application/json; charset=utf-8";
        q->body = j->reply_bodies != NULL ? j->reply_bodies[j->part] : j->e.reply_body;
        q->blen = strlen(q->body);
        for (int i = 0; i < j->nreply_hdrs && q->nh < ZQ_OUTREQ_MAX_HEADERS; i++)
            q->hdrs[q->nh++] = j->reply_hdrs[i];
    } else {
        const zq_outreq *r = &j->reqs[j->part];

        q->url = r->url;
        q->ctype = r->content_type;
        /* NULL: a GET (an SMS gateway's query). */
        q->body = r->get ? NULL : r->body.data ? r->body.data : "";
        q->blen = r->body.len;
        for (int i = 0; i < r->nheaders && q->nh < ZQ_OUTREQ_MAX_HEADERS; i++)
            q->hdrs[q->nh++] = r->headers[i];
    }
}

/* The first step of starting j: its access token, when its platform
 * wants one (before the rate slot: a send that cannot go out takes
 * none). Returns 0, 1 when j was settled, or -1 when Redis is away. */
static int job_token(zq_bot *b, job *j)
{
    zq_outreq_auth auth = job_auth(j);
    job_req q;

    j->auth_hdr[0] = '\0';
    if (auth == ZQ_AUTH_NONE)
        return 0;
    job_request(j, &q);
    return add_app_token(b, j, auth, q.url);
}

/* The last step: hands j's request to the sender. Returns 0, 1 when j
 * was settled, or -1 when the sender could not take it now. */
static int job_send(zq_bot *b, job *j)
{
    job_req q;
    int rc;

    job_request(j, &q);
    if (job_auth(j) != ZQ_AUTH_NONE)
        q.url = j->send_url;
    if (j->auth_hdr[0] != '\0' && q.nh < ZQ_OUTREQ_MAX_HEADERS + 1)
        q.hdrs[q.nh++] = j->auth_hdr;
    /* Generic targets are URLs staff typed in: guarded. Every other URL
     * is the operators' ([channels] base URLs, [generic] push_url) or a
     * platform's (a DingTalk session webhook from a signed callback). */
    rc = zq_sender_start(b->snd, q.url, q.ctype, q.hdrs, q.nh, q.body, q.blen,
                         j->kind == ZQ_CH_GENERIC && !j->e.reply ? &b->cc.generic_guard : NULL, j);
    if (rc == -ZQ_ETOOBIG) {
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts, 0, "content type too long");
        return 1;
    }
    if (rc < 0)
        return -1;
    j->state = J_SENDING;
    return 0;
}

/* Jobs started together: their rate slots are reserved in one call. */
#define START_BATCH 64

/* Starts the ready jobs (the priority lane first) while the sender has
 * room: tokens, then one reservation of rate slots for the batch
 * (ratelimit.h: one round trip, not one per message), then the
 * transfers. Stops when Redis or the sender cannot take more now. */
static void start_ready(zq_bot *b)
{
    job *batch[START_BATCH];
    zq_rate_window w[START_BATCH][3], wb[START_BATCH];
    zq_rate_key keys[START_BATCH][2];
    zq_rate_reserve_op ops[START_BATCH];
    int64_t waits[START_BATCH];
    int nk[START_BATCH];

    for (int pass = 0; pass < 2; pass++) {
        int k = 0;

        while (k < b->njobs) {
            int n = 0, room = zq_sender_free_slots(b->snd), rc;
            bool stop = false;
            zq_err err = {0};

            for (; k < b->njobs && n < room && n < START_BATCH && !stop; k++) {
                job *j = &b->jobs[k];

                if (j->state != J_READY || j->e.prio != (pass == 0))
                    continue;
                rc = job_token(b, j);
                if (rc != 0) {
                    stop = rc < 0;
                    continue;
                }
                /* A request signed again after the vendor refused it
                 * unsent keeps the slot the refused one took: the vendor
                 * did not count it. */
                nk[n] = j->skip_rate ? 0 : rate_keys(b, j, w[n], &wb[n], keys[n]);
                j->skip_rate = false;
                if (nk[n] < 0) {
                    stop = true;
                    continue;
                }
                ops[n] = (zq_rate_reserve_op){keys[n], nk[n], j->rl_member, rate_hold_ms(b)};
                batch[n++] = j;
            }
            if (n == 0)
                break; /* none left in this lane, or no room */
            rc = zq_rate_reserve_many(b->st, ops, n, waits, &err);
            zq_bot_redis(b, rc, "ratelimit", &err);
            if (rc < 0)
                return;
            for (int i = 0; i < n; i++) {
                if (nk[i] > 0 && rate_after(b, batch[i], nk[i], waits[i]) != 0)
                    continue;
                if (job_send(b, batch[i]) < 0)
                    return;
            }
            if (stop)
                return;
        }
    }
}

/* When the platform said the stored target of j is gone (the bot was
 * blocked or removed, the member left), disables it (targets.h) so that
 * the next audiences skip it instead of earning the same dead letter. */
static void disable_if_gone(zq_bot *b, job *j, const zq_sent *r)
{
    char why[200];
    zq_err err = {0};
    int rc;

    if (j->e.reply || j->e.inline_target != NULL || j->target.id[0] == '\0' ||
        !zq_channel_target_gone(j->kind, r->status, r->body, r->len, why, sizeof(why)))
        return;
    rc = zq_target_set_disabled(b->st, j->target.id, why, zq_now_ms(), &err);
    if (rc == 0)
        ZQ_WARN("event=target_disabled target=%s channel=%s reason=\"%s\"", j->target.id,
                channel_of(j), why);
    else if (rc != -ZQ_ENOTFOUND)
        ZQ_ERROR("event=target_disable_failed target=%s err=\"%s\"", j->target.id, err.msg);
}

/* The outcome of an SMS (sms.h: zq_sms_answer): sent; throttled, retried
 * when the vendor's window ends (measured in "minutes" of [channels]
 * rate_window_ms, as the per-number limits are); a clock or nonce error
 * signed again and sent again at once, once; retried with back-off; or
 * dead with the vendor's code and reason. */
static void sms_done(zq_bot *b, job *j, const zq_sent *r)
{
    int64_t now_ms = zq_now_ms(), delay;
    int attempts = j->e.attempts + 1;
    zq_sms_result res;
    char why[300];

    if (r->error[0] != '\0') {
        memset(&res, 0, sizeof(res));
        res.verdict = ZQ_SMS_RETRY;
        why_fmt(res.reason, sizeof(res.reason), "no answer: %s", r->error);
    } else {
        res = zq_sms_answer(&b->cc.sms, r->status, r->body, r->len, r->retry_after, now_ms / 1000);
    }
    if (res.verdict == ZQ_SMS_SENT) {
        ZQ_INFO("event=sms_sent notice=%s target=%s provider=%s msg_id=\"%s\"", j->e.notice,
                j->e.target, b->cc.sms.provider, res.msg_id);
        j->part = j->nreqs;
        settle(b, j, ZQ_SETTLE_DONE, attempts, 0, "");
        return;
    }
    if (res.verdict == ZQ_SMS_PERMANENT) {
        settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, res.reason);
        return;
    }
    if (res.verdict == ZQ_SMS_RETRY && zq_sms_resign_code(res.code)) {
        if (j->sms_resigned) {
            why_fmt(why, sizeof(why), "refused again after signing afresh: %s", res.reason);
            settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, why);
            return;
        }
        /* A stale timestamp or a nonce seen before: sign again (a new
         * render) and send at once, once. */
        ZQ_WARN("event=sms_resign notice=%s target=%s reason=\"%s\"", j->e.notice, j->e.target,
                res.reason);
        j->sms_resigned = true;
        j->skip_rate = true;
        zq_outreq_free_all(j->reqs, j->nreqs);
        j->reqs = NULL;
        j->nreqs = 0;
        if (prepare_notice(b, j) == 0)
            j->state = J_READY;
        return;
    }
    if (attempts >= b->cfg->bot.max_attempts) {
        why_fmt(why, sizeof(why), "gave up after %d attempts: %s", attempts, res.reason);
        settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, why);
        return;
    }
    delay = res.verdict == ZQ_SMS_THROTTLED
                ? res.retry_after_ms * b->cfg->channels.rate_window_ms / 60000
                : 0;
    delay = zq_outbox_backoff_ms(attempts, b->cfg->bot.retry_base_ms, b->cfg->bot.retry_max_ms,
                                 delay, zq_bot_random(b));
    if (j->e.first_ms > 0 && now_ms + delay - j->e.first_ms > sms_max_age_ms(b, j)) {
        why_fmt(why, sizeof(why), "gave up: next attempt would pass its max age: %s", res.reason);
        settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, why);
        return;
    }
    settle(b, j, ZQ_SETTLE_RETRY, attempts, now_ms + delay, res.reason);
}

void zq_delivery_done(zq_bot *b, const zq_sent *r)
{
    job *j = r->ctx;
    int64_t ra = 0, now_ms = zq_now_ms();
    char reason[256];
    zq_delivery d;
    int attempts;

    if (j == NULL || j->state != J_SENDING)
        return;
    release_rate(b, j);
    if (b->stopping && strcmp(r->error, "aborted") == 0) {
        /* Left pending in Redis: another instance (or our next life)
         * claims it after claim_idle_ms. */
        ZQ_INFO("event=transfer_abandoned notice=%s target=%s", j->e.notice, j->e.target);
        job_release(j);
        return;
    }
    if (j->kind == ZQ_CH_SMS && !j->e.reply) {
        sms_done(b, j, r);
        return;
    }
    d = zq_channel_classify(j->kind, r->status, r->body, r->len, r->retry_after, &ra, reason,
                            sizeof(reason));
    if (r->refused) {
        /* Our own policy said no: trying again cannot help. */
        why_fmt(reason, sizeof(reason), "refused by the address guard: %s", r->error);
        ZQ_WARN("event=delivery_refused notice=%s target=%s reason=\"%s\"", j->e.notice,
                j->e.target, r->error);
        settle(b, j, ZQ_SETTLE_DEAD, j->e.attempts + 1, 0, reason);
        return;
    }
    if (r->error[0] != '\0') {
        why_fmt(reason, sizeof(reason), "no answer: %s", r->error);
        d = ZQ_DELIVERY_RETRY;
    }
    if (job_auth(j) != ZQ_AUTH_NONE && !j->token_retried &&
        zq_channel_token_rejected(j->kind, r->status, r->body, r->len)) {
        /* The token expired or was revoked before our cached copy: fetch
         * a fresh one and send the same part again at once, once. */
        zq_apptoken_app app;
        zq_err err = {0};

        if (zq_apptoken_for(b->cfg, job_auth(j), &app) == 0)
            zq_apptoken_forget(b->st, &app, &err);
        ZQ_INFO("event=app_token_rejected notice=%s target=%s channel=%s reason=\"%s\" "
                "action=refresh",
                j->e.notice, j->e.target, channel_of(j), reason);
        j->token_retried = true;
        j->token_refresh = true;
        j->state = J_READY;
        return;
    }
    if (d == ZQ_DELIVERY_DONE) {
        j->part++;
        if (j->part < j->nreqs) {
            j->state = J_READY;
            return;
        }
        settle(b, j, ZQ_SETTLE_DONE, j->e.attempts + 1, 0, "");
        return;
    }
    attempts = j->e.attempts + 1;
    if (j->e.reply && strcmp(j->e.reply_auth, ZQ_CHAT_AUTH_FEISHU) == 0 &&
        zq_channel_token_rejected(ZQ_CH_FEISHU_CHAT, r->status, r->body, r->len) &&
        attempts < b->cfg->bot.max_attempts) {
        /* An expired token: fetch a fresh one and try again soon. */
        zq_apptoken_app app;
        zq_err err = {0};

        zq_apptoken_for(b->cfg, ZQ_AUTH_FEISHU, &app);
        zq_apptoken_forget(b->st, &app, &err);
        settle(b, j, ZQ_SETTLE_RETRY, attempts, now_ms + b->cfg->bot.retry_base_ms,
               "feishu tenant token rejected");
        return;
    }
    if (d == ZQ_DELIVERY_FAIL) {
        disable_if_gone(b, j, r);
        settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, reason);
        return;
    }
    if (attempts >= b->cfg->bot.max_attempts) {
        char why[300];

        why_fmt(why, sizeof(why), "gave up after %d attempts: %s", attempts, reason);
        settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, why);
        return;
    }
    {
        int64_t delay = zq_outbox_backoff_ms(attempts, b->cfg->bot.retry_base_ms,
                                             b->cfg->bot.retry_max_ms, ra, zq_bot_random(b));

        if (j->e.first_ms > 0 &&
            now_ms + delay - j->e.first_ms > (int64_t)b->cfg->bot.max_age_s * 1000) {
            char why[300];

            why_fmt(why, sizeof(why), "gave up: next attempt would pass max_age_s: %s", reason);
            settle(b, j, ZQ_SETTLE_DEAD, attempts, 0, why);
            return;
        }
        settle(b, j, ZQ_SETTLE_RETRY, attempts, now_ms + delay, reason);
    }
}

/* The case history lines of the SMS among the settled jobs, in one go
 * (smsreport.h), written before the jobs are settled: a crash between
 * the two then repeats the SMS (the entry is claimed again) and its line
 * is not written twice (the report is once per notice), where the other
 * order lost the line. Returns 0, or -ZQ_EUNAVAIL (nothing settled yet:
 * both are tried again at the next flush). */
static int sms_reports(zq_bot *b, const zq_smsreport_op *ops, int n, zq_err *err)
{
    int results[SETTLE_BATCH];
    int rc = n > 0 ? zq_smsreport_write_all(b->st, ops, n, zq_now_ms(), results, err) : 0;

    if (rc == -ZQ_EUNAVAIL)
        return rc;
    if (rc < 0)
        ZQ_WARN("event=sms_report_failed count=%d err=\"%s\"", n, err->msg);
    return 0;
}

void zq_delivery_flush(zq_bot *b)
{
    zq_settle ops[SETTLE_BATCH];
    job *owners[SETTLE_BATCH];
    int results[SETTLE_BATCH];
    zq_smsreport_op reports[SETTLE_BATCH];
    int n = 0, nrep = 0, rc;
    zq_err err = {0};

    if (b->nreleases > 0)
        flush_releases(b);
    for (int k = 0; k < b->njobs && n < SETTLE_BATCH; k++) {
        if (b->jobs[k].state == J_SETTLE) {
            job *j = &b->jobs[k];

            owners[n] = j;
            ops[n++] = j->op;
            if (j->kind == ZQ_CH_SMS &&
                (j->op.kind == ZQ_SETTLE_DONE || j->op.kind == ZQ_SETTLE_DEAD))
                reports[nrep++] = (zq_smsreport_op){j->e.notice, j->op.kind == ZQ_SETTLE_DONE,
                                                    j->reason, j->e.target};
        }
    }
    if (n == 0)
        return;
    rc = sms_reports(b, reports, nrep, &err);
    if (rc == 0)
        rc = zq_outbox_settle(b->st, ops, n, results, &err);
    if (rc == -ZQ_EUNAVAIL) {
        zq_bot_redis(b, rc, "settle", &err);
        return; /* kept: written when Redis is back */
    }
    zq_bot_redis(b, 0, "settle", NULL);
    if (rc < 0)
        ZQ_ERROR("event=settle_failed err=\"%s\"", err.msg);
    for (int i = 0; i < n; i++) {
        job *j = owners[i];

        if (ops[i].kind == ZQ_SETTLE_DONE) {
            if (results[i] == 1) {
                b->n_sent++;
                ZQ_INFO("event=delivered notice=%s target=%s channel=%s parts=%d attempts=%d",
                        j->e.notice, j->e.target, ops[i].channel, ops[i].parts_done,
                        ops[i].attempts);
            } else if (rc == 0) {
                /* Someone confirmed it before us: it went out twice. */
                b->n_dup++;
                ZQ_WARN("event=duplicate_delivery notice=%s target=%s", j->e.notice, j->e.target);
            }
        }
    }
    for (int i = 0; i < n; i++)
        job_release(owners[i]);
}

/* Puts entries into free job slots. */
static void adopt(zq_bot *b, zq_entry *es, int n)
{
    int k = 0;

    for (int i = 0; i < n; i++) {
        while (k < b->njobs && b->jobs[k].state != J_FREE)
            k++;
        if (k == b->njobs) {
            /* Cannot happen (we read at most the free slots); the entry
             * stays pending and is claimed again later. */
            zq_entry_clear(&es[i]);
            continue;
        }
        b->jobs[k].e = es[i];
        b->jobs[k].state = J_NEW;
        memset(&es[i], 0, sizeof(es[i]));
    }
}

static bool ensure_group(zq_bot *b)
{
    zq_err err = {0};
    int rc;

    if (b->outbox_group_ok)
        return true;
    rc = zq_outbox_init(b->st, &err);
    zq_bot_redis(b, rc, "outbox_init", &err);
    if (rc == -ZQ_EREPLY)
        ZQ_ERROR("event=outbox_init_failed err=\"%s\"", err.msg);
    b->outbox_group_ok = rc == 0;
    return b->outbox_group_ok;
}

static void read_more(zq_bot *b, int64_t now)
{
    int free_jobs = count_state(b, J_FREE);
    int waiting = count_state(b, J_NEW) + count_state(b, J_READY);
    int want = free_jobs < b->cfg->bot.max_transfers ? free_jobs : b->cfg->bot.max_transfers;
    zq_entry *es;
    zq_err err = {0};
    int n = 0, rc;

    if (b->stopping || want <= 0 || waiting >= b->cfg->bot.max_transfers ||
        now < b->next_read_mono || !ensure_group(b))
        return;
    es = calloc((size_t)want, sizeof(*es));
    if (es == NULL)
        return;
    rc = zq_outbox_read(b->st, b->consumer, want, es, &n, &err);
    zq_bot_redis(b, rc, "outbox_read", &err);
    if (rc == -ZQ_EREPLY) {
        ZQ_ERROR("event=outbox_read_failed err=\"%s\"", err.msg);
        b->outbox_group_ok = strstr(err.msg, "NOGROUP") == NULL;
    }
    adopt(b, es, n);
    free(es);
    b->next_read_mono = n > 0 ? now : now + b->cfg->bot.poll_ms;
}

static void claim_stale(zq_bot *b, int64_t now)
{
    int free_jobs = count_state(b, J_FREE);
    int64_t every = b->cfg->bot.claim_idle_ms / 2;

    if (b->stopping || now < b->next_claim_mono || free_jobs == 0 || !ensure_group(b))
        return;
    b->next_claim_mono = now + (every < 250 ? 250 : every);
    for (int lane = 0; lane < 2 && free_jobs > 0; lane++) {
        zq_entry *es = calloc((size_t)free_jobs, sizeof(*es));
        zq_err err = {0};
        int n = 0, rc;

        if (es == NULL)
            return;
        rc = zq_outbox_claim(b->st, b->consumer, lane == 1, b->cfg->bot.claim_idle_ms,
                             b->claim_cursor[lane], free_jobs, es, &n, &err);
        zq_bot_redis(b, rc, "outbox_claim", &err);
        if (n > 0)
            ZQ_INFO("event=claimed lane=%s entries=%d idle_ms=%d", lane ? "prio" : "main", n,
                    b->cfg->bot.claim_idle_ms);
        adopt(b, es, n);
        free(es);
        free_jobs -= n;
        /* More to take over: come back soon rather than in a while. */
        if (strcmp(b->claim_cursor[lane], "0-0") != 0)
            b->next_claim_mono = now;
    }
}

static void touch_held(zq_bot *b, int64_t now)
{
    const zq_entry **list;
    zq_err err = {0};
    int n = 0, rc;

    if (now < b->next_touch_mono)
        return;
    b->next_touch_mono = now + b->cfg->bot.claim_idle_ms / 3;
    list = calloc((size_t)b->njobs, sizeof(const zq_entry *));
    if (list == NULL)
        return;
    for (int k = 0; k < b->njobs; k++)
        if (b->jobs[k].state != J_FREE && b->jobs[k].e.sid[0] != '\0')
            list[n++] = &b->jobs[k].e;
    if (n > 0) {
        rc = zq_outbox_touch(b->st, b->consumer, list, n, &err);
        zq_bot_redis(b, rc, "outbox_touch", &err);
    }
    free(list);
}

static void move_due(zq_bot *b, int64_t now)
{
    zq_err err = {0};
    int moved = 0, rc;

    if (b->stopping || now < b->next_move_mono)
        return;
    rc = zq_outbox_move_due(b->st, zq_now_ms(), MOVE_BATCH, &moved, &err);
    zq_bot_redis(b, rc, "mover", &err);
    if (rc == -ZQ_EREPLY)
        ZQ_ERROR("event=mover_failed err=\"%s\"", err.msg);
    if (moved > 0) {
        ZQ_DEBUG("event=moved_due entries=%d", moved);
        b->next_read_mono = now;
    }
    b->next_move_mono = moved == MOVE_BATCH ? now : now + 200;
}

void zq_delivery_step(zq_bot *b, int64_t now)
{
    if (b->stopping) {
        /* Nothing new is started: what was read and not sent stays
         * pending and is claimed again later. */
        for (int k = 0; k < b->njobs; k++)
            if (b->jobs[k].state == J_NEW || b->jobs[k].state == J_READY)
                job_release(&b->jobs[k]);
        return;
    }
    move_due(b, now);
    touch_held(b, now);
    claim_stale(b, now);
    read_more(b, now);
    resolve_new(b);
    start_ready(b);
}

int zq_delivery_wait_ms(const zq_bot *b, int64_t now)
{
    int64_t next = now + b->cfg->bot.poll_ms;
    int ready = 0, settle_n = 0;

    for (int k = 0; k < b->njobs; k++) {
        ready += b->jobs[k].state == J_NEW || b->jobs[k].state == J_READY;
        settle_n += b->jobs[k].state == J_SETTLE;
    }
    if (settle_n > 0)
        return b->redis_ok ? 0 : 100;
    if (ready > 0 && zq_sender_free_slots(b->snd) > 0)
        return b->redis_ok ? 0 : 100;
    if (b->next_move_mono < next)
        next = b->next_move_mono;
    if (b->next_touch_mono < next)
        next = b->next_touch_mono;
    if (b->next_claim_mono < next)
        next = b->next_claim_mono;
    if (b->next_read_mono < next && count_state(b, J_FREE) > 0)
        next = b->next_read_mono;
    return next <= now ? 0 : (int)(next - now);
}
