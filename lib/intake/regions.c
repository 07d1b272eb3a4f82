/* Region lookups in a loaded schema's region table (config/regions.json),
 * for the validators, the dialogue and the staff console. */
#include <string.h>

#include "schema_int.h"
#include "zhuqi/schema.h"

const zq_region *zq_schema_region(const zq_schema *s, const char *code)
{
    size_t i;

    if (s == NULL || code == NULL)
        return NULL;
    for (i = 0; i < s->nregions; i++)
        if (strcmp(s->regions[i].code, code) == 0)
            return &s->regions[i];
    return NULL;
}

const zq_region *zq_schema_region_find(const zq_schema *s, const char *text)
{
    const zq_region *r = zq_schema_region(s, text);
    size_t i;

    if (r != NULL || s == NULL || text == NULL)
        return r;
    for (i = 0; i < s->nregions; i++)
        if (strcmp(s->regions[i].name, text) == 0 || strcmp(s->regions[i].short_name, text) == 0)
            return &s->regions[i];
    return NULL;
}
