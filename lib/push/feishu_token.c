/* The Feishu tenant access token (see include/zhuqi/feishu_token.h): the
 * Feishu case of lib/apptoken.c, which fetches and caches every app
 * platform's token the same way (same Redis key as before). */
#include "zhuqi/feishu_token.h"

#include <jansson.h>
#include <string.h>

#include "zhuqi/apptoken.h"

static void feishu_app(zq_apptoken_app *app, const char *base_url, const char *app_id,
                       const char *app_secret)
{
    memset(app, 0, sizeof(*app));
    app->kind = ZQ_APPTOKEN_FEISHU;
    app->base_url = base_url;
    app->id = app_id;
    app->secret = app_secret;
}

int zq_feishu_tenant_token(zq_store *st, const char *base_url, const char *app_id,
                           const char *app_secret, bool refresh, int timeout_ms,
                           char out[ZQ_FEISHU_TOKEN_MAX], zq_err *err)
{
    char tok[ZQ_APPTOKEN_MAX];
    zq_apptoken_app app;
    int rc;

    out[0] = '\0';
    feishu_app(&app, base_url, app_id, app_secret);
    rc = zq_apptoken_get(st, &app, refresh, timeout_ms, tok, err);
    if (rc < 0)
        return rc;
    if (strlen(tok) >= ZQ_FEISHU_TOKEN_MAX)
        return zq_err_set(err, ZQ_EAUTH, "feishu token: token longer than %d bytes",
                          ZQ_FEISHU_TOKEN_MAX - 1);
    memcpy(out, tok, strlen(tok) + 1);
    return 0;
}

int zq_feishu_token_forget(zq_store *st, const char *app_id, zq_err *err)
{
    zq_apptoken_app app;

    feishu_app(&app, "", app_id, "");
    return zq_apptoken_forget(st, &app, err);
}

bool zq_feishu_token_rejected(const char *body, size_t len)
{
    json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_int_t code = json_integer_value(json_object_get(j, "code"));

    json_decref(j);
    return code == 99991661 || code == 99991663 || code == 99991668 || code == 99991677;
}
