#include "core/mmio.h"
#include "core/errno.h"
#include <stddef.h>

#define MMIO_MAX_REGIONS 16

static struct mmio_region regions[MMIO_MAX_REGIONS];

static bool overlaps(const struct mmio_region *r, uint64_t base, uint64_t size)
{
    /* written without base + size, which may reach 2^64 */
    return r->size && (base >= r->base ? base - r->base < r->size : r->base - base < size);
}

int mmio_register(uint64_t base, uint64_t size, mmio_read_fn rd, mmio_write_fn wr, void *ctx,
                  const char *name)
{
    struct mmio_region *free_slot = NULL;
    for (unsigned i = 0; i < MMIO_MAX_REGIONS; i++) {
        if (overlaps(&regions[i], base, size))
            return -EEXIST;
        if (!regions[i].size && !free_slot)
            free_slot = &regions[i];
    }
    if (!free_slot || !size)
        return size ? -ENOSPC : -EINVAL;
    *free_slot = (struct mmio_region){ base, size, rd, wr, ctx, name };
    return 0;
}

void mmio_unregister(uint64_t base)
{
    for (unsigned i = 0; i < MMIO_MAX_REGIONS; i++)
        if (regions[i].size && regions[i].base == base)
            regions[i].size = 0;
}

const struct mmio_region *mmio_find(uint64_t gpa)
{
    for (unsigned i = 0; i < MMIO_MAX_REGIONS; i++)
        if (regions[i].size && gpa >= regions[i].base && gpa - regions[i].base < regions[i].size)
            return &regions[i];
    return NULL;
}
