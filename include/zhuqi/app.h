/* What a program loads from its configuration and swaps as a whole on
 * SIGHUP: the settings, the form schemas and the holiday calendar, and for
 * zhuqi-bot the reminder rules and the case announcement templates. One
 * loader for the three programs (lib/app/app.c). */
#ifndef ZHUQI_APP_H
#define ZHUQI_APP_H

#include "zhuqi/calendar.h"
#include "zhuqi/config.h"
#include "zhuqi/otp.h"
#include "zhuqi/filestore.h"
#include "zhuqi/reminders.h"
#include "zhuqi/schema.h"
#include "zhuqi/template.h"

/* What zq_app_load loads beyond the settings, schemas and calendar. */
enum {
    ZQ_APP_PUSH = 1,   /* [bot] reminders and templates/case_{created,status}.md */
    ZQ_APP_VERIFY = 2, /* the [verify] pepper (zhuqi-fcgi) */
};

typedef struct zq_app {
    zq_config cfg;
    zq_schema *schema;           /* owned */
    zq_calendar *calendar;       /* owned */
    zq_reminders *reminders;     /* owned; ZQ_APP_PUSH only, else NULL */
    zq_template *case_created;   /* owned; ZQ_APP_PUSH only, else NULL */
    zq_template *case_status;    /* owned; ZQ_APP_PUSH only, else NULL */
    zq_template *case_withdrawn; /* owned; ZQ_APP_PUSH only, and NULL when its file is missing */
    /* The HMAC key of SMS codes (ZQ_APP_VERIFY only); pepper_len 0: none
     * configured, the codes are off. Wiped by zq_app_free. */
    unsigned char pepper[ZQ_OTP_PEPPER_MAX];
    size_t pepper_len;
    json_t *handling;    /* owned; [workflow] handling (zq_wf_handling_load), never NULL */
    zq_filestore *files; /* owned; NULL when [files] dir cannot be used (logged) */
} zq_app;

/* Builds an app from an already loaded configuration (copied): opens the
 * evidence file store ([files]), loads the calendar, with ZQ_APP_PUSH in
 * flags the reminder rules and the case templates, with ZQ_APP_VERIFY the
 * pepper, and the schemas, in that order; relative paths are taken from
 * the folder of config_path. Returns 0 and a new app (free with
 * zq_app_free), or a negative code with err naming the file and what is
 * wrong. */
int zq_app_load(const char *config_path, const zq_config *cfg, unsigned flags, zq_app **out,
                zq_err *err);
void zq_app_free(zq_app *app);

/* Resolves path against the folder of config_path unless it is absolute.
 * Writes at most outsz bytes; returns 0 or -ZQ_ETOOBIG. */
int zq_app_path(const char *config_path, const char *path, char *out, size_t outsz);

#endif
