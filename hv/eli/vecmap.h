/* Which physical vector carries each guest vector of the assigned device.
 * p = g where that vector is free; a g that collides with one of eli's own
 * vectors (or with another mapping) gets a free physical vector instead, and the
 * shadow IDT then holds the guest's gate g at slot p (pure, host-testable). */
#ifndef ELI_ELI_VECMAP_H
#define ELI_ELI_VECMAP_H
#include <stdbool.h>
#include <stdint.h>

#define VEC_FIRST_EXTERNAL 32 /* 0-31 are exceptions (SDM vol. 3, 6.2) */

struct vecmap {
    uint8_t g2p[256];        /* 0 = the guest vector is not mapped */
    uint8_t p2g[256];        /* 0 = the physical vector carries no guest vector */
    uint64_t host_owned[4];  /* eli's own vectors: never handed to a guest */
};

void vecmap_init(struct vecmap *m, const uint8_t *host_vectors, unsigned n);
/* Maps guest vector g (>= 32); returns the physical vector or a negative errno.
 * Mapping an already-mapped g returns its existing vector. */
int vecmap_map(struct vecmap *m, uint8_t g);
void vecmap_unmap(struct vecmap *m, uint8_t g);
bool vecmap_host_owned(const struct vecmap *m, uint8_t p);
/* The guest vector physical vector p carries, or -1. */
int vecmap_guest(const struct vecmap *m, uint8_t p);
/* The physical vector for guest vector g, or -1. */
int vecmap_phys(const struct vecmap *m, uint8_t g);

#endif
