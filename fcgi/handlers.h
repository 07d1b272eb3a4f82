/* zhuqi-fcgi's route table and the handlers of the core endpoints. */
#ifndef ZHUQI_HANDLERS_H
#define ZHUQI_HANDLERS_H

#include "router.h"

/* The route table (borrowed, static) and its length. */
const zq_route *zq_handlers_routes(size_t *n);

/* The route names in table order, for zq_metrics_init. */
const char *const *zq_handlers_route_names(size_t *n);

int zq_h_ping(zq_req *req);
int zq_h_health(zq_req *req);
/* GET /api/privacy: the retention periods for the privacy notice. */
int zq_h_privacy(zq_req *req);
/* GET /api/site: [site], the organisers, hotline and filing numbers. */
int zq_h_site(zq_req *req);
int zq_h_metrics(zq_req *req);
int zq_h_debug_echo(zq_req *req);
int zq_h_debug_sleep(zq_req *req);

#endif
