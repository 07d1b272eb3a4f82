/* Images and files sent in a chat (include/zhuqi/chatmedia.h): zhuqi-bot
 * takes fetch jobs, downloads each file through the platform's media API
 * into the upload folder ([files] upload_temp_dir), checks it like a web
 * upload (type from its bytes, size, SHA-256), moves it into the file
 * store, attaches it to the chat's draft and answers in the chat (已收到,
 * or why not). A transfer that fails is tried again
 * (ZQ_CHATMEDIA_ATTEMPTS in all) before the user is told.
 *
 *   Telegram  GET {telegram}/bot<token>/getFile?file_id=ID ->
 *             {"ok":true,"result":{"file_path","file_size"}}; files over
 *             20 MB: 400 "Bad Request: file is too big"; then
 *             GET {telegram}/file/bot<token>/<file_path>
 *   WeCom     GET {wecom}/cgi-bin/media/get?access_token=T&media_id=M ->
 *             the bytes (Content-Disposition names the file), or JSON
 *             {"errcode": 40007 invalid media_id, 42001 expired token...}
 *
 * The transfers run in the loop's multi handle (sender.c) like every
 * delivery, so a slow platform holds only its own job: each job is a
 * small state machine (getFile -> download -> keep -> reply), at most
 * MEDIA_JOBS at once. The WeCom token comes from the shared cache
 * (apptoken.h) as for app messages; storing and attaching are local (a
 * rename and one script). On SIGTERM the downloads are aborted at once:
 * the temporary file goes, and the job is handed back without counting
 * a try, so the next bot takes it (a bot that dies leaves it to the
 * lease). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"
#include "zhuqi/apptoken.h"
#include "zhuqi/chatmedia.h"
#include "zhuqi/files.h"
#include "zhuqi/inbound.h"
#include "zhuqi/log.h"

#define LEASE_MS 120000
#define IDLE_MS 250
/* Jobs fetched at once: chat files are rare next to messages, and each
 * holds a sender slot while it downloads. */
#define MEDIA_JOBS 3

typedef enum outcome { DONE, RETRY, REFUSE, PENDING } outcome;

typedef enum mstate { M_FREE = 0, M_INFO, M_FILE } mstate;

/* One job's work: the transfer in flight, the temporary file and what
 * the user is told. */
typedef struct media_job {
    mstate state;
    zq_bot *b;
    json_t *job;      /* owned; NULL when free */
    FILE *f;          /* the download being written, or NULL */
    char path[512];   /* the download in the upload folder, "" none */
    char name[128];   /* the file's name from the platform */
    char why[160];    /* for the log */
    const char *user; /* the Chinese refusal (static), or NULL */
    bool wecom;
} fetch;

/* Opens a new file in the upload folder for the download. */
static int open_temp(fetch *x)
{
    int fd;

    if (zq_fmt(x->path, sizeof(x->path), "%s/chatmedia.XXXXXX", x->b->cfg->files.upload_temp_dir) <
        0) {
        x->path[0] = '\0';
        return -ZQ_ETOOBIG;
    }
    fd = mkstemp(x->path);
    if (fd < 0) {
        zq_fmt(x->why, sizeof(x->why), "mkstemp in %s: %s", x->b->cfg->files.upload_temp_dir,
               strerror(errno));
        x->path[0] = '\0';
        return -ZQ_EIO;
    }
    x->f = fdopen(fd, "wb");
    if (x->f == NULL) {
        close(fd);
        return -ZQ_EIO;
    }
    return 0;
}

/* Starts the download of url into a new temporary file (at most max
 * bytes; 4 x [bot] timeout_ms: a file takes longer than a message).
 * Returns PENDING, or RETRY (why set). */
static outcome start_download(fetch *x, const char *url, uint64_t max)
{
    if (open_temp(x) < 0) {
        if (x->why[0] == '\0')
            zq_fmt(x->why, sizeof(x->why), "cannot open a temporary file");
        return RETRY;
    }
    if (zq_sender_get_file(x->b->snd, url, x->f, max, x->b->cfg->bot.timeout_ms * 4, x) < 0) {
        zq_fmt(x->why, sizeof(x->why), "cannot start the download");
        return RETRY;
    }
    x->state = M_FILE;
    return PENDING;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* The outcome of a transfer's HTTP status (0: r->error says why). */
static outcome status_outcome(fetch *x, const zq_sent *r, const char *what)
{
    if (r->status == 200)
        return DONE;
    if (r->status == 0)
        zq_fmt(x->why, sizeof(x->why), "%s: %s", what, r->error);
    else if (x->why[0] == '\0')
        zq_fmt(x->why, sizeof(x->why), "%s: HTTP %ld", what, r->status);
    return r->status == 0 || r->status == 429 || r->status >= 500 ? RETRY : REFUSE;
}

static const char *const TOO_BIG = "文件过大，没有保存。";
static const char *const FAILED = "文件接收失败，没有保存。";

/* Starts Telegram's getFile. Returns PENDING or the outcome. */
static outcome telegram_begin(fetch *x)
{
    const zq_config *cfg = x->b->cfg;
    char url[1400], *esc;
    outcome o = REFUSE;

    if (cfg->telegram.bot_token[0] == '\0') {
        zq_fmt(x->why, sizeof(x->why), "telegram: no bot_token");
        return REFUSE;
    }
    esc = curl_easy_escape(NULL, jstr(x->job, "media_id"), 0);
    if (esc == NULL || zq_fmt(url, sizeof(url), "%s/bot%s/getFile?file_id=%s",
                              cfg->channels.telegram_base_url, cfg->telegram.bot_token, esc) < 0) {
        zq_fmt(x->why, sizeof(x->why), "telegram: getFile URL too long");
    } else if (zq_sender_start(x->b->snd, url, "", NULL, 0, NULL, 0, NULL, x) < 0) {
        zq_fmt(x->why, sizeof(x->why), "telegram: cannot start getFile");
        o = RETRY;
    } else {
        x->state = M_INFO;
        o = PENDING;
    }
    curl_free(esc);
    return o;
}

/* getFile's answer: starts the download. Returns PENDING or the
 * outcome. */
static outcome telegram_info(fetch *x, const zq_sent *r, uint64_t max)
{
    const zq_config *cfg = x->b->cfg;
    json_t *j = r->status != 0 ? json_loadb(r->body, r->len, 0, NULL) : NULL, *res;
    char url[1400];
    const char *fp;
    outcome o = REFUSE;

    res = json_object_get(j, "result");
    if (r->status != 200 || !json_is_true(json_object_get(j, "ok"))) {
        const char *d = jstr(j, "description");

        if (r->status == 400 && strstr(d, "file is too big") != NULL) {
            x->user = "文件过大，没有保存：Telegram 机器人只能接收不超过 20 MB 的文件。";
            zq_fmt(x->why, sizeof(x->why), "telegram getFile: %s", d);
            goto out;
        }
        if (d[0] != '\0')
            zq_fmt(x->why, sizeof(x->why), "telegram getFile: HTTP %ld %s", r->status, d);
        if (r->status == 200) {
            if (x->why[0] == '\0')
                zq_fmt(x->why, sizeof(x->why), "telegram getFile: not ok");
            o = RETRY;
        } else {
            o = status_outcome(x, r, "telegram getFile");
        }
        goto out;
    }
    fp = jstr(res, "file_path");
    if (fp[0] == '\0' || strstr(fp, "..") != NULL) {
        zq_fmt(x->why, sizeof(x->why), "telegram getFile: no usable file_path");
        goto out;
    }
    if ((uint64_t)json_integer_value(json_object_get(res, "file_size")) > max) {
        x->user = TOO_BIG;
        zq_fmt(x->why, sizeof(x->why), "telegram: file_size over the limit");
        goto out;
    }
    zq_fmt(x->name, sizeof(x->name), "%s", strrchr(fp, '/') ? strrchr(fp, '/') + 1 : fp);
    if (zq_fmt(url, sizeof(url), "%s/file/bot%s/%s", cfg->channels.telegram_base_url,
               cfg->telegram.bot_token, fp) < 0) {
        zq_fmt(x->why, sizeof(x->why), "telegram: file URL too long");
        goto out;
    }
    o = start_download(x, url, max);
out:
    json_decref(j);
    return o;
}

/* WeCom answers a refusal of media/get as JSON (HTTP 200): its errcode. */
static long wecom_errcode(const char *path, char *msg, size_t msgsz)
{
    char buf[2048];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    json_t *j;
    long code = -1;

    if (f != NULL)
        fclose(f);
    j = json_loadb(buf, n, 0, NULL);
    if (json_is_integer(json_object_get(j, "errcode")))
        code = (long)json_integer_value(json_object_get(j, "errcode"));
    zq_fmt(msg, msgsz, "%s", jstr(j, "errmsg"));
    json_decref(j);
    return code;
}

/* Takes the app's token (cached; fetched when there is none, as for app
 * messages) and starts media/get. Returns PENDING or the outcome. */
static outcome wecom_begin(fetch *x, uint64_t max)
{
    const zq_config *cfg = x->b->cfg;
    zq_apptoken_app app;
    zq_err err = {0};
    char tok[ZQ_APPTOKEN_MAX], url[1400], *esc = NULL;
    outcome o = REFUSE;
    int rc;

    x->wecom = true;
    if (zq_apptoken_for(cfg, ZQ_AUTH_WECOM, &app) < 0)
        return REFUSE;
    rc = zq_apptoken_get(x->b->st, &app, false, cfg->bot.timeout_ms, tok, &err);
    if (rc < 0) {
        zq_fmt(x->why, sizeof(x->why), "wecom token: %s", err.msg);
        return rc == -ZQ_EAUTH ? REFUSE : RETRY;
    }
    esc = curl_easy_escape(NULL, jstr(x->job, "media_id"), 0);
    if (esc == NULL || zq_fmt(url, sizeof(url), "%s/cgi-bin/media/get?access_token=%s&media_id=%s",
                              cfg->channels.wecom_base_url, tok, esc) < 0)
        zq_fmt(x->why, sizeof(x->why), "wecom: media/get URL too long");
    else
        o = start_download(x, url, max);
    curl_free(esc);
    return o;
}

/* A finished download (x->f closed): DONE when the bytes are there. */
static outcome downloaded(fetch *x, const zq_sent *r)
{
    const char *what = x->wecom ? "wecom media/get" : "telegram file download";
    char emsg[120];
    zq_apptoken_app app;
    zq_err err = {0};
    outcome o;
    long code;

    if (r->too_big) {
        x->user = TOO_BIG;
        zq_fmt(x->why, sizeof(x->why), "%s: the file is over the limit", what);
        return REFUSE;
    }
    if ((o = status_outcome(x, r, what)) != DONE || !x->wecom)
        return o;
    if (strncasecmp(r->content_type, "application/json", 16) == 0 ||
        strncasecmp(r->content_type, "text/plain", 10) == 0) {
        code = wecom_errcode(x->path, emsg, sizeof(emsg));
        zq_fmt(x->why, sizeof(x->why), "wecom media/get: errcode %ld %s", code, emsg);
        /* A token WeCom no longer takes: fetched again on the retry (the
         * app from the current configuration: a SIGHUP may have come). */
        if (code == 40014 || code == 42001 || code == 40001) {
            if (zq_apptoken_for(x->b->cfg, ZQ_AUTH_WECOM, &app) == 0)
                zq_apptoken_forget(x->b->st, &app, &err);
            return RETRY;
        }
        return code == -1 || code == 45009 ? RETRY : REFUSE;
    }
    zq_fmt(x->name, sizeof(x->name), "%s", r->filename);
    return DONE;
}

/* "12.5 MB", "300 KB". */
static void size_text(uint64_t n, char *out, size_t outsz)
{
    if (n >= 1048576 && n % 1048576 == 0)
        zq_fmt(out, outsz, "%llu MB", (unsigned long long)(n / 1048576));
    else if (n >= 1048576)
        zq_fmt(out, outsz, "%llu.%llu MB", (unsigned long long)(n / 1048576),
               (unsigned long long)(n % 1048576 * 10 / 1048576));
    else
        zq_fmt(out, outsz, "%llu KB", (unsigned long long)((n + 1023) / 1024));
}

/* A name for people: the platform's, else one from the type. Names are
 * shown, never used as paths; control characters are dropped. */
static void pick_name(fetch *x, const zq_file_info *info, char *out, size_t outsz)
{
    const char *n = jstr(x->job, "name")[0] ? jstr(x->job, "name") : x->name;
    size_t i, k = 0;

    for (i = 0; n[i] != '\0' && k + 1 < outsz; i++)
        if ((unsigned char)n[i] >= 0x20 && n[i] != 0x7f)
            out[k++] = n[i];
    out[k] = '\0';
    if (k == 0 || !zq_utf8_valid(out, k))
        zq_fmt(out, outsz, "%s",
               strcmp(info->type, "application/pdf") == 0 ? "文件.pdf"
               : strcmp(info->type, "image/png") == 0     ? "图片.png"
                                                          : "图片.jpg");
}

/* Checks, stores and attaches the download. Returns the outcome; the
 * reply for the user in reply (DONE) or x->user (REFUSE). */
static outcome keep(fetch *x, uint64_t max, char *reply, size_t replysz)
{
    const zq_config *cfg = x->b->cfg;
    zq_files_limits lim = {cfg->files.max_files, cfg->files.max_case_size};
    zq_file_info info;
    zq_err err = {0};
    char fid[ZQ_FILE_ID_LEN + 1], name[128], size[32], by[32];
    json_t *rec = NULL;
    outcome o = REFUSE;
    int rc;

    rc = zq_file_inspect(x->path, max, &info, &err);
    if (rc == -ZQ_ETOOBIG) {
        x->user = TOO_BIG;
        zq_fmt(x->why, sizeof(x->why), "over max_file_size");
        return REFUSE;
    }
    if (rc == -ZQ_EINVAL) {
        x->user = "这个文件的类型不能接收，没有保存：只接收 JPG、PNG 图片和 PDF 文件。";
        zq_fmt(x->why, sizeof(x->why), "type not accepted");
        return REFUSE;
    }
    if (rc < 0) {
        zq_fmt(x->why, sizeof(x->why), "inspect: %s", err.msg);
        return RETRY;
    }
    pick_name(x, &info, name, sizeof(name));
    if (zq_random_hex(fid, ZQ_FILE_ID_LEN / 2) < 0 ||
        zq_fmt(by, sizeof(by), "chat:%s", jstr(x->job, "channel")) < 0)
        return RETRY;
    rc = zq_filestore_put_path(x->b->app->files, x->path, fid, &err);
    if (rc < 0) {
        zq_fmt(x->why, sizeof(x->why), "store: %s", err.msg);
        return RETRY;
    }
    x->path[0] = '\0'; /* moved into the store */
    rec = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "id", fid, "field",
                    jstr(x->job, "field"), "kind", jstr(x->job, "kind"), "name", name, "size",
                    (json_int_t)info.size, "type", info.type, "sha256", info.sha256, "by", by,
                    "at_ms", (json_int_t)zq_now_ms());
    rc = rec ? zq_chatmedia_attach(x->b->st, x->job, rec, &lim, zq_now_ms(), NULL, NULL, &err)
             : -ZQ_ENOMEM;
    json_decref(rec);
    if (rc == 0) {
        size_text(info.size, size, sizeof(size));
        zq_fmt(reply, replysz, "已收到：%s（%s）", name, size);
        ZQ_INFO("event=chat_media_attached channel=%s id=%s type=%s size=%llu",
                jstr(x->job, "channel"), fid, info.type, (unsigned long long)info.size);
        return DONE;
    }
    /* Not attached: the bytes go again. */
    if (zq_filestore_remove(x->b->app->files, fid, &err) < 0)
        ZQ_ERROR("event=file_remove_failed id=%s err=\"%s\"", fid, err.msg);
    zq_fmt(x->why, sizeof(x->why), "attach: %s", rc == -ZQ_ENOTFOUND ? "draft ended" : err.msg);
    if (rc == -ZQ_ENOTFOUND)
        x->user = "填写已经结束或取消，这个文件没有保存。";
    else if (rc == -ZQ_ECONFLICT)
        x->user = "文件数量已达上限，这个文件没有保存。";
    else if (rc == -ZQ_ETOOBIG)
        x->user = "文件总大小已达上限，这个文件没有保存。";
    else
        o = RETRY;
    return o;
}

/* Queues text for job's chat on the priority lane: Telegram sendMessage
 * to its chat, WeCom an app message to its member. Returns 0 or a
 * negative code. */
static int queue_reply(const zq_bot *b, json_t *job, const char *text, zq_err *err)
{
    static const char *const headers[] = {"Content-Type: application/json; charset=utf-8"};
    const zq_config *cfg = b->cfg;
    const char *channel = jstr(job, "channel"), *to = jstr(job, "reply_to");
    zq_chat_outbox ob = {0};
    char url[1024], *body = NULL;
    long long chat;
    json_t *j;
    int rc;

    if (strcmp(channel, "wecom") == 0) {
        rc = zq_inbound_wecom_app_parts(cfg, jstr(job, "user"), text, strlen(text), &ob, err);
    } else if (strcmp(channel, "telegram") == 0 && cfg->telegram.bot_token[0] != '\0' &&
               zq_parse_ll(to, strlen(to), -9223372036854775807LL, 9223372036854775807LL, &chat) ==
                   0 &&
               zq_fmt(url, sizeof(url), "%s/bot%s/sendMessage", cfg->channels.telegram_base_url,
                      cfg->telegram.bot_token) == 0) {
        j = json_pack("{s:I, s:s}", "chat_id", (json_int_t)chat, "text", text);
        body = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        rc = body == NULL ? zq_err_set(err, ZQ_ENOMEM, "chat media: out of memory")
                          : zq_chat_outbox_push(&ob, "telegram", url, body, headers, 1, NULL, 0);
    } else {
        rc = zq_err_set(err, ZQ_EINVAL, "chat media: cannot answer %s chat %s", channel, to);
    }
    if (rc == 0)
        rc = zq_chat_outbox_send(b->st, &ob, zq_now_ms(), err);
    free(body);
    zq_chat_outbox_clear(&ob);
    return rc;
}

static void reply(zq_bot *b, json_t *job, const char *text)
{
    zq_err err = {0};

    if (queue_reply(b, job, text, &err) < 0)
        ZQ_ERROR("event=chat_media_reply_failed channel=%s err=\"%s\"", jstr(job, "channel"),
                 err.msg);
}

/* Closes and removes the temporary file, if any. */
static void drop_temp(fetch *x)
{
    if (x->f != NULL)
        fclose(x->f);
    x->f = NULL;
    if (x->path[0] != '\0')
        unlink(x->path);
    x->path[0] = '\0';
}

static void release(fetch *x)
{
    drop_temp(x);
    json_decref(x->job);
    memset(x, 0, sizeof(*x));
}

/* Ends a job with outcome o: stores it (DONE), schedules another try or
 * tells the user, and frees the slot. */
static void finish(fetch *x, outcome o)
{
    zq_bot *b = x->b;
    uint64_t max = b->cfg->files.max_file_size;
    zq_err err = {0};
    char text[400];
    const char *ch = jstr(x->job, "channel");
    int attempts;

    text[0] = '\0';
    if (o == DONE)
        o = keep(x, max, text, sizeof(text));
    drop_temp(x);
    attempts = (int)json_integer_value(json_object_get(x->job, "attempts")) + 1;
    if (o == RETRY && attempts < ZQ_CHATMEDIA_ATTEMPTS) {
        ZQ_WARN("event=chat_media_retry channel=%s attempt=%d err=\"%s\"", ch, attempts, x->why);
        json_object_set_new(x->job, "attempts", json_integer(attempts));
        /* 2 s, then 4 s: a platform's short outage passes. */
        if (zq_chatmedia_retry(b->st, x->job, zq_now_ms() + (2000LL << (attempts - 1)), &err) < 0)
            ZQ_ERROR("event=chat_media_retry_failed err=\"%s\"", err.msg);
        release(x);
        return;
    }
    if (o != DONE) {
        ZQ_WARN("event=chat_media_refused channel=%s attempts=%d err=\"%s\"", ch, attempts, x->why);
        if (o == RETRY)
            zq_fmt(
                text, sizeof(text), "%s",
                "文件接收失败（平台暂时无法下载），没有保存。请稍后重新发送，或回复“网页填写”在网"
                "页上传。");
        else if (x->user == TOO_BIG)
            zq_fmt(text, sizeof(text), "%s单个文件不能超过 %llu MB，请压缩或分成几个文件后再发送。",
                   TOO_BIG, (unsigned long long)(max / 1048576));
        else
            zq_fmt(text, sizeof(text), "%s", x->user ? x->user : FAILED);
    }
    reply(b, x->job, text);
    if (zq_chatmedia_done(b->st, x->job, &err) < 0)
        ZQ_ERROR("event=chat_media_done_failed err=\"%s\"", err.msg);
    release(x);
}

/* Stopping: the job goes back to the queue at once, without counting a
 * try (should that fail, the lease returns it). */
static void abandon(fetch *x)
{
    zq_err err = {0};

    ZQ_INFO("event=chat_media_abandoned channel=%s msg=\"stopping\"", jstr(x->job, "channel"));
    drop_temp(x);
    if (zq_chatmedia_retry(x->b->st, x->job, zq_now_ms(), &err) < 0)
        ZQ_WARN("event=chat_media_release_failed err=\"%s\"", err.msg);
    release(x);
}

bool zq_media_done(zq_bot *b, const zq_sent *r)
{
    uint64_t max = b->cfg->files.max_file_size;
    fetch *x = NULL;
    outcome o;

    for (int i = 0; b->media != NULL && i < MEDIA_JOBS; i++)
        if (r->ctx == (void *)&b->media[i] && b->media[i].state != M_FREE)
            x = &b->media[i];
    if (x == NULL)
        return false;
    if (x->state == M_FILE && x->f != NULL) {
        bool bad = fclose(x->f) != 0;

        x->f = NULL;
        if (bad && r->status == 200) {
            zq_fmt(x->why, sizeof(x->why), "writing %s failed", x->path);
            finish(x, RETRY);
            return true;
        }
    }
    /* Stopping: nothing new starts (a getFile answered goes back too). */
    if (b->stopping && (x->state == M_INFO || strcmp(r->error, "aborted") == 0)) {
        abandon(x);
        return true;
    }
    o = x->state == M_INFO ? telegram_info(x, r, max) : downloaded(x, r);
    if (o != PENDING)
        finish(x, o);
    return true;
}

void zq_media_step(zq_bot *b, int64_t now_mono)
{
    uint64_t max;
    zq_err err = {0};
    int rc;

    if (b->app->files == NULL)
        return;
    if (b->stopping) {
        /* A download may take minutes: not worth the stop's grace. */
        for (int i = 0; b->media != NULL && i < MEDIA_JOBS; i++)
            if (b->media[i].state != M_FREE)
                zq_sender_abort(b->snd, &b->media[i]);
        return;
    }
    if (now_mono < b->next_media_mono)
        return;
    if (b->media == NULL && (b->media = calloc(MEDIA_JOBS, sizeof(*b->media))) == NULL)
        return;
    max = b->cfg->files.max_file_size;
    for (int i = 0; i < MEDIA_JOBS && zq_sender_free_slots(b->snd) > 0; i++) {
        fetch *x = &b->media[i];
        const char *ch;
        outcome o;

        if (x->state != M_FREE || x->job != NULL)
            continue;
        rc = zq_chatmedia_take(b->st, zq_now_ms(), LEASE_MS, &x->job, &err);
        zq_bot_redis(b, rc == -ZQ_EUNAVAIL ? rc : 0, "chat_media", &err);
        if (rc <= 0) {
            b->next_media_mono = now_mono + IDLE_MS;
            return;
        }
        x->b = b;
        ch = jstr(x->job, "channel");
        o = strcmp(ch, "telegram") == 0 ? telegram_begin(x)
            : strcmp(ch, "wecom") == 0  ? wecom_begin(x, max)
                                        : REFUSE;
        if (o != PENDING)
            finish(x, o);
    }
}

void zq_media_free(zq_bot *b)
{
    for (int i = 0; b->media != NULL && i < MEDIA_JOBS; i++)
        if (b->media[i].job != NULL)
            abandon(&b->media[i]);
    free(b->media);
    b->media = NULL;
}
