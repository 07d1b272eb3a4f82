/* Counters behind /api/metrics. Every counter is a relaxed atomic: exact
 * totals matter, ordering between counters does not. */
#include "metrics.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>

#include "zhuqi/store.h"

static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
                               405, 409, 410, 413, 415, 422, 429, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + "other" */

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]))

struct route_stats {
    _Atomic uint64_t by_status[NSTATUS];
    _Atomic uint64_t le[NBUCKET + 1]; /* last: +Inf */
    _Atomic uint64_t sum_us;
};

static const char *const *names;
static size_t nroutes;
static struct route_stats stats[ZQ_METRICS_MAX_ROUTES + 1];
static _Atomic int64_t in_flight;

void zq_metrics_init(const char *const *route_names, size_t n)
{
    names = route_names;
    nroutes = n > ZQ_METRICS_MAX_ROUTES ? ZQ_METRICS_MAX_ROUTES : n;
}

void zq_metrics_begin(void)
{
    atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed);
}

void zq_metrics_end(int route, int status, double seconds)
{
    struct route_stats *rs;
    size_t i, si = NSTATUS - 1;

    atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
    if (route < 0 || (size_t)route >= nroutes)
        route = (int)nroutes; /* unmatched */
    rs = &stats[route];
    for (i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status) {
            si = i;
            break;
        }
    atomic_fetch_add_explicit(&rs->by_status[si], 1, memory_order_relaxed);
    for (i = 0; i < NBUCKET && seconds > buckets[i]; i++)
        ;
    atomic_fetch_add_explicit(&rs->le[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

int zq_metrics_render(zq_buf *out)
{
    size_t r, i;

    zq_buf_puts(out, "# HELP zhuqi_build_info Build information.\n"
                     "# TYPE zhuqi_build_info gauge\n");
    zq_buf_printf(out, "zhuqi_build_info{version=\"%s\",revision=\"%s\"} 1\n", ZQ_VERSION,
                  ZQ_GIT_REV);
    zq_buf_puts(out, "# HELP zhuqi_http_requests_in_flight Requests being handled.\n"
                     "# TYPE zhuqi_http_requests_in_flight gauge\n");
    zq_buf_printf(out, "zhuqi_http_requests_in_flight %lld\n",
                  (long long)atomic_load_explicit(&in_flight, memory_order_relaxed));
    {
        /* Memory the allocator holds against memory in use: a gap that
         * grows is fragmentation, in-use that grows is something kept. */
        struct mallinfo2 mi = mallinfo2();

        zq_buf_puts(out, "# HELP zhuqi_malloc_in_use_bytes Bytes allocated and not freed.\n"
                         "# TYPE zhuqi_malloc_in_use_bytes gauge\n");
        zq_buf_printf(out, "zhuqi_malloc_in_use_bytes %zu\n", mi.uordblks + mi.hblkhd);
        zq_buf_puts(out, "# HELP zhuqi_malloc_held_bytes Bytes the allocator holds from the "
                         "system (arenas and large blocks).\n"
                         "# TYPE zhuqi_malloc_held_bytes gauge\n");
        zq_buf_printf(out, "zhuqi_malloc_held_bytes %zu\n", mi.arena + mi.hblkhd);
    }
    zq_buf_puts(out, "# HELP zhuqi_redis_errors_total Redis connection failures.\n"
                     "# TYPE zhuqi_redis_errors_total counter\n");
    zq_buf_printf(out, "zhuqi_redis_errors_total %llu\n",
                  (unsigned long long)zq_store_error_count());

    zq_buf_puts(out, "# HELP zhuqi_http_requests_total Requests by route and status.\n"
                     "# TYPE zhuqi_http_requests_total counter\n");
    for (r = 0; r <= nroutes; r++) {
        const char *name = r < nroutes ? names[r] : "unmatched";
        for (i = 0; i < NSTATUS; i++) {
            uint64_t v = load(&stats[r].by_status[i]);
            if (v == 0)
                continue;
            if (i < NSTATUS - 1)
                zq_buf_printf(out, "zhuqi_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                              name, statuses[i], (unsigned long long)v);
            else
                zq_buf_printf(out,
                              "zhuqi_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                              name, (unsigned long long)v);
        }
    }

    zq_buf_puts(out, "# HELP zhuqi_http_request_duration_seconds Time to handle a request.\n"
                     "# TYPE zhuqi_http_request_duration_seconds histogram\n");
    for (r = 0; r <= nroutes; r++) {
        const char *name = r < nroutes ? names[r] : "unmatched";
        uint64_t cum = 0;
        for (i = 0; i <= NBUCKET; i++)
            cum += load(&stats[r].le[i]);
        if (cum == 0)
            continue;
        cum = 0;
        for (i = 0; i < NBUCKET; i++) {
            cum += load(&stats[r].le[i]);
            zq_buf_printf(out,
                          "zhuqi_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                          "%llu\n",
                          name, buckets[i], (unsigned long long)cum);
        }
        cum += load(&stats[r].le[NBUCKET]);
        zq_buf_printf(out,
                      "zhuqi_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                      "%llu\n",
                      name, (unsigned long long)cum);
        zq_buf_printf(out, "zhuqi_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
                      (double)load(&stats[r].sum_us) / 1e6);
        zq_buf_printf(out, "zhuqi_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                      (unsigned long long)cum);
    }
    return out->oom ? -1 : 0;
}
