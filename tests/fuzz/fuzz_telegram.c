/* Fuzzes the Telegram webhook adapter (lib/inbound_telegram.c): the
 * secret-token header, the update JSON, then the sendMessage answer and
 * the rest queued for the bot.
 * Input: a mode byte (bit 0: the secret token header is the first line),
 * then the body. */
#include <string.h>

#include "fuzz_common.h"

static zq_config g_cfg, g_nobot;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    fuzz_inbound_config(&g_cfg);
    g_nobot = g_cfg;
    g_nobot.telegram.bot_token[0] = '\0';
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    char *l1 = NULL, *body;
    zq_inbound_http h;
    fuzz_http f = {0};
    size_t len;

    fuzz_http_post(&h, &f);
    if (mode & 1) {
        l1 = fuzz_line(&in, 300);
        fuzz_http_add_header(&f, "X-Telegram-Bot-Api-Secret-Token", l1);
    } else {
        fuzz_http_add_header(&f, "X-Telegram-Bot-Api-Secret-Token", g_cfg.telegram.secret_token);
    }
    body = fuzz_rest(&in, &len);
    h.body = body;
    h.body_len = len;
    fuzz_inbound_run(&zq_inbound_telegram, (mode & 2) ? &g_nobot : &g_cfg, &h, NULL);
    free(body);
    free(l1);
    return 0;
}
