/* Host unit tests of hv/arch/x86/svm/msrpm.c: the SVM MSR permission map (AMD APM
 * vol. 2, 15.11, "MSR Intercepts"). Two bits per MSR, read then write; MSRs
 * 0000_0000-0000_1FFF at bytes 0x000-0x7FF, C000_0000-C000_1FFF at 0x800-0xFFF,
 * C001_0000-C001_1FFF at 0x1000-0x17FF; 0x1800-0x1FFF reserved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/svm/msrpm.h"
#include "core/errno.h"

static uint8_t map[MSRPM_SIZE];
static uint8_t want[MSRPM_SIZE];

static int setup(void **state)
{
    (void)state;
    memset(map, 0x00, sizeof(map)); /* init must set every bit, whatever was there */
    msrpm_init(map);
    memset(want, 0xFF, sizeof(want));
    return 0;
}

/* Clears bit `bit` of the expected map, numbering bits from bit 0 of byte 0. */
static void want_clear(unsigned byte, unsigned bit)
{
    want[byte] &= (uint8_t)~(1u << bit);
}

static void expect_map(void)
{
    for (unsigned i = 0; i < MSRPM_SIZE; i++)
        if (map[i] != want[i])
            fail_msg("byte 0x%x: 0x%02x, want 0x%02x", i, map[i], want[i]);
}

static void test_init_intercepts_all(void **state)
{
    (void)state;
    assert_int_equal(MSRPM_SIZE, 8192);
    expect_map();
    static const uint32_t msrs[] = { 0, 0x10, 0x1B, 0x80B, 0x830, 0x1FFF, 0xC0000080,
                                     0xC0000100, 0xC0001FFF, 0xC0010000, 0xC0011FFF };
    for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
        assert_true(msrpm_intercepts(map, msrs[i], false));
        assert_true(msrpm_intercepts(map, msrs[i], true));
    }
}

/* eli mode passes through only WRMSR of the x2APIC EOI register. */
static void test_eoi_write_passthrough(void **state)
{
    (void)state;
    assert_int_equal(msrpm_set(map, 0x80B, true, false), 0);
    /* MSR 0x80B: bits 0x1016 (read) and 0x1017 (write): byte 0x202, bits 6 and 7 */
    want_clear(0x202, 7);
    expect_map();
    assert_false(msrpm_intercepts(map, 0x80B, true));
    assert_true(msrpm_intercepts(map, 0x80B, false));
    assert_true(msrpm_intercepts(map, 0x80A, false));
    assert_true(msrpm_intercepts(map, 0x80A, true));
    assert_true(msrpm_intercepts(map, 0x80C, false));
    assert_true(msrpm_intercepts(map, 0x80C, true));

    /* back to intercepted: the map is all ones again */
    assert_int_equal(msrpm_set(map, 0x80B, true, true), 0);
    memset(want, 0xFF, sizeof(want));
    expect_map();
    assert_true(msrpm_intercepts(map, 0x80B, true));
}

static void test_read_and_write_bits(void **state)
{
    (void)state;
    /* MSR 0: read bit = bit 0 of byte 0, write bit = bit 1 */
    assert_int_equal(msrpm_set(map, 0, false, true), 0);
    assert_int_equal(map[0], 0xFE);
    assert_false(msrpm_intercepts(map, 0, false));
    assert_true(msrpm_intercepts(map, 0, true));
    assert_int_equal(msrpm_set(map, 0, true, false), 0);
    assert_int_equal(map[0], 0xFD);
    assert_true(msrpm_intercepts(map, 0, false));
    assert_false(msrpm_intercepts(map, 0, true));
    assert_int_equal(msrpm_set(map, 0, false, false), 0);
    assert_int_equal(map[0], 0xFC);
    /* MSR 3 is the top two bits of byte 0 */
    assert_int_equal(msrpm_set(map, 3, false, false), 0);
    assert_int_equal(map[0], 0x3C);
    assert_true(msrpm_intercepts(map, 1, false));
    assert_true(msrpm_intercepts(map, 2, true));
    /* MSR 4 starts byte 1 */
    assert_int_equal(msrpm_set(map, 4, false, true), 0);
    assert_int_equal(map[1], 0xFE);
    want[0] = 0x3C;
    want[1] = 0xFE;
    expect_map();
}

/* Positions per range (APM vol. 2, 15.11): the first and last MSR of each, and a few
 * known MSRs in between. */
static void test_ranges(void **state)
{
    (void)state;
    struct {
        uint32_t msr;
        unsigned byte, bit; /* of the read bit; the write bit is the next */
    } cases[] = {
        { 0x00000000u, 0x000, 0 }, { 0x00000010u, 0x004, 0 }, /* TSC */
        { 0x0000001Bu, 0x006, 6 },                            /* APIC_BASE */
        { 0x00000830u, 0x20C, 0 },                            /* x2APIC ICR */
        { 0x00001FFFu, 0x7FF, 6 }, { 0xC0000000u, 0x800, 0 },
        { 0xC0000080u, 0x820, 0 },                            /* EFER */
        { 0xC0000101u, 0x840, 2 },                            /* GS_BASE */
        { 0xC0001FFFu, 0xFFF, 6 }, { 0xC0010000u, 0x1000, 0 },
        { 0xC0010117u, 0x1045, 6 },                           /* VM_HSAVE_PA */
        { 0xC0011FFFu, 0x17FF, 6 },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setup(NULL);
        uint32_t msr = cases[i].msr;
        assert_int_equal(msrpm_set(map, msr, false, true), 0);
        want_clear(cases[i].byte, cases[i].bit);
        expect_map();
        assert_false(msrpm_intercepts(map, msr, false));
        assert_true(msrpm_intercepts(map, msr, true));

        setup(NULL);
        assert_int_equal(msrpm_set(map, msr, true, false), 0);
        want_clear(cases[i].byte, cases[i].bit + 1);
        expect_map();
        assert_true(msrpm_intercepts(map, msr, false));
        assert_false(msrpm_intercepts(map, msr, true));
    }
}

/* Passing every MSR of the three ranges through clears exactly bytes 0-0x17FF. */
static void test_all_ranges_cleared(void **state)
{
    (void)state;
    static const uint32_t base[3] = { 0, 0xC0000000u, 0xC0010000u };
    for (unsigned r = 0; r < 3; r++)
        for (uint32_t i = 0; i < 0x2000; i++)
            assert_int_equal(msrpm_set(map, base[r] + i, false, false), 0);
    for (unsigned i = 0; i < 0x1800; i++)
        assert_int_equal(map[i], 0);
    for (unsigned i = 0x1800; i < MSRPM_SIZE; i++)
        assert_int_equal(map[i], 0xFF); /* reserved */
    for (unsigned r = 0; r < 3; r++) {
        assert_false(msrpm_intercepts(map, base[r], true));
        assert_false(msrpm_intercepts(map, base[r] + 0x1FFF, false));
    }
}

static void test_outside_ranges(void **state)
{
    (void)state;
    static const uint32_t out[] = { 0x2000, 0x3FFF, 0x40000000u, 0xBFFFFFFFu, 0xC0002000u,
                                    0xC000FFFFu, 0xC0012000u, 0xC0020000u, 0xFFFFFFFFu };
    for (unsigned i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        assert_int_equal(msrpm_set(map, out[i], false, false), -EINVAL);
        expect_map(); /* nothing written anywhere */
    }
    /* always intercepted, even with a map that passes everything through */
    memset(map, 0, sizeof(map));
    for (unsigned i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        assert_true(msrpm_intercepts(map, out[i], false));
        assert_true(msrpm_intercepts(map, out[i], true));
    }
    assert_false(msrpm_intercepts(map, 0x1FFF, true));
    assert_false(msrpm_intercepts(map, 0xC0000000u, false));
    assert_false(msrpm_intercepts(map, 0xC0011FFFu, true));
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_intercepts_all),
        T(test_eoi_write_passthrough),
        T(test_read_and_write_bits),
        T(test_ranges),
        T(test_all_ranges_cleared),
        T(test_outside_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
