/* POST /api/intake/{form}/handoff {"token"}: opens a chat draft in the web
 * form. The token comes from a 网页填写 link (lib/dialogue.c), is good
 * for 15 minutes and only once. The draft is written into a web session
 * in fcgi/intake.c's layout (hash sess:{sid}: csrf, f:{form} = {step,
 * answers, done}); an existing session is reused only when the request
 * proves it holds it (X-CSRF-Token), otherwise a new one is made, so a
 * link cannot be used to overwrite someone else's draft. */
#include "hooks.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuqi/app.h"
#include "zhuqi/chatcrypt.h"
#include "zhuqi/dialogue.h"
#include "zhuqi/log.h"

#define SID_HEX 64

static bool hex64(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != SID_HEX)
        return false;
    for (i = 0; i < SID_HEX; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

/* Reuses the caller's session when the cookie and the CSRF token both
 * match it. Returns 1 (reused), 0 (none) or -ZQ_EUNAVAIL. */
static int own_session(zq_req *req, char sid[SID_HEX + 1], char csrf[SID_HEX + 1])
{
    const char *cookie = zq_req_cookie(req, "zq_sid"), *tok = zq_req_header(req, "X-CSRF-Token");
    zq_err err = {0};
    redisReply *r;
    int rc = 0;

    if (!hex64(cookie) || tok == NULL)
        return 0;
    r = zq_store_command(req->store, &err, "HGET %ssess:%s csrf", zq_store_prefix(req->store),
                         cookie);
    if (r == NULL)
        return -ZQ_EUNAVAIL;
    if (r->type == REDIS_REPLY_STRING && r->len == SID_HEX &&
        zq_ct_equal(tok, strlen(tok), r->str, r->len)) {
        memcpy(sid, cookie, SID_HEX + 1);
        memcpy(csrf, r->str, SID_HEX + 1);
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

int zq_h_intake_handoff(zq_req *req)
{
    const zq_schema *s = req->app ? req->app->schema : NULL;
    const zq_form *f = s && req->nparams > 0 ? zq_schema_form(s, req->params[0]) : NULL;
    json_t *body = NULL, *draft = NULL, *web = NULL, *answers, *done;
    const char *token, *dform, *step;
    char sid[SID_HEX + 1], csrf[SID_HEX + 1], field[64], cookie[256];
    redisReply *rep[2] = {NULL, NULL};
    char *js = NULL;
    zq_err err = {0};
    int rc, own;

    if (f == NULL) {
        zq_resp_error(req, 404, "unknown_form", "没有这个办理事项。");
        return 0;
    }
    if (zq_req_json(req, &body) < 0)
        return 0;
    token = json_string_value(json_object_get(body, "token"));
    if (token == NULL) {
        zq_resp_error(req, 400, "bad_request", "请求内容应包含 token。");
        goto out;
    }
    rc = zq_dialogue_take_handoff(req->store, token, &draft, &err);
    if (rc == -ZQ_EUNAVAIL) {
        zq_resp_unavailable(req);
        goto out;
    }
    dform = json_string_value(json_object_get(draft, "form"));
    if (rc < 0 || dform == NULL || strcmp(dform, f->id) != 0) {
        zq_resp_error(req, 410, "handoff_expired",
                      "链接已失效或已使用，请回到聊天中回复“网页填写”重新获取。");
        goto out;
    }
    own = own_session(req, sid, csrf);
    if (own < 0) {
        zq_resp_unavailable(req);
        goto out;
    }
    if (own == 0 && (zq_random_hex(sid, SID_HEX / 2) < 0 || zq_random_hex(csrf, SID_HEX / 2) < 0)) {
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        goto out;
    }
    answers = json_object_get(draft, "answers");
    done = json_object_get(draft, "done");
    step = json_string_value(json_object_get(draft, "step"));
    web = json_pack("{s:s, s:o, s:o}", "step", step ? step : "", "answers",
                    json_is_object(answers) ? json_incref(answers) : json_object(), "done",
                    json_is_array(done) ? json_incref(done) : json_array());
    js = web ? json_dumps(web, JSON_COMPACT) : NULL;
    if (js == NULL) {
        zq_resp_error(req, 500, "internal_error", "服务器内部错误，请稍后重试。");
        goto out;
    }
    snprintf(field, sizeof(field), "f:%s", f->id);
    zq_store_append(req->store, "HSET %ssess:%s csrf %s %s %s", zq_store_prefix(req->store), sid,
                    csrf, field, js);
    zq_store_append(req->store, "EXPIRE %ssess:%s %d", zq_store_prefix(req->store), sid,
                    req->cfg->intake.session_ttl_s);
    if (zq_store_read_replies(req->store, &err, 2, rep) < 0 || rep[0]->type == REDIS_REPLY_ERROR) {
        zq_resp_unavailable(req);
        goto out;
    }
    snprintf(cookie, sizeof(cookie), "zq_sid=%s; Path=/api/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
             sid, req->cfg->intake.session_ttl_s, req->cfg->server.cookie_secure ? "; Secure" : "");
    if (own == 0)
        zq_resp_header(req, "Set-Cookie", cookie);
    ZQ_INFO("event=handoff form=%s session=%s", f->id, own ? "reused" : "new");
    zq_resp_json(req, own ? 200 : 201,
                 json_pack("{s:s, s:s, s:s, s:O, s:O, s:s}", "csrf", csrf, "form", f->id, "step",
                           step ? step : "", "answers", json_object_get(web, "answers"), "done",
                           json_object_get(web, "done"), "from", "chat"));
out:
    if (rep[0] != NULL)
        freeReplyObject(rep[0]);
    if (rep[1] != NULL)
        freeReplyObject(rep[1]);
    free(js);
    json_decref(web);
    json_decref(draft);
    json_decref(body);
    return 0;
}
