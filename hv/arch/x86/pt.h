/* Builder for x86-64 4-level page tables. AMD's nested page tables use the same
 * format (APM vol. 2, 15.25.5), so one builder serves eli's NPT and the tables
 * of a guest's 64-bit start. Pure: memory comes through callbacks (host-testable). */
#ifndef ELI_ARCH_X86_PT_H
#define ELI_ARCH_X86_PT_H
#include <stdbool.h>
#include <stdint.h>

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

#define PT_SIZE_4K 0x1000ull
#define PT_SIZE_2M 0x200000ull
#define PT_SIZE_1G 0x40000000ull

typedef uint64_t pte_t;
_Static_assert(sizeof(pte_t) == 8, "a page-table entry is 8 bytes");

struct pt_ops {
    /* a zeroed 4 KiB page; returns its physical address, 0 when out of memory */
    uint64_t (*alloc_table)(void *ctx);
    /* where eli can write the table at physical address pa */
    pte_t *(*table_ptr)(void *ctx, uint64_t pa);
    void *ctx;
};

/* Tables from eli's page allocator, written through eli's identity map (pt_host.c):
 * the ops of every table eli builds for the hardware. */
extern const struct pt_ops pt_host_ops;

/* Maps [va, va + size) to [pa, pa + size) with leaf flags `flags` (P is implied).
 * Uses 2 MiB pages where both addresses and the remaining size allow, when
 * allow_2m is set. Intermediate entries get P | RW | US. All three values must be
 * 4 KiB aligned. Returns 0 or -ENOMEM / -EINVAL / -EEXIST (already mapped). */
int pt_map(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t pa, uint64_t size,
           uint64_t flags, bool allow_2m);

/* Points the 4 KiB page at va to pa with leaf flags `flags`, splitting a 2 MiB page
 * that covers it into 512 4 KiB entries with the same mapping first. The page must
 * be mapped already. Returns 0, -ENOMEM, -EINVAL or -ENOENT (not mapped). */
int pt_remap_4k(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t pa, uint64_t flags);

/* Removes the 4 KiB mappings of [va, va + size), splitting 2 MiB pages that are
 * only partly covered; unmapped pages are skipped. Returns 0 or -ENOMEM / -EINVAL. */
int pt_unmap(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t size);

/* Walks the tables: returns the leaf entry for va (0 if not mapped) and its page size. */
pte_t pt_lookup(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t *page_size);

#endif
