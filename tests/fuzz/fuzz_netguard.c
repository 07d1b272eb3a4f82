/* Fuzzes the outbound address guard (lib/core/netguard.c): the allow-list
 * parser ([channels] generic_allow, from config), the URL check a staff
 * member's generic target goes through, the userinfo mask, and the
 * classifier on raw socket addresses.
 * Input: line 1 the allow-list, line 2 the URL, then up to 20 bytes of
 * address (16 for IPv6 + 2 of port, or 4 for IPv4 when fewer). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "fuzz_common.h"
#include "zhuqi/netguard.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void check_addr(const zq_netguard *g, const struct sockaddr *sa)
{
    char why[256];
    zq_addr_class c = zq_addr_classify(sa);
    const char *name = zq_addr_class_name(c);
    int rc;

    FUZZ_CHECK(name != NULL && name[0] != '\0');
    rc = zq_netguard_check(g, sa, false, why, sizeof(why));
    FUZZ_CHECK(rc == 0 || rc == -ZQ_EFORBIDDEN);
    /* A listed address always passes; an unlisted one only when public. */
    if (zq_netguard_listed(g, sa))
        FUZZ_CHECK(rc == 0);
    else
        FUZZ_CHECK((rc == 0) == (c == ZQ_ADDR_PUBLIC));
    FUZZ_CHECK(strlen(why) < sizeof(why));
    rc = zq_netguard_check(g, sa, true, why, sizeof(why));
    FUZZ_CHECK(rc == 0 || rc == -ZQ_EFORBIDDEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    char *spec = fuzz_line(&in, 4096);
    char *url = fuzz_line(&in, 4096);
    char why[256], masked[512];
    const char *msg = NULL;
    zq_netguard g;
    int rc;

    rc = zq_netguard_parse(spec, &g, why, sizeof(why));
    FUZZ_CHECK(rc == 0 || rc == -ZQ_EINVAL);
    if (rc != 0)
        memset(&g, 0, sizeof(g));
    FUZZ_CHECK(g.n >= 0 && g.n <= ZQ_NETGUARD_MAX);

    rc = zq_netguard_url(&g, url, &msg);
    FUZZ_CHECK(rc == 0 || rc == -ZQ_EINVAL || rc == -ZQ_EFORBIDDEN);
    if (rc != 0)
        FUZZ_CHECK(msg != NULL && msg[0] != '\0');
    else
        FUZZ_CHECK(!zq_url_has_userinfo(url));
    zq_url_mask_userinfo(url, masked, sizeof(masked));
    FUZZ_CHECK(strlen(masked) < sizeof(masked));

    if (in.n >= 18) {
        struct sockaddr_in6 a6;

        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        memcpy(&a6.sin6_addr, in.p, 16);
        a6.sin6_port = (in_port_t)(in.p[16] << 8 | in.p[17]);
        check_addr(&g, (const struct sockaddr *)&a6);
    } else if (in.n >= 4) {
        struct sockaddr_in a4;

        memset(&a4, 0, sizeof(a4));
        a4.sin_family = AF_INET;
        memcpy(&a4.sin_addr, in.p, 4);
        a4.sin_port = htons(443);
        check_addr(&g, (const struct sockaddr *)&a4);
    }
    free(spec);
    free(url);
    return 0;
}
