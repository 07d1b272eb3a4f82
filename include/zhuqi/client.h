/* The client a per-client limit counts: one key per IPv4 address, one
 * per IPv6 /64 (a host on IPv6 usually holds a whole /64, so counting
 * single addresses would let it walk around every limit). */
#ifndef ZHUQI_CLIENT_H
#define ZHUQI_CLIENT_H

#include <stddef.h>

/* The limit key of the client address addr (REMOTE_ADDR) into out
 * (outsz bytes): an IPv4 address in dotted form ("192.0.2.7"), an
 * IPv4-mapped IPv6 address as its IPv4 address, any other IPv6 address as
 * its /64 prefix ("2001:db8:1:2::/64"); anything else (NULL: "-") copied
 * as it is. Returns 0, or -ZQ_ETOOBIG when it does not fit (out is then
 * ""). */
int zq_client_key(const char *addr, char *out, size_t outsz);

#endif
