/* Physical-page allocator: one bit per 4 KiB page over [0, limit), fed from the
 * multiboot memory map (pure, host-testable). */
#ifndef ELI_CORE_PALLOC_H
#define ELI_CORE_PALLOC_H
#include <stdbool.h>
#include <stdint.h>

#define PAGE_SIZE 4096ull
#define PAGE_SHIFT 12

struct palloc {
    uint64_t *bitmap;  /* bit set = page used or absent */
    uint64_t npages;   /* pages covered, from physical address 0 */
    uint64_t nfree;
    uint64_t hint;     /* first page worth scanning from */
};

/* Every page starts used; the memory map then frees what is RAM. */
void palloc_init(struct palloc *pa, uint64_t *bitmap, uint64_t npages);
/* Marks [addr, addr + len) free (rounded inward to whole pages). */
void palloc_add_free(struct palloc *pa, uint64_t addr, uint64_t len);
/* Marks [addr, addr + len) used (rounded outward to whole pages). */
void palloc_reserve(struct palloc *pa, uint64_t addr, uint64_t len);
/* npages contiguous pages aligned to align_pages (a power of two); 0 on failure. */
uint64_t palloc_alloc(struct palloc *pa, uint64_t npages, uint64_t align_pages);
void palloc_free(struct palloc *pa, uint64_t addr, uint64_t npages);
bool palloc_is_free(const struct palloc *pa, uint64_t addr);

#endif
