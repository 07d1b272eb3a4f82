/* Staff authentication: bearer tokens checked against the SHA-256 hashes
 * in the configuration, in constant time, with a role. */
#ifndef ZHUQI_AUTH_H
#define ZHUQI_AUTH_H

#include "zhuqi/config.h"

/* Checks an Authorization header value ("Bearer <token>", may be NULL)
 * against cfg's tokens and the role needed. Returns 0 and sets *who
 * (borrowed from cfg) when allowed; -ZQ_EAUTH when missing, malformed or
 * unknown (401); -ZQ_EFORBIDDEN when the role is too low (403). Every
 * configured token is compared, so timing does not reveal which matched. */
int zq_auth_check(const zq_config *cfg, const char *authorization, zq_role need,
                  const zq_token **who);

/* SHA-256 of token as lower-case hex (65 bytes), for creating tokens. */
void zq_auth_hash_hex(const char *token, char out[65]);

#endif
