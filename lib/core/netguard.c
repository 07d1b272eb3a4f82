/* The outbound address guard (see include/zhuqi/netguard.h): the address
 * classifier, the operators' allow-list and the URL check done when a
 * target is stored. */
#include "zhuqi/netguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "zhuqi/buf.h"

static const char *const class_names[] = {
    "public",       "loopback",    "private",   "cgnat",    "link-local",
    "unique-local", "unspecified", "multicast", "reserved",
};

const char *zq_addr_class_name(zq_addr_class c)
{
    return (unsigned)c < ZQ_ARRAY_LEN(class_names) ? class_names[c] : "reserved";
}

static zq_addr_class class_v4(const unsigned char *a)
{
    if (a[0] == 0)
        return ZQ_ADDR_UNSPECIFIED;
    if (a[0] == 127)
        return ZQ_ADDR_LOOPBACK;
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168))
        return ZQ_ADDR_PRIVATE;
    if (a[0] == 100 && (a[1] & 0xc0) == 64)
        return ZQ_ADDR_CGNAT;
    if (a[0] == 169 && a[1] == 254)
        return ZQ_ADDR_LINK_LOCAL;
    if (a[0] >= 224 && a[0] < 240)
        return ZQ_ADDR_MULTICAST;
    /* 240/4 with the broadcast address; 192.0.0/24 holds the NAT64
     * discovery and relay addresses; 198.18/15 is for benchmarks. */
    if (a[0] >= 240 || (a[0] == 192 && a[1] == 0 && a[2] == 0) ||
        (a[0] == 198 && (a[1] & 0xfe) == 18))
        return ZQ_ADDR_RESERVED;
    return ZQ_ADDR_PUBLIC;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, the old
 * compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002:AABB:CCDD::), or
 * NULL: each reaches the IPv4 host through the stack or a gateway. */
static const unsigned char *embedded_v4(const unsigned char *a)
{
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};

    if (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff)
        return a + 12;
    if (all_zero(a, 12) && !all_zero(a + 12, 3))
        return a + 12; /* not :: nor ::1 (nor ::0.0.0.x) */
    if (memcmp(a, nat64, 12) == 0)
        return a + 12;
    if (a[0] == 0x20 && a[1] == 0x02)
        return a + 2;
    return NULL;
}

static zq_addr_class class_v6(const unsigned char *a)
{
    const unsigned char *v4 = embedded_v4(a);

    if (v4 != NULL)
        return class_v4(v4);
    if (all_zero(a, 15))
        return a[15] == 1 ? ZQ_ADDR_LOOPBACK : ZQ_ADDR_UNSPECIFIED;
    if (all_zero(a, 12))
        return ZQ_ADDR_RESERVED; /* ::0.0.0.x */
    if (a[0] == 0xff)
        return ZQ_ADDR_MULTICAST;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return ZQ_ADDR_LINK_LOCAL;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return ZQ_ADDR_PRIVATE; /* fec0::/10, the retired site-local */
    if ((a[0] & 0xfe) == 0xfc)
        return ZQ_ADDR_UNIQUE_LOCAL;
    /* 64:ff9b:1::/48 is NAT64 for local use; 100::/64 discards. */
    if ((a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0 && a[5] == 1) ||
        (a[0] == 1 && all_zero(a + 1, 7)))
        return ZQ_ADDR_RESERVED;
    return ZQ_ADDR_PUBLIC;
}

zq_addr_class zq_addr_classify(const struct sockaddr *sa)
{
    if (sa == NULL)
        return ZQ_ADDR_RESERVED;
    if (sa->sa_family == AF_INET)
        return class_v4((const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)
                            ->sin_addr.s_addr);
    if (sa->sa_family == AF_INET6)
        return class_v6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
    return ZQ_ADDR_RESERVED;
}

/* sa as (family, bytes, port), an IPv4-mapped IPv6 address as IPv4.
 * Returns false for another family. */
static bool addr_of(const struct sockaddr *sa, int *family, unsigned char addr[16], int *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)sa;

        *family = AF_INET;
        memcpy(addr, &s->sin_addr.s_addr, 4);
        *port = ntohs(s->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)sa;
        const unsigned char *a = s->sin6_addr.s6_addr;

        *port = ntohs(s->sin6_port);
        if (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff) {
            *family = AF_INET;
            memcpy(addr, a + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(addr, a, 16);
        }
        return true;
    }
    return false;
}

static bool prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool zq_netguard_listed(const zq_netguard *g, const struct sockaddr *sa)
{
    unsigned char addr[16];
    int family, port;

    if (g == NULL || sa == NULL || !addr_of(sa, &family, addr, &port))
        return false;
    for (int i = 0; i < g->n; i++) {
        const zq_netrule *r = &g->rule[i];

        if (r->family == family && (r->port == 0 || r->port == port) &&
            prefix_match(r->addr, addr, r->prefix))
            return true;
    }
    return false;
}

/* "127.0.0.1" / "::1" for a message. */
static void addr_text(const struct sockaddr *sa, char *out, size_t outsz)
{
    const void *src = NULL;

    if (sa->sa_family == AF_INET)
        src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        src = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (src == NULL || inet_ntop(sa->sa_family, src, out, (socklen_t)outsz) == NULL)
        zq_fmt_msg(out, outsz, "(family %d)", (int)sa->sa_family);
}

static int sa_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
    return 0;
}

int zq_netguard_check(const zq_netguard *g, const struct sockaddr *sa, bool plain, char *why,
                      size_t whysz)
{
    zq_addr_class c;
    char text[INET6_ADDRSTRLEN + 16];

    if (sa != NULL && zq_netguard_listed(g, sa))
        return 0;
    c = zq_addr_classify(sa);
    if (c == ZQ_ADDR_PUBLIC && !plain)
        return 0;
    if (sa == NULL) {
        zq_fmt_msg(why, whysz, "no address");
        return -ZQ_EFORBIDDEN;
    }
    addr_text(sa, text, sizeof(text));
    if (c != ZQ_ADDR_PUBLIC)
        zq_fmt_msg(why, whysz,
                   "connection to %s port %d refused: %s address not in [channels] "
                   "generic_allow",
                   text, sa_port(sa), zq_addr_class_name(c));
    else
        zq_fmt_msg(why, whysz,
                   "plain http to %s port %d refused: only addresses in [channels] "
                   "generic_allow may use http",
                   text, sa_port(sa));
    return -ZQ_EFORBIDDEN;
}

/* Parses a decimal in [min, max] from s[0..n). */
static bool parse_num(const char *s, size_t n, long long min, long long max, int *out)
{
    long long v;

    if (n == 0 || n > 5 || zq_parse_ll(s, n, min, max, &v) < 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    *out = (int)v;
    return true;
}

/* Parses "addr[/prefix]" (s[0..n)) into r. */
static bool parse_addr_prefix(const char *s, size_t n, zq_netrule *r)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    int max;

    if (alen == 0 || alen >= sizeof(buf))
        return false;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    if (inet_pton(AF_INET, buf, r->addr) == 1) {
        r->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
        r->family = AF_INET6;
        max = 128;
        /* A mapped rule is an IPv4 rule: addr_of() matches that way. */
        if (all_zero(r->addr, 10) && r->addr[10] == 0xff && r->addr[11] == 0xff) {
            memmove(r->addr, r->addr + 12, 4);
            r->family = AF_INET;
            max = 32;
        }
    } else {
        return false;
    }
    r->prefix = max;
    if (slash != NULL && !parse_num(slash + 1, n - alen - 1, 0, max, &r->prefix))
        return false;
    return true;
}

/* Parses one entry s[0..n) (trimmed) into r. */
static bool parse_entry(const char *s, size_t n, zq_netrule *r)
{
    const char *colon;

    memset(r, 0, sizeof(*r));
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);

        if (close == NULL || !parse_addr_prefix(s + 1, (size_t)(close - s - 1), r))
            return false;
        if ((size_t)(close - s) + 1 == n)
            return true;
        if (close[1] != ':')
            return false;
        return parse_num(close + 2, n - (size_t)(close - s) - 2, 1, 65535, &r->port);
    }
    colon = memchr(s, ':', n);
    if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1) != NULL)
        return parse_addr_prefix(s, n, r); /* bare IPv6, no port */
    if (colon == NULL)
        return parse_addr_prefix(s, n, r);
    return parse_addr_prefix(s, (size_t)(colon - s), r) && r->family == AF_INET &&
           parse_num(colon + 1, n - (size_t)(colon - s) - 1, 1, 65535, &r->port);
}

int zq_netguard_parse(const char *spec, zq_netguard *g, char *why, size_t whysz)
{
    const char *p = spec ? spec : "";

    memset(g, 0, sizeof(*g));
    while (*p != '\0') {
        const char *end = p + strcspn(p, ","), *a = p, *b = end;

        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a < b) {
            if (g->n >= ZQ_NETGUARD_MAX) {
                zq_fmt_msg(why, whysz, "more than %d entries", ZQ_NETGUARD_MAX);
                return -ZQ_EINVAL;
            }
            if (!parse_entry(a, (size_t)(b - a), &g->rule[g->n])) {
                zq_fmt_msg(why, whysz,
                           "bad entry \"%.*s\": want an address with an optional /prefix and "
                           "port, e.g. 127.0.0.1:8090, 10.1.2.0/24, [::1]:8443, fd00::/8",
                           (int)(b - a > 60 ? 60 : b - a), a);
                return -ZQ_EINVAL;
            }
            g->n++;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* The authority of url (after "scheme://", up to / ? # or the end):
 * start and length; false when url has no "://". */
static bool authority(const char *url, const char **start, size_t *len)
{
    const char *s = strstr(url, "://");

    if (s == NULL)
        return false;
    *start = s + 3;
    *len = strcspn(*start, "/?#");
    return true;
}

bool zq_url_has_userinfo(const char *url)
{
    const char *a;
    size_t n;

    return authority(url, &a, &n) && memchr(a, '@', n) != NULL;
}

void zq_url_mask_userinfo(const char *url, char *out, size_t outsz)
{
    const char *a, *at = NULL;
    size_t n;

    if (outsz == 0)
        return;
    if (authority(url, &a, &n))
        for (size_t i = 0; i < n; i++)
            if (a[i] == '@')
                at = a + i;
    /* A view or a log line: a cut copy is better than none. */
    if (at == NULL)
        zq_fmt_msg(out, outsz, "%s", url);
    else
        zq_fmt_msg(out, outsz, "%.*s***%s", (int)(a - url), url, at);
}

int zq_netguard_url(const zq_netguard *g, const char *url, const char **msg)
{
    const char *a, *host, *port_s = NULL;
    size_t n, hlen, plen = 0;
    bool plain;
    int port;
    char hbuf[INET6_ADDRSTRLEN + 1], why[200];
    struct sockaddr_storage ss;

    plain = strncasecmp(url, "http://", 7) == 0;
    if ((!plain && strncasecmp(url, "https://", 8) != 0) || !authority(url, &a, &n) || n == 0) {
        *msg = "通用 Webhook 地址应为以 https:// 开头的完整地址。";
        return -ZQ_EINVAL;
    }
    if (memchr(a, '@', n) != NULL) {
        *msg = "地址中不能包含用户名或密码（user:pass@）；请改用签名密钥。";
        return -ZQ_EINVAL;
    }
    if (a[0] == '[') {
        const char *close = memchr(a, ']', n);

        if (close == NULL) {
            *msg = "地址格式不正确。";
            return -ZQ_EINVAL;
        }
        host = a + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < a + n) {
            if (close[1] != ':') {
                *msg = "地址格式不正确。";
                return -ZQ_EINVAL;
            }
            port_s = close + 2;
            plen = (size_t)(a + n - port_s);
        }
    } else {
        const char *colon = memchr(a, ':', n);

        host = a;
        hlen = colon ? (size_t)(colon - a) : n;
        if (colon != NULL) {
            port_s = colon + 1;
            plen = (size_t)(a + n - port_s);
        }
    }
    port = plain ? 80 : 443;
    if (port_s != NULL && plen > 0 && !parse_num(port_s, plen, 1, 65535, &port)) {
        *msg = "地址中的端口号不正确。";
        return -ZQ_EINVAL;
    }
    memset(&ss, 0, sizeof(ss));
    if (hlen > 0 && hlen < sizeof(hbuf)) {
        memcpy(hbuf, host, hlen);
        hbuf[hlen] = '\0';
    } else {
        hbuf[0] = '\0';
    }
    if (inet_pton(AF_INET, hbuf, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, hbuf, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ss.ss_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    } else if (a[0] == '[') {
        *msg = "地址格式不正确。";
        return -ZQ_EINVAL;
    } else if (plain) {
        /* A name is only known at connect time: http needs a listed
         * address written as such. */
        *msg = "通用 Webhook 地址必须使用 https://；只有运维在 [channels] generic_allow "
               "中放行的 IP 地址才可使用 http://。";
        return -ZQ_EINVAL;
    } else {
        return 0; /* a name: checked when it is connected to */
    }
    if (zq_netguard_check(g, (const struct sockaddr *)&ss, plain, why, sizeof(why)) < 0) {
        *msg = plain && zq_addr_classify((const struct sockaddr *)&ss) == ZQ_ADDR_PUBLIC
                   ? "通用 Webhook 地址必须使用 https://；只有运维在 [channels] generic_allow "
                     "中放行的 IP 地址才可使用 http://。"
                   : "该地址指向本机、内网或保留地址，不能作为推送地址；如需使用内部网关，"
                     "请联系运维在 [channels] generic_allow 中放行。";
        return -ZQ_EFORBIDDEN;
    }
    return 0;
}
