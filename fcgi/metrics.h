/* Process-wide request metrics for /api/metrics in Prometheus text format:
 * requests by route and status, a latency histogram per route, requests in
 * flight, Redis errors and build info. Lock-free (atomic counters). */
#ifndef ZHUQI_METRICS_H
#define ZHUQI_METRICS_H

#include <stddef.h>

#include "zhuqi/buf.h"

#define ZQ_METRICS_MAX_ROUTES 64

/* Registers the route names (borrowed, must outlive the process's use of
 * metrics) before threads start. Index n is "unmatched". */
void zq_metrics_init(const char *const *route_names, size_t n);

void zq_metrics_begin(void);
/* Records one finished request (route -1 = unmatched). */
void zq_metrics_end(int route, int status, double seconds);

/* Appends the exposition text. */
int zq_metrics_render(zq_buf *out);

#endif
