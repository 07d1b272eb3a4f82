/* The client a per-client limit counts (see include/zhuqi/client.h). */
#include "zhuqi/client.h"

#include <arpa/inet.h>
#include <string.h>

#include "zhuqi/buf.h"
#include "zhuqi/common.h"

int zq_client_key(const char *addr, char *out, size_t outsz)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char a6[16];
    struct in_addr a4;
    char txt[INET6_ADDRSTRLEN];
    const char *v4 = NULL, *v6 = NULL;
    int rc;

    if (outsz > 0)
        out[0] = '\0';
    if (addr == NULL || *addr == '\0')
        addr = "-";
    if (inet_pton(AF_INET, addr, &a4) == 1) {
        v4 = inet_ntop(AF_INET, &a4, txt, sizeof(txt));
    } else if (inet_pton(AF_INET6, addr, a6) == 1) {
        if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
            v4 = inet_ntop(AF_INET, a6 + 12, txt, sizeof(txt));
        } else {
            memset(a6 + 8, 0, 8);
            v6 = inet_ntop(AF_INET6, a6, txt, sizeof(txt));
        }
    }
    if (v4 != NULL)
        rc = zq_fmt(out, outsz, "%s", v4);
    else if (v6 != NULL)
        rc = zq_fmt(out, outsz, "%s/64", v6);
    else
        rc = zq_fmt(out, outsz, "%s", addr); /* not an address: counted as given */
    if (rc < 0) {
        if (outsz > 0)
            out[0] = '\0';
        return -ZQ_ETOOBIG;
    }
    return 0;
}
