/* Handlers of evidence files (specs/api.md, "The enterprise loop"). */
#ifndef ZHUQI_FCGI_FILES_H
#define ZHUQI_FCGI_FILES_H

#include "http.h"

int zq_h_intake_file_upload(zq_req *req); /* POST /api/intake/{form}/files?kind=K */
int zq_h_intake_file_delete(zq_req *req); /* DELETE /api/intake/{form}/files/{fid} */
int zq_h_admin_case_file(zq_req *req);    /* GET /api/admin/cases/{id}/files/{fid} */

#endif
