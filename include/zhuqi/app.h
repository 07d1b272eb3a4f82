/* Everything zhuqi-fcgi loads from its configuration and swaps as a whole
 * on SIGHUP: the settings, the form schemas and the holiday calendar. */
#ifndef ZHUQI_APP_H
#define ZHUQI_APP_H

#include "zhuqi/calendar.h"
#include "zhuqi/config.h"
#include "zhuqi/schema.h"

typedef struct zq_app {
    zq_config cfg;
    zq_schema *schema;     /* owned */
    zq_calendar *calendar; /* owned */
} zq_app;

/* Builds an app from an already loaded configuration (copied): loads the
 * schemas and calendars it names, relative paths taken from the folder of
 * config_path. Returns 0 and a new app, or a negative code with err naming
 * the file and what is wrong. */
int zq_app_load(const char *config_path, const zq_config *cfg, zq_app **out, zq_err *err);
void zq_app_free(zq_app *app);

/* Resolves path against the folder of config_path unless it is absolute.
 * Writes at most outsz bytes; returns 0 or -ZQ_ETOOBIG. */
int zq_app_path(const char *config_path, const char *path, char *out, size_t outsz);

#endif
