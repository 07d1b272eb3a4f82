/* SMS verification codes over HTTP (specs/api.md, "The enterprise loop,
 * files and SMS"): asking for a code,
 * checking it, and what a verified session may do: list every case of
 * its mobile. The code store is lib/intake/otp.c. */
#ifndef ZHUQI_VERIFY_H
#define ZHUQI_VERIFY_H

#include <stdbool.h>

#include "http.h"
#include "zhuqi/schema.h"
#include "zhuqi/session.h"

struct zq_app;

/* Refuses a configuration that sends SMS and wants codes somewhere but
 * has no pepper (the codes would silently be off). Returns 0 or
 * -ZQ_EINVAL with err saying what to set. */
int zq_verify_check_config(const struct zq_app *app, zq_err *err);

/* True when codes can be sent at all: SMS is configured ([sms] provider,
 * zq_sms_enabled) and a pepper is set. Nothing asks for a code otherwise:
 * no check applies, and the code endpoints answer 409. */
bool zq_verify_available(const zq_req *req);

/* True when [verify] switches purpose on (and codes are available). For
 * "submit", form says which flow (NULL: either). */
bool zq_verify_purpose_on(const zq_req *req, const char *purpose, const zq_form *form);

/* Loads the session of the cookie (no draft) and checks X-CSRF-Token.
 * Returns 0 with s filled in (clear it), 1 after having answered (no
 * session: 410 or 403; bad token: 403), or a negative code (503). */
int zq_verify_session(zq_req *req, zq_session *s);

/* The mobile of a request body as 11 digits (in the request's pool), or
 * NULL after a 422 naming the field. */
const char *zq_verify_mobile_param(zq_req *req, json_t *body);

/* What pages need to know: {"available", "resend_after", "purposes":
 * {"submit", "resume", "lookup", "supplement"}}. Returns a new object. */
json_t *zq_verify_view(const zq_req *req);

/* Answers 409 when codes are off or purpose is switched off, and returns
 * false then. */
bool zq_verify_require_on(zq_req *req, const char *purpose, const zq_form *form);

int zq_h_sms_code(zq_req *req);            /* POST /api/sms/code */
int zq_h_sms_verify(zq_req *req);          /* POST /api/sms/verify */
int zq_h_cases_lookup_mobile(zq_req *req); /* POST /api/cases/lookup */
/* GET /api/verify: {"verify": zq_verify_view}, from the configuration
 * alone (no session, no Redis), so a page learns whether to offer what
 * needs a code before it makes a session; cacheable for a minute. */
int zq_h_verify(zq_req *req);

#endif
