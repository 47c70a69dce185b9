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
    return integrity_fnv1a64(__image_start, (size_t)(__data_end - __image_start));
}
