/* POST /api/intake/{form}/handoff {"token"}: opens a chat draft in the web
 * form. The token comes from a 网页填写 link (lib/chat/dialogue*.c), is
 * good for 15 minutes and only once. The draft is written into a web
 * session (lib/intake/session.c); an existing session is reused only when
 * the request proves it holds it (X-CSRF-Token), otherwise a new one is
 * made, so a link cannot be used to overwrite someone else's draft. */
#include "hooks.h"

#include <string.h>

#include "intake.h"
#include "zhuqi/dialogue.h"
#include "zhuqi/log.h"
#include "zhuqi/session.h"

/* Reuses the caller's session when the cookie and the CSRF token both
 * match it. Returns 1 (reused: s->sid and s->csrf set), 0 (none) or
 * -ZQ_EUNAVAIL. */
static int own_session(zq_req *req, zq_session *s)
{
    const char *tok = zq_req_header(req, "X-CSRF-Token");
    zq_err err = {0};
    int rc;

    memset(s, 0, sizeof(*s));
    if (tok == NULL)
        return 0;
    rc = zq_session_load(req->store, zq_req_cookie(req, "zq_sid"), NULL,
                         req->cfg->intake.session_ttl_s, s, &err);
    if (rc < 0)
        return rc;
    return s->exists && zq_ct_equal(tok, strlen(tok), s->csrf, strlen(s->csrf)) ? 1 : 0;
}

int zq_h_intake_handoff(zq_req *req)
{
    const zq_form *f = zq_intake_form_param(req);
    json_t *body = NULL, *draft = NULL, *answers, *done;
    const char *token, *dform, *step;
    zq_session s = {0};
    zq_err err = {0};
    int rc, own;

    if (f == NULL)
        return 0;
    if (zq_req_json(req, &body) < 0)
        return 0;
    token = json_string_value(json_object_get(body, "token"));
    if (token == NULL) {
        zq_resp_error(req, 400, "bad_request", "请求内容应包含 token。");
        rc = 0;
        goto out;
    }
    rc = zq_dialogue_take_handoff(req->store, token, &draft, &err);
    if (rc == -ZQ_EUNAVAIL)
        goto out;
    dform = json_string_value(json_object_get(draft, "form"));
    if (rc < 0 || dform == NULL || strcmp(dform, f->id) != 0) {
        zq_resp_error(req, 410, "handoff_expired",
                      "链接已失效或已使用，请回到聊天中回复“网页填写”重新获取。");
        rc = 0;
        goto out;
    }
    own = rc = own_session(req, &s);
    if (rc < 0)
        goto out;
    if (own == 0 && (rc = zq_session_new_ids(&s)) < 0)
        goto out;
    answers = json_object_get(draft, "answers");
    done = json_object_get(draft, "done");
    step = json_string_value(json_object_get(draft, "step"));
    s.draft = json_pack("{s:s, s:o, s:o}", "step", step ? step : "", "answers",
                        json_is_object(answers) ? json_incref(answers) : json_object(), "done",
                        json_is_array(done) ? json_incref(done) : json_array());
    if (s.draft == NULL) {
        rc = -ZQ_ENOMEM;
        goto out;
    }
    rc = zq_session_save(req->store, &s, f->id, true, req->cfg->intake.session_ttl_s, &err);
    if (rc < 0)
        goto out;
    if (own == 0)
        zq_intake_set_cookie(req, s.sid);
    ZQ_INFO("event=handoff form=%s session=%s", f->id, own ? "reused" : "new");
    zq_resp_json(req, own ? 200 : 201,
                 json_pack("{s:s, s:s, s:s, s:O, s:O, s:s}", "csrf", s.csrf, "form", f->id, "step",
                           step ? step : "", "answers", json_object_get(s.draft, "answers"), "done",
                           json_object_get(s.draft, "done"), "from", "chat"));
out:
    zq_session_clear(&s);
    json_decref(draft);
    return rc;
}
