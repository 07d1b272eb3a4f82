/* Fuzzes the WeCom callback adapter (lib/inbound_wecom.c) end to end:
 * the outer XML, the signature, the decryption, the inner XML and the
 * encrypted passive reply. The harness signs (and, for the inner XML,
 * encrypts) what the fuzzer made, so that the input reaches the parsers
 * behind the signature check.
 * Input: a mode byte, bits 0-1:
 *   0  the outer body; msg_signature made over its <Encrypt>
 *   1  the inner (decrypted) XML, encrypted and wrapped here
 *   2  GET: the echostr of the URL check, signed here
 *   3  unsigned: lines msg_signature, timestamp, nonce, then the body
 * bit 2: the timestamp is an hour and a bit off (refused).
 * Mode 1 also renders the body as a reply, passively and as the app
 * messages of a long reply (zq_inbound_wecom_app_parts). */
#include <jansson.h>
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/chatcrypt.h"
#include "zhuqi/xml.h"

static zq_config g_cfg;

FUZZ_INBOUND_INITIALIZE(g_cfg)

/* Decrypts the passive reply in body and checks it is well formed. */
static void check_reply(const char *body, size_t len)
{
    zq_pool pool = {0};
    zq_xml_doc outer, inner;
    zq_buf plain = {0};
    zq_err err = {0};
    const char *enc;
    size_t elen;

    if (len == 0)
        return; /* an empty answer: received */
    FUZZ_CHECK(zq_xml_parse(&pool, body, len, &outer, &err) == 0);
    enc = zq_xml_get(&outer, "Encrypt", &elen);
    FUZZ_CHECK(enc != NULL && zq_xml_get(&outer, "MsgSignature", NULL) != NULL);
    FUZZ_CHECK(zq_chatcrypt_wecom_decrypt(g_cfg.wecom.encoding_aes_key, enc, elen,
                                          g_cfg.wecom.corp_id, &plain, &err) == 0);
    FUZZ_CHECK(zq_xml_parse(&pool, plain.data, plain.len, &inner, &err) == 0);
    FUZZ_CHECK(zq_xml_get(&inner, "Content", &elen) != NULL && elen <= ZQ_INBOUND_WECOM_MAX);
    zq_buf_free(&plain);
    zq_pool_free(&pool);
}

/* The app messages of text: one series entry whose parts are each within
 * the limit and valid UTF-8, and join to text (unless the series was full
 * and the last part says it was cut). */
static void check_app_parts(const char *text, size_t len)
{
    zq_chat_outbox ob = {0};
    zq_buf all = {0};
    zq_err err = {0};
    json_t *a, *v;
    size_t i;

    FUZZ_CHECK(zq_inbound_wecom_app_parts(&g_cfg, "zhangsan", text, len, &ob, &err) == 0);
    FUZZ_CHECK(ob.n == 1);
    a = json_loads(ob.e[0].body, 0, NULL);
    FUZZ_CHECK(json_is_array(a) && (int)json_array_size(a) == ob.e[0].parts);
    json_array_foreach(a, i, v)
    {
        json_t *c = json_object_get(json_object_get(v, "text"), "content");
        size_t n = json_string_length(c);

        FUZZ_CHECK(json_is_string(c) && n <= ZQ_INBOUND_WECOM_MAX);
        FUZZ_CHECK(zq_utf8_valid(json_string_value(c), n));
        zq_buf_append(&all, json_string_value(c), n);
    }
    if (ob.e[0].parts < ZQ_CHAT_OUTBOX_MAX_PARTS)
        FUZZ_CHECK(all.len == len && memcmp(all.data, text, len) == 0);
    json_decref(a);
    zq_buf_free(&all);
    zq_chat_outbox_clear(&ob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    long long now = FUZZ_NOW_MS;
    char ts[24], sig[41] = "", *l1 = NULL, *l2 = NULL, *l3 = NULL, *body;
    const char *nonce = "1372623149";
    zq_buf wrapped = {0}, enc = {0};
    zq_inbound_http h;
    fuzz_http f = {0};
    zq_pool pool = {0};
    zq_xml_doc doc;
    zq_err err = {0};
    size_t len;

    fuzz_http_post(&h, &f);
    h.now_ms = now;
    snprintf(ts, sizeof(ts), "%lld", now / 1000 + ((mode & 4) ? 3700 : 0));
    if ((mode & 3) == 3) {
        l1 = fuzz_line(&in, 128);
        l2 = fuzz_line(&in, 32);
        l3 = fuzz_line(&in, 64);
    }
    body = fuzz_rest(&in, &len);
    switch (mode & 3) {
    case 0: /* sign whatever Encrypt the outer document carries */
        if (zq_xml_parse(&pool, body, len, &doc, &err) == 0 &&
            zq_xml_get(&doc, "Encrypt", NULL) != NULL)
            zq_chatcrypt_wecom_signature(g_cfg.wecom.token, ts, nonce,
                                         zq_xml_get(&doc, "Encrypt", NULL), sig);
        h.body = body;
        h.body_len = len;
        break;
    case 1: { /* encrypt the inner document and wrap it */
        static const unsigned char rnd[16] = "fuzzfuzzfuzzfuzz";

        FUZZ_CHECK(zq_chatcrypt_wecom_encrypt(g_cfg.wecom.encoding_aes_key, body, len,
                                              g_cfg.wecom.corp_id, rnd, &enc, &err) == 0);
        zq_buf_puts(&wrapped, "<xml><ToUserName><![CDATA[ww1234567890abcdef]]></ToUserName>"
                              "<Encrypt><![CDATA[");
        zq_buf_append(&wrapped, enc.data, enc.len);
        zq_buf_puts(&wrapped, "]]></Encrypt></xml>");
        zq_chatcrypt_wecom_signature(g_cfg.wecom.token, ts, nonce, enc.data, sig);
        h.body = wrapped.data;
        h.body_len = wrapped.len;
        break;
    }
    case 2: { /* the URL check; a '+' arrives as a space, as unencoded in a query */
        char *e = strdup(body);

        FUZZ_CHECK(e != NULL);
        for (char *p = e; *p != '\0'; p++)
            if (*p == ' ')
                *p = '+';
        zq_chatcrypt_wecom_signature(g_cfg.wecom.token, ts, nonce, e, sig);
        free(e);
        h.method = (mode & 8) ? "HEAD" : "GET";
        h.body = "";
        fuzz_http_add_query(&f, "echostr", body);
        break;
    }
    default:
        h.body = body;
        h.body_len = len;
        break;
    }
    if ((mode & 3) == 3) {
        fuzz_http_add_query(&f, "msg_signature", l1);
        fuzz_http_add_query(&f, "timestamp", l2);
        fuzz_http_add_query(&f, "nonce", l3);
    } else {
        fuzz_http_add_query(&f, "msg_signature", sig);
        fuzz_http_add_query(&f, "timestamp", ts);
        fuzz_http_add_query(&f, "nonce", nonce);
    }

    {
        zq_inbound_msg msg;
        zq_inbound_resp resp;
        zq_dialogue_replies r = {0};
        zq_chat_outbox ob = {0};
        int rc = fuzz_inbound_run(&zq_inbound_wecom, &g_cfg, &h, NULL);

        if (mode & 4)
            FUZZ_CHECK(rc < 0);
        /* The passive reply is encrypted XML that decrypts to one message
         * within the limit. */
        if (rc == 0 && (mode & 3) == 1) {
            memset(&msg, 0, sizeof(msg));
            memset(&resp, 0, sizeof(resp));
            snprintf(msg.user, sizeof(msg.user), "%s", "zhangsan");
            msg.kind = ZQ_INBOUND_TEXT;
            r.text[r.n] = strndup(body, len < 5000 ? len : 5000);
            if (r.text[r.n] != NULL && zq_utf8_valid(r.text[r.n], strlen(r.text[r.n])))
                r.n++;
            else
                free(r.text[r.n]);
            FUZZ_CHECK(zq_inbound_wecom.render(&g_cfg, &msg, &r, now, &resp, &ob, &err) == 0);
            check_reply(resp.body.data, resp.body.len);
            if (r.n > 0 && r.text[0][0] != '\0')
                check_app_parts(r.text[0], strlen(r.text[0]));
            zq_dialogue_replies_clear(&r);
            zq_inbound_resp_clear(&resp);
            zq_chat_outbox_clear(&ob);
        }
    }
    zq_buf_free(&wrapped);
    zq_buf_free(&enc);
    zq_pool_free(&pool);
    free(body);
    free(l1);
    free(l2);
    free(l3);
    return 0;
}
