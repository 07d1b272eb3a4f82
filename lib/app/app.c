/* Loading the application state that requests read. */
#include "zhuqi/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/log.h"

int zq_app_path(const char *config_path, const char *path, char *out, size_t outsz)
{
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    int n;

    if (path[0] == '/' || slash == NULL)
        n = snprintf(out, outsz, "%s", path);
    else
        n = snprintf(out, outsz, "%.*s/%s", (int)(slash - config_path), config_path, path);
    return (n < 0 || (size_t)n >= outsz) ? -ZQ_ETOOBIG : 0;
}

int zq_app_load(const char *config_path, const zq_config *cfg, zq_app **out, zq_err *err)
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
    rc = zq_schema_load(forms, regions, &app->schema, err);
    if (rc == 0)
        rc = zq_cal_load(holidays, &app->calendar, err);
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
    *out = app;
    return 0;
}

void zq_app_free(zq_app *app)
{
    if (app == NULL)
        return;
    zq_schema_free(app->schema);
    zq_cal_free(app->calendar);
    free(app);
}
