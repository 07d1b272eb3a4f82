/* Unit tests for the per-client limit key (IPv4 as is, IPv6 by /64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "zhuqi/client.h"
#include "zhuqi/common.h"

static void key_is(const char *addr, const char *want)
{
    char out[80];

    assert_int_equal(zq_client_key(addr, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void test_ipv4(void **state)
{
    (void)state;
    key_is("192.0.2.7", "192.0.2.7");
    key_is("127.0.0.1", "127.0.0.1");
    /* IPv4-mapped: the same client as its IPv4 address. */
    key_is("::ffff:192.0.2.7", "192.0.2.7");
}

static void test_ipv6_by_64(void **state)
{
    (void)state;
    /* Every address of one /64 is one client... */
    key_is("2001:db8:1:2::1", "2001:db8:1:2::/64");
    key_is("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64");
    key_is("2001:0db8:0001:0002:abcd:0000:0000:0001", "2001:db8:1:2::/64");
    /* ...and the next /64 is another. */
    key_is("2001:db8:1:3::1", "2001:db8:1:3::/64");
    key_is("::1", "::/64");
    key_is("fe80::1234:5678:9abc:def0", "fe80::/64");
}

static void test_other(void **state)
{
    char small[8];

    (void)state;
    key_is(NULL, "-");
    key_is("", "-");
    key_is("unix:", "unix:");
    assert_int_equal(zq_client_key("2001:db8:1:2::1", small, sizeof(small)), -ZQ_ETOOBIG);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6_by_64),
        cmocka_unit_test(test_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
