/* The enterprise's own actions on its case (specs/api.md, "The
 * enterprise loop"): withdrawing it before a decision and evaluating it
 * once closed. Both need the lookup page's session (X-CSRF-Token) proved
 * by SMS code for the case's mobile, with purpose "supplement" or
 * "lookup" (either shows the same thing: the code reached that mobile);
 * 403 otherwise, 409 when codes are off. lib/staff/enterprise.c stores
 * them. */
#ifndef ZHUQI_FCGI_ENTERPRISE_H
#define ZHUQI_FCGI_ENTERPRISE_H

#include "http.h"

/* POST /api/cases/{id}/withdraw {"reason"?}: 200 with the public view;
 * 409 already_withdrawn (a repeated withdrawal), decision_taken, or
 * case_changed (moved three times while trying). */
int zq_h_case_withdraw(zq_req *req);
/* POST /api/cases/{id}/evaluation {"rating","comment"?}: 200 with the
 * public view; 409 not_closed or already_evaluated. */
int zq_h_case_evaluation(zq_req *req);

#endif
