/* zhuqi-admin: the operators' command-line tool. Creates staff tokens,
 * exports cases, prints statistics and the deadline digest, and checks
 * the holiday calendars, with the same code as the staff API. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "zhuqi/app.h"
#include "zhuqi/auth.h"
#include "zhuqi/backup.h"
#include "zhuqi/buf.h"
#include "zhuqi/daemon.h"
#include "zhuqi/log.h"
#include "zhuqi/retention.h"
#include "zhuqi/smsq.h"
#include "zhuqi/staff.h"
#include "zhuqi/workflow.h"
#include "stats.h"

#define PROG "zhuqi-admin"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [-c FILE] COMMAND [ARGS]\n"
            "\n"
            "  token create NAME ROLE    make a staff token (ROLE: viewer, handler, admin);\n"
            "                            prints the token once and the [staff] line to add\n"
            "  export --format csv|jsonl [-o FILE] [--type T] [--status S] [--region R]\n"
            "         [--handler H] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--overdue] [--q TEXT]\n"
            "                            write cases (newest first) to FILE or stdout\n"
            "  stats [--type T] [--from D] [--to D] [--region R] [--json]\n"
            "                            counts, median days to answer, on-time shares,\n"
            "                            amounts, satisfaction, as tables (--json: the\n"
            "                            object of GET /api/admin/stats)\n"
            "  digest [--date YYYY-MM-DD] [--within N] [--json]\n"
            "                            the staff digest: cases overdue or due within N\n"
            "                            working days (default 2), per office\n"
            "  calendar check            check the holiday files of [intake] holidays_dir\n"
            "  backup DIR                write a backup into DIR (new or empty): a Redis\n"
            "                            snapshot taken through the server, the config\n"
            "                            (secrets masked), the evidence files ([files]\n"
            "                            backend dir), a manifest with SHA-256 sums\n"
            "  restore [--check] [--force] [--redis-server PATH] DIR\n"
            "                            check the backup in DIR against its manifest, then\n"
            "                            restore it into an empty Redis (--check: only check;\n"
            "                            --force: overwrite keys already there)\n"
            "  sms send --mobile M --use USE [--param NAME=VALUE]... [--case ID] [--count N]\n"
            "                            queue one SMS through [sms] (zhuqi-bot sends it);\n"
            "                            prints the notice id. USE: code (params code,\n"
            "                            minutes) or a case status (case, status, deadline);\n"
            "                            --count: N of them, to M, M+1, ... (benchmarks)\n"
            "  retention --dry-run|--apply [--now-ms MS]\n"
            "                            personal data past [retention]: count it, or erase\n"
            "                            it (closed cases keep their statistics fields; each\n"
            "                            purge is audited); --now-ms: as if at that time\n"
            "\n"
            "  -c, --config FILE         configuration (default /etc/zhuqi/zhuqi.ini)\n"
            "\n"
            "Exit status: 0 done, 1 failed (or, for calendar check, this year's file is\n"
            "missing), 2 bad usage or configuration.\n");
}

/* Options after the command: --name value pairs and flags. */
typedef struct opts {
    const char *names[16];
    const char *vals[16];
    int n;
} opts;

static const char *opt_get(void *ctx, const char *name)
{
    opts *o = ctx;

    for (int i = 0; i < o->n; i++)
        if (strcmp(o->names[i], name) == 0)
            return o->vals[i];
    return NULL;
}

/* Parses argv[from..] into o; flags (no value) get "1". Returns 0 or -1
 * after a message. allowed lists the names, flags end with '!'. */
static int parse_opts(int argc, char **argv, int from, const char *const *allowed, opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        const char *name = NULL;
        bool flag = false;

        if (strcmp(a, "-o") == 0)
            a = "--output";
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[i]);
            return -1;
        }
        for (int k = 0; allowed[k] != NULL; k++) {
            size_t n = strcspn(allowed[k], "!");
            if (strlen(a + 2) == n && strncmp(a + 2, allowed[k], n) == 0) {
                name = a + 2;
                flag = allowed[k][n] == '!';
            }
        }
        if (name == NULL || o->n >= 16) {
            fprintf(stderr, PROG ": unknown option '%s'\n", argv[i]);
            return -1;
        }
        if (!flag && i + 1 >= argc) {
            fprintf(stderr, PROG ": option '%s' needs a value\n", argv[i]);
            return -1;
        }
        o->names[o->n] = name;
        o->vals[o->n++] = flag ? "1" : argv[++i];
    }
    return 0;
}

static int token_create(const zq_config *cfg, int argc, char **argv, int i)
{
    unsigned char raw[32];
    char token[65], hash[65], line[256];
    zq_token parsed;
    zq_err err = {0};

    if (argc - i != 2) {
        usage(stderr);
        return ZQ_EXIT_CONFIG;
    }
    if (zq_random_bytes(raw, sizeof(raw)) < 0) {
        fprintf(stderr, PROG ": getrandom: %s\n", strerror(errno));
        return ZQ_EXIT_FAIL;
    }
    zq_hex(raw, sizeof(raw), token);
    zq_auth_hash_hex(token, hash);
    /* Cut, the line would carry another name or a broken hash. */
    if (zq_fmt(line, sizeof(line), "%s:%s:%s", argv[i], argv[i + 1], hash) < 0) {
        fprintf(stderr, PROG ": token name or role too long\n");
        return ZQ_EXIT_CONFIG;
    }
    /* The same check the configuration loader makes. */
    if (zq_config_parse_token(line, &parsed, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return ZQ_EXIT_CONFIG;
    }
    for (int k = 0; cfg != NULL && k < cfg->staff.ntokens; k++)
        if (strcmp(cfg->staff.tokens[k].name, argv[i]) == 0) {
            fprintf(stderr, PROG ": a token named '%s' is configured already; pick another name\n",
                    argv[i]);
            return ZQ_EXIT_CONFIG;
        }
    printf("Token for %s (%s), shown only this once; hand it over safely:\n\n    %s\n\n", argv[i],
           argv[i + 1], token);
    printf("Add this line to [staff] in zhuqi.ini (or the entry to ZHUQI_STAFF_TOKENS),\n"
           "then reload zhuqi-fcgi (systemctl reload zhuqi-fcgi):\n\n    token = %s\n",
           line);
    memset(raw, 0, sizeof(raw));
    memset(token, 0, sizeof(token));
    return ZQ_EXIT_OK;
}

/* Loads the forms, regions and calendars named by the configuration. */
static int load_app(const char *path, const zq_config *cfg, zq_app **app)
{
    zq_err err = {0};

    if (zq_app_load(path, cfg, 0, app, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return ZQ_EXIT_CONFIG;
    }
    return 0;
}

static void ctx_from(const zq_app *app, zq_staff_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->schema = app->schema;
    ctx->cal = app->calendar;
    ctx->handling = app->handling;
    zq_wf_limits_from_config(&app->cfg, &ctx->lim);
    ctx->today = zq_date_today();
}

static int parse_filter(const zq_app *app, opts *o, zq_case_filter *f)
{
    const char *param, *msg;

    if (zq_case_filter_parse(f, opt_get, o, app->schema, &param, &msg) < 0) {
        fprintf(stderr, PROG ": --%s: %s\n", param, msg);
        return -1;
    }
    return 0;
}

typedef struct file_sink {
    FILE *f;
} file_sink;

static int file_write(void *ctx, const void *data, size_t len)
{
    file_sink *s = ctx;
    return fwrite(data, 1, len, s->f) == len ? 0 : -ZQ_EIO;
}

static int cmd_export(const char *path, const zq_config *cfg, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"format",   "output",  "type", "status",
                                          "region",   "handler", "from", "to",
                                          "overdue!", "q",       NULL};
    const char *fmt, *outp;
    zq_app *app = NULL;
    zq_store *st = NULL;
    zq_case_filter f;
    zq_staff_ctx ctx;
    file_sink fs = {stdout};
    zq_export_sink sink = {NULL, file_write, &fs};
    zq_err err = {0};
    long long rows = 0;
    opts o;
    bool closed;
    int rc;

    if (parse_opts(argc, argv, i, allowed, &o) < 0)
        return ZQ_EXIT_CONFIG;
    fmt = opt_get(&o, "format");
    if (fmt == NULL || (strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)) {
        fprintf(stderr, PROG ": export needs --format csv or --format jsonl\n");
        return ZQ_EXIT_CONFIG;
    }
    if ((rc = load_app(path, cfg, &app)) != 0)
        return rc;
    rc = ZQ_EXIT_CONFIG;
    if (parse_filter(app, &o, &f) < 0)
        goto out;
    outp = opt_get(&o, "output");
    if (outp != NULL && strcmp(outp, "-") != 0) {
        fs.f = fopen(outp, "wb");
        if (fs.f == NULL) {
            fprintf(stderr, PROG ": %s: %s\n", outp, strerror(errno));
            rc = ZQ_EXIT_FAIL;
            goto out;
        }
    }
    ctx_from(app, &ctx);
    st = zq_store_new(&cfg->redis);
    rc = st ? zq_staff_export(st, &ctx, &f,
                              strcmp(fmt, "csv") == 0 ? ZQ_EXPORT_CSV : ZQ_EXPORT_JSONL, false,
                              &sink, &rows, &err)
            : -ZQ_ENOMEM;
    closed = fs.f != stdout ? fclose(fs.f) == 0 : fflush(stdout) == 0;
    if (!closed && rc == 0)
        rc = -ZQ_EIO;
    if (rc < 0) {
        fprintf(stderr, PROG ": export failed after %lld rows: %s\n", rows,
                err.msg[0] ? err.msg : zq_strerror(-rc));
        rc = ZQ_EXIT_FAIL;
    } else {
        fprintf(stderr, PROG ": exported %lld cases\n", rows);
        rc = ZQ_EXIT_OK;
    }
out:
    zq_store_free(st);
    zq_app_free(app);
    return rc;
}

static int cmd_stats(const char *path, const zq_config *cfg, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"type", "from", "to", "region", "status", "json!", NULL};
    zq_app *app = NULL;
    zq_store *st = NULL;
    zq_case_filter f;
    zq_staff_ctx ctx;
    zq_err err = {0};
    json_t *stats = NULL;
    opts o;
    int rc;

    if (parse_opts(argc, argv, i, allowed, &o) < 0)
        return ZQ_EXIT_CONFIG;
    if ((rc = load_app(path, cfg, &app)) != 0)
        return rc;
    rc = ZQ_EXIT_CONFIG;
    if (parse_filter(app, &o, &f) < 0)
        goto out;
    ctx_from(app, &ctx);
    st = zq_store_new(&cfg->redis);
    if (st == NULL || zq_staff_stats(st, &ctx, &f, &stats, &err) < 0) {
        fprintf(stderr, PROG ": stats failed: %s\n", err.msg);
        rc = ZQ_EXIT_FAIL;
        goto out;
    }
    if (opt_get(&o, "json") != NULL) {
        json_dumpf(stats, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        zq_admin_stats_print(stdout, stats);
    }
    rc = ZQ_EXIT_OK;
out:
    json_decref(stats);
    zq_store_free(st);
    zq_app_free(app);
    return rc;
}

static int cmd_digest(const char *path, const zq_config *cfg, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"date", "within", "json!", NULL};
    const char *ds, *ws;
    zq_app *app = NULL;
    zq_store *st = NULL;
    zq_staff_ctx ctx;
    zq_err err = {0};
    json_t *digest = NULL;
    long long within = 2;
    char *text = NULL;
    opts o;
    int rc;

    if (parse_opts(argc, argv, i, allowed, &o) < 0)
        return ZQ_EXIT_CONFIG;
    if ((rc = load_app(path, cfg, &app)) != 0)
        return rc;
    ctx_from(app, &ctx);
    rc = ZQ_EXIT_CONFIG;
    ds = opt_get(&o, "date");
    ws = opt_get(&o, "within");
    if (ds != NULL && zq_date_parse(ds, strlen(ds), &ctx.today) < 0) {
        fprintf(stderr, PROG ": --date: expected YYYY-MM-DD\n");
        goto out;
    }
    if (ws != NULL && zq_parse_ll(ws, strlen(ws), 0, 30, &within) < 0) {
        fprintf(stderr, PROG ": --within: expected 0..30\n");
        goto out;
    }
    st = zq_store_new(&cfg->redis);
    if (st == NULL || zq_staff_digest(st, &ctx, (int)within, &digest, &err) < 0) {
        fprintf(stderr, PROG ": digest failed: %s\n", err.msg);
        rc = ZQ_EXIT_FAIL;
        goto out;
    }
    if (opt_get(&o, "json") != NULL) {
        json_dumpf(digest, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        text = zq_staff_digest_text(digest);
        fputs(text ? text : "", stdout);
    }
    rc = ZQ_EXIT_OK;
out:
    free(text);
    json_decref(digest);
    zq_store_free(st);
    zq_app_free(app);
    return rc;
}

/* Prints what each year's file holds; a missing current year fails. */
static int cmd_calendar_check(const char *path, const zq_config *cfg)
{
    char dir[512];
    zq_calendar *cal = NULL;
    zq_err err = {0};
    zq_date today = zq_date_today();
    int y, rc = ZQ_EXIT_OK;

    if (zq_app_path(path, cfg->intake.holidays_dir, dir, sizeof(dir)) < 0) {
        fprintf(stderr, PROG ": [intake] holidays_dir: path too long\n");
        return ZQ_EXIT_CONFIG;
    }
    if (zq_cal_load(dir, &cal, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        printf("invalid: %s\n", err.msg);
        return ZQ_EXIT_CONFIG;
    }
    printf("holidays_dir %s\n", dir);
    for (y = today.y - 1; y <= today.y + 1; y++) {
        int work = 0, off_weekday = 0, weekend_work = 0;
        zq_date d;

        if (!zq_cal_year_known(cal, y)) {
            printf("%d: missing: deadlines fall back to Monday-Friday%s\n", y,
                   y == today.y ? " (FAIL: this year)" : "");
            if (y == today.y)
                rc = ZQ_EXIT_FAIL;
            continue;
        }
        for (d = (zq_date){y, 1, 1}; d.y == y; d = zq_date_add_days(d, 1)) {
            bool w = zq_cal_is_workday(cal, d), weekend = zq_date_weekday(d) >= 6;
            work += w;
            off_weekday += !w && !weekend;
            weekend_work += w && weekend;
        }
        printf("%d: ok: %s; %d working days, %d weekdays off, %d weekend working days\n", y,
               zq_cal_source(cal, y), work, off_weekday, weekend_work);
    }
    zq_cal_free(cal);
    return rc;
}

/* The parts of a backup beyond Redis and the config (backup.h): the
 * evidence file store, copied when it is a directory; an object store
 * (s3) backs its files up itself (versioning, replication), which the
 * manifest records. Returns the number of parts put into parts, or -1
 * after a message (the store cannot be used: a backup would miss it). */
static int backup_parts(const zq_app *app, zq_backup_part parts[1])
{
    if (strcmp(app->cfg.files.backend, "s3") == 0) {
        parts[0] = (zq_backup_part){
            .name = "files",
            .not_included = "[files] backend = s3: the object store's own versioning or "
                            "replication backs up the evidence files"};
        return 1;
    }
    if (app->files == NULL) {
        fprintf(stderr, PROG ": [files] dir cannot be used (see above): the evidence files "
                             "cannot be backed up or restored\n");
        return -1;
    }
    parts[0] = (zq_backup_part){.name = "files",
                                .save = zq_filestore_backup_save,
                                .restore = zq_filestore_backup_restore,
                                .ctx = app->files};
    return 1;
}

static int cmd_backup(const char *path, const zq_config *cfg, int argc, char **argv, int i)
{
    zq_backup_part parts[1];
    zq_backup_opts o = {.cfg = cfg, .parts = parts};
    zq_backup_info info;
    zq_app *app = NULL;
    zq_err err = {0};
    int rc;

    if (argc - i != 1 || argv[i][0] == '-') {
        usage(stderr);
        return ZQ_EXIT_CONFIG;
    }
    if ((rc = load_app(path, cfg, &app)) != 0)
        return rc;
    if ((o.nparts = backup_parts(app, parts)) < 0) {
        rc = ZQ_EXIT_FAIL;
    } else if (zq_backup_write(&o, argv[i], &info, &err) < 0) {
        fprintf(stderr, PROG ": backup failed: %s\n", err.msg);
        rc = ZQ_EXIT_FAIL;
    } else {
        printf("backup written to %s: Redis %s snapshot of %lld bytes, manifest.json\n", argv[i],
               info.redis_version, (long long)info.rdb_bytes);
        rc = ZQ_EXIT_OK;
    }
    zq_app_free(app);
    return rc;
}

static int cmd_restore(const char *path, const zq_config *cfg, int argc, char **argv, int i)
{
    zq_backup_part parts[1];
    zq_backup_opts o = {.cfg = cfg, .parts = parts};
    zq_backup_info info;
    zq_app *app = NULL;
    zq_err err = {0};
    const char *dir = NULL;
    bool check = false;
    int rc;

    for (; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--force") == 0) {
            o.force = true;
        } else if (strcmp(argv[i], "--redis-server") == 0 && i + 1 < argc) {
            o.redis_server = argv[++i];
        } else if (argv[i][0] != '-' && dir == NULL) {
            dir = argv[i];
        } else {
            usage(stderr);
            return ZQ_EXIT_CONFIG;
        }
    }
    if (dir == NULL) {
        usage(stderr);
        return ZQ_EXIT_CONFIG;
    }
    if (check) {
        if (zq_backup_verify(&o, dir, &info, &err) < 0) {
            fprintf(stderr, PROG ": refused: %s\n", err.msg);
            return ZQ_EXIT_FAIL;
        }
        printf("backup %s is intact (taken %s, Redis %s)\n", dir, info.created, info.redis_version);
        return ZQ_EXIT_OK;
    }
    if ((rc = load_app(path, cfg, &app)) != 0)
        return rc;
    if ((o.nparts = backup_parts(app, parts)) < 0) {
        rc = ZQ_EXIT_FAIL;
    } else if (zq_backup_restore(&o, dir, &info, &err) < 0) {
        fprintf(stderr, PROG ": restore refused or failed: %s\n", err.msg);
        rc = ZQ_EXIT_FAIL;
    } else {
        printf("restored %s (taken %s): %lld keys\n", dir, info.created, info.keys);
        rc = ZQ_EXIT_OK;
    }
    zq_app_free(app);
    return rc;
}

static int cmd_retention(const char *path, const zq_config *cfg, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"dry-run!", "apply!", "now-ms", NULL};
    zq_retention_opts ro;
    zq_retention_result res = {0};
    zq_retention_files files;
    zq_app *app = NULL;
    zq_store *st = NULL;
    zq_err err = {0};
    const char *now;
    long long now_ms = 0;
    opts o;
    int rc;

    if (parse_opts(argc, argv, i, allowed, &o) < 0)
        return ZQ_EXIT_CONFIG;
    if ((opt_get(&o, "dry-run") != NULL) == (opt_get(&o, "apply") != NULL)) {
        fprintf(stderr, PROG ": retention needs --dry-run or --apply\n");
        return ZQ_EXIT_CONFIG;
    }
    now = opt_get(&o, "now-ms");
    if (now != NULL && zq_parse_ll(now, strlen(now), 1, INT64_MAX, &now_ms) < 0) {
        fprintf(stderr, PROG ": --now-ms: milliseconds since 1970, got '%s'\n", now);
        return ZQ_EXIT_CONFIG;
    }
    if ((rc = load_app(path, cfg, &app)) != 0)
        return rc;
    zq_retention_opts_from(&ro, cfg);
    ro.apply = opt_get(&o, "apply") != NULL;
    ro.now_ms = now_ms;
    ro.who = PROG;
    st = zq_store_new(&cfg->redis);
    /* A purged case's files go from the store (retention.h). */
    files = (zq_retention_files){.st = st, .schema = app->schema, .fs = app->files};
    ro.remove_files = zq_retention_remove_files;
    ro.files_ctx = &files;
    rc = st ? zq_retention_run(st, app->schema, &ro, &res, &err) : -ZQ_ENOMEM;
    printf("{\"apply\":%s,\"closed_case_days\":%d,\"cases_due\":%lld,\"cases_purged\":%lld,"
           "\"failed\":%lld,\"audit_days\":%d,\"audit_due\":%lld,\"report_days\":%d,"
           "\"reports_due\":%lld}\n",
           ro.apply ? "true" : "false", ro.closed_case_days, res.cases_due, res.cases_purged,
           res.failed, ro.audit_days, res.audit_due, ro.report_days, res.reports_due);
    if (rc < 0)
        fprintf(stderr, PROG ": retention failed: %s\n", err.msg[0] ? err.msg : zq_strerror(-rc));
    zq_store_free(st);
    zq_app_free(app);
    return rc < 0 ? ZQ_EXIT_FAIL : ZQ_EXIT_OK;
}

/* sms send: one SMS queued as the system queues them (smsq.h), to try
 * a provider's configuration end to end; --count N queues N, to the
 * numbers from --mobile on (bench/sms_bench.py). */
static int cmd_sms_send(const zq_config *cfg, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"mobile", "use", "param", "case", "count", NULL};
    const char *names[ZQ_SMS_MAX_PARAMS], *values[ZQ_SMS_MAX_PARAMS], *count_s;
    char buf[ZQ_SMS_MAX_PARAMS][64], id[ZQ_NOTICE_ID_MAX], bare[12], mobile[12];
    long long count = 1, first = 0;
    zq_sms_msg m;
    zq_store *st;
    zq_err err = {0};
    bool created = false;
    opts o;
    int rc = 0;

    if (parse_opts(argc, argv, i, allowed, &o) < 0)
        return ZQ_EXIT_CONFIG;
    memset(&m, 0, sizeof(m));
    m.mobile = opt_get(&o, "mobile");
    m.use = opt_get(&o, "use");
    m.case_id = opt_get(&o, "case");
    for (int k = 0; k < o.n; k++) {
        const char *eq;

        if (strcmp(o.names[k], "param") != 0)
            continue;
        eq = strchr(o.vals[k], '=');
        if (eq == NULL || m.nparams >= ZQ_SMS_MAX_PARAMS || (size_t)(eq - o.vals[k]) >= 64) {
            fprintf(stderr, PROG ": --param must be NAME=VALUE (at most %d)\n", ZQ_SMS_MAX_PARAMS);
            return ZQ_EXIT_CONFIG;
        }
        memcpy(buf[m.nparams], o.vals[k], (size_t)(eq - o.vals[k]));
        buf[m.nparams][eq - o.vals[k]] = '\0';
        names[m.nparams] = buf[m.nparams];
        values[m.nparams++] = eq + 1;
    }
    m.names = names;
    m.values = values;
    m.now_ms = zq_now_ms();
    if (m.mobile == NULL || m.use == NULL) {
        fprintf(stderr, PROG ": sms send needs --mobile and --use\n");
        return ZQ_EXIT_CONFIG;
    }
    count_s = opt_get(&o, "count");
    if (count_s != NULL && zq_parse_ll(count_s, strlen(count_s), 1, 1000000, &count) < 0) {
        fprintf(stderr, PROG ": --count must be 1 to 1000000\n");
        return ZQ_EXIT_CONFIG;
    }
    if (count > 1 && (zq_sms_phone_bare(m.mobile, bare) < 0 ||
                      zq_parse_ll(bare, 11, 0, 99999999999LL, &first) < 0 ||
                      first + count - 1 > 19999999999LL)) {
        fprintf(stderr, PROG ": --count needs a mainland --mobile with room for the numbers\n");
        return ZQ_EXIT_CONFIG;
    }
    st = zq_store_new(&cfg->redis);
    if (st == NULL)
        return ZQ_EXIT_FAIL;
    for (long long k = 0; k < count && rc == 0; k++) {
        if (count > 1) {
            zq_fmt(mobile, sizeof(mobile), "%lld", first + k);
            m.mobile = mobile;
        }
        m.now_ms = zq_now_ms();
        rc = zq_sms_queue(st, cfg, &m, id, &created, &err);
    }
    zq_store_free(st);
    if (rc < 0) {
        fprintf(stderr, PROG ": sms send: %s\n", err.msg[0] ? err.msg : zq_strerror(-rc));
        return rc == -ZQ_EINVAL || rc == -ZQ_ENOTSUP ? ZQ_EXIT_CONFIG : ZQ_EXIT_FAIL;
    }
    printf("%s\n", id);
    return ZQ_EXIT_OK;
}

int main(int argc, char **argv)
{
    static zq_config cfg; /* large: keep it off the stack */
    const char *path = "/etc/zhuqi/zhuqi.ini";
    zq_err err = {0};
    int i = 1;

    json_object_seed(0);
    zq_log_init(PROG, ZQ_LOG_WARN);
    while (i < argc && argv[i][0] == '-') {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            path = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return ZQ_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf(PROG " %s (%s)\n", ZQ_VERSION, ZQ_GIT_REV);
            return ZQ_EXIT_OK;
        } else {
            fprintf(stderr, PROG ": unknown option '%s'\n", argv[i]);
            usage(stderr);
            return ZQ_EXIT_CONFIG;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return ZQ_EXIT_CONFIG;
    }
    /* Creating a token needs no configuration, but checks names against
     * it when there is one. */
    if (strcmp(argv[i], "token") == 0 && i + 1 < argc && strcmp(argv[i + 1], "create") == 0) {
        bool have = zq_config_load(path, &cfg, &err) == 0;
        return token_create(have ? &cfg : NULL, argc, argv, i + 2);
    }
    if (zq_config_load(path, &cfg, &err) < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return ZQ_EXIT_CONFIG;
    }
    if (strcmp(argv[i], "export") == 0)
        return cmd_export(path, &cfg, argc, argv, i + 1);
    if (strcmp(argv[i], "stats") == 0)
        return cmd_stats(path, &cfg, argc, argv, i + 1);
    if (strcmp(argv[i], "digest") == 0)
        return cmd_digest(path, &cfg, argc, argv, i + 1);
    if (strcmp(argv[i], "backup") == 0)
        return cmd_backup(path, &cfg, argc, argv, i + 1);
    if (strcmp(argv[i], "restore") == 0)
        return cmd_restore(path, &cfg, argc, argv, i + 1);
    if (strcmp(argv[i], "retention") == 0)
        return cmd_retention(path, &cfg, argc, argv, i + 1);
    if (strcmp(argv[i], "calendar") == 0 && i + 1 < argc && strcmp(argv[i + 1], "check") == 0 &&
        i + 2 == argc)
        return cmd_calendar_check(path, &cfg);
    if (strcmp(argv[i], "sms") == 0 && i + 1 < argc && strcmp(argv[i + 1], "send") == 0)
        return cmd_sms_send(&cfg, argc, argv, i + 2);
    fprintf(stderr, PROG ": unknown command '%s'\n", argv[i]);
    usage(stderr);
    return ZQ_EXIT_CONFIG;
}
