/* The access tokens of the platforms' app APIs, fetched with the app's
 * credentials and cached in Redis until a little before they expire, so
 * that every zhuqi-bot instance shares one token per app and the
 * platform's token endpoint (which WeCom and DingTalk rate-limit) is asked
 * about once every two hours, whatever the number of instances or
 * restarts:
 *
 *   Feishu    POST {feishu}/open-apis/auth/v3/tenant_access_token/internal
 *             {"app_id","app_secret"} -> {"code":0,"tenant_access_token",
 *             "expire"}                 key {prefix}feishu:tenant_token:{app_id}
 *   DingTalk  POST {dingtalk api}/v1.0/oauth2/accessToken {"appKey",
 *             "appSecret"} -> {"accessToken","expireIn"}; errors HTTP 4xx
 *             {"code","message"}        key {prefix}dingtalk:access_token:{app_key}
 *   WeCom     GET {wecom}/cgi-bin/gettoken?corpid=&corpsecret= ->
 *             {"errcode":0,"access_token","expires_in"}
 *                                       key {prefix}wecom:access_token:{corp_id}:{agent_id}
 *
 * The DingTalk and WeCom endpoints are not in specs/channels.md: they come
 * from the vendors' public documentation (base URLs are configuration).
 * Each platform hands out the same token again while it is valid, so two
 * instances refreshing at once do no harm.
 *
 * The Feishu tenant token is also what the IM API's chat replies need
 * (chat_outbox.h auth "feishu_tenant_token": zhuqi-bot sends them with
 * "Authorization: Bearer <token>"). When a platform answers that a token
 * is invalid (zq_channel_token_rejected), forget it and fetch it again.
 *
 * For zhuqi-bot (libcurl, synchronous: call curl_global_init before
 * threads start); zhuqi-fcgi never calls it. */
#ifndef ZHUQI_APPTOKEN_H
#define ZHUQI_APPTOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "zhuqi/channel.h"
#include "zhuqi/common.h"
#include "zhuqi/config.h"
#include "zhuqi/store.h"

/* WeCom keeps room for 512 bytes; the others are far shorter. */
#define ZQ_APPTOKEN_MAX 600

typedef enum zq_apptoken_kind {
    ZQ_APPTOKEN_FEISHU = 0, /* tenant_access_token */
    ZQ_APPTOKEN_DINGTALK,   /* app robot accessToken (企业内部应用) */
    ZQ_APPTOKEN_WECOM,      /* self-built app access_token */
} zq_apptoken_kind;

/* One app's credentials. Strings borrowed (scope is held). */
typedef struct zq_apptoken_app {
    zq_apptoken_kind kind;
    const char *base_url; /* feishu_base_url, dingtalk_api_base_url, wecom_base_url */
    const char *id;       /* Feishu app_id, DingTalk app_key, WeCom corp_id */
    const char *secret;   /* app_secret, app_secret, corp_secret */
    char scope[24];       /* WeCom: the agent id (one token per app); else "" */
} zq_apptoken_app;

/* The app whose token a request of auth needs, from the configuration.
 * Returns 0, or -ZQ_EINVAL when auth is ZQ_AUTH_NONE. (Whether the
 * credentials are set is checked by zq_apptoken_get.) */
int zq_apptoken_for(const zq_config *cfg, zq_outreq_auth auth, zq_apptoken_app *out);

/* Writes the app's current token into out. Uses the cached one unless
 * refresh is set or there is none; otherwise fetches it (timeout_ms for
 * the whole request) and caches it until five minutes before it expires.
 * Returns 0; -ZQ_EUNAVAIL (Redis away), -ZQ_EIO (the platform unreachable,
 * 5xx, 429, an answer that is not JSON, throttled (Feishu 99991400,
 * WeCom 45009, DingTalk's QpsLimit/quota 403s), busy or any error code
 * that does not name the credentials: retry later), -ZQ_EAUTH
 * (credentials missing or refused: Feishu 10xxx such as 10003/10014,
 * WeCom 40001/40013/40091/41002/41004/42001/60020, DingTalk
 * invalidClientIdOrSecret, 40089 and other 4xx codes; the platform's code
 * and message in err). */
int zq_apptoken_get(zq_store *st, const zq_apptoken_app *app, bool refresh, int timeout_ms,
                    char out[ZQ_APPTOKEN_MAX], zq_err *err);

/* Drops the app's cached token. Returns 0 or -ZQ_EUNAVAIL. */
int zq_apptoken_forget(zq_store *st, const zq_apptoken_app *app, zq_err *err);

/* Appends the token to a request the way auth wants it: into url (a
 * NUL-terminated string of urlsz bytes) as "access_token=" for WeCom, or
 * as a header line "Name: value" into hdr (hdrsz bytes; "" when none).
 * Returns 0 or -ZQ_ETOOBIG. */
int zq_apptoken_apply(zq_outreq_auth auth, const char *token, char *url, size_t urlsz, char *hdr,
                      size_t hdrsz);

#endif
