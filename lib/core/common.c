/* Error records shared by every module. */
#include "zhuqi/common.h"

#include <stdio.h>

int zq_err_set(zq_err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
            err->msg[0] = '\0';
        va_end(ap);
    }
    return -code;
}

const char *zq_strerror(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case ZQ_OK: return "ok";
    case ZQ_EINVAL: return "invalid";
    case ZQ_ENOMEM: return "out of memory";
    case ZQ_EIO: return "i/o error";
    case ZQ_EUNAVAIL: return "storage unavailable";
    case ZQ_ETOOBIG: return "too large";
    case ZQ_ENOTFOUND: return "not found";
    case ZQ_EAUTH: return "unauthenticated";
    case ZQ_EFORBIDDEN: return "forbidden";
    case ZQ_ECONFLICT: return "conflict";
    case ZQ_EREPLY: return "storage error reply";
    case ZQ_EBUSY: return "busy";
    case ZQ_ENOTSUP: return "not supported";
    default: return "unknown error";
    }
}
