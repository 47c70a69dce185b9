/* Guest-physical ranges whose accesses eli emulates (trapped through nested
 * paging): a small registry the backend's fault handler consults. */
#ifndef ELI_CORE_MMIO_H
#define ELI_CORE_MMIO_H
#include <stdbool.h>
#include <stdint.h>

typedef int (*mmio_read_fn)(void *ctx, uint64_t offset, unsigned size, uint64_t *val);
typedef int (*mmio_write_fn)(void *ctx, uint64_t offset, unsigned size, uint64_t val);

struct mmio_region {
    uint64_t base, size;
    mmio_read_fn read;
    mmio_write_fn write;
    void *ctx;
    const char *name;
};

/* Returns 0, -ENOSPC when the table is full, -EEXIST on overlap. */
int mmio_register(uint64_t base, uint64_t size, mmio_read_fn rd, mmio_write_fn wr, void *ctx,
                  const char *name);
void mmio_unregister(uint64_t base);
/* The region holding gpa, or NULL. */
const struct mmio_region *mmio_find(uint64_t gpa);

#endif
