#include "core/palloc.h"
#include <string.h>

static bool page_used(const struct palloc *pa, uint64_t pfn)
{
    return pa->bitmap[pfn / 64] >> (pfn % 64) & 1;
}

static void set_range(struct palloc *pa, uint64_t first, uint64_t end, bool used)
{
    if (end > pa->npages)
        end = pa->npages;
    for (uint64_t pfn = first; pfn < end; pfn++) {
        if (page_used(pa, pfn) == used)
            continue;
        if (used) {
            pa->bitmap[pfn / 64] |= 1ull << (pfn % 64);
            pa->nfree--;
        } else {
            pa->bitmap[pfn / 64] &= ~(1ull << (pfn % 64));
            pa->nfree++;
        }
    }
}

void palloc_init(struct palloc *pa, uint64_t *bitmap, uint64_t npages)
{
    pa->bitmap = bitmap;
    pa->npages = npages;
    pa->nfree = 0;
    pa->hint = 0;
    memset(bitmap, 0xff, (npages + 63) / 64 * sizeof(uint64_t));
}

void palloc_add_free(struct palloc *pa, uint64_t addr, uint64_t len)
{
    if (addr > UINT64_MAX - (PAGE_SIZE - 1))
        return; /* no whole page starts at or above addr */
    uint64_t first = (addr + PAGE_SIZE - 1) >> PAGE_SHIFT;
    uint64_t end = (addr + len < addr ? UINT64_MAX : addr + len) >> PAGE_SHIFT;
    if (first < end)
        set_range(pa, first, end, false);
    if (first < pa->hint)
        pa->hint = first;
}

void palloc_reserve(struct palloc *pa, uint64_t addr, uint64_t len)
{
    if (!len)
        return;
    uint64_t first = addr >> PAGE_SHIFT;
    uint64_t last = addr + len - 1 < addr ? UINT64_MAX : addr + len - 1;
    uint64_t end = (last >> PAGE_SHIFT) + 1;
    set_range(pa, first, end, true);
}

/* Length of the run of free pages starting at pfn, capped at want. */
static uint64_t free_run(const struct palloc *pa, uint64_t pfn, uint64_t want)
{
    uint64_t n = 0;
    while (n < want && pfn + n < pa->npages && !page_used(pa, pfn + n))
        n++;
    return n;
}

uint64_t palloc_alloc(struct palloc *pa, uint64_t npages, uint64_t align_pages)
{
    if (!npages || !align_pages || (align_pages & (align_pages - 1)) || npages > pa->nfree)
        return 0;
    uint64_t pfn = (pa->hint + align_pages - 1) & ~(align_pages - 1);
    /* page 0 is never handed out: 0 means failure */
    if (pfn == 0)
        pfn = align_pages;
    while (pfn + npages <= pa->npages) {
        uint64_t run = free_run(pa, pfn, npages);
        if (run == npages) {
            set_range(pa, pfn, pfn + npages, true);
            if (align_pages == 1 && pfn == pa->hint)
                pa->hint = pfn + npages;
            return pfn << PAGE_SHIFT;
        }
        pfn = (pfn + run + 1 + align_pages - 1) & ~(align_pages - 1);
    }
    return 0;
}

void palloc_free(struct palloc *pa, uint64_t addr, uint64_t npages)
{
    uint64_t pfn = addr >> PAGE_SHIFT;
    set_range(pa, pfn, pfn + npages, false);
    if (pfn < pa->hint)
        pa->hint = pfn;
}

bool palloc_is_free(const struct palloc *pa, uint64_t addr)
{
    uint64_t pfn = addr >> PAGE_SHIFT;
    return pfn < pa->npages && !page_used(pa, pfn);
}
