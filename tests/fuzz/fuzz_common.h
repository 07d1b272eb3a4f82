/* What the libFuzzer targets in tests/fuzz share: a reader that splits one
 * fuzz input into a mode byte, short lines and a rest, a per-process
 * scratch folder for parsers that read files, the repository root (for the
 * real forms and regions), a configuration with the keys of
 * tests/data/inbound/vectors.json, and a fatal check for properties that
 * must hold (a violation is reported by libFuzzer as a crash). */
#ifndef ZHUQI_FUZZ_COMMON_H
#define ZHUQI_FUZZ_COMMON_H

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "zhuqi/config.h"
#include "zhuqi/dialogue.h"
#include "zhuqi/inbound.h"
#include "zhuqi/log.h"

#ifndef ZQ_FUZZ_ROOT
#define ZQ_FUZZ_ROOT "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property that must hold for every input: abort so that libFuzzer keeps
 * the input as a crash artifact. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- reading the input ---- */

typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

/* The next byte, 0 when the input is used up. */
static inline uint8_t fuzz_u8(fuzz_in *in)
{
    uint8_t c;

    if (in->n == 0)
        return 0;
    c = in->p[0];
    in->p++;
    in->n--;
    return c;
}

/* The bytes up to the next '\n' (not included; consumed), at most max of
 * them, as a new NUL-terminated string (free with free()); the whole rest
 * when there is no '\n'. Never NULL unless out of memory. */
static inline char *fuzz_line(fuzz_in *in, size_t max)
{
    const uint8_t *nl = memchr(in->p, '\n', in->n);
    size_t len = nl ? (size_t)(nl - in->p) : in->n;
    size_t take = len < max ? len : max;
    char *s = malloc(take + 1);

    if (s == NULL)
        abort();
    memcpy(s, in->p, take);
    s[take] = '\0';
    in->p += nl ? len + 1 : len;
    in->n -= nl ? len + 1 : len;
    return s;
}

/* The rest of the input as a new NUL-terminated copy (so that parsers that
 * are handed a length never find a NUL they were promised); *len gets its
 * length. */
static inline char *fuzz_rest(fuzz_in *in, size_t *len)
{
    char *s = malloc(in->n + 1);

    if (s == NULL)
        abort();
    if (in->n > 0)
        memcpy(s, in->p, in->n);
    s[in->n] = '\0';
    *len = in->n;
    in->p += in->n;
    in->n = 0;
    return s;
}

/* ---- files ---- */

/* The repository root: $ZQ_FUZZ_ROOT, else the folder the target was built
 * from. */
static inline const char *fuzz_root(void)
{
    const char *r = getenv("ZQ_FUZZ_ROOT");

    return r != NULL && r[0] != '\0' ? r : ZQ_FUZZ_ROOT;
}

/* A path below the repository root, in one of four rotating buffers. */
static inline const char *fuzz_path(const char *rel)
{
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", fuzz_root(), rel);
    return p;
}

static char fuzz_tmp_dir[512];

static inline void fuzz_rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1024];

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            if (unlink(p) != 0)
                fuzz_rm_tree(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static inline void fuzz_tmp_cleanup(void)
{
    if (fuzz_tmp_dir[0] != '\0')
        fuzz_rm_tree(fuzz_tmp_dir);
}

/* A scratch folder of this process, removed at exit. */
static inline const char *fuzz_tmp(void)
{
    const char *base;

    if (fuzz_tmp_dir[0] != '\0')
        return fuzz_tmp_dir;
    base = getenv("TMPDIR");
    snprintf(fuzz_tmp_dir, sizeof(fuzz_tmp_dir), "%s/zq-fuzz-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(fuzz_tmp_dir) == NULL) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_tmp_cleanup);
    return fuzz_tmp_dir;
}

/* Writes len bytes to path (created or truncated). */
static inline void fuzz_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len)) {
        perror(path);
        abort();
    }
    fclose(f);
}

/* Empties dir (a folder of the scratch folder) of its files. */
static inline void fuzz_clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1024];

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
}

/* ---- the inbound adapters ---- */

/* The time of the vectors' requests (2025-11-26T00:00:00Z), in ms. */
#define FUZZ_NOW_MS 1764115200000LL

/* A fabricated request for an adapter: headers and query parameters. */
typedef struct fuzz_http {
    const char *hn[8], *hv[8];
    int nh;
    const char *qn[8], *qv[8];
    int nq;
} fuzz_http;

static inline const char *fuzz_http_header(void *ctx, const char *name)
{
    const fuzz_http *f = ctx;

    for (int i = 0; i < f->nh; i++)
        if (strcasecmp(f->hn[i], name) == 0)
            return f->hv[i];
    return NULL;
}

static inline const char *fuzz_http_query(void *ctx, const char *name)
{
    const fuzz_http *f = ctx;

    for (int i = 0; i < f->nq; i++)
        if (strcmp(f->qn[i], name) == 0)
            return f->qv[i];
    return NULL;
}

static inline void fuzz_http_add_header(fuzz_http *f, const char *name, const char *value)
{
    FUZZ_CHECK(f->nh < 8);
    f->hn[f->nh] = name;
    f->hv[f->nh++] = value;
}

static inline void fuzz_http_add_query(fuzz_http *f, const char *name, const char *value)
{
    FUZZ_CHECK(f->nq < 8);
    f->qn[f->nq] = name;
    f->qv[f->nq++] = value;
}

/* A POST to an adapter, its headers and query taken from f, at FUZZ_NOW_MS. */
static inline void fuzz_http_post(zq_inbound_http *h, fuzz_http *f)
{
    memset(h, 0, sizeof(*h));
    h->method = "POST";
    h->header = fuzz_http_header;
    h->query = fuzz_http_query;
    h->ctx = f;
    h->now_ms = FUZZ_NOW_MS;
}

/* The LLVMFuzzerInitialize of an adapter target that needs only cfg, the
 * configuration every adapter is fuzzed with. */
#define FUZZ_INBOUND_INITIALIZE(cfg)                                                               \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        fuzz_quiet();                                                                              \
        fuzz_inbound_config(&(cfg));                                                               \
        return 0;                                                                                  \
    }

/* A character array of a message is a terminated string. */
#define FUZZ_CHECK_STR(a) FUZZ_CHECK(memchr((a), '\0', sizeof(a)) != NULL)

/* An answer body that must be JSON. */
static inline void fuzz_check_json(const char *s, size_t len)
{
    json_t *j = json_loadb(s != NULL ? s : "", len, 0, NULL);

    FUZZ_CHECK(j != NULL);
    json_decref(j);
}

/* Runs adapter a over request h: checks what parse promises, then renders
 * an answer (the text echoed, and a long reply that must be split) and
 * checks that too. Returns the parse result; msg is cleared. */
static inline int fuzz_inbound_run(const zq_inbound_adapter *a, const zq_config *cfg,
                                   const zq_inbound_http *h, zq_inbound_msg *out_msg)
{
    zq_inbound_msg msg;
    zq_inbound_resp resp;
    zq_dialogue_replies r = {0};
    zq_chat_outbox ob = {0};
    zq_err err = {0};
    int rc, rrc;
    size_t i;

    memset(&msg, 0, sizeof(msg));
    memset(&resp, 0, sizeof(resp));
    rc = a->parse(cfg, h, &msg, &resp, &err);
    FUZZ_CHECK_STR(msg.user);
    FUZZ_CHECK_STR(msg.chat);
    FUZZ_CHECK_STR(msg.msg_id);
    FUZZ_CHECK_STR(msg.reply_url);
    FUZZ_CHECK_STR(msg.reply_to);
    FUZZ_CHECK_STR(msg.target_address);
    FUZZ_CHECK_STR(msg.target_chat_id);
    FUZZ_CHECK_STR(msg.target_secret);
    if (rc < 0) {
        FUZZ_CHECK(resp.status == 400 || resp.status == 401 || resp.status == 413 ||
                   resp.status == 500);
        fuzz_check_json(resp.body.data, resp.body.len);
        FUZZ_CHECK(err.code != 0);
        goto out;
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(msg.channel != NULL && strcmp(msg.channel, a->name) == 0);
    FUZZ_CHECK(msg.kind >= ZQ_INBOUND_TEXT && msg.kind <= ZQ_INBOUND_DONE);
    if (msg.kind == ZQ_INBOUND_DONE) {
        FUZZ_CHECK(resp.status == 200);
        goto out;
    }
    if (msg.kind == ZQ_INBOUND_TEXT) {
        FUZZ_CHECK(msg.text != NULL && msg.text[msg.text_len] == '\0');
        FUZZ_CHECK(msg.user[0] != '\0');
    } else {
        FUZZ_CHECK(msg.text == NULL);
    }
    if (msg.kind != ZQ_INBOUND_IGNORE)
        FUZZ_CHECK(msg.msg_id[0] != '\0');

    /* The dialogue only answers UTF-8 text; echo it, and add a reply
     * long enough to be split at every platform's limit. */
    if (msg.text != NULL && zq_utf8_valid(msg.text, msg.text_len) && msg.text_len > 0) {
        r.text[r.n] = strdup(msg.text);
        FUZZ_CHECK(r.text[r.n] != NULL);
        r.n++;
    }
    if (msg.text_len % 4 == 0) {
        size_t n = 0, want = 24000 + msg.text_len % 7;
        char *t = malloc(want + 8);

        FUZZ_CHECK(t != NULL);
        while (n < want) {
            memcpy(t + n, n % 61 == 0 ? "\n" : "办", n % 61 == 0 ? 1 : 3);
            n += n % 61 == 0 ? 1 : 3;
        }
        t[n] = '\0';
        r.text[r.n++] = t;
    }
    zq_inbound_resp_clear(&resp);
    rrc = a->render(cfg, &msg, &r, h->now_ms, &resp, &ob, &err);
    FUZZ_CHECK(rrc == 0);
    FUZZ_CHECK(resp.status == 200);
    FUZZ_CHECK(ob.n <= ZQ_CHAT_OUTBOX_MAX);
    for (i = 0; i < ob.n; i++) {
        FUZZ_CHECK(ob.e[i].url != NULL && ob.e[i].body != NULL && ob.e[i].headers != NULL);
        fuzz_check_json(ob.e[i].body, strlen(ob.e[i].body));
        fuzz_check_json(ob.e[i].headers, strlen(ob.e[i].headers));
    }
    if (resp.content_type != NULL && strncmp(resp.content_type, "application/json", 16) == 0)
        fuzz_check_json(resp.body.data, resp.body.len);
out:
    zq_dialogue_replies_clear(&r);
    zq_chat_outbox_clear(&ob);
    zq_inbound_resp_clear(&resp);
    if (out_msg != NULL)
        *out_msg = msg;
    else
        zq_inbound_msg_clear(&msg);
    return rc;
}

/* ---- set-up ---- */

/* Quiet logs: a warning per rejected input would drown libFuzzer's own
 * output and slow every run down. */
static inline void fuzz_quiet(void)
{
    zq_log_init("fuzz", ZQ_LOG_ERROR);
}

/* The defaults plus the platform keys of tests/data/inbound/vectors.json
 * (the seeds were made with them). */
static inline void fuzz_inbound_config(zq_config *cfg)
{
    zq_config_defaults(cfg);
    snprintf(cfg->wecom.token, sizeof(cfg->wecom.token), "%s", "QDG6eK7vHw");
    snprintf(cfg->wecom.encoding_aes_key, sizeof(cfg->wecom.encoding_aes_key), "%s",
             "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR");
    snprintf(cfg->wecom.corp_id, sizeof(cfg->wecom.corp_id), "%s", "ww1234567890abcdef");
    snprintf(cfg->dingtalk.app_secret, sizeof(cfg->dingtalk.app_secret), "%s",
             "SECxyzDingTalkAppSecret0123456789abcdef");
    snprintf(cfg->feishu.verification_token, sizeof(cfg->feishu.verification_token), "%s",
             "v3rif1cat10nT0ken");
    snprintf(cfg->feishu.encrypt_key, sizeof(cfg->feishu.encrypt_key), "%s", "kudryavka");
    snprintf(cfg->feishu.app_id, sizeof(cfg->feishu.app_id), "%s", "cli_fuzz");
    snprintf(cfg->feishu.app_secret, sizeof(cfg->feishu.app_secret), "%s", "fuzz-app-secret");
    snprintf(cfg->telegram.secret_token, sizeof(cfg->telegram.secret_token), "%s",
             "fuzz_Secret-Token");
    snprintf(cfg->telegram.bot_token, sizeof(cfg->telegram.bot_token), "%s", "123456:ABC-fuzz");
    snprintf(cfg->generic.secret, sizeof(cfg->generic.secret), "%s", "generic-secret-ABC");
}

#endif
