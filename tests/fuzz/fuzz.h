/* Shared helpers of eli's libFuzzer targets (tests/fuzz/fuzz_NAME.c).
 *
 * An input is read front to back through a `struct fin`: the first bytes pick
 * operations and values, what remains is data. Past the end every read gives 0,
 * so any input, however short, is a valid run.
 *
 * FUZZ_CHECK is the targets' assert: on a broken invariant it prints the
 * condition and aborts, which libFuzzer reports as a crash and saves the input. */
#ifndef ELI_FUZZ_H
#define ELI_FUZZ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, "" __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

struct fin {
    const uint8_t *p;
    size_t n;
};

static inline struct fin fin_make(const uint8_t *data, size_t size)
{
    return (struct fin){ data, size };
}

static inline size_t fin_left(const struct fin *f)
{
    return f->n;
}

static inline uint8_t fin_u8(struct fin *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}

static inline bool fin_bool(struct fin *f)
{
    return fin_u8(f) & 1;
}

/* n bytes (at most 8), little-endian; missing bytes read as 0 */
static inline uint64_t fin_uint(struct fin *f, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)fin_u8(f) << (8 * i);
    return v;
}

static inline uint16_t fin_u16(struct fin *f) { return (uint16_t)fin_uint(f, 2); }
static inline uint32_t fin_u32(struct fin *f) { return (uint32_t)fin_uint(f, 4); }
static inline uint64_t fin_u64(struct fin *f) { return fin_uint(f, 8); }

/* Copies up to len bytes into dst, zero-filling what the input lacks. */
static inline void fin_bytes(struct fin *f, void *dst, size_t len)
{
    size_t k = len < f->n ? len : f->n;
    memcpy(dst, f->p, k);
    memset((uint8_t *)dst + k, 0, len - k);
    f->p += k;
    f->n -= k;
}

/* A value from a small table of interesting ones (when the selector's top bit is
 * clear), else a raw 32-bit value from the input: keeps the fuzzer near the
 * boundaries that matter while still trying everything. */
static inline uint32_t fin_pick32(struct fin *f, const uint32_t *table, size_t n)
{
    uint8_t sel = fin_u8(f);
    if (!(sel & 0x80) && n)
        return table[sel % n];
    return fin_u32(f);
}

/* A NUL-terminated string is inside [buf, buf + size). */
static inline bool fuzz_nul_within(const char *buf, size_t size)
{
    return memchr(buf, '\0', size) != NULL;
}

#endif
