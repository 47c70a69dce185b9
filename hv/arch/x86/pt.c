#include "arch/x86/pt.h"
#include "core/errno.h"
#include <stddef.h>

#define PT_ENTRIES 512
#define TABLE_FLAGS (PTE_P | PTE_RW | PTE_US)

static unsigned pt_index(uint64_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * level)) & (PT_ENTRIES - 1);
}

/* The table the entry points to, created when absent. NULL on failure. */
static pte_t *next_table(const struct pt_ops *ops, pte_t *entry, int *err)
{
    if (*entry & PTE_P) {
        if (*entry & PTE_PS) {
            *err = -EEXIST;
            return NULL;
        }
        return ops->table_ptr(ops->ctx, *entry & PTE_ADDR_MASK);
    }
    uint64_t pa = ops->alloc_table(ops->ctx);
    if (!pa) {
        *err = -ENOMEM;
        return NULL;
    }
    *entry = pa | TABLE_FLAGS;
    return ops->table_ptr(ops->ctx, pa);
}

static int map_one(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t pa,
                   uint64_t flags, int leaf_level)
{
    pte_t *table = ops->table_ptr(ops->ctx, root);
    int err = 0;
    for (int level = 3; level > leaf_level; level--) {
        table = next_table(ops, &table[pt_index(va, level)], &err);
        if (!table)
            return err;
    }
    pte_t *leaf = &table[pt_index(va, leaf_level)];
    if (*leaf & PTE_P)
        return -EEXIST;
    *leaf = pa | flags | PTE_P | (leaf_level == 1 ? PTE_PS : 0);
    return 0;
}

int pt_map(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t pa, uint64_t size,
           uint64_t flags, bool allow_2m)
{
    if ((va | pa | size) & (PT_SIZE_4K - 1) || va + size < va || (pa & ~PTE_ADDR_MASK) ||
        (flags & PTE_ADDR_MASK))
        return -EINVAL;
    while (size) {
        bool big = allow_2m && !((va | pa) & (PT_SIZE_2M - 1)) && size >= PT_SIZE_2M;
        uint64_t step = big ? PT_SIZE_2M : PT_SIZE_4K;
        int rc = map_one(ops, root, va, pa, flags & ~PTE_PS, big ? 1 : 0);
        if (rc)
            return rc;
        va += step;
        pa += step;
        size -= step;
    }
    return 0;
}

pte_t pt_lookup(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t *page_size)
{
    pte_t *table = ops->table_ptr(ops->ctx, root);
    for (int level = 3; level >= 0; level--) {
        pte_t e = table[pt_index(va, level)];
        if (!(e & PTE_P))
            return 0;
        if (level == 0 || (e & PTE_PS)) {
            if (page_size)
                *page_size = level == 0 ? PT_SIZE_4K : level == 1 ? PT_SIZE_2M : PT_SIZE_1G;
            return e;
        }
        table = ops->table_ptr(ops->ctx, e & PTE_ADDR_MASK);
    }
    return 0;
}

/* Replaces the 2 MiB leaf *pde by a table of 512 4 KiB leaves mapping the same. */
static int split_2m(const struct pt_ops *ops, pte_t *pde)
{
    uint64_t table_pa = ops->alloc_table(ops->ctx);
    if (!table_pa)
        return -ENOMEM;
    pte_t *pt = ops->table_ptr(ops->ctx, table_pa);
    uint64_t base = *pde & PTE_ADDR_MASK & ~(PT_SIZE_2M - 1);
    uint64_t flags = *pde & ~PTE_ADDR_MASK & ~PTE_PS;
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        pt[i] = (base + i * PT_SIZE_4K) | flags;
    *pde = table_pa | TABLE_FLAGS;
    return 0;
}

static pte_t *leaf_4k(const struct pt_ops *ops, uint64_t root, uint64_t va, int *err);

int pt_remap_4k(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t pa, uint64_t flags)
{
    if ((va | pa) & (PT_SIZE_4K - 1) || (pa & ~PTE_ADDR_MASK) || (flags & PTE_ADDR_MASK))
        return -EINVAL;
    int err = 0;
    pte_t *leaf = leaf_4k(ops, root, va, &err);
    if (err)
        return err;
    if (!leaf || !(*leaf & PTE_P))
        return -ENOENT;
    *leaf = pa | (flags & ~PTE_PS) | PTE_P;
    return 0;
}

/* The 4 KiB leaf for va, splitting a 2 MiB page on the way; NULL when unmapped. */
static pte_t *leaf_4k(const struct pt_ops *ops, uint64_t root, uint64_t va, int *err)
{
    pte_t *table = ops->table_ptr(ops->ctx, root);
    for (int level = 3; level > 0; level--) {
        pte_t *e = &table[pt_index(va, level)];
        if (!(*e & PTE_P))
            return NULL;
        if (*e & PTE_PS) {
            *err = level == 1 ? split_2m(ops, e) : -EINVAL;
            if (*err)
                return NULL;
        }
        table = ops->table_ptr(ops->ctx, *e & PTE_ADDR_MASK);
    }
    return &table[pt_index(va, 0)];
}

int pt_unmap(const struct pt_ops *ops, uint64_t root, uint64_t va, uint64_t size)
{
    if ((va | size) & (PT_SIZE_4K - 1) || va + size < va)
        return -EINVAL;
    for (uint64_t off = 0; off < size; off += PT_SIZE_4K) {
        int err = 0;
        pte_t *leaf = leaf_4k(ops, root, va + off, &err);
        if (err)
            return err;
        if (leaf)
            *leaf = 0;
    }
    return 0;
}
