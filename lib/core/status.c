#include "lib/core/status.h"

#include <string.h>

static const char *const names[] = {
    [CB_OK] = "ok",           [CB_SKIPPED] = "skipped", [CB_TIMEOUT] = "timeout",
    [CB_CRASHED] = "crashed", [CB_ERROR] = "error",
};

const char *cb_status_name(cb_status_t s)
{
    if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
        return "error";
    return names[s];
}

int cb_status_parse(const char *s)
{
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}
