/* The outbound address guard: which peers a push to a URL that staff typed
 * in (a generic target) may reach. Loopback, private, link-local, CGNAT,
 * unique-local, unspecified, multicast and reserved addresses (and their
 * IPv4-mapped, NAT64 and 6to4 forms) are refused unless an operator lists
 * them in [channels] generic_allow; plain http is allowed only to a listed
 * address. The check runs on the socket address at connect time, so a DNS
 * answer cannot dodge it. */
#ifndef ZHUQI_NETGUARD_H
#define ZHUQI_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "zhuqi/common.h"

/* Rules an allow-list holds at most. */
#define ZQ_NETGUARD_MAX 32

typedef enum zq_addr_class {
    ZQ_ADDR_PUBLIC = 0,
    ZQ_ADDR_LOOPBACK,     /* 127/8, ::1 */
    ZQ_ADDR_PRIVATE,      /* 10/8, 172.16/12, 192.168/16, fec0::/10 */
    ZQ_ADDR_CGNAT,        /* 100.64/10 */
    ZQ_ADDR_LINK_LOCAL,   /* 169.254/16, fe80::/10 */
    ZQ_ADDR_UNIQUE_LOCAL, /* fc00::/7 */
    ZQ_ADDR_UNSPECIFIED,  /* 0/8, :: */
    ZQ_ADDR_MULTICAST,    /* 224/4, ff00::/8 */
    ZQ_ADDR_RESERVED,     /* 240/4 (with broadcast), other families */
} zq_addr_class;

/* One allow-list entry: an address with a prefix length, and a port (0:
 * any). IPv4 rules are kept as IPv4 (family AF_INET, 4 bytes). */
typedef struct zq_netrule {
    int family;
    unsigned char addr[16];
    int prefix;
    int port;
} zq_netrule;

typedef struct zq_netguard {
    zq_netrule rule[ZQ_NETGUARD_MAX];
    int n;
} zq_netguard;

/* Parses a comma-separated allow-list into g: each entry is an address
 * with an optional /prefix and port, "127.0.0.1:8090", "10.1.2.0/24",
 * "[::1]:8443", "fd00::/8", "[fd00::/8]:443". "" is an empty list.
 * Returns 0, or -ZQ_EINVAL with the reason in why (English). */
int zq_netguard_parse(const char *spec, zq_netguard *g, char *why, size_t whysz);

/* The class of a socket address (AF_INET or AF_INET6; an IPv6 address
 * that embeds an IPv4 one, mapped, compatible, NAT64 or 6to4, is the
 * class of the IPv4 address unless its own class is worse). */
zq_addr_class zq_addr_classify(const struct sockaddr *sa);

/* "public", "loopback", "private", ... */
const char *zq_addr_class_name(zq_addr_class c);

/* True when g lists sa (address and port). */
bool zq_netguard_listed(const zq_netguard *g, const struct sockaddr *sa);

/* Whether a connection to sa may be made: a listed address always; else
 * only a public one, and never over plain http (plain). Returns 0, or
 * -ZQ_EFORBIDDEN with an English reason naming the address in why. */
int zq_netguard_check(const zq_netguard *g, const struct sockaddr *sa, bool plain, char *why,
                      size_t whysz);

/* Checks a URL before it is stored: http or https, no user:pass@, and,
 * when the host is an address literal, zq_netguard_check() on it; plain
 * http only to a listed literal address. (A host name is checked when it
 * is connected to.) Returns 0, or -ZQ_EINVAL / -ZQ_EFORBIDDEN with a
 * Chinese message in *msg (static). */
int zq_netguard_url(const zq_netguard *g, const char *url, const char **msg);

/* True when url has a user:pass@ (or user@) part. */
bool zq_url_has_userinfo(const char *url);

/* url with its userinfo replaced by "***" (for views and logs), into
 * out[outsz], cut to fit. */
void zq_url_mask_userinfo(const char *url, char *out, size_t outsz);

#endif
