/* Method + path pattern -> handler, with 404 and 405 (and Allow) in the
 * contract's JSON shape. */
#ifndef ZHUQI_ROUTER_H
#define ZHUQI_ROUTER_H

#include <stddef.h>

#include "http.h"

typedef void (*zq_handler)(zq_req *req);

/* A route. pattern is a path whose segments are literals or "{name}",
 * which matches one non-empty segment (decoded into req->params in
 * order). name labels the route in metrics. */
typedef struct zq_route {
    const char *method;
    const char *pattern;
    zq_handler handler;
    const char *name;
} zq_route;

/* Finds the route for req and runs it. HEAD is served by GET routes.
 * Sets 404 when no pattern matches and 405 with Allow when only the
 * method differs. Sets req->route_index to the matching route (of the
 * path, for 405) or -1. Returns the index or -1. */
int zq_router_dispatch(const zq_route *routes, size_t n, zq_req *req);

/* True when path matches pattern; captures go to req (may be NULL). */
int zq_router_match(const char *pattern, const char *path, zq_req *req);

#endif
