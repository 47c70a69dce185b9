/* Page tables that eli builds for the hardware (nested paging, EPT, the IOMMU): each
 * table a zeroed page from eli's allocator, written where it lies (eli's identity map). */
#include "arch/x86/pt.h"
#include "core/mm.h"

static uint64_t host_alloc_table(void *ctx)
{
    (void)ctx;
    return mm_alloc_zeroed(1, 1);
}

static pte_t *host_table_ptr(void *ctx, uint64_t pa)
{
    (void)ctx;
    return (pte_t *)(uintptr_t)pa;
}

const struct pt_ops pt_host_ops = { host_alloc_table, host_table_ptr, NULL };
