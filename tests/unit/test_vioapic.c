/* Host unit tests of hv/dev/vioapic.c: the guest's virtual IOAPIC register file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dev/vioapic.h"

static struct vioapic v;
static int calls;
static unsigned last_pin;
static union ioapic_rte last_rte;

static void changed(void *ctx, unsigned pin, union ioapic_rte rte)
{
    assert_ptr_equal(ctx, &v);
    calls++;
    last_pin = pin;
    last_rte = rte;
}

static int setup(void **state)
{
    (void)state;
    calls = 0;
    vioapic_init(&v, changed, &v);
    return 0;
}

static uint32_t rd(uint32_t reg)
{
    uint64_t val = 0xdead;
    assert_int_equal(vioapic_write(&v, IOAPIC_IOREGSEL, 4, reg), 0);
    assert_int_equal(vioapic_read(&v, IOAPIC_IOWIN, 4, &val), 0);
    return (uint32_t)val;
}

static void wr(uint32_t reg, uint32_t val)
{
    assert_int_equal(vioapic_write(&v, IOAPIC_IOREGSEL, 4, reg), 0);
    assert_int_equal(vioapic_write(&v, IOAPIC_IOWIN, 4, val), 0);
}

static void test_rte_layout(void **state)
{
    (void)state;
    union ioapic_rte r = { 0 };
    r.vector = 0x61;
    r.trigger_mode = 1;
    r.polarity = 1;
    r.mask = 1;
    r.destination = 3;
    assert_int_equal(r.raw, 0x030000000001A061ull);   /* bits 13, 15, 16; destination 63:56 */
}

static void test_version_and_reset(void **state)
{
    (void)state;
    assert_int_equal(rd(IOAPIC_REG_VER), 0x00170011u);   /* 24 pins, version 0x11 */
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        assert_int_equal(rd(IOAPIC_REG_RTE0 + 2 * pin), IOAPIC_RTE_MASKED);
        assert_int_equal(rd(IOAPIC_REG_RTE0 + 2 * pin + 1), 0);
    }
    wr(IOAPIC_REG_VER, 0);
    assert_int_equal(rd(IOAPIC_REG_VER), 0x00170011u);
    wr(IOAPIC_REG_ID, 0xFFFFFFFFu);
    assert_int_equal(rd(IOAPIC_REG_ID), 0x0F000000u);
    assert_int_equal(calls, 0);
}

static void test_rte_write_calls_back(void **state)
{
    (void)state;
    wr(IOAPIC_REG_RTE0 + 2 * 11 + 1, 0x01000000u);
    assert_int_equal(calls, 1);
    assert_int_equal(last_pin, 11);
    assert_true(last_rte.mask);
    assert_int_equal(last_rte.destination, 1);
    /* level, active low, unmasked, vector 0x60; the read-only bits are not taken */
    wr(IOAPIC_REG_RTE0 + 2 * 11, 0x60u | 1u << 13 | 1u << 15 | 1u << 12 | 1u << 14);
    assert_int_equal(calls, 2);
    assert_int_equal(last_rte.vector, 0x60);
    assert_false(last_rte.mask);
    assert_true(last_rte.trigger_mode);
    assert_true(last_rte.polarity);
    assert_false(last_rte.remote_irr);
    assert_false(last_rte.delivery_status);
    assert_int_equal(rd(IOAPIC_REG_RTE0 + 2 * 11), 0x60u | 1u << 13 | 1u << 15);
    /* the same value again changes nothing */
    wr(IOAPIC_REG_RTE0 + 2 * 11, 0x60u | 1u << 13 | 1u << 15);
    assert_int_equal(calls, 2);
}

static void test_out_of_range_and_odd_sizes(void **state)
{
    (void)state;
    uint64_t val = 1;
    wr(IOAPIC_REG_RTE0 + 2 * IOAPIC_PINS, 0x1234);
    assert_int_equal(rd(IOAPIC_REG_RTE0 + 2 * IOAPIC_PINS), 0);
    assert_int_equal(vioapic_write(&v, IOAPIC_IOREGSEL, 1, 0x10), 0);
    assert_int_equal(vioapic_read(&v, IOAPIC_IOREGSEL, 1, &val), 0);
    assert_int_equal(val, 0);
    assert_int_equal(vioapic_read(&v, 0x20, 4, &val), 0);
    assert_int_equal(val, 0);
    assert_int_equal(vioapic_write(&v, IOAPIC_IOREGSEL, 4, 0x1FF), 0);
    assert_int_equal(vioapic_read(&v, IOAPIC_IOREGSEL, 4, &val), 0);
    assert_int_equal(val, 0xFF);
    assert_int_equal(calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rte_layout),
        cmocka_unit_test_setup(test_version_and_reset, setup),
        cmocka_unit_test_setup(test_rte_write_calls_back, setup),
        cmocka_unit_test_setup(test_out_of_range_and_odd_sizes, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
