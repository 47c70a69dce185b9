/* eli's memory: the physical-page allocator, over identity-mapped RAM. */
#ifndef ELI_CORE_MM_H
#define ELI_CORE_MM_H
#include "core/bootinfo.h"
#include "core/palloc.h"
#include <stdint.h>

/* Frees the RAM of the memory map, then reserves eli's image, the boot
 * information and the modules. Returns the number of free pages. */
uint64_t mm_init(const struct boot_info *bi, uint64_t image_start, uint64_t image_end);
/* npages zeroed pages aligned to align_pages pages; 0 when out of memory. */
uint64_t mm_alloc_zeroed(uint64_t npages, uint64_t align_pages);

#endif
