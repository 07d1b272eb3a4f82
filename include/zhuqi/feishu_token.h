/* The Feishu / Lark tenant access token that the IM API (chat replies,
 * messages to app chats) needs: fetched with the app's App ID and App
 * Secret from {feishu_base_url}/open-apis/auth/v3/tenant_access_token/internal
 * (lib/apptoken.c does the work for every platform) and cached in
 * Redis, {prefix}feishu:tenant_token:{app_id}, until five minutes before
 * it expires, so every zhuqi-bot instance shares one token and Feishu is
 * asked about once every two hours.
 *
 * For zhuqi-bot (it does HTTP with libcurl; call curl_global_init before
 * starting threads); zhuqi-fcgi never calls it. A chat reply entry with
 * auth "feishu_tenant_token" (chat_outbox.h) is sent with
 * "Authorization: Bearer <token>"; when Feishu answers that the token is
 * invalid (zq_feishu_token_rejected), forget it and retry once with a
 * fresh one. */
#ifndef ZHUQI_FEISHU_TOKEN_H
#define ZHUQI_FEISHU_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "zhuqi/common.h"
#include "zhuqi/store.h"

#define ZQ_FEISHU_TOKEN_MAX 256

/* Writes the current token into out. Uses the cached one unless refresh
 * is set or there is none; otherwise fetches (timeout_ms for the whole
 * request) and caches it. Returns 0; -ZQ_EUNAVAIL (Redis away),
 * -ZQ_EIO (Feishu unreachable or answered 5xx: retry later), -ZQ_EAUTH
 * (Feishu refused the app id or secret: its code and message in err). */
int zq_feishu_tenant_token(zq_store *st, const char *base_url, const char *app_id,
                           const char *app_secret, bool refresh, int timeout_ms,
                           char out[ZQ_FEISHU_TOKEN_MAX], zq_err *err);

/* Drops the cached token of app_id. Returns 0 or -ZQ_EUNAVAIL. */
int zq_feishu_token_forget(zq_store *st, const char *app_id, zq_err *err);

/* True when a Feishu API answer says the tenant access token is invalid
 * or expired (codes 99991661, 99991663, 99991668, 99991677), so it must
 * be fetched again. */
bool zq_feishu_token_rejected(const char *body, size_t len);

#endif
