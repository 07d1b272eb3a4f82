/* The staff API's case handlers (/api/admin/me, workflow, cases, stats,
 * digest, audit): each parses the request, calls lib/staff and shapes the
 * answer; errors go back to the router as codes. */
#ifndef ZHUQI_ADMIN_CASES_H
#define ZHUQI_ADMIN_CASES_H

#include "http.h"

int zq_h_admin_me(zq_req *req);
int zq_h_admin_workflow(zq_req *req);
int zq_h_admin_staff(zq_req *req);
int zq_h_admin_cases(zq_req *req);
int zq_h_admin_cases_csv(zq_req *req);
int zq_h_admin_cases_jsonl(zq_req *req);
int zq_h_admin_case(zq_req *req);
int zq_h_admin_case_transition(zq_req *req);
int zq_h_admin_case_note(zq_req *req);
int zq_h_admin_case_assign(zq_req *req);
int zq_h_admin_case_extension(zq_req *req);
int zq_h_admin_stats(zq_req *req);
int zq_h_admin_digest(zq_req *req);
int zq_h_admin_audit(zq_req *req);

#endif
