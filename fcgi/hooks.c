/* The inbound chat webhooks: for each platform, verify and parse the
 * callback (lib/chat/inbound_*.c), drop platform retries by message id, run
 * the dialogue, and answer the way the platform wants, all without any
 * outbound HTTP (replies through a platform API are queued for zhuqi-bot
 * in the same script that saves the dialogue state), so every callback
 * is answered in a few Redis round trips.
 *
 * De-duplication: by the platform's message (event, update) id, in the
 * dialogue's own load and save (lib/chat/dialogue.c): a retry of a message that
 * was applied gets the platform's empty answer; a message that failed
 * (Redis away) left no mark, so the platform's retry goes through. */
#include "hooks.h"

#include <stdio.h>
#include <string.h>

#include "zhuqi/app.h"
#include "zhuqi/dialogue.h"
#include "zhuqi/inbound.h"
#include "zhuqi/log.h"

typedef struct render_ctx {
    const zq_inbound_adapter *a;
    const zq_config *cfg;
    const zq_inbound_msg *msg;
    zq_inbound_resp *resp;
    int64_t now_ms;
    zq_err *err;
} render_ctx;

static int render_cb(void *ctx, const zq_dialogue_replies *r, zq_chat_outbox *out)
{
    render_ctx *c = ctx;

    return c->a->render(c->cfg, c->msg, r, c->now_ms, c->resp, out, c->err);
}

static const char *req_header(void *ctx, const char *name)
{
    return zq_req_header(ctx, name);
}

static const char *req_query(void *ctx, const char *name)
{
    return zq_req_query(ctx, name);
}

static void send_resp(zq_req *req, const zq_inbound_resp *r)
{
    zq_resp_raw(req, r->status ? r->status : 200,
                r->content_type ? r->content_type : "text/plain; charset=utf-8",
                r->body.data ? r->body.data : "", r->body.len);
}

/* The answer to a message that gets no reply (duplicate, ignored). */
static void send_empty(zq_req *req, const zq_inbound_adapter *a, const zq_inbound_msg *msg,
                       zq_inbound_resp *resp, int64_t now_ms)
{
    zq_dialogue_replies none = {0};
    zq_chat_outbox ob = {0};
    zq_err err = {0};

    if (a->render(req->cfg, msg, &none, now_ms, resp, &ob, &err) < 0) {
        resp->status = 200;
        resp->content_type = "text/plain; charset=utf-8";
        zq_buf_reset(&resp->body);
    }
    zq_chat_outbox_clear(&ob);
    send_resp(req, resp);
}

/* True when zhuqi-bot can fetch what is sent in a chat of channel name
 * (chatmedia.h): a file store, and the platform's media API keys
 * (Telegram's bot token; the WeCom app's corp id, secret and agent). */
static bool media_ok(const zq_req *req, const char *name)
{
    const zq_config *cfg = req->cfg;

    if (req->app == NULL || req->app->files == NULL)
        return false;
    if (strcmp(name, "telegram") == 0)
        return cfg->telegram.bot_token[0] != '\0';
    if (strcmp(name, "wecom") == 0)
        return cfg->wecom.corp_secret[0] != '\0' && cfg->wecom.corp_id[0] != '\0' &&
               cfg->wecom.agent_id > 0;
    return false;
}

/* Returns 0 once answered, or a negative code for the router to answer. */
static int hook(zq_req *req, const char *name)
{
    const zq_inbound_adapter *a = zq_inbound_find(name);
    const zq_config *cfg = req->cfg;
    zq_inbound_msg msg;
    zq_inbound_resp resp;
    zq_inbound_http h;
    zq_dialogue_replies replies = {0};
    zq_dialogue_env env;
    zq_dialogue_in in;
    zq_dialogue_media media;
    render_ctx rc_ctx;
    zq_err err = {0};
    char dedup_id[128];
    int64_t now = zq_now_ms();
    int rc, ret = 0;

    memset(&msg, 0, sizeof(msg));
    memset(&resp, 0, sizeof(resp));
    if (a == NULL || !a->configured(cfg))
        return -ZQ_ENOTFOUND;
    if (req->body_len > cfg->chat.max_body) {
        ZQ_WARN("event=hook_rejected channel=%s status=413 bytes=%zu", name, req->body_len);
        zq_resp_error(req, 413, "too_large", "消息内容过大。");
        return 0;
    }
    memset(&h, 0, sizeof(h));
    h.method = req->method;
    h.body = req->body;
    h.body_len = req->body_len;
    h.header = req_header;
    h.query = req_query;
    h.ctx = req;
    h.now_ms = now;
    rc = a->parse(cfg, &h, &msg, &resp, &err);
    if (rc < 0) {
        ZQ_WARN("event=hook_rejected channel=%s status=%d reason=\"%s\"", name, resp.status,
                err.msg);
        send_resp(req, &resp);
        goto out;
    }
    if (msg.kind == ZQ_INBOUND_DONE) {
        ZQ_INFO("event=hook_verified channel=%s", name);
        send_resp(req, &resp);
        goto out;
    }
    if (msg.kind == ZQ_INBOUND_IGNORE) {
        send_empty(req, a, &msg, &resp, now);
        goto out;
    }
    zq_inbound_safe_id(msg.msg_id, dedup_id);
    memset(&in, 0, sizeof(in));
    in.dedup_id = dedup_id;
    in.sig_id = msg.sig_id[0] != '\0' ? msg.sig_id : NULL;
    in.sig_ttl_s = msg.sig_ttl_s;
    in.channel = msg.channel;
    in.user = msg.user;
    in.chat = msg.chat;
    in.group = msg.group;
    in.text = msg.kind == ZQ_INBOUND_TEXT ? msg.text : NULL;
    in.text_len = msg.kind == ZQ_INBOUND_TEXT ? msg.text_len : 0;
    in.can_push = msg.can_push;
    in.target_kind = msg.target_kind;
    in.target_address = msg.target_address;
    in.target_chat_id = msg.target_chat_id;
    in.target_secret = msg.target_secret;
    if (msg.kind == ZQ_INBOUND_OTHER && msg.media_id[0] != '\0') {
        media.id = msg.media_id;
        media.name = msg.media_name;
        media.size = msg.media_size;
        media.caption = msg.media_caption;
        media.reply_to = msg.reply_to;
        in.media = &media;
    }
    in.media_ok = media_ok(req, name);
    rc_ctx.a = a;
    rc_ctx.cfg = cfg;
    rc_ctx.msg = &msg;
    rc_ctx.resp = &resp;
    rc_ctx.now_ms = now;
    rc_ctx.err = &err;
    memset(&env, 0, sizeof(env));
    env.store = req->store;
    env.cfg = cfg;
    env.schema = req->app ? req->app->schema : NULL;
    env.calendar = req->app ? req->app->calendar : NULL;
    env.now_ms = now;
    env.outbox = render_cb;
    env.outbox_ctx = &rc_ctx;
    rc = zq_dialogue_handle(&env, &in, &replies, &err);
    if (rc < 0) {
        /* Nothing advanced and no mark was left: the platform's retry
         * will go through. */
        ZQ_ERROR("event=hook_failed channel=%s err=\"%s\"", name, err.msg);
        /* A state that kept changing is worth a retry, like an outage. */
        ret = rc == -ZQ_EBUSY ? -ZQ_EUNAVAIL : rc;
        goto out;
    }
    if (replies.replayed) {
        /* Answered like a bad signature: to the sender it is one. */
        ZQ_WARN("event=hook_rejected channel=%s status=401 reason=\"signature already used by "
                "another message\" msg_id=\"%.100s\"",
                name, msg.msg_id);
        zq_inbound_reject(&resp, 401, ZQ_EAUTH, "bad_signature", "签名校验失败。");
        send_resp(req, &resp);
        goto out;
    }
    if (replies.duplicate) {
        ZQ_INFO("event=hook_duplicate channel=%s msg_id=\"%.100s\"", name, msg.msg_id);
        send_empty(req, a, &msg, &resp, now);
        goto out;
    }
    ZQ_DEBUG("event=hook_message channel=%s kind=%s bytes=%zu replies=%zu", name,
             msg.kind == ZQ_INBOUND_TEXT ? "text" : "other", msg.text_len, replies.n);
    send_resp(req, &resp);
out:
    zq_dialogue_replies_clear(&replies);
    zq_inbound_resp_clear(&resp);
    zq_inbound_msg_clear(&msg);
    return ret;
}

int zq_h_hook_wecom(zq_req *req)
{
    return hook(req, "wecom");
}

int zq_h_hook_dingtalk(zq_req *req)
{
    return hook(req, "dingtalk");
}

int zq_h_hook_feishu(zq_req *req)
{
    return hook(req, "feishu");
}

int zq_h_hook_telegram(zq_req *req)
{
    return hook(req, "telegram");
}

int zq_h_hook_generic(zq_req *req)
{
    return hook(req, "generic");
}
