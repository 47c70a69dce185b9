#include "arch/x86/svm/msrpm.h"
#include "core/errno.h"
#include <string.h>

#define RANGE_MSRS 0x2000u

static const uint32_t range_base[3] = { 0x00000000u, 0xC0000000u, 0xC0010000u };

/* Bit index of the MSR's read bit in the map, or -1. */
static int64_t msr_bit(uint32_t msr)
{
    for (unsigned r = 0; r < 3; r++)
        if (msr >= range_base[r] && msr - range_base[r] < RANGE_MSRS)
            return (int64_t)r * RANGE_MSRS * 2 + (int64_t)(msr - range_base[r]) * 2;
    return -1;
}

void msrpm_init(uint8_t *map)
{
    memset(map, 0xff, MSRPM_SIZE);
}

static void set_bit(uint8_t *map, int64_t bit, bool on)
{
    if (on)
        map[bit / 8] |= (uint8_t)(1u << (bit % 8));
    else
        map[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

int msrpm_set(uint8_t *map, uint32_t msr, bool intercept_read, bool intercept_write)
{
    int64_t bit = msr_bit(msr);
    if (bit < 0)
        return -EINVAL;
    set_bit(map, bit, intercept_read);
    set_bit(map, bit + 1, intercept_write);
    return 0;
}

bool msrpm_intercepts(const uint8_t *map, uint32_t msr, bool write)
{
    int64_t bit = msr_bit(msr);
    if (bit < 0)
        return true;
    bit += write;
    return map[bit / 8] >> (bit % 8) & 1;
}
