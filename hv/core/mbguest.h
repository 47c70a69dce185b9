/* Builds the multiboot information a guest is started with, in its own RAM
 * (pure, host-testable). Layout in docs/guest-abi.md. */
#ifndef ELI_CORE_MBGUEST_H
#define ELI_CORE_MBGUEST_H
#include "core/gmem.h"
#include <stddef.h>
#include <stdint.h>

#define MBGUEST_MAX_MODS 15

struct mbguest_module {
    const uint8_t *data;
    uint64_t size;
    const char *string;
};

struct mbguest {
    const char *cmdline;
    size_t nmods;
    struct mbguest_module mods[MBGUEST_MAX_MODS];
    uint64_t reserved_top; /* bytes at the top of RAM that eli keeps for the start */
};

/* Writes the info at `base` (page-aligned, above the image) and the modules after
 * it. On success returns 0 and sets *info_gpa and *end (first free byte after). */
int mbguest_build(const struct gmem *g, uint64_t base, const struct mbguest *mb,
                  uint64_t *info_gpa, uint64_t *end, char *err, size_t errlen);

#endif
