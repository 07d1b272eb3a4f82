/* The enterprise's printable receipt of a case (specs/api.md, "The
 * enterprise loop, files and SMS"). */
#ifndef ZHUQI_FCGI_RECEIPT_H
#define ZHUQI_FCGI_RECEIPT_H

#include "http.h"

/* GET /api/cases/{id}/receipt: the receipt page (lib/intake/receipt.c)
 * for the session that filed the case (its owner mark) or a session that
 * proved the case's mobile by SMS code for lookup or supplement (where
 * [verify] has them on); everyone else, unknown numbers included, gets
 * the same 403 page. HTML answers, never cached. */
int zq_h_case_receipt(zq_req *req);

#endif
