/* The printable receipt over HTTP (see receipt.h). Who may see it is
 * decided from what is stored already: the case's owner mark
 * (zq_case_owner of the submitting session's id, written by the creation
 * script) and the session's SMS proofs; the page is lib/intake/receipt.c's. */
#include "receipt.h"

#include <string.h>

#include "verify.h"
#include "zhuqi/app.h"
#include "zhuqi/cases.h"
#include "zhuqi/log.h"
#include "zhuqi/receipt.h"
#include "zhuqi/session.h"

/* Sends page (status) as HTML with the receipt's CSP. */
static int send_page(zq_req *req, int status, zq_buf *page)
{
    char csp[256];

    if (page->oom)
        return -ZQ_ENOMEM;
    if (zq_receipt_csp(csp, sizeof(csp)) == 0)
        req->csp = zq_pool_strdup(&req->pool, csp);
    zq_resp_raw(req, status, "text/html; charset=utf-8", page->data ? page->data : "", page->len);
    return 0;
}

/* The 403 page: one answer for an unknown number, a stranger and an
 * expired session alike, so that it tells nobody which cases exist. */
static int refuse(zq_req *req, const char *id)
{
    zq_buf page = {0}, link = {0};
    const char *why =
        zq_verify_purpose_on(req, "lookup", NULL)
            ? "回执只能在提交案件时使用的浏览器上查看；也可以先在“进度查询”页面用短信验证码"
              "验证提交时填写的手机号码，再打开回执。"
            : "回执只能在提交案件时使用的浏览器上、页面超时之前查看。办理进度可以凭案件编号和"
              "手机号码在“进度查询”页面查询。";
    int rc;

    zq_buf_puts(&link, "/lookup.html");
    if (id != NULL && zq_case_id_valid(id))
        zq_buf_printf(&link, "?id=%s", id);
    rc = zq_receipt_refusal_html("无法查看回执", why, link.data, "前往进度查询", &page);
    if (rc == 0 && !link.oom)
        rc = send_page(req, 403, &page);
    else
        rc = -ZQ_ENOMEM;
    zq_buf_free(&page);
    zq_buf_free(&link);
    return rc;
}

/* Redis away: a page, not JSON, since a person opened this. */
static int unavailable(zq_req *req)
{
    zq_buf page = {0};
    char ra[16];
    int rc = zq_receipt_refusal_html("服务暂时不可用", "请稍后刷新页面重试。", NULL, NULL, &page);

    if (rc == 0)
        rc = send_page(req, 503, &page);
    if (rc == 0 && zq_fmt(ra, sizeof(ra), "%d", req->cfg ? req->cfg->server.retry_after_s : 5) == 0)
        zq_resp_header(req, "Retry-After", ra);
    zq_buf_free(&page);
    return rc;
}

/* The lookup page's address for the receipt, from [chat] web_base_url
 * (the public site; checked to end without a slash), or "" when it is
 * not set. */
static const char *lookup_url(zq_req *req)
{
    const char *base = req->cfg->chat.web_base_url;
    zq_buf b = {0};
    char *out;

    if (base[0] == '\0')
        return "";
    zq_buf_printf(&b, "%s/lookup.html", base);
    out = b.oom ? NULL : zq_pool_strdup(&req->pool, b.data);
    zq_buf_free(&b);
    return out ? out : "";
}

int zq_h_case_receipt(zq_req *req)
{
    static const char *const kinds[] = {"lookup", "supplement"};
    const char *purposes[2], *id = req->nparams > 0 ? req->params[0] : NULL;
    const char *sid = zq_req_cookie(req, "zq_sid");
    char owner[ZQ_CASE_OWNER_LEN + 1];
    bool exists = false, verified = false, filed;
    size_t np = 0, i;
    zq_receipt_in in;
    zq_case c;
    zq_buf page = {0};
    zq_err err = {0};
    int rc;

    memset(&c, 0, sizeof(c));
    if (id == NULL || !zq_case_id_valid(id) || !zq_session_sid_valid(sid))
        return refuse(req, id);
    rc = zq_case_load(req->store, id, &c, &err);
    if (rc == -ZQ_ENOTFOUND)
        return refuse(req, id);
    if (rc < 0) {
        if (rc != -ZQ_EUNAVAIL)
            ZQ_ERROR("event=receipt_case_failed id=%s err=\"%s\"", id, err.msg);
        return rc == -ZQ_EUNAVAIL ? unavailable(req) : -ZQ_EREPLY;
    }
    /* A proof counts only for a use [verify] has on now. */
    for (i = 0; i < ZQ_ARRAY_LEN(kinds); i++)
        if (zq_verify_purpose_on(req, kinds[i], NULL))
            purposes[np++] = kinds[i];
    rc = zq_session_verified_any(req->store, sid, purposes, np, c.mobile[0] ? c.mobile : NULL,
                                 zq_now_ms(), &exists, &verified, &err);
    if (rc < 0) {
        rc = rc == -ZQ_EUNAVAIL ? unavailable(req) : -ZQ_EREPLY;
        goto out;
    }
    /* The filing session: the case's owner mark is made from its id. A
     * case without a mark (older, or filed in a chat) has no such session. */
    zq_case_owner(sid, owner);
    filed = c.owner[0] != '\0' && zq_ct_equal(c.owner, strlen(c.owner), owner, strlen(owner));
    if (!exists || (!filed && !verified)) {
        ZQ_INFO("event=receipt_refused id=%s session=%d", id, exists);
        rc = refuse(req, id);
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.schema = req->app ? req->app->schema : NULL;
    in.c = &c;
    in.office = req->cfg->intake.office_name;
    in.lookup_url = lookup_url(req);
    if ((rc = zq_receipt_html(&in, &page)) == 0)
        rc = send_page(req, 200, &page);
    ZQ_INFO("event=receipt_shown id=%s by=%s", id, filed ? "filer" : "verified");
out:
    zq_buf_free(&page);
    zq_case_clear(&c);
    return rc;
}
