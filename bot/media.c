/* Images and files sent in a chat (include/zhuqi/chatmedia.h): zhuqi-bot
 * takes one fetch job at a time, downloads the file through the
 * platform's media API into the upload folder ([files] upload_temp_dir),
 * checks it like a web upload (type from its bytes, size, SHA-256), moves
 * it into the file store, attaches it to the chat's draft and answers in
 * the chat (已收到, or why not). A transfer that fails is tried again
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
 * The transfers are synchronous (libcurl easy, bounded by [bot]
 * timeout_ms and the size limit), one job per loop turn: chat files are
 * rare next to messages, and a job never holds the loop longer than one
 * download's timeout. */
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
#define SMALL_MAX 65536

typedef enum outcome { DONE, RETRY, REFUSE } outcome;

/* One job's work: the temporary file and what the user is told. */
typedef struct fetch {
    zq_bot *b;
    json_t *job;
    char path[512];   /* the download in the upload folder, "" none */
    char name[128];   /* the file's name from the platform */
    char why[160];    /* for the log */
    const char *user; /* the Chinese refusal (static), or NULL */
} fetch;

/* A transfer's sink: memory (small answers) or the file, with a limit. */
typedef struct sink {
    FILE *f;
    zq_buf mem;
    uint64_t n, max;
    bool over;
    char ctype[128];
    char disp_name[128];
} sink;

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    sink *s = ud;
    size_t n = sz * nm;

    if (s->n + n > s->max) {
        s->over = true;
        return 0;
    }
    s->n += n;
    if (s->f != NULL)
        return fwrite(p, 1, n, s->f);
    zq_buf_append(&s->mem, p, n);
    return s->mem.oom ? 0 : n;
}

/* Keeps Content-Type and a Content-Disposition filename="..." (WeCom's
 * name of the file). */
static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    sink *s = ud;
    size_t n = sz * nm, k;
    char line[512];

    if (n >= sizeof(line))
        return n;
    memcpy(line, p, n);
    line[n] = '\0';
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        line[--n] = '\0';
    if (strncasecmp(line, "Content-Type:", 13) == 0) {
        const char *v = line + 13 + strspn(line + 13, " ");
        zq_fmt(s->ctype, sizeof(s->ctype), "%s", v);
    } else if (strncasecmp(line, "Content-Disposition:", 20) == 0) {
        const char *f = strstr(line, "filename=\"");

        if (f != NULL) {
            f += 10;
            k = strcspn(f, "\"");
            if (k > 0 && k < sizeof(s->disp_name)) {
                memcpy(s->disp_name, f, k);
                s->disp_name[k] = '\0';
            }
        }
    }
    return sz * nm;
}

/* GETs url into s. Returns the HTTP status, or 0 (transport error: why
 * says which). */
static long get(const zq_bot *b, const char *url, sink *s, char *why, size_t whysz)
{
    CURL *c = curl_easy_init();
    long status = 0;
    CURLcode cc;

    if (c == NULL) {
        zq_fmt(why, whysz, "curl_easy_init failed");
        return 0;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)b->cfg->bot.timeout_ms * 4);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)b->cfg->bot.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "zhuqi-bot/" ZQ_VERSION);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && s->over))
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        zq_fmt(why, whysz, "%s", curl_easy_strerror(cc));
    curl_easy_cleanup(c);
    return status;
}

/* Opens a new file in the upload folder for the download. */
static int open_temp(fetch *x, sink *s)
{
    int fd;

    if (zq_fmt(x->path, sizeof(x->path), "%s/chatmedia.XXXXXX", x->b->cfg->files.upload_temp_dir) <
        0)
        return -ZQ_ETOOBIG;
    fd = mkstemp(x->path);
    if (fd < 0) {
        zq_fmt(x->why, sizeof(x->why), "mkstemp in %s: %s", x->b->cfg->files.upload_temp_dir,
               strerror(errno));
        x->path[0] = '\0';
        return -ZQ_EIO;
    }
    s->f = fdopen(fd, "wb");
    if (s->f == NULL) {
        close(fd);
        return -ZQ_EIO;
    }
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

/* The outcome of a download's HTTP status. */
static outcome status_outcome(fetch *x, long status, const char *what)
{
    if (status == 200)
        return DONE;
    if (x->why[0] == '\0')
        zq_fmt(x->why, sizeof(x->why), "%s: HTTP %ld", what, status);
    return status == 0 || status == 429 || status >= 500 ? RETRY : REFUSE;
}

static const char *const TOO_BIG = "文件过大，没有保存。";
static const char *const FAILED = "文件接收失败，没有保存。";

static outcome telegram_fetch(fetch *x, uint64_t max)
{
    const zq_config *cfg = x->b->cfg;
    sink s = {.max = SMALL_MAX};
    char url[1400], *esc = NULL;
    const char *fp;
    json_t *j = NULL, *res;
    long status;
    outcome o = REFUSE;

    if (cfg->telegram.bot_token[0] == '\0') {
        zq_fmt(x->why, sizeof(x->why), "telegram: no bot_token");
        return REFUSE;
    }
    esc = curl_easy_escape(NULL, jstr(x->job, "media_id"), 0);
    if (esc == NULL || zq_fmt(url, sizeof(url), "%s/bot%s/getFile?file_id=%s",
                              cfg->channels.telegram_base_url, cfg->telegram.bot_token, esc) < 0) {
        zq_fmt(x->why, sizeof(x->why), "telegram: getFile URL too long");
        goto out;
    }
    status = get(x->b, url, &s, x->why, sizeof(x->why));
    j = s.mem.data ? json_loadb(s.mem.data, s.mem.len, 0, NULL) : NULL;
    res = json_object_get(j, "result");
    if (status != 200 || !json_is_true(json_object_get(j, "ok"))) {
        const char *d = jstr(j, "description");

        if (status == 400 && strstr(d, "file is too big") != NULL) {
            x->user = "文件过大，没有保存：Telegram 机器人只能接收不超过 20 MB 的文件。";
            zq_fmt(x->why, sizeof(x->why), "telegram getFile: %s", d);
            goto out;
        }
        if (d[0] != '\0')
            zq_fmt(x->why, sizeof(x->why), "telegram getFile: HTTP %ld %s", status, d);
        o = status_outcome(x, status == 200 ? 502 : status, "telegram getFile");
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
    if (strrchr(fp, '/') != NULL)
        zq_fmt(x->name, sizeof(x->name), "%s", strrchr(fp, '/') + 1);
    else
        zq_fmt(x->name, sizeof(x->name), "%s", fp);
    if (zq_fmt(url, sizeof(url), "%s/file/bot%s/%s", cfg->channels.telegram_base_url,
               cfg->telegram.bot_token, fp) < 0) {
        zq_fmt(x->why, sizeof(x->why), "telegram: file URL too long");
        goto out;
    }
    zq_buf_free(&s.mem);
    memset(&s, 0, sizeof(s));
    s.max = max + 1;
    if (open_temp(x, &s) < 0) {
        o = RETRY;
        goto out;
    }
    status = get(x->b, url, &s, x->why, sizeof(x->why));
    if (fclose(s.f) != 0 && status == 200)
        status = 0;
    s.f = NULL;
    if (s.over) {
        x->user = TOO_BIG;
        zq_fmt(x->why, sizeof(x->why), "telegram: the file is over the limit");
        goto out;
    }
    o = status_outcome(x, status, "telegram file download");
out:
    if (s.f != NULL)
        fclose(s.f);
    json_decref(j);
    zq_buf_free(&s.mem);
    curl_free(esc);
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

static outcome wecom_fetch(fetch *x, uint64_t max)
{
    const zq_config *cfg = x->b->cfg;
    zq_apptoken_app app;
    zq_err err = {0};
    char tok[ZQ_APPTOKEN_MAX], url[1400], emsg[120], *esc = NULL;
    sink s = {.max = max + 1};
    long status, code;
    outcome o = REFUSE;
    int rc;

    if (zq_apptoken_for(cfg, ZQ_AUTH_WECOM, &app) < 0)
        return REFUSE;
    rc = zq_apptoken_get(x->b->st, &app, false, cfg->bot.timeout_ms, tok, &err);
    if (rc < 0) {
        zq_fmt(x->why, sizeof(x->why), "wecom token: %s", err.msg);
        return rc == -ZQ_EAUTH ? REFUSE : RETRY;
    }
    esc = curl_easy_escape(NULL, jstr(x->job, "media_id"), 0);
    if (esc == NULL || zq_fmt(url, sizeof(url), "%s/cgi-bin/media/get?access_token=%s&media_id=%s",
                              cfg->channels.wecom_base_url, tok, esc) < 0) {
        zq_fmt(x->why, sizeof(x->why), "wecom: media/get URL too long");
        goto out;
    }
    if (open_temp(x, &s) < 0) {
        o = RETRY;
        goto out;
    }
    status = get(x->b, url, &s, x->why, sizeof(x->why));
    if (fclose(s.f) != 0 && status == 200)
        status = 0;
    s.f = NULL;
    if (s.over) {
        x->user = TOO_BIG;
        zq_fmt(x->why, sizeof(x->why), "wecom: the file is over the limit");
        goto out;
    }
    if ((o = status_outcome(x, status, "wecom media/get")) != DONE)
        goto out;
    if (strncasecmp(s.ctype, "application/json", 16) == 0 ||
        strncasecmp(s.ctype, "text/plain", 10) == 0) {
        code = wecom_errcode(x->path, emsg, sizeof(emsg));
        zq_fmt(x->why, sizeof(x->why), "wecom media/get: errcode %ld %s", code, emsg);
        /* A token WeCom no longer takes: fetched again on the retry. */
        if (code == 40014 || code == 42001 || code == 40001) {
            zq_apptoken_forget(x->b->st, &app, &err);
            o = RETRY;
        } else {
            o = code == -1 || code == 45009 ? RETRY : REFUSE;
        }
        goto out;
    }
    zq_fmt(x->name, sizeof(x->name), "%s", s.disp_name);
out:
    if (s.f != NULL)
        fclose(s.f);
    curl_free(esc);
    return o;
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

/* Runs one job; true when there was one. */
static bool run_one(zq_bot *b)
{
    const zq_config *cfg = b->cfg;
    uint64_t max = cfg->files.max_file_size;
    fetch x = {.b = b};
    zq_err err = {0};
    char text[400];
    const char *ch;
    outcome o;
    int rc, attempts;

    rc = zq_chatmedia_take(b->st, zq_now_ms(), LEASE_MS, &x.job, &err);
    zq_bot_redis(b, rc == -ZQ_EUNAVAIL ? rc : 0, "chat_media", &err);
    if (rc <= 0)
        return false;
    ch = jstr(x.job, "channel");
    text[0] = '\0';
    o = strcmp(ch, "telegram") == 0 ? telegram_fetch(&x, max)
        : strcmp(ch, "wecom") == 0  ? wecom_fetch(&x, max)
                                    : REFUSE;
    if (o == DONE)
        o = keep(&x, max, text, sizeof(text));
    if (x.path[0] != '\0')
        unlink(x.path);
    attempts = (int)json_integer_value(json_object_get(x.job, "attempts")) + 1;
    if (o == RETRY && attempts < ZQ_CHATMEDIA_ATTEMPTS) {
        ZQ_WARN("event=chat_media_retry channel=%s attempt=%d err=\"%s\"", ch, attempts, x.why);
        json_object_set_new(x.job, "attempts", json_integer(attempts));
        /* 2 s, then 4 s: a platform's short outage passes. */
        if (zq_chatmedia_retry(b->st, x.job, zq_now_ms() + (2000LL << (attempts - 1)), &err) < 0)
            ZQ_ERROR("event=chat_media_retry_failed err=\"%s\"", err.msg);
        json_decref(x.job);
        return true;
    }
    if (o == DONE) {
        reply(b, x.job, text);
    } else {
        ZQ_WARN("event=chat_media_refused channel=%s attempts=%d err=\"%s\"", ch, attempts, x.why);
        if (o == RETRY)
            zq_fmt(
                text, sizeof(text), "%s",
                "文件接收失败（平台暂时无法下载），没有保存。请稍后重新发送，或回复“网页填写”在网"
                "页上传。");
        else if (x.user == TOO_BIG)
            zq_fmt(text, sizeof(text), "%s单个文件不能超过 %llu MB，请压缩或分成几个文件后再发送。",
                   TOO_BIG, (unsigned long long)(max / 1048576));
        else
            zq_fmt(text, sizeof(text), "%s", x.user ? x.user : FAILED);
        reply(b, x.job, text);
    }
    if (zq_chatmedia_done(b->st, x.job, &err) < 0)
        ZQ_ERROR("event=chat_media_done_failed err=\"%s\"", err.msg);
    json_decref(x.job);
    return true;
}

void zq_media_step(zq_bot *b, int64_t now_mono)
{
    if (b->app->files == NULL || b->stopping || now_mono < b->next_media_mono)
        return;
    b->next_media_mono = run_one(b) ? now_mono : now_mono + IDLE_MS;
}
