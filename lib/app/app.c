/* Loading what a program runs on: the settings, the form schemas and the
 * holiday calendar (every program), and with ZQ_APP_PUSH the reminder
 * rules and the case templates (zhuqi-bot). One loader for zhuqi-fcgi,
 * zhuqi-bot and zhuqi-admin, so that they read the same files the same
 * way. */
#include "zhuqi/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <string.h>

#include <openssl/crypto.h>

#include "zhuqi/log.h"
#include "zhuqi/workflow.h"

int zq_app_path(const char *config_path, const char *path, char *out, size_t outsz)
{
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    int rc;

    if (path[0] == '/' || slash == NULL)
        rc = zq_fmt(out, outsz, "%s", path);
    else
        rc = zq_fmt(out, outsz, "%.*s/%s", (int)(slash - config_path), config_path, path);
    return rc < 0 ? -ZQ_ETOOBIG : 0;
}

/* The reminder rules and the case templates of [bot]. */
static int load_push(zq_app *app, const char *config_path, zq_err *err)
{
    const zq_config *cfg = &app->cfg;
    char rem[512], tdir[512], t1[600], t2[600], t3[600];
    FILE *f;
    int rc;

    if (zq_app_path(config_path, cfg->bot.reminders, rem, sizeof(rem)) < 0 ||
        zq_app_path(config_path, cfg->bot.templates_dir, tdir, sizeof(tdir)) < 0 ||
        zq_fmt(t1, sizeof(t1), "%s/case_created.md", tdir) < 0 ||
        zq_fmt(t2, sizeof(t2), "%s/case_status.md", tdir) < 0 ||
        zq_fmt(t3, sizeof(t3), "%s/case_withdrawn.md", tdir) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "[bot] path too long");
    rc = zq_reminders_load(rem, tdir, &app->reminders, err);
    if (rc == 0)
        app->reminders->shift_min = cfg->bot.reminder_shift_min;
    if (rc == 0)
        rc = zq_template_load(t1, zq_template_case_vars, zq_template_case_nvars, &app->case_created,
                              err);
    if (rc == 0)
        rc = zq_template_load(t2, zq_template_case_vars, zq_template_case_nvars, &app->case_status,
                              err);
    /* Added later: a template folder from before it (kept by an upgrade)
     * runs on, without telling staff of withdrawals. */
    if (rc == 0 && (f = fopen(t3, "r")) == NULL) {
        ZQ_WARN("event=template_missing path=%s effect=\"withdrawals are not announced to staff\"",
                t3);
    } else if (rc == 0) {
        fclose(f);
        rc = zq_template_load(t3, zq_template_case_vars, zq_template_case_nvars,
                              &app->case_withdrawn, err);
    }
    return rc;
}

/* The [verify] pepper, inline or from its file. */
static int load_pepper(zq_app *app, const char *config_path, zq_err *err)
{
    char path[512] = "";

    if (app->cfg.verify.pepper_file[0] != '\0' &&
        zq_app_path(config_path, app->cfg.verify.pepper_file, path, sizeof(path)) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "[verify] pepper_file: path too long");
    return zq_otp_pepper_load(app->cfg.verify.pepper, path, app->pepper, &app->pepper_len, err);
}

/* The handling lists of [workflow] handling. A missing file is not fatal
 * (setups that predate it keep running): the lists are empty, and a
 * transfer is refused until the file is there. */
static int load_handling(zq_app *app, const char *config_path, zq_err *err)
{
    char path[512];
    FILE *f;

    if (zq_app_path(config_path, app->cfg.workflow.handling, path, sizeof(path)) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "[workflow] handling: path too long");
    f = fopen(path, "r");
    if (f == NULL) {
        ZQ_WARN("event=handling_missing path=%s departments=none", path);
        app->handling = json_pack("{s:[], s:[]}", "departments", "messages");
        return app->handling ? 0 : zq_err_set(err, ZQ_ENOMEM, "out of memory");
    }
    fclose(f);
    return zq_wf_handling_load(path, &app->handling, err);
}

/* The S3 secret: [files] s3_secret, or the first line of s3_secret_file
 * (relative to the configuration's folder). Returns 0 or -ZQ_EIO. */
static int read_secret(const char *config_path, const zq_config *cfg, char *out, size_t outsz)
{
    char path[512];
    FILE *f;
    size_t n;

    if (cfg->files.s3_secret_file[0] == '\0')
        return zq_fmt(out, outsz, "%s", cfg->files.s3_secret) < 0 ? -ZQ_EIO : 0;
    if (zq_app_path(config_path, cfg->files.s3_secret_file, path, sizeof(path)) < 0 ||
        (f = fopen(path, "r")) == NULL)
        return -ZQ_EIO;
    if (fgets(out, (int)outsz, f) == NULL)
        out[0] = '\0';
    fclose(f);
    n = strcspn(out, "\r\n");
    out[n] = '\0';
    return n > 0 ? 0 : -ZQ_EIO;
}

/* The evidence file store. A store that cannot be opened (a folder not
 * writable) stops uploads and downloads only, which then answer 503:
 * the rest of the service goes on. */
static void open_files(zq_app *app, const char *config_path)
{
    char dir[512], incoming[512];
    zq_err err = {0};

    if (zq_app_path(config_path, app->cfg.files.dir, dir, sizeof(dir)) < 0 ||
        zq_app_path(config_path, app->cfg.files.upload_temp_dir, incoming, sizeof(incoming)) < 0) {
        ZQ_ERROR("event=filestore_unavailable err=\"[files] path too long\"");
        return;
    }
    if (strcmp(app->cfg.files.backend, "s3") == 0) {
        zq_filestore_s3_config c = {0};
        char secret[256];

        if (read_secret(config_path, &app->cfg, secret, sizeof(secret)) < 0) {
            ZQ_ERROR("event=filestore_unavailable err=\"[files] s3_secret_file unreadable\"");
            return;
        }
        c.endpoint = app->cfg.files.s3_endpoint;
        c.bucket = app->cfg.files.s3_bucket;
        c.region = app->cfg.files.s3_region;
        c.access_key = app->cfg.files.s3_access_key;
        c.secret = secret;
        if (zq_filestore_open_s3(&c, incoming, &app->files, &err) < 0)
            ZQ_ERROR("event=filestore_unavailable err=\"%s\"", err.msg);
        OPENSSL_cleanse(secret, sizeof(secret));
        return;
    }
    if (zq_filestore_open_dir(dir, incoming, &app->files, &err) < 0)
        ZQ_ERROR("event=filestore_unavailable err=\"%s\"", err.msg);
}

int zq_app_load(const char *config_path, const zq_config *cfg, unsigned flags, zq_app **out,
                zq_err *err)
{
    char forms[512], regions[512], holidays[512];
    zq_app *app;
    int rc;

    *out = NULL;
    if (zq_app_path(config_path, cfg->intake.forms_dir, forms, sizeof(forms)) < 0 ||
        zq_app_path(config_path, cfg->intake.regions, regions, sizeof(regions)) < 0 ||
        zq_app_path(config_path, cfg->intake.holidays_dir, holidays, sizeof(holidays)) < 0)
        return zq_err_set(err, ZQ_ETOOBIG, "[intake] path too long");
    app = calloc(1, sizeof(*app));
    if (app == NULL)
        return zq_err_set(err, ZQ_ENOMEM, "out of memory");
    app->cfg = *cfg;
    rc = zq_cal_load(holidays, &app->calendar, err);
    if (rc == 0 && (flags & ZQ_APP_PUSH))
        rc = load_push(app, config_path, err);
    if (rc == 0 && (flags & ZQ_APP_VERIFY))
        rc = load_pepper(app, config_path, err);
    if (rc == 0)
        rc = zq_schema_load(forms, regions, &app->schema, err);
    if (rc == 0)
        rc = load_handling(app, config_path, err);
    if (rc < 0) {
        zq_app_free(app);
        return rc;
    }
    /* Deadlines need this year's holiday notice, and next year's towards
     * the end of this one: say so at start rather than at first use. */
    {
        zq_date today = zq_date_today();
        if (!zq_cal_year_known(app->calendar, today.y))
            ZQ_WARN("event=calendar_year_missing year=%d fallback=mon-fri dir=%s", today.y,
                    holidays);
        if (today.m >= 11 && !zq_cal_year_known(app->calendar, today.y + 1))
            ZQ_WARN("event=calendar_year_missing year=%d fallback=mon-fri dir=%s", today.y + 1,
                    holidays);
    }
    open_files(app, config_path);
    *out = app;
    return 0;
}

void zq_app_free(zq_app *app)
{
    if (app == NULL)
        return;
    zq_schema_free(app->schema);
    zq_cal_free(app->calendar);
    zq_reminders_free(app->reminders);
    zq_template_free(app->case_created);
    zq_template_free(app->case_status);
    zq_template_free(app->case_withdrawn);
    OPENSSL_cleanse(app->pepper, sizeof(app->pepper));
    OPENSSL_cleanse(app->cfg.verify.pepper, sizeof(app->cfg.verify.pepper));
    json_decref(app->handling);
    zq_filestore_free(app->files);
    free(app);
}
