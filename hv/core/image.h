/* Loading a guest image into guest RAM: an ELF64 image with a PVH entry note (Linux's
 * vmlinux) gets the PVH start, any other ELF64 image the 64-bit start; any
 * other image must be a multiboot v1 kernel (ELF32, or a.out-kludge addresses).
 * Pure: the image is a byte buffer, the RAM a gmem (host-testable, fuzzable). */
#ifndef ELI_CORE_IMAGE_H
#define ELI_CORE_IMAGE_H
#include "core/gmem.h"
#include <stddef.h>
#include <stdint.h>

enum image_kind {
    IMAGE_MULTIBOOT, /* start in 32-bit protected mode, as a multiboot loader does */
    IMAGE_ELF64,     /* start in 64-bit mode at the ELF entry */
    IMAGE_PVH,       /* an ELF64 kernel with a PVH entry note (Linux): the PVH boot ABI */
};

struct image {
    enum image_kind kind;
    uint64_t entry;
    uint64_t load_start, load_end; /* guest-physical span the image occupies */
};

/* Loads `data` into g below `limit` (bytes above it are kept for eli's use).
 * Returns 0 or a negative errno with one line in `err`. */
int image_load(const struct gmem *g, uint64_t limit, const uint8_t *data, size_t size,
               struct image *out, char *err, size_t errlen);

/* The multiboot header in the first 8 KiB of data, or NULL (with its offset). */
const void *image_find_mb_header(const uint8_t *data, size_t size, size_t *offset);

#endif
