/* Handlers of the public intake API (specs/api.md, "Public"). */
#ifndef ZHUQI_INTAKE_H
#define ZHUQI_INTAKE_H

#include "http.h"
#include "zhuqi/schema.h"

/* The form named by the first route parameter, or NULL after a 404
 * unknown_form (borrowed from the app's schema). */
const zq_form *zq_intake_form_param(zq_req *req);

struct zq_session;

/* Answers 410 when the cookie names a session that has gone, 404 when
 * there was never one. */
void zq_intake_no_session(zq_req *req);

/* Checks X-CSRF-Token against the session. Returns 0, or -1 after a 403. */
int zq_intake_check_csrf(zq_req *req, const struct zq_session *s);

/* Sets the session cookie zq_sid=sid on the response. */
void zq_intake_set_cookie(zq_req *req, const char *sid);

int zq_h_forms(zq_req *req);         /* GET /api/forms */
int zq_h_form(zq_req *req);          /* GET /api/forms/{form} */
int zq_h_intake_start(zq_req *req);  /* POST /api/intake/{form} */
int zq_h_intake_get(zq_req *req);    /* GET /api/intake/{form} */
int zq_h_intake_state(zq_req *req);  /* GET /api/intake/{form}/state: draft, none or expired */
int zq_h_intake_step(zq_req *req);   /* PUT /api/intake/{form}/steps/{step} */
int zq_h_intake_submit(zq_req *req); /* POST /api/intake/{form}/submit */
int zq_h_intake_resume(zq_req *req); /* POST /api/intake/{form}/resume */
int zq_h_session(zq_req *req);       /* POST /api/session: a session without a draft */
int zq_h_case_lookup(zq_req *req);   /* POST /api/cases/{id}/lookup */
int zq_h_classes(zq_req *req);       /* GET /api/classes */

#endif
