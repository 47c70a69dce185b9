#include "core/integrity.h"

/* hv/arch/x86/linker.ld */
extern const char __image_start[], __data_end[];

#define FNV1A64_OFFSET 0xcbf29ce484222325ull
#define FNV1A64_PRIME 0x100000001b3ull

uint64_t integrity_fnv1a64(const void *p, size_t len)
{
    const volatile uint8_t *b = p; /* memory that may change behind the compiler's back */
    uint64_t h = FNV1A64_OFFSET;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= FNV1A64_PRIME;
    }
    return h;
}

uint64_t eli_image_checksum(void)
{
    /* the linker's symbols bound one image: compare them as addresses */
    uintptr_t start = (uintptr_t)__image_start, end = (uintptr_t)__data_end;
    return integrity_fnv1a64(__image_start, (size_t)(end - start));
}
