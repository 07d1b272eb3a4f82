/* The staff API of push targets, the tax-assistance class calendar and
 * service notices (fcgi/admin_push.c). Reads need the viewer role, writes
 * the admin role. */
#ifndef ZHUQI_ADMIN_PUSH_H
#define ZHUQI_ADMIN_PUSH_H

#include "http.h"

int zq_h_admin_targets(zq_req *req);       /* GET /api/admin/targets */
int zq_h_admin_target_save(zq_req *req);   /* POST /api/admin/targets */
int zq_h_admin_target_delete(zq_req *req); /* DELETE /api/admin/targets/{id} */
/* POST /api/admin/targets/{id}/enable: clears what zhuqi-bot set when the
 * platform said the target is gone (targets.h); 200 {"target"} or 404. */
int zq_h_admin_target_enable(zq_req *req);
int zq_h_admin_classes(zq_req *req);       /* GET /api/admin/classes */
int zq_h_admin_class_save(zq_req *req);    /* POST /api/admin/classes */
int zq_h_admin_notices(zq_req *req);       /* GET /api/admin/notices */
int zq_h_admin_notice_create(zq_req *req); /* POST /api/admin/notices */
int zq_h_admin_notice(zq_req *req);        /* GET /api/admin/notices/{id} */

#endif
