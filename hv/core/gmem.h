/* A guest's RAM as eli sees it: guest-physical [0, size) backed by `hva`. */
#ifndef ELI_CORE_GMEM_H
#define ELI_CORE_GMEM_H
#include <stddef.h>
#include <stdint.h>

struct gmem {
    uint8_t *hva;
    uint64_t size;
};

/* The host pointer for [gpa, gpa + len) if it lies wholly in guest RAM, else NULL. */
static inline void *gmem_ptr(const struct gmem *g, uint64_t gpa, uint64_t len)
{
    if (gpa > g->size || len > g->size - gpa)
        return NULL;
    return g->hva + gpa;
}

#endif
