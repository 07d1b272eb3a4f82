/* Handlers of the public intake API (specs/api.md, "Public"). */
#ifndef ZHUQI_INTAKE_H
#define ZHUQI_INTAKE_H

#include "http.h"

int zq_h_forms(zq_req *req);         /* GET /api/forms */
int zq_h_form(zq_req *req);          /* GET /api/forms/{form} */
int zq_h_intake_start(zq_req *req);  /* POST /api/intake/{form} */
int zq_h_intake_get(zq_req *req);    /* GET /api/intake/{form} */
int zq_h_intake_step(zq_req *req);   /* PUT /api/intake/{form}/steps/{step} */
int zq_h_intake_submit(zq_req *req); /* POST /api/intake/{form}/submit */
int zq_h_case_lookup(zq_req *req);   /* POST /api/cases/{id}/lookup */
int zq_h_classes(zq_req *req);       /* GET /api/classes */

#endif
