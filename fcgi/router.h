/* Method + path pattern -> handler, with 404 and 405 (and Allow) in the
 * contract's JSON shape. */
#ifndef ZHUQI_ROUTER_H
#define ZHUQI_ROUTER_H

#include <stddef.h>

#include "http.h"

/* A handler parses the request, calls the library and sets the response;
 * it returns 0, or a negative ZQ_E* code that zq_router_dispatch turns
 * into the answer when the handler set none (zq_router_fail). */
typedef int (*zq_handler)(zq_req *req);

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

/* The answer to a handler's failure, in one place: nothing when rc >= 0
 * or the handler already set a response; else -ZQ_EUNAVAIL gives 503
 * storage_unavailable with Retry-After, -ZQ_ENOTFOUND 404 not_found, and
 * any other code (memory, Redis, I/O) 500 internal_error. */
void zq_router_fail(zq_req *req, int rc);

/* True when path matches pattern; captures go to req (may be NULL). */
int zq_router_match(const char *pattern, const char *path, zq_req *req);

#endif
