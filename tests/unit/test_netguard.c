/* Tests of lib/core/netguard.c: the address classifier (IPv4, IPv6 and the
 * IPv6 forms that carry an IPv4 address), the allow-list syntax and
 * matching, the URL check done when a target is stored, and the masking
 * of user:pass@ in views. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "zhuqi/netguard.h"

/* A socket address for text (IPv4 or IPv6) and port. */
static struct sockaddr_storage sa_of(const char *text, int port)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
        ss.ss_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    }
    return ss;
}

static zq_addr_class cls(const char *text)
{
    struct sockaddr_storage ss = sa_of(text, 443);

    return zq_addr_classify((const struct sockaddr *)&ss);
}

static void test_classify_v4(void **state)
{
    (void)state;
    assert_int_equal(cls("8.8.8.8"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("1.1.1.1"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("127.0.0.1"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("127.0.0.2"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("127.255.255.254"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("10.0.0.1"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("172.16.0.1"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("172.31.255.255"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("172.15.255.255"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("172.32.0.1"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("192.168.1.1"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("192.169.1.1"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("100.64.0.1"), ZQ_ADDR_CGNAT);
    assert_int_equal(cls("100.127.255.255"), ZQ_ADDR_CGNAT);
    assert_int_equal(cls("100.128.0.1"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("100.63.255.255"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("169.254.169.254"), ZQ_ADDR_LINK_LOCAL);
    assert_int_equal(cls("0.0.0.0"), ZQ_ADDR_UNSPECIFIED);
    assert_int_equal(cls("0.1.2.3"), ZQ_ADDR_UNSPECIFIED);
    assert_int_equal(cls("224.0.0.1"), ZQ_ADDR_MULTICAST);
    assert_int_equal(cls("239.255.255.250"), ZQ_ADDR_MULTICAST);
    assert_int_equal(cls("240.0.0.1"), ZQ_ADDR_RESERVED);
    assert_int_equal(cls("255.255.255.255"), ZQ_ADDR_RESERVED);
    assert_int_equal(cls("192.0.0.170"), ZQ_ADDR_RESERVED);
    assert_int_equal(cls("198.18.0.1"), ZQ_ADDR_RESERVED);
}

static void test_classify_v6(void **state)
{
    (void)state;
    assert_int_equal(cls("2001:4860:4860::8888"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("2400:3200::1"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("::1"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("::"), ZQ_ADDR_UNSPECIFIED);
    assert_int_equal(cls("fe80::1"), ZQ_ADDR_LINK_LOCAL);
    assert_int_equal(cls("febf::1"), ZQ_ADDR_LINK_LOCAL);
    assert_int_equal(cls("fec0::1"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("fc00::1"), ZQ_ADDR_UNIQUE_LOCAL);
    assert_int_equal(cls("fd12:3456:789a::1"), ZQ_ADDR_UNIQUE_LOCAL);
    assert_int_equal(cls("ff02::1"), ZQ_ADDR_MULTICAST);
    assert_int_equal(cls("ff05::2"), ZQ_ADDR_MULTICAST);
    assert_int_equal(cls("100::1"), ZQ_ADDR_RESERVED);
    assert_int_equal(cls("64:ff9b:1::1"), ZQ_ADDR_RESERVED);
}

static void test_classify_embedded_v4(void **state)
{
    (void)state;
    /* IPv4-mapped: the kernel connects to the IPv4 address. */
    assert_int_equal(cls("::ffff:127.0.0.1"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("::ffff:10.1.2.3"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("::ffff:192.168.0.1"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("::ffff:169.254.169.254"), ZQ_ADDR_LINK_LOCAL);
    assert_int_equal(cls("::ffff:100.64.1.1"), ZQ_ADDR_CGNAT);
    assert_int_equal(cls("::ffff:0.0.0.0"), ZQ_ADDR_UNSPECIFIED);
    assert_int_equal(cls("::ffff:8.8.8.8"), ZQ_ADDR_PUBLIC);
    /* The old IPv4-compatible form, NAT64 and 6to4. */
    assert_int_equal(cls("::127.0.0.1"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("::10.0.0.1"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("64:ff9b::7f00:1"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("64:ff9b::a9fe:a9fe"), ZQ_ADDR_LINK_LOCAL);
    assert_int_equal(cls("64:ff9b::808:808"), ZQ_ADDR_PUBLIC);
    assert_int_equal(cls("2002:7f00:1::1"), ZQ_ADDR_LOOPBACK);
    assert_int_equal(cls("2002:c0a8:101::1"), ZQ_ADDR_PRIVATE);
    assert_int_equal(cls("2002:808:808::1"), ZQ_ADDR_PUBLIC);
}

/* check() on text:port with g (NULL: the empty list). */
static int verdict(const zq_netguard *g, const char *text, int port, bool plain)
{
    static const zq_netguard none;
    struct sockaddr_storage ss = sa_of(text, port);
    char why[200] = "";
    int rc =
        zq_netguard_check(g ? g : &none, (const struct sockaddr *)&ss, plain, why, sizeof(why));

    if (rc < 0)
        assert_true(strstr(why, text) != NULL || strstr(why, "(family") != NULL);
    return rc;
}

static void test_allow_list(void **state)
{
    zq_netguard g;
    char why[200];

    (void)state;
    assert_int_equal(zq_netguard_parse("127.0.0.1:8090, 10.1.2.0/24,[::1]:8443 ,fd00::/8, "
                                       "[fe80::/10]:443,::ffff:192.168.7.7",
                                       &g, why, sizeof(why)),
                     0);
    assert_int_equal(g.n, 6);
    /* Refused by default, allowed when listed (port-exact where given). */
    assert_int_equal(verdict(NULL, "127.0.0.1", 8090, false), -ZQ_EFORBIDDEN);
    assert_int_equal(verdict(&g, "127.0.0.1", 8090, false), 0);
    assert_int_equal(verdict(&g, "127.0.0.1", 8090, true), 0);
    assert_int_equal(verdict(&g, "127.0.0.1", 8091, false), -ZQ_EFORBIDDEN);
    assert_int_equal(verdict(&g, "::ffff:127.0.0.1", 8090, false), 0);
    assert_int_equal(verdict(&g, "10.1.2.200", 1, true), 0);
    assert_int_equal(verdict(&g, "10.1.3.1", 443, false), -ZQ_EFORBIDDEN);
    assert_int_equal(verdict(&g, "::1", 8443, false), 0);
    assert_int_equal(verdict(&g, "::1", 443, false), -ZQ_EFORBIDDEN);
    assert_int_equal(verdict(&g, "fd00::5", 443, false), 0);
    assert_int_equal(verdict(&g, "fc00::5", 443, false), -ZQ_EFORBIDDEN);
    assert_int_equal(verdict(&g, "fe80::1", 443, false), 0);
    assert_int_equal(verdict(&g, "fe80::1", 80, false), -ZQ_EFORBIDDEN);
    assert_int_equal(verdict(&g, "192.168.7.7", 80, false), 0);
    /* Public: https yes, plain http only when listed. */
    assert_int_equal(verdict(NULL, "8.8.8.8", 443, false), 0);
    assert_int_equal(verdict(NULL, "8.8.8.8", 80, true), -ZQ_EFORBIDDEN);
    assert_int_equal(verdict(NULL, "2001:4860:4860::8888", 443, false), 0);
    /* Empty lists. */
    assert_int_equal(zq_netguard_parse("", &g, why, sizeof(why)), 0);
    assert_int_equal(g.n, 0);
    assert_int_equal(zq_netguard_parse(" , ", &g, why, sizeof(why)), 0);
    assert_int_equal(g.n, 0);
}

static void test_allow_list_errors(void **state)
{
    static const char *const bad[] = {
        "localhost",      "10.0.0.0/33", "10.0.0.1:0",      "10.0.0.1:65536", "10.0.0.1:",
        "[::1",           "[::1]x",      "::1/129",         "10.0.0.1/",      "10.0.0.1/a",
        "10.0.0.1:80:90", "[::1]:",      "gateway.local:8", "1.2.3",          "10.0.0.1/+8",
    };
    zq_netguard g;
    char why[200];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(zq_netguard_parse(bad[i], &g, why, sizeof(why)), -ZQ_EINVAL);
        assert_true(why[0] != '\0');
    }
}

static int url(const zq_netguard *g, const char *u)
{
    static const zq_netguard none;
    const char *msg = NULL;
    int rc = zq_netguard_url(g ? g : &none, u, &msg);

    if (rc < 0)
        assert_non_null(msg);
    return rc;
}

static void test_url(void **state)
{
    zq_netguard g;
    char why[200];

    (void)state;
    assert_int_equal(url(NULL, "https://hooks.example.com/x?a=b"), 0);
    assert_int_equal(url(NULL, "https://hooks.example.com:8443/x"), 0);
    assert_int_equal(url(NULL, "HTTPS://8.8.8.8/x"), 0);
    assert_int_equal(url(NULL, "https://[2001:4860:4860::8888]:443/x"), 0);
    /* A name is checked when it is connected to. */
    assert_int_equal(url(NULL, "https://localhost:8443/x"), 0);
    /* Plain http, userinfo, odd schemes. */
    assert_true(url(NULL, "http://hooks.example.com/x") < 0);
    assert_true(url(NULL, "http://8.8.8.8/x") < 0);
    assert_true(url(NULL, "https://user:pass@hooks.example.com/x") < 0);
    assert_true(url(NULL, "https://user@hooks.example.com/x") < 0);
    assert_true(url(NULL, "ftp://hooks.example.com/x") < 0);
    assert_true(url(NULL, "https:///x") < 0);
    assert_true(url(NULL, "https://[::1/x") < 0);
    assert_true(url(NULL, "https://[fe80::1%25eth0]/x") < 0);
    assert_true(url(NULL, "https://hooks.example.com:99999/x") < 0);
    /* Address literals that are not public. */
    assert_true(url(NULL, "https://127.0.0.1/x") < 0);
    assert_true(url(NULL, "https://127.0.0.2:8443/x") < 0);
    assert_true(url(NULL, "https://[::1]:8443/x") < 0);
    assert_true(url(NULL, "https://[::ffff:127.0.0.1]/x") < 0);
    assert_true(url(NULL, "https://169.254.169.254/latest/meta-data") < 0);
    assert_true(url(NULL, "https://10.0.0.1/x") < 0);
    assert_true(url(NULL, "https://[fd00::1]/x") < 0);
    assert_true(url(NULL, "https://0.0.0.0/x") < 0);
    /* Listed: allowed, plain http too. */
    assert_int_equal(zq_netguard_parse("127.0.0.1:8090,10.1.2.0/24", &g, why, sizeof(why)), 0);
    assert_int_equal(url(&g, "http://127.0.0.1:8090/generic/x"), 0);
    assert_int_equal(url(&g, "https://127.0.0.1:8090/generic/x"), 0);
    assert_true(url(&g, "http://127.0.0.1:8091/x") < 0);
    assert_true(url(&g, "http://127.0.0.1/x") < 0);
    assert_int_equal(url(&g, "http://10.1.2.3/x"), 0);
    assert_true(url(&g, "http://gateway.local/x") < 0);
    assert_true(url(&g, "http://u:p@127.0.0.1:8090/x") < 0);
}

static void test_userinfo(void **state)
{
    char out[128];

    (void)state;
    assert_true(zq_url_has_userinfo("https://u:p@h/x"));
    assert_true(zq_url_has_userinfo("https://u@h"));
    assert_false(zq_url_has_userinfo("https://h/x@y"));
    assert_false(zq_url_has_userinfo("https://h/?a=b@c"));
    assert_false(zq_url_has_userinfo("https://h#a@b"));
    zq_url_mask_userinfo("https://user:secret@hooks.example.com/x", out, sizeof(out));
    assert_string_equal(out, "https://***@hooks.example.com/x");
    zq_url_mask_userinfo("https://a:b@c@hooks.example.com/x", out, sizeof(out));
    assert_string_equal(out, "https://***@hooks.example.com/x");
    zq_url_mask_userinfo("https://hooks.example.com/x@y", out, sizeof(out));
    assert_string_equal(out, "https://hooks.example.com/x@y");
    zq_url_mask_userinfo("https://user:secret@hooks.example.com/x", out, 12);
    assert_null(strstr(out, "secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_v4),
        cmocka_unit_test(test_classify_v6),
        cmocka_unit_test(test_classify_embedded_v4),
        cmocka_unit_test(test_allow_list),
        cmocka_unit_test(test_allow_list_errors),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_userinfo),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
