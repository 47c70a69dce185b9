#include "core/mm.h"
#include "core/console.h"
#include <string.h>

/* eli maps the first 4 GiB (boot.S); RAM above is left unused for now */
#define MM_LIMIT (4ull << 30)
#define LOW_MEMORY_END 0x100000ull

static uint64_t bitmap[MM_LIMIT / PAGE_SIZE / 64];
static struct palloc pa;

uint64_t mm_init(const struct boot_info *bi, uint64_t image_start, uint64_t image_end)
{
    palloc_init(&pa, bitmap, MM_LIMIT / PAGE_SIZE);
    for (size_t i = 0; i < bi->nranges; i++)
        if (bi->ranges[i].type == 1)
            palloc_add_free(&pa, bi->ranges[i].base, bi->ranges[i].length);
    /* the first MiB holds firmware tables and the boot information */
    palloc_reserve(&pa, 0, LOW_MEMORY_END);
    palloc_reserve(&pa, image_start, image_end - image_start);
    palloc_reserve(&pa, bi->info_pa, PAGE_SIZE);
    for (size_t i = 0; i < bi->nmods; i++) {
        const struct boot_module *m = &bi->mods[i];
        palloc_reserve(&pa, m->start, m->end - m->start);
        palloc_reserve(&pa, (uint64_t)(uintptr_t)m->string, strlen(m->string) + 1);
    }
    if (bi->cmdline)
        palloc_reserve(&pa, (uint64_t)(uintptr_t)bi->cmdline, strlen(bi->cmdline) + 1);
    return pa.nfree;
}

uint64_t mm_alloc_zeroed(uint64_t npages, uint64_t align_pages)
{
    uint64_t p = palloc_alloc(&pa, npages, align_pages);
    if (p)
        memset((void *)(uintptr_t)p, 0, npages * PAGE_SIZE);
    return p;
}
