/* Shared error codes, the caller-supplied error record, and small helpers. */
#ifndef ZHUQI_COMMON_H
#define ZHUQI_COMMON_H

#include <stdarg.h>
#include <stddef.h>

/* Every function that can fail returns 0 (ZQ_OK) or one of these, negated. */
enum {
    ZQ_OK = 0,
    ZQ_EINVAL = 1,     /* bad input from outside */
    ZQ_ENOMEM = 2,     /* allocation failed */
    ZQ_EIO = 3,        /* system call failed */
    ZQ_EUNAVAIL = 4,   /* storage (Redis) unreachable */
    ZQ_ETOOBIG = 5,    /* size bound exceeded */
    ZQ_ENOTFOUND = 6,  /* no such thing */
    ZQ_EAUTH = 7,      /* no or bad credentials */
    ZQ_EFORBIDDEN = 8, /* credentials fine, not allowed */
    ZQ_ECONFLICT = 9,  /* state does not allow it */
    ZQ_EREPLY = 10,    /* storage answered with an error */
    ZQ_EBUSY = 11,     /* already running / held by someone else */
    ZQ_ENOTSUP = 12,   /* not configured or not supported here */
};

/* Detail for a failure: a code (one of the ZQ_E* above, positive) and an
 * English message for operators and logs. Callers own it, usually on the
 * stack; NULL is accepted everywhere an err is taken. */
typedef struct zq_err {
    int code;
    char msg[256];
} zq_err;

/* Sets err (when not NULL) and returns -code, so that
 * `return zq_err_set(err, ZQ_EINVAL, "bad %s", x);` reads naturally. */
int zq_err_set(zq_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A short English name for a code ("invalid", "unavailable", ...). */
const char *zq_strerror(int code);

/* Beijing time is UTC+8 all year: China has no daylight saving. Here
 * rather than in calendar.h so that the log's timestamps use it too. */
#define ZQ_BEIJING_OFFSET_S 28800 /* 8 hours */

#define ZQ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
