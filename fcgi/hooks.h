/* Handlers of the inbound chat webhooks (/hook/...) and of the hand-over
 * of a chat draft to the web form. */
#ifndef ZHUQI_HOOKS_H
#define ZHUQI_HOOKS_H

#include "http.h"

int zq_h_hook_wecom(zq_req *req);     /* GET,POST /hook/wecom */
int zq_h_hook_dingtalk(zq_req *req);  /* POST /hook/dingtalk */
int zq_h_hook_feishu(zq_req *req);    /* POST /hook/feishu */
int zq_h_hook_telegram(zq_req *req);  /* POST /hook/telegram */
int zq_h_hook_generic(zq_req *req);   /* POST /hook/generic */
int zq_h_intake_handoff(zq_req *req); /* POST /api/intake/{form}/handoff */

#endif
