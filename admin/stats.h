/* zhuqi-admin stats as readable tables (admin/stats.c). */
#ifndef ZHUQI_ADMIN_STATS_H
#define ZHUQI_ADMIN_STATS_H

#include <jansson.h>
#include <stdio.h>

/* Prints s, the object zq_staff_stats returned (borrowed), to out as a
 * summary and aligned tables: counts by type, status, region and month,
 * amounts, decisions on time, satisfaction. */
void zq_admin_stats_print(FILE *out, const json_t *s);

#endif
