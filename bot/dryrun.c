/* `zhuqi-bot --dry-run [--at TIME]`: what the scheduler would send at TIME,
 * to whom and how each platform would receive it, computed exactly as the
 * scheduler does, reading Redis (targets, classes, marks) and writing
 * nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "zhuqi/cases.h"
#include "zhuqi/daemon.h"
#include "zhuqi/log.h"
#include "zhuqi/schedule.h"

#define MAX_OCC 256
#define SHOW_TARGETS 50

static const char *const weekdays[] = {"",       "星期一", "星期二", "星期三",
                                       "星期四", "星期五", "星期六", "星期日"};

/* Prints text indented, one "    | " per line. */
static void indent(FILE *out, const char *s)
{
    fputs("    | ", out);
    for (; *s != '\0'; s++) {
        fputc(*s, out);
        if (*s == '\n')
            fputs("    | ", out);
    }
    fputc('\n', out);
}

static void show_occurrence(zq_bot *b, const zq_occurrence *o, int64_t at_ms, bool *redis_bad,
                            FILE *out)
{
    char iso[32], ev[ZQ_DATE_STRLEN], mark[256];
    zq_class cls;
    zq_err err = {0};
    bool have_class = false, kinds[ZQ_CH__COUNT] = {false};
    zq_buf title = {0}, body = {0};
    zq_target_ids ids = {0};
    int rc, nk = 0;

    zq_time_iso(o->fire_ms, iso);
    zq_date_format(o->event, ev, sizeof(ev));
    fprintf(out, "\noccurrence %s  (rule \"%s\", lead %s: %+dd %02d:%02d)\n", o->id, o->rule->title,
            o->lead->id, o->lead->offset_days, o->lead->hour, o->lead->minute);
    fprintf(out, "  due at     %s (%lld s %s)\n", iso,
            (long long)((at_ms >= o->fire_ms ? at_ms - o->fire_ms : o->fire_ms - at_ms) / 1000),
            at_ms >= o->fire_ms ? "ago" : "from now");
    fprintf(out, "  event day  %s %s (when a day off: %s)\n", ev,
            weekdays[zq_date_weekday(o->event)], zq_cal_shift_name(o->rule->shift));
    if (!*redis_bad) {
        rc = zq_schedule_mark_get(b->st, o->id, mark, sizeof(mark), &err);
        if (rc == -ZQ_EUNAVAIL)
            *redis_bad = true;
        else if (rc == 0 && mark[0] != '\0')
            fprintf(out, "  NOTE       already created by the scheduler: %s\n", mark);
    }
    if (!*redis_bad) {
        rc = zq_class_for_month(b->st, o->event, &cls, &err);
        if (rc == -ZQ_EUNAVAIL)
            *redis_bad = true;
        have_class = rc == 0;
    }
    if (have_class)
        fprintf(out, "  class      %s %s 《%s》 (%s)\n", cls.date, cls.time, cls.title, cls.id);
    else
        fprintf(out, "  class      %s\n",
                *redis_bad ? "(unknown: Redis unavailable)" : "none scheduled for that month");
    fprintf(out, "  audience   %s\n", o->rule->audience);
    if (!*redis_bad && zq_target_audience(b->st, o->rule->audience, &ids, &err) == -ZQ_EUNAVAIL)
        *redis_bad = true;
    if (ids.n > 0) {
        fprintf(out, "  targets    %zu\n", ids.n);
        for (size_t i = 0; i < ids.n && i < 1000; i++) {
            zq_target_rec t;

            if (zq_target_load(b->st, ids.id[i], &t, &err) < 0)
                continue;
            kinds[t.t.kind] = true;
            if (i < SHOW_TARGETS)
                fprintf(out, "    - %-28s %-15s %s\n", t.t.id, zq_channel_name(t.t.kind), t.name);
        }
        if (ids.n > SHOW_TARGETS)
            fprintf(out, "    ... and %zu more\n", ids.n - SHOW_TARGETS);
    } else {
        fprintf(out, "  targets    %s\n", *redis_bad ? "(unknown: Redis unavailable)" : "0");
    }
    zq_target_ids_clear(&ids);
    if (zq_reminder_render(o, have_class ? &cls : NULL, &title, &body) < 0) {
        fprintf(out, "  (out of memory)\n");
        goto out;
    }
    fprintf(out, "  title      %s\n  text\n", title.data ? title.data : "");
    indent(out, body.data ? body.data : "");
    for (int k = 0; k < ZQ_CH__COUNT; k++)
        nk += kinds[k];
    for (int k = 0; k < ZQ_CH__COUNT; k++) {
        zq_message m = {.title = title.data ? title.data : "", .body = body.data ? body.data : ""};
        zq_outreq *reqs = NULL;
        size_t n = 0;
        zq_target t;

        if (nk > 0 && !kinds[k])
            continue;
        /* Reminders go to stored targets: never to an SMS one. */
        if (k == ZQ_CH_SMS)
            continue;
        /* With no targets, show the app kinds only when their app is set. */
        if (nk == 0 && zq_channel_is_app((zq_channel_kind)k) &&
            !zq_channel_app_configured(b->cfg, (zq_channel_kind)k))
            continue;
        zq_channel_sample_target((zq_channel_kind)k, &t);
        if (zq_channel_render(&b->cc, &t, &m, o->fire_ms, &reqs, &n, &err) < 0) {
            fprintf(out, "  %s: cannot render: %s\n", zq_channel_name((zq_channel_kind)k), err.msg);
            continue;
        }
        fprintf(out, "  %s: %zu request%s (sample target)\n", zq_channel_name((zq_channel_kind)k),
                n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            fprintf(out, "    POST %s\n", reqs[i].url);
            for (int h = 0; h < reqs[i].nheaders; h++)
                fprintf(out, "    %s\n", reqs[i].headers[h]);
            if (reqs[i].auth != ZQ_AUTH_NONE)
                fprintf(out, "    (+ the app's access token, %s)\n",
                        reqs[i].auth == ZQ_AUTH_WECOM      ? "access_token= in the query"
                        : reqs[i].auth == ZQ_AUTH_DINGTALK ? "header x-acs-dingtalk-access-token"
                                                           : "header Authorization: Bearer");
            fprintf(out, "    %s\n", reqs[i].body.data ? reqs[i].body.data : "");
        }
        zq_outreq_free_all(reqs, n);
    }
out:
    zq_buf_free(&title);
    zq_buf_free(&body);
}

int zq_bot_dry_run(const char *config_path, const zq_config *cfg, const char *at, FILE *out)
{
    zq_bot b;
    zq_err err = {0};
    zq_occurrence *occ = NULL;
    int64_t at_ms;
    char iso[32];
    bool redis_bad = false;
    int n, shown = 0, code = 0;

    memset(&b, 0, sizeof(b));
    if (at != NULL) {
        if (zq_time_parse(at, &at_ms) < 0) {
            fprintf(stderr,
                    "zhuqi-bot: --at %s: expected YYYY-MM-DDTHH:MM[:SS] (Beijing time) or with "
                    "an offset (+08:00, Z)\n",
                    at);
            return ZQ_EXIT_CONFIG;
        }
    } else {
        at_ms = zq_now_ms();
    }
    b.config_path = config_path;
    b.cfg = (zq_config *)cfg;
    if (zq_app_load(config_path, cfg, ZQ_APP_PUSH, &b.app, &err) < 0) {
        fprintf(stderr, "zhuqi-bot: %s\n", err.msg);
        return ZQ_EXIT_CONFIG;
    }
    zq_channel_config_from(cfg, &b.cc);
    b.st = zq_store_new(&cfg->redis);
    occ = calloc(MAX_OCC, sizeof(*occ));
    if (b.st == NULL || occ == NULL) {
        code = 1;
        goto out;
    }
    zq_time_iso(at_ms, iso);
    fprintf(out, "zhuqi-bot dry run at %s: nothing is sent or written.\n", iso);
    fprintf(out, "rules: %zu; catch-up grace: %d s\n", b.app->reminders->n,
            cfg->bot.catch_up_grace_s);
    n = zq_reminder_occurrences(b.app->reminders, b.app->calendar,
                                at_ms - (int64_t)cfg->bot.catch_up_grace_s * 1000 - 1, at_ms, occ,
                                MAX_OCC);
    for (int i = 0; i < n; i++) {
        if (zq_occurrence_state(&occ[i], at_ms, cfg->bot.catch_up_grace_s) != ZQ_OCC_DUE)
            continue;
        show_occurrence(&b, &occ[i], at_ms, &redis_bad, out);
        shown++;
    }
    if (shown == 0) {
        fprintf(out, "\nno reminder is due at %s.\n", iso);
        n = zq_reminder_occurrences(b.app->reminders, b.app->calendar, at_ms,
                                    at_ms + 400LL * 86400 * 1000, occ, MAX_OCC);
        if (n > 0) {
            zq_time_iso(occ[0].fire_ms, iso);
            fprintf(out, "next: %s at %s (try --at %.16s)\n", occ[0].id, iso, iso);
        }
    }
    if (redis_bad) {
        fprintf(out, "\nwarning: Redis was unavailable: targets, classes and marks are not "
                     "shown.\n");
        code = 1;
    }
out:
    free(occ);
    zq_store_free(b.st);
    zq_app_free(b.app);
    return code;
}
