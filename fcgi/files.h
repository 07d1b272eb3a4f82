/* Handlers of evidence files (specs/api.md, "The enterprise loop"). */
#ifndef ZHUQI_FCGI_FILES_H
#define ZHUQI_FCGI_FILES_H

#include "http.h"

int zq_h_intake_file_upload(zq_req *req); /* POST /api/intake/{form}/files?kind=K */
int zq_h_intake_file_delete(zq_req *req); /* DELETE /api/intake/{form}/files/{fid} */
int zq_h_admin_case_file(zq_req *req);    /* GET /api/admin/cases/{id}/files/{fid} */
/* The answer to a request for more material, after sms/verify with
 * purpose "supplement" for the case's mobile in this session. */
int zq_h_case_file_upload(zq_req *req); /* POST /api/cases/{id}/files?kind=K */
int zq_h_case_file_delete(zq_req *req); /* DELETE /api/cases/{id}/files/{fid} */
int zq_h_case_supplement(zq_req *req);  /* POST /api/cases/{id}/supplements */

#endif
