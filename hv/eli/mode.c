#include "eli/mode.h"
#include "core/errno.h"
#include <string.h>

static const char *const mode_names[ELI_MODE_COUNT] = {
    [ELI_MODE_BASELINE] = "baseline",
    [ELI_MODE_DELIVERY] = "eli-delivery",
    [ELI_MODE_FULL] = "eli",
};

const char *eli_mode_name(enum eli_mode m)
{
    return (unsigned)m < ELI_MODE_COUNT ? mode_names[m] : "?";
}

int eli_mode_parse(const char *s, enum eli_mode *out)
{
    for (unsigned m = 0; m < ELI_MODE_COUNT; m++) {
        if (!strcmp(s, mode_names[m])) {
            *out = (enum eli_mode)m;
            return 0;
        }
    }
    return -EINVAL;
}
