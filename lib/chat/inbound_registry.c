/* The table of inbound adapters, by the name in the hook's path. Apart
 * from lib/chat/inbound.c, whose helpers every adapter calls. */
#include <string.h>

#include "zhuqi/common.h"
#include "zhuqi/inbound.h"

const zq_inbound_adapter *zq_inbound_find(const char *name)
{
    static const zq_inbound_adapter *const all[] = {&zq_inbound_wecom, &zq_inbound_dingtalk,
                                                    &zq_inbound_feishu, &zq_inbound_telegram,
                                                    &zq_inbound_generic};
    size_t i;

    for (i = 0; name != NULL && i < ZQ_ARRAY_LEN(all); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
