/* Matching method + path against the route table. */
#include "router.h"

#include <string.h>

#include "zhuqi/common.h"

int zq_router_match(const char *pattern, const char *path, zq_req *req)
{
    const char *p = pattern, *s = path;
    int nparams = 0;

    while (*p != '\0') {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *seg = s;
            if (close == NULL)
                return 0;
            while (*s != '\0' && *s != '/')
                s++;
            if (s == seg)
                return 0; /* a capture never matches an empty segment */
            /* A literal may follow the capture inside the segment
             * ("{id}.json"): give it back. */
            if (close[1] != '\0' && close[1] != '/') {
                const char *lit = close + 1;
                size_t litlen = strcspn(lit, "/");
                if ((size_t)(s - seg) <= litlen || strncmp(s - litlen, lit, litlen) != 0)
                    return 0;
                s -= litlen;
            }
            if (req != NULL) {
                if (nparams >= ZQ_ROUTE_MAX_PARAMS)
                    return 0;
                req->params[nparams] = zq_pool_strndup(&req->pool, seg, (size_t)(s - seg));
                if (req->params[nparams] == NULL)
                    return 0;
            }
            nparams++;
            p = close + 1;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*s != '\0')
        return 0;
    if (req != NULL)
        req->nparams = nparams;
    return 1;
}

void zq_router_fail(zq_req *req, int rc)
{
    if (rc >= 0 || req->responded)
        return;
    switch (-rc) {
    case ZQ_EUNAVAIL: zq_resp_unavailable(req); break;
    case ZQ_ENOTFOUND: zq_resp_error(req, 404, "not_found", "您访问的内容不存在。"); break;
    default: zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。"); break;
    }
}

static int method_matches(const char *route, const char *method)
{
    return strcmp(route, method) == 0 || (strcmp(method, "HEAD") == 0 && strcmp(route, "GET") == 0);
}

int zq_router_dispatch(const zq_route *routes, size_t n, zq_req *req)
{
    char allow[128];
    size_t i, alen = 0;
    int path_match = -1;

    allow[0] = '\0';
    for (i = 0; i < n; i++) {
        if (!zq_router_match(routes[i].pattern, req->path, NULL))
            continue;
        if (method_matches(routes[i].method, req->method)) {
            req->route_index = (int)i;
            zq_router_match(routes[i].pattern, req->path, req);
            zq_router_fail(req, routes[i].handler(req));
            return (int)i;
        }
        if (path_match < 0)
            path_match = (int)i;
        if (strstr(allow, routes[i].method) == NULL) {
            int w = snprintf(allow + alen, sizeof(allow) - alen, "%s%s", alen ? ", " : "",
                             routes[i].method);
            if (w > 0 && (size_t)w < sizeof(allow) - alen)
                alen += (size_t)w;
        }
    }
    req->route_index = path_match;
    if (path_match >= 0) {
        zq_resp_error(req, 405, "method_not_allowed", "请求方法不受支持。");
        zq_resp_header(req, "Allow", allow);
        return path_match;
    }
    zq_resp_error(req, 404, "not_found", "您访问的内容不存在。");
    return -1;
}
