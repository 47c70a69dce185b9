/* Host unit tests of hv/dev/vlapic.c: the guest's virtual local APIC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/errno.h"
#include "dev/vlapic.h"

#define TSC_HZ 2000000000ull /* 2 TSC cycles per virtual bus tick (1 ns) */
#define T0 1000000ull        /* the fake clock's start */
#define ID 3u

/* xAPIC offsets */
#define O_ID 0x020
#define O_VER 0x030
#define O_TPR 0x080
#define O_APR 0x090
#define O_PPR 0x0A0
#define O_EOI 0x0B0
#define O_LDR 0x0D0
#define O_DFR 0x0E0
#define O_SVR 0x0F0
#define O_ISR 0x100
#define O_IRR 0x200
#define O_ESR 0x280
#define O_ICR_LO 0x300
#define O_ICR_HI 0x310
#define O_LVT_TIMER 0x320
#define O_LVT_ERROR 0x370
#define O_TIMER_ICR 0x380
#define O_TIMER_CCR 0x390
#define O_TIMER_DCR 0x3E0

#define BASE_XAPIC (VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP)
#define BASE_X2APIC (BASE_XAPIC | APIC_BASE_EXTD)
#define BASE_DISABLED (VLAPIC_DEFAULT_BASE | APIC_BASE_BSP)

#define LVT_ONESHOT 0u
#define LVT_PERIODIC (1u << 17)
#define LVT_DEADLINE (2u << 17)

static struct vlapic v;
static uint64_t tsc;
static unsigned hook_calls;

/* The clock reads through ctx, so a test also shows that ctx reaches the callback. */
static uint64_t fake_now(void *ctx)
{
    return *(uint64_t *)ctx;
}

static void setup(uint32_t id)
{
    tsc = T0;
    vlapic_init(&v, id, TSC_HZ, fake_now, &tsc);
}

static uint32_t mr(uint32_t off)
{
    uint32_t val = 0xDEADBEEF;
    assert_int_equal(vlapic_mmio_read(&v, off, 4, &val), 0);
    return val;
}

static void mw(uint32_t off, uint32_t val)
{
    assert_int_equal(vlapic_mmio_write(&v, off, 4, val), 0);
}

static uint64_t xr(uint32_t msr)
{
    uint64_t val = 0xDEADBEEF;
    assert_int_equal(vlapic_msr_read(&v, msr, &val), 0);
    return val;
}

static void xw(uint32_t msr, uint64_t val)
{
    assert_int_equal(vlapic_msr_write(&v, msr, val), 0);
}

static void to_x2apic(void)
{
    xw(VLAPIC_MSR_APIC_BASE, BASE_X2APIC);
}

static bool irr_has(unsigned vec)
{
    return v.irr[vec / 32] & (1u << (vec % 32));
}

static bool isr_has(unsigned vec)
{
    return v.isr[vec / 32] & (1u << (vec % 32));
}

/* Software-enabled xAPIC with spurious vector 0xFF. */
static void setup_enabled(void)
{
    setup(ID);
    mw(O_SVR, 0x1FF);
}

/* Takes the pending interrupt as the CPU would, checking which one it is. */
static void take(int expected)
{
    assert_int_equal(vlapic_pending(&v), expected);
    vlapic_ack(&v, (uint8_t)expected);
}

static void count_hook(void *ctx)
{
    assert_ptr_equal(ctx, &hook_calls);
    hook_calls++;
}

/* ---- reset and mode ---------------------------------------------------------- */

static void test_reset_state(void **state)
{
    (void)state;
    setup(ID);
    assert_int_equal(xr(VLAPIC_MSR_APIC_BASE), 0xFEE00900ull); /* EN | BSP */
    assert_false(vlapic_x2apic_mode(&v));
    assert_int_equal(vlapic_mmio_base(&v), 0xFEE00000ull);
    assert_int_equal(v.id, ID);
    assert_int_equal(v.version, 0x00050014u);
    assert_int_equal(v.svr, 0xFF);
    assert_int_equal(v.dfr, 0xFFFFFFFFu);
    assert_int_equal(v.tpr, 0);
    assert_int_equal(v.ldr, 0);
    for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
        assert_int_equal(v.lvt[i], APIC_LVT_MASKED);
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(v.irr[i], 0);
        assert_int_equal(v.isr[i], 0);
        assert_int_equal(v.tmr[i], 0);
    }
    assert_int_equal(vlapic_highest_irr(&v), -1);
    assert_int_equal(vlapic_highest_isr(&v), -1);
    assert_int_equal(vlapic_pending(&v), -1);
    assert_int_equal(vlapic_timer_deadline(&v), 0);
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(v.timer_fires, 0);
    assert_int_equal(v.dropped_ipis, 0);
    assert_int_equal(xr(VLAPIC_MSR_TSC_DEADLINE), 0);

    /* x2APIC registers are #GP outside x2APIC mode; other MSRs are not ours */
    uint64_t val = 0;
    assert_int_equal(vlapic_msr_read(&v, X2APIC_ID, &val), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_TPR, 0), -EINVAL);
    assert_int_equal(vlapic_msr_read(&v, 0x10, &val), -ENOENT);
    assert_int_equal(vlapic_msr_write(&v, 0x900, 0), -ENOENT);

    /* an absurd TSC frequency is clamped rather than overflowing the arithmetic */
    vlapic_init(&v, ID, UINT64_MAX, fake_now, &tsc);
    assert_int_equal(v.tsc_hz, VLAPIC_TSC_HZ_MAX);
    vlapic_init(&v, ID, 0, fake_now, &tsc);
    assert_int_equal(v.tsc_hz, 1);
}

static void test_xapic_mmio_reset_values(void **state)
{
    (void)state;
    setup(ID);
    assert_int_equal(mr(O_ID), ID << 24);
    assert_int_equal(mr(O_VER), 0x00050014u);
    assert_int_equal(mr(O_SVR), 0xFF);
    assert_int_equal(mr(O_DFR), 0xFFFFFFFFu);
    assert_int_equal(mr(O_TPR), 0);
    assert_int_equal(mr(O_APR), 0);
    assert_int_equal(mr(O_PPR), 0);
    assert_int_equal(mr(O_LDR), 0);
    assert_int_equal(mr(O_ICR_LO), 0);
    assert_int_equal(mr(O_ICR_HI), 0);
    assert_int_equal(mr(O_TIMER_ICR), 0);
    assert_int_equal(mr(O_TIMER_CCR), 0);
    assert_int_equal(mr(O_TIMER_DCR), 0);
    for (uint32_t off = 0x320; off <= 0x370; off += 0x10)
        assert_int_equal(mr(off), 0x00010000u);
    assert_int_equal(mr(O_EOI), 0); /* write-only: reads 0 */
    /* the only ID byte of an xAPIC is 7:0 of the x2APIC ID */
    setup(0x1234);
    assert_int_equal(mr(O_ID), 0x34u << 24);
}

static void test_xapic_mmio_sizes_and_reserved(void **state)
{
    (void)state;
    setup(ID);
    uint32_t val;
    /* narrower reads return bytes of the aligned dword */
    assert_int_equal(vlapic_mmio_read(&v, O_VER + 2, 1, &val), 0);
    assert_int_equal(val, 0x05);
    assert_int_equal(vlapic_mmio_read(&v, O_VER, 2, &val), 0);
    assert_int_equal(val, 0x0014);
    assert_int_equal(vlapic_mmio_read(&v, O_ID + 3, 1, &val), 0);
    assert_int_equal(val, ID);
    /* a dword read straddling the register's end: the bytes past it read 0 */
    assert_int_equal(vlapic_mmio_read(&v, O_DFR + 2, 4, &val), 0);
    assert_int_equal(val, 0xFFFF);

    /* non-dword or misaligned writes are ignored */
    assert_int_equal(vlapic_mmio_write(&v, O_TPR, 1, 0x20), 0);
    assert_int_equal(vlapic_mmio_write(&v, O_TPR + 1, 4, 0x20), 0);
    assert_int_equal(mr(O_TPR), 0);
    mw(O_TPR, 0x123); /* bits 31:8 are not stored */
    assert_int_equal(mr(O_TPR), 0x23);
    /* read-only registers ignore writes in xAPIC mode */
    mw(O_VER, 0);
    mw(O_ID, 0x7F000000);
    mw(O_PPR, 0xFF);
    assert_int_equal(mr(O_VER), 0x00050014u);
    assert_int_equal(mr(O_ID), ID << 24);
    assert_int_equal(mr(O_PPR), 0x23);
    assert_int_equal(mr(O_ESR), 0); /* none of that was an error */
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), 0);

    /* reserved registers read 0, ignore writes, and log an illegal register address */
    assert_int_equal(mr(0x000), 0);
    assert_int_equal(mr(0x3F0), 0); /* SELF_IPI exists in x2APIC mode only */
    mw(0x2F0, 0x12345); /* no CMCI LVT: max LVT is 5 */
    assert_int_equal(mr(0x2F0), 0);
    assert_int_equal(mr(O_TPR + 4), 0); /* padding inside a register's slot */
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_ILLEGAL_REG);

    /* arguments out of range are the caller's error */
    assert_int_equal(vlapic_mmio_read(&v, 0x1000, 4, &val), -EINVAL);
    assert_int_equal(vlapic_mmio_read(&v, O_TPR, 8, &val), -EINVAL);
    assert_int_equal(vlapic_mmio_read(&v, O_TPR, 3, &val), -EINVAL);
    assert_int_equal(vlapic_mmio_write(&v, 0x1000, 4, 0), -EINVAL);
    assert_int_equal(vlapic_mmio_write(&v, O_TPR, 0, 0), -EINVAL);
}

static void test_xapic_ldr_dfr(void **state)
{
    (void)state;
    setup(ID);
    mw(O_LDR, 0x12345678);
    assert_int_equal(mr(O_LDR), 0x12000000u);
    mw(O_DFR, 0x0123);            /* cluster model */
    assert_int_equal(mr(O_DFR), 0x0FFFFFFFu);
    mw(O_DFR, 0xFFFFFFFFu);       /* flat model */
    assert_int_equal(mr(O_DFR), 0xFFFFFFFFu);
}

static void test_apic_base_transitions(void **state)
{
    (void)state;
    uint64_t val;
    setup(ID);
    /* reserved bits: 7:0, 9, and from MAXPHYADDR up */
    assert_int_equal(vlapic_msr_write(&v, VLAPIC_MSR_APIC_BASE, BASE_XAPIC | 1), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, VLAPIC_MSR_APIC_BASE, BASE_XAPIC | (1 << 9)), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, VLAPIC_MSR_APIC_BASE,
                                      BASE_XAPIC | (1ull << VLAPIC_PHYS_BITS)), -EINVAL);
    /* EN = 0 with EXTD = 1 is the invalid state */
    assert_int_equal(vlapic_msr_write(&v, VLAPIC_MSR_APIC_BASE, BASE_DISABLED | APIC_BASE_EXTD),
                     -EINVAL);
    assert_int_equal(xr(VLAPIC_MSR_APIC_BASE), BASE_XAPIC);

    /* xAPIC may move its page */
    xw(VLAPIC_MSR_APIC_BASE, 0xFED00000ull | APIC_BASE_EN | APIC_BASE_BSP);
    assert_int_equal(vlapic_mmio_base(&v), 0xFED00000ull);
    xw(VLAPIC_MSR_APIC_BASE, BASE_XAPIC);

    /* xAPIC -> x2APIC; then the page is gone and the MSRs work */
    to_x2apic();
    assert_true(vlapic_x2apic_mode(&v));
    assert_int_equal(vlapic_mmio_base(&v), 0);
    assert_int_equal(vlapic_mmio_read(&v, O_ID, 4, &(uint32_t){0}), -EINVAL);
    assert_int_equal(vlapic_mmio_write(&v, O_TPR, 4, 0x20), -EINVAL);
    assert_int_equal(xr(X2APIC_VERSION), 0x00050014u);

    /* x2APIC -> xAPIC directly is illegal, and changes nothing */
    xw(X2APIC_TPR, 0x20);
    assert_int_equal(vlapic_msr_write(&v, VLAPIC_MSR_APIC_BASE, BASE_XAPIC), -EINVAL);
    assert_true(vlapic_x2apic_mode(&v));
    assert_int_equal(xr(X2APIC_TPR), 0x20);

    /* x2APIC -> disabled: the MSRs are #GP, the page is not decoded */
    xw(VLAPIC_MSR_APIC_BASE, BASE_DISABLED);
    assert_false(vlapic_x2apic_mode(&v));
    assert_int_equal(vlapic_msr_read(&v, X2APIC_ID, &val), -EINVAL);
    assert_int_equal(vlapic_mmio_base(&v), 0);
    assert_int_equal(vlapic_mmio_read(&v, O_ID, 4, &(uint32_t){0}), -EINVAL);

    /* disabled -> x2APIC is illegal (only disabled -> xAPIC is) */
    assert_int_equal(vlapic_msr_write(&v, VLAPIC_MSR_APIC_BASE, BASE_X2APIC), -EINVAL);
    assert_int_equal(xr(VLAPIC_MSR_APIC_BASE), BASE_DISABLED);
    xw(VLAPIC_MSR_APIC_BASE, BASE_XAPIC);
    assert_int_equal(mr(O_TPR), 0); /* the TPR set in x2APIC mode did not survive */
    to_x2apic();
    assert_true(vlapic_x2apic_mode(&v));
}

static void test_disable_resets_state(void **state)
{
    (void)state;
    setup_enabled();
    mw(O_TPR, 0x20);
    mw(O_LDR, 0x01000000);
    mw(O_DFR, 0x0FFFFFFF);
    mw(O_LVT_TIMER, 0x40);
    mw(O_TIMER_DCR, 0xB);
    mw(O_TIMER_ICR, 1000);
    vlapic_accept(&v, 0x50);
    vlapic_accept(&v, 0x60);
    take(0x60);
    assert_int_not_equal(vlapic_timer_deadline(&v), 0);

    xw(VLAPIC_MSR_APIC_BASE, BASE_DISABLED);
    vlapic_accept(&v, 0x70); /* no APIC: nothing accepted */
    xw(VLAPIC_MSR_APIC_BASE, BASE_XAPIC);
    assert_int_equal(mr(O_TPR), 0);
    assert_int_equal(mr(O_LDR), 0);
    assert_int_equal(mr(O_DFR), 0xFFFFFFFFu);
    assert_int_equal(mr(O_SVR), 0xFF);
    assert_int_equal(mr(O_LVT_TIMER), APIC_LVT_MASKED);
    assert_int_equal(mr(O_TIMER_ICR), 0);
    assert_int_equal(mr(O_TIMER_DCR), 0);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    assert_int_equal(vlapic_highest_isr(&v), -1);
    assert_int_equal(vlapic_timer_deadline(&v), 0);
    assert_int_equal(mr(O_ID), ID << 24); /* the ID survives */
}

/* ---- x2APIC ------------------------------------------------------------------ */

static void test_x2apic_id_and_ldr(void **state)
{
    (void)state;
    setup(0x25);
    mw(O_LDR, 0xAB000000); /* whatever xAPIC software put there is replaced */
    to_x2apic();
    assert_int_equal(xr(X2APIC_ID), 0x25);
    /* cluster 0x25 >> 4 = 2 in bits 31:16, member bit 0x25 & 15 = 5 */
    assert_int_equal(xr(X2APIC_LDR), 0x00020020u);

    setup(0x1234F);
    to_x2apic();
    assert_int_equal(xr(X2APIC_ID), 0x1234F);
    assert_int_equal(xr(X2APIC_LDR), 0x12348000u);

    setup(0);
    to_x2apic();
    assert_int_equal(xr(X2APIC_LDR), 1);
    assert_int_equal(xr(X2APIC_SVR), 0xFF);
    assert_int_equal(xr(X2APIC_LVT_LINT0), APIC_LVT_MASKED);
}

static void test_x2apic_gp(void **state)
{
    (void)state;
    uint64_t val;
    setup(ID);
    to_x2apic();
    xw(X2APIC_TPR, 0x10);

    /* write-only registers */
    assert_int_equal(vlapic_msr_read(&v, X2APIC_EOI, &val), -EINVAL);
    assert_int_equal(vlapic_msr_read(&v, X2APIC_SELF_IPI, &val), -EINVAL);
    /* read-only registers */
    const uint32_t ro[] = { X2APIC_ID, X2APIC_VERSION, VLAPIC_PPR, X2APIC_LDR, X2APIC_ISR0,
                            X2APIC_ISR0 + 7, X2APIC_TMR0, X2APIC_IRR0 + 3, X2APIC_TIMER_CCR };
    for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        assert_int_equal(vlapic_msr_write(&v, ro[i], 0), -EINVAL);
        assert_int_equal(vlapic_msr_read(&v, ro[i], &val), 0);
    }
    /* reserved MSRs, including xAPIC-only registers (APR, RRD, DFR, ICR high) */
    const uint32_t rsvd[] = { 0x800, 0x801, VLAPIC_APR, VLAPIC_RRD, VLAPIC_DFR,
                              VLAPIC_LVT_CMCI, VLAPIC_ICR_HI, 0x83A, 0x83D, 0x840, 0x8FF };
    for (size_t i = 0; i < sizeof(rsvd) / sizeof(rsvd[0]); i++) {
        assert_int_equal(vlapic_msr_read(&v, rsvd[i], &val), -EINVAL);
        assert_int_equal(vlapic_msr_write(&v, rsvd[i], 0), -EINVAL);
    }
    /* EOI and ESR take only 0 */
    assert_int_equal(vlapic_msr_write(&v, X2APIC_EOI, 1), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_ESR, 4), -EINVAL);
    xw(X2APIC_EOI, 0);
    xw(X2APIC_ESR, 0);
    /* reserved bits */
    assert_int_equal(vlapic_msr_write(&v, X2APIC_TPR, 0x100), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_TPR, 1ull << 32), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_SVR, 1u << 12), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_LVT_TIMER, APIC_LVT_MASKED | (1u << 19)), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_LVT_ERROR, APIC_LVT_MASKED | 0x100), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_TIMER_DCR, 4), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_SELF_IPI, 0x140), -EINVAL);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_ICR, 0x2040), -EINVAL); /* bit 13 */
    assert_int_equal(vlapic_msr_write(&v, X2APIC_TIMER_ICR, 1ull << 32), -EINVAL);
    /* none of the refused writes changed anything */
    assert_int_equal(xr(X2APIC_TPR), 0x10);
    assert_int_equal(xr(X2APIC_SVR), 0xFF);
    assert_int_equal(xr(X2APIC_LVT_TIMER), APIC_LVT_MASKED);
    assert_int_equal(xr(X2APIC_TIMER_DCR), 0);
    assert_int_equal(xr(X2APIC_ICR), 0);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    assert_int_equal(v.dropped_ipis, 0);

    /* read-only bits (delivery status, remote IRR) are not reserved: ignored, no #GP */
    xw(X2APIC_LVT_LINT0, APIC_LVT_MASKED | (1u << 12) | (1u << 14) | 0x700);
    assert_int_equal(xr(X2APIC_LVT_LINT0), APIC_LVT_MASKED | 0x700);
    /* the error-logging of xAPIC reserved accesses does not exist in x2APIC mode */
    xw(X2APIC_ESR, 0);
    assert_int_equal(xr(X2APIC_ESR), 0);
}

/* ---- priorities, acceptance, EOI -------------------------------------------- */

static void test_tpr_ppr_pending(void **state)
{
    (void)state;
    setup_enabled();
    vlapic_accept(&v, 0x45);
    assert_true(irr_has(0x45));
    assert_int_equal(vlapic_pending(&v), 0x45);
    mw(O_TPR, 0x40); /* same class: blocked (11.8.4: class must be above PPR[7:4]) */
    assert_int_equal(mr(O_PPR), 0x40);
    assert_int_equal(vlapic_pending(&v), -1);
    mw(O_TPR, 0x3F);
    assert_int_equal(vlapic_pending(&v), 0x45);
    assert_int_equal(mr(O_APR), 0x40); /* IRR class dominates TPR */

    take(0x45);
    assert_false(irr_has(0x45));
    assert_true(isr_has(0x45));
    assert_int_equal(mr(O_ISR + 0x20), 1u << 5); /* ISR word 2 holds 0x40-0x5F */
    /* PPR = ISR class when it is above TPR's, with bits 3:0 clear */
    mw(O_TPR, 0x35);
    assert_int_equal(mr(O_PPR), 0x40);
    mw(O_TPR, 0x55);
    assert_int_equal(mr(O_PPR), 0x55);
    mw(O_TPR, 0x4A); /* a tie in class: TPR wins, low bits included */
    assert_int_equal(mr(O_PPR), 0x4A);
    mw(O_TPR, 0x00);
    assert_int_equal(mr(O_PPR), 0x40);
    vlapic_accept(&v, 0x4F); /* same class as the one in service: waits */
    assert_int_equal(vlapic_pending(&v), -1);
    vlapic_accept(&v, 0x51);
    assert_int_equal(vlapic_pending(&v), 0x51);
    assert_int_equal(vlapic_highest_irr(&v), 0x51);

    /* CR8 is TPR[7:4] */
    assert_int_equal(vlapic_cr8_write(&v, 5), 0);
    assert_int_equal(mr(O_TPR), 0x50);
    assert_int_equal(vlapic_cr8_read(&v), 5);
    assert_int_equal(vlapic_pending(&v), -1);
    assert_int_equal(vlapic_cr8_write(&v, 0x10), -EINVAL);
    assert_int_equal(vlapic_cr8_read(&v), 5);
    mw(O_TPR, 0x6A);
    assert_int_equal(vlapic_cr8_read(&v), 6);
}

static void test_nested_eoi_order(void **state)
{
    (void)state;
    setup_enabled();
    vlapic_accept(&v, 0x30);
    take(0x30);
    vlapic_accept(&v, 0x80); /* higher class preempts the one in service */
    take(0x80);
    vlapic_accept(&v, 0x50); /* lower than 0x80 in service: waits */
    assert_int_equal(vlapic_pending(&v), -1);
    assert_int_equal(mr(O_PPR), 0x80);

    mw(O_EOI, 0); /* ends 0x80, the highest in service, not 0x30 */
    assert_false(isr_has(0x80));
    assert_true(isr_has(0x30));
    take(0x50);
    assert_int_equal(vlapic_highest_isr(&v), 0x50);
    assert_int_equal(vlapic_eoi(&v), 0x50);
    assert_int_equal(vlapic_eoi(&v), 0x30);
    assert_int_equal(vlapic_eoi(&v), -1);
    mw(O_EOI, 0); /* EOI with nothing in service is harmless */
    assert_int_equal(vlapic_highest_isr(&v), -1);

    /* the same through the x2APIC interface */
    to_x2apic();
    vlapic_accept(&v, 0xE0);
    take(0xE0);
    vlapic_accept(&v, 0xE1);
    assert_int_equal(vlapic_pending(&v), -1);
    xw(X2APIC_EOI, 0);
    assert_false(isr_has(0xE0));
    take(0xE1);
    assert_int_equal(xr(X2APIC_ISR0 + 7), 1u << 1);
}

static void test_eoi_hook(void **state)
{
    (void)state;
    setup_enabled();
    hook_calls = 0;
    v.eoi_hook = count_hook;
    v.hook_ctx = &hook_calls;
    vlapic_accept(&v, 0x40);
    take(0x40);
    mw(O_EOI, 0);
    assert_int_equal(hook_calls, 1);
    assert_true(isr_has(0x40)); /* the hook decides what ends, not the vlapic */
    to_x2apic();
    xw(X2APIC_EOI, 0);
    assert_int_equal(hook_calls, 2);
    assert_int_equal(vlapic_msr_write(&v, X2APIC_EOI, 7), -EINVAL);
    assert_int_equal(hook_calls, 2);
    assert_int_equal(vlapic_eoi(&v), 0x40); /* what a hook would call for a virtual one */
}

static void test_illegal_vectors(void **state)
{
    (void)state;
    setup_enabled();
    for (unsigned vec = 0; vec < 16; vec++)
        vlapic_accept(&v, (uint8_t)vec);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_RECV_ILLEGAL);
    vlapic_accept(&v, 16); /* the first legal vector */
    assert_true(irr_has(16));
}

static void test_esr_latch(void **state)
{
    (void)state;
    setup_enabled();
    vlapic_accept(&v, 5);
    /* errors become visible only at the next write (11.5.3) */
    assert_int_equal(mr(O_ESR), 0);
    mw(O_ESR, 0xFFFFFFFF); /* the value written does not matter in xAPIC mode */
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_RECV_ILLEGAL);
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_RECV_ILLEGAL); /* reads do not clear */

    mw(O_ICR_LO, 0x40003); /* self-IPI with an illegal vector */
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_RECV_ILLEGAL);
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_SEND_ILLEGAL);
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), 0);

    /* an unmasked error LVT raises an interrupt for each new error */
    mw(O_LVT_ERROR, 0xE3);
    vlapic_accept(&v, 1);
    assert_true(irr_has(0xE3));
    vlapic_ack(&v, 0xE3);
    vlapic_eoi(&v);
    vlapic_accept(&v, 2); /* same error still pending: no second interrupt */
    assert_false(irr_has(0xE3));
    mw(O_ESR, 0);
    vlapic_accept(&v, 2);
    assert_true(irr_has(0xE3));
    /* an illegal vector in the error LVT is itself only logged */
    mw(O_ESR, 0);
    mw(O_ESR, 0);
    memset(v.irr, 0, sizeof(v.irr));
    mw(O_LVT_ERROR, 0x07);
    mr(0x3F0); /* illegal register address */
    assert_int_equal(vlapic_highest_irr(&v), -1);
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_ILLEGAL_REG | VLAPIC_ESR_RECV_ILLEGAL);
}

/* ---- IPIs --------------------------------------------------------------------- */

static void test_self_ipi_xapic(void **state)
{
    (void)state;
    setup_enabled();
    mw(O_ICR_HI, ID << 24 | 0x00FFFFFF); /* only bits 31:24 are stored */
    assert_int_equal(mr(O_ICR_HI), ID << 24);
    mw(O_ICR_LO, 0x40); /* fixed, physical, to our own ID */
    assert_true(irr_has(0x40));
    assert_int_equal(mr(O_ICR_LO), 0x40); /* delivery status idle */
    mw(O_ICR_LO, 0x40041); /* shorthand self */
    assert_true(irr_has(0x41));
    mw(O_ICR_HI, 7u << 24);
    mw(O_ICR_LO, 0x42); /* another CPU: never leaves */
    assert_false(irr_has(0x42));
    assert_int_equal(v.dropped_ipis, 1);
    assert_int_equal(v.last_dropped_icr, (7ull << 56) | 0x42);
    /* logical, flat model: our LDR bit is 0x04 */
    mw(O_LDR, 0x04000000);
    mw(O_ICR_HI, 0x04u << 24);
    mw(O_ICR_LO, 0x843);
    assert_true(irr_has(0x43));
    assert_int_equal(v.dropped_ipis, 1);
    mw(O_ICR_HI, 0x06u << 24); /* us and someone else */
    mw(O_ICR_LO, 0x844);
    assert_true(irr_has(0x44));
    assert_int_equal(v.dropped_ipis, 2);
    mw(O_ICR_HI, 0x08u << 24); /* someone else only */
    mw(O_ICR_LO, 0x845);
    assert_false(irr_has(0x45));
    assert_int_equal(v.dropped_ipis, 3);
    /* logical, cluster model: cluster 1, member bit 2 */
    mw(O_DFR, 0x0FFFFFFF);
    mw(O_LDR, 0x14000000);
    mw(O_ICR_HI, 0x14u << 24);
    mw(O_ICR_LO, 0x846);
    assert_true(irr_has(0x46));
    mw(O_ICR_HI, 0x24u << 24); /* same member bit, other cluster */
    mw(O_ICR_LO, 0x847);
    assert_false(irr_has(0x47));
    assert_int_equal(v.dropped_ipis, 4);
    /* lowest priority whose destinations include us may pick us */
    mw(O_ICR_HI, 0x15u << 24);
    mw(O_ICR_LO, 0x948);
    assert_true(irr_has(0x48));
    assert_int_equal(v.dropped_ipis, 4);
    /* the highest requested vector is the one dispatched */
    assert_int_equal(vlapic_pending(&v), 0x48);
}

static void test_self_ipi_x2apic(void **state)
{
    (void)state;
    setup(0x1234);
    to_x2apic();
    xw(X2APIC_SVR, 0x1FF);
    uint64_t icr = (0x1234ull << 32) | 0x50;
    xw(X2APIC_ICR, icr);
    assert_true(irr_has(0x50));
    assert_int_equal(xr(X2APIC_ICR), icr);
    xw(X2APIC_ICR, (0x34ull << 32) | 0x51); /* only the low byte matches: not us */
    assert_false(irr_has(0x51));
    assert_int_equal(v.dropped_ipis, 1);
    xw(X2APIC_ICR, 0x1000 | 0x40052); /* bit 12 (delivery status) is ignored */
    assert_true(irr_has(0x52));
    assert_int_equal(xr(X2APIC_ICR), 0x40052);
    xw(X2APIC_SELF_IPI, 0x53);
    assert_true(irr_has(0x53));
    /* logical x2APIC destination: our cluster 0x123, member bit 4 */
    xw(X2APIC_ICR, (0x01230010ull << 32) | 0x854);
    assert_true(irr_has(0x54));
    assert_int_equal(v.dropped_ipis, 1);
    /* SELF_IPI with an illegal vector: a send error, nothing delivered */
    xw(X2APIC_SELF_IPI, 0x0F);
    assert_false(irr_has(0x0F));
    xw(X2APIC_ESR, 0);
    assert_int_equal(xr(X2APIC_ESR), VLAPIC_ESR_SEND_ILLEGAL);
    assert_int_equal(v.dropped_ipis, 1);
}

static void test_dropped_ipis(void **state)
{
    (void)state;
    setup_enabled();
    mw(O_ICR_HI, ID << 24);
    /* whatever delivery mode other than fixed and lowest priority: never delivered */
    const uint32_t lo[] = {
        0x00004500, /* INIT, to us */
        0x00040400, /* NMI, shorthand self */
        0x00000698, /* SIPI, to us */
        0x00000200, /* SMI */
        0x000C0060, /* fixed, all excluding self */
    };
    for (size_t i = 0; i < sizeof(lo) / sizeof(lo[0]); i++) {
        mw(O_ICR_LO, lo[i]);
        assert_int_equal(v.dropped_ipis, i + 1);
        assert_int_equal(v.last_dropped_icr, ((uint64_t)ID << 56) | lo[i]);
    }
    assert_int_equal(vlapic_highest_irr(&v), -1);

    /* all including self: we get it, the others do not */
    mw(O_ICR_LO, 0x00080061);
    assert_true(irr_has(0x61));
    assert_int_equal(v.dropped_ipis, 6);
    /* physical broadcast 0xFF likewise */
    mw(O_ICR_HI, 0xFFu << 24);
    mw(O_ICR_LO, 0x62);
    assert_true(irr_has(0x62));
    assert_int_equal(v.dropped_ipis, 7);
    /* lowest priority with a shorthand is invalid: redirectable-IPI error */
    mw(O_ICR_LO, 0x00040163);
    assert_false(irr_has(0x63));
    assert_int_equal(v.dropped_ipis, 8);
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_REDIRECTABLE_IPI);

    /* x2APIC: lowest priority is not supported at all */
    to_x2apic();
    xw(X2APIC_ICR, ((uint64_t)ID << 32) | 0x164);
    assert_false(irr_has(0x64));
    assert_int_equal(v.dropped_ipis, 9);
    assert_int_equal(v.last_dropped_icr, ((uint64_t)ID << 32) | 0x164);
    xw(X2APIC_ICR, (0xFFFFFFFFull << 32) | 0x65); /* x2APIC broadcast */
    assert_true(irr_has(0x65));
    assert_int_equal(v.dropped_ipis, 10);
    xw(X2APIC_ICR, ((uint64_t)ID << 32) | 0x4500); /* INIT to us */
    assert_int_equal(v.dropped_ipis, 11);
}

/* ---- timer -------------------------------------------------------------------- */

/* Programs the LVT timer, the divider and the initial count, in that order. */
static void start_timer(uint32_t lvt, uint32_t dcr, uint32_t count)
{
    mw(O_LVT_TIMER, lvt);
    mw(O_TIMER_DCR, dcr);
    mw(O_TIMER_ICR, count);
}

static void test_timer_oneshot(void **state)
{
    (void)state;
    setup_enabled();
    start_timer(LVT_ONESHOT | 0x40, 0xB, 1000); /* 1000 ns = 2000 TSC cycles */
    assert_int_equal(vlapic_timer_deadline(&v), T0 + 2000);
    assert_int_equal(mr(O_TIMER_CCR), 1000);
    tsc = T0 + 1000;
    assert_int_equal(mr(O_TIMER_CCR), 500);
    tsc = T0 + 1999;
    assert_int_equal(vlapic_timer_poll(&v), T0 + 2000);
    assert_false(irr_has(0x40));
    assert_int_equal(mr(O_TIMER_CCR), 1); /* 999.5 ns elapsed: 999 decrements */
    tsc = T0 + 2000;
    assert_int_equal(mr(O_TIMER_CCR), 0);
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_true(irr_has(0x40));
    assert_int_equal(v.timer_fires, 1);
    assert_int_equal(mr(O_TIMER_ICR), 1000);
    tsc = T0 + 100000;
    assert_int_equal(vlapic_timer_poll(&v), 0); /* one-shot: no second interrupt */
    assert_int_equal(v.timer_fires, 1);
    assert_int_equal(vlapic_timer_deadline(&v), 0);

    /* rewriting the initial count starts it again */
    mw(O_TIMER_ICR, 10);
    assert_int_equal(vlapic_timer_deadline(&v), tsc + 20);
    /* an expiry not yet polled is delivered before a restart can lose it */
    tsc += 20;
    mw(O_TIMER_ICR, 30);
    assert_int_equal(v.timer_fires, 2);
    assert_int_equal(vlapic_timer_deadline(&v), tsc + 60);
    /* a write of 0 stops it */
    mw(O_TIMER_ICR, 0);
    assert_int_equal(vlapic_timer_deadline(&v), 0);
    tsc += 1000;
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(v.timer_fires, 2);
    assert_int_equal(mr(O_TIMER_CCR), 0);
}

static void test_timer_periodic(void **state)
{
    (void)state;
    setup_enabled();
    start_timer(LVT_PERIODIC | 0x41, 0x0, 1000); /* /2: 2000 ns = 4000 TSC per period */
    assert_int_equal(vlapic_timer_deadline(&v), T0 + 4000);
    tsc = T0 + 4000;
    assert_int_equal(vlapic_timer_poll(&v), T0 + 8000);
    assert_int_equal(v.timer_fires, 1);
    take(0x41);
    vlapic_eoi(&v);
    assert_int_equal(mr(O_TIMER_CCR), 1000); /* reloaded */
    tsc = T0 + 6000;
    assert_int_equal(mr(O_TIMER_CCR), 500);
    tsc = T0 + 8500; /* polled late: the period stays aligned to the start */
    assert_int_equal(vlapic_timer_poll(&v), T0 + 12000);
    assert_int_equal(v.timer_fires, 2);
    assert_true(irr_has(0x41));
    take(0x41);
    vlapic_eoi(&v);
    /* missed periods: one interrupt, next expiry on the original grid, CCR on it too */
    tsc = T0 + 31000;
    assert_int_equal(mr(O_TIMER_CCR), 250); /* 7.75 periods since the start */
    assert_int_equal(vlapic_timer_poll(&v), T0 + 32000);
    assert_int_equal(v.timer_fires, 3);
    assert_int_equal(mr(O_TIMER_CCR), 250);
    /* the IRR holds one bit: an interrupt not yet taken coalesces with the next */
    tsc = T0 + 36000;
    assert_int_equal(vlapic_timer_poll(&v), T0 + 40000);
    assert_int_equal(v.timer_fires, 4);
    assert_int_equal(vlapic_highest_irr(&v), 0x41);

    /* periodic -> one-shot goes on counting, and stops at the next zero */
    mw(O_LVT_TIMER, LVT_ONESHOT | 0x41);
    assert_int_equal(vlapic_timer_deadline(&v), T0 + 40000);
    tsc = T0 + 40000;
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(v.timer_fires, 5);
}

static void test_timer_divider(void **state)
{
    (void)state;
    /* DCR bits 3, 1:0 -> divisor */
    const struct { uint32_t dcr, div; } t[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
        { 0x8, 32 }, { 0x9, 64 }, { 0xA, 128 }, { 0xB, 1 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        setup_enabled();
        start_timer(LVT_ONESHOT | 0x40, t[i].dcr, 100);
        assert_int_equal(mr(O_TIMER_DCR), t[i].dcr);
        assert_int_equal(vlapic_timer_deadline(&v), T0 + 100 * t[i].div * 2);
        tsc = T0 + 10 * t[i].div * 2; /* 10 decrements later */
        assert_int_equal(mr(O_TIMER_CCR), 90);
        tsc = T0 + 100 * t[i].div * 2 - 1;
        vlapic_timer_poll(&v);
        assert_false(irr_has(0x40));
        tsc++;
        vlapic_timer_poll(&v);
        assert_true(irr_has(0x40));
    }

    /* a new divider mid-count keeps the count reached, then counts at the new rate */
    setup_enabled();
    start_timer(LVT_ONESHOT | 0x40, 0xB, 1000);
    tsc = T0 + 600; /* 300 decrements at /1 */
    mw(O_TIMER_DCR, 0x1); /* /4 */
    assert_int_equal(mr(O_TIMER_CCR), 700);
    assert_int_equal(vlapic_timer_deadline(&v), T0 + 600 + 700 * 4 * 2);
    tsc += 80; /* 40 ns = 10 decrements at /4 */
    assert_int_equal(mr(O_TIMER_CCR), 690);

    /* a real TSC rate that does not divide evenly: expiry rounds up, never early */
    vlapic_init(&v, ID, 2593904000ull, fake_now, &tsc);
    tsc = T0;
    mw(O_SVR, 0x1FF);
    start_timer(LVT_ONESHOT | 0x40, 0xB, 1000); /* 1 us = 2593.904 TSC cycles */
    uint64_t due = vlapic_timer_deadline(&v);
    assert_int_equal(due, T0 + 2594);
    tsc = due - 1;
    assert_int_equal(mr(O_TIMER_CCR), 1);
    vlapic_timer_poll(&v);
    assert_false(irr_has(0x40));
    tsc = due;
    assert_int_equal(mr(O_TIMER_CCR), 0);
    vlapic_timer_poll(&v);
    assert_true(irr_has(0x40));
}

static void test_timer_masked(void **state)
{
    (void)state;
    setup_enabled();
    start_timer(APIC_LVT_MASKED | LVT_ONESHOT | 0x40, 0xB, 100);
    tsc = T0 + 200;
    assert_int_equal(vlapic_timer_poll(&v), 0); /* expired, nothing delivered */
    assert_int_equal(vlapic_highest_irr(&v), -1);
    assert_int_equal(v.timer_fires, 0);
    assert_int_equal(mr(O_TIMER_CCR), 0);

    /* a masked periodic timer keeps counting; unmasking lets later periods through */
    start_timer(APIC_LVT_MASKED | LVT_PERIODIC | 0x40, 0xB, 100);
    tsc += 200;
    assert_int_equal(vlapic_timer_poll(&v), tsc + 200);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    mw(O_LVT_TIMER, LVT_PERIODIC | 0x40);
    tsc += 200;
    vlapic_timer_poll(&v);
    assert_true(irr_has(0x40));
    assert_int_equal(v.timer_fires, 1);

    /* an illegal vector in the LVT is an error, not an interrupt */
    setup_enabled();
    start_timer(LVT_ONESHOT | 0x08, 0xB, 100);
    tsc = T0 + 200;
    vlapic_timer_poll(&v);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    assert_int_equal(v.timer_fires, 0);
    mw(O_ESR, 0);
    assert_int_equal(mr(O_ESR), VLAPIC_ESR_RECV_ILLEGAL);
}

static void test_timer_tsc_deadline(void **state)
{
    (void)state;
    setup_enabled();
    /* outside TSC-deadline mode the MSR reads 0 and ignores writes */
    xw(VLAPIC_MSR_TSC_DEADLINE, T0 + 5000);
    assert_int_equal(xr(VLAPIC_MSR_TSC_DEADLINE), 0);
    assert_int_equal(vlapic_timer_deadline(&v), 0);

    mw(O_LVT_TIMER, LVT_DEADLINE | 0x50);
    assert_int_equal(mr(O_LVT_TIMER), LVT_DEADLINE | 0x50);
    xw(VLAPIC_MSR_TSC_DEADLINE, T0 + 5000);
    assert_int_equal(xr(VLAPIC_MSR_TSC_DEADLINE), T0 + 5000);
    assert_int_equal(vlapic_timer_deadline(&v), T0 + 5000);
    /* the initial count is ignored, the current count reads 0 */
    mw(O_TIMER_ICR, 10);
    assert_int_equal(mr(O_TIMER_ICR), 0);
    assert_int_equal(mr(O_TIMER_CCR), 0);
    assert_int_equal(vlapic_timer_deadline(&v), T0 + 5000);

    tsc = T0 + 4999;
    assert_int_equal(vlapic_timer_poll(&v), T0 + 5000);
    assert_false(irr_has(0x50));
    tsc = T0 + 5000;
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_true(irr_has(0x50));
    assert_int_equal(v.timer_fires, 1);
    assert_int_equal(xr(VLAPIC_MSR_TSC_DEADLINE), 0); /* disarmed after firing */
    tsc += 100000;
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(v.timer_fires, 1);

    /* a deadline in the past fires at the next poll; 0 disarms */
    xw(VLAPIC_MSR_TSC_DEADLINE, 1);
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(v.timer_fires, 2);
    xw(VLAPIC_MSR_TSC_DEADLINE, tsc + 10);
    xw(VLAPIC_MSR_TSC_DEADLINE, 0);
    tsc += 20;
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(v.timer_fires, 2);

    /* masked: fires without an interrupt, and disarms */
    mw(O_LVT_TIMER, APIC_LVT_MASKED | LVT_DEADLINE | 0x50);
    memset(v.irr, 0, sizeof(v.irr));
    xw(VLAPIC_MSR_TSC_DEADLINE, tsc + 10);
    tsc += 10;
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    assert_int_equal(xr(VLAPIC_MSR_TSC_DEADLINE), 0);

    /* through the x2APIC interface too */
    to_x2apic();
    xw(X2APIC_LVT_TIMER, LVT_DEADLINE | 0x51);
    xw(VLAPIC_MSR_TSC_DEADLINE, tsc + 1);
    tsc += 1;
    vlapic_timer_poll(&v);
    assert_true(irr_has(0x51));
}

static void test_timer_mode_change_disarms(void **state)
{
    (void)state;
    setup_enabled();
    /* TSC-deadline -> one-shot disarms */
    mw(O_LVT_TIMER, LVT_DEADLINE | 0x50);
    xw(VLAPIC_MSR_TSC_DEADLINE, T0 + 100);
    mw(O_LVT_TIMER, LVT_ONESHOT | 0x50);
    assert_int_equal(vlapic_timer_deadline(&v), 0);
    mw(O_LVT_TIMER, LVT_DEADLINE | 0x50);
    assert_int_equal(xr(VLAPIC_MSR_TSC_DEADLINE), 0);
    tsc = T0 + 200;
    vlapic_timer_poll(&v);
    assert_int_equal(vlapic_highest_irr(&v), -1);

    /* one-shot -> TSC-deadline stops the countdown */
    mw(O_LVT_TIMER, LVT_ONESHOT | 0x50);
    mw(O_TIMER_DCR, 0xB);
    mw(O_TIMER_ICR, 100);
    mw(O_LVT_TIMER, LVT_DEADLINE | 0x50);
    assert_int_equal(vlapic_timer_deadline(&v), 0);
    mw(O_LVT_TIMER, LVT_ONESHOT | 0x50); /* and back: still stopped */
    assert_int_equal(mr(O_TIMER_CCR), 0);
    tsc += 1000;
    assert_int_equal(vlapic_timer_poll(&v), 0);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    assert_int_equal(v.timer_fires, 0);

    /* the reserved mode 3 keeps the current mode */
    mw(O_LVT_TIMER, (3u << 17) | 0x50);
    assert_int_equal(mr(O_LVT_TIMER), LVT_ONESHOT | 0x50);

    /* an expiry already due is delivered before a change can lose it */
    mw(O_TIMER_ICR, 100);
    tsc += 200;
    mw(O_LVT_TIMER, LVT_DEADLINE | 0x50);
    assert_true(irr_has(0x50));
    assert_int_equal(v.timer_fires, 1);
}

/* ---- software disable (11.4.7.2) ------------------------------------------- */

static void test_software_disable(void **state)
{
    (void)state;
    setup(ID);
    /* at reset the APIC is software-disabled: no interrupts, LVTs stay masked */
    vlapic_accept(&v, 0x40);
    assert_int_equal(vlapic_highest_irr(&v), -1);
    mw(O_LVT_TIMER, 0x40);
    assert_int_equal(mr(O_LVT_TIMER), APIC_LVT_MASKED | 0x40);

    mw(O_SVR, 0x1FF);
    mw(O_LVT_TIMER, 0x40);
    mw(O_LVT_ERROR, 0xE0);
    assert_int_equal(mr(O_LVT_TIMER), 0x40);
    vlapic_accept(&v, 0x41);
    vlapic_accept(&v, 0x42);
    take(0x42);

    mw(O_SVR, 0x0FF); /* software-disable */
    for (uint32_t off = 0x320; off <= 0x370; off += 0x10)
        assert_true(mr(off) & APIC_LVT_MASKED);
    mw(O_LVT_TIMER, 0x40); /* clearing a mask bit is ignored */
    assert_int_equal(mr(O_LVT_TIMER), APIC_LVT_MASKED | 0x40);
    vlapic_accept(&v, 0x43);
    assert_false(irr_has(0x43));
    mw(O_ICR_LO, 0x40044); /* self-IPI: not accepted either */
    assert_false(irr_has(0x44));
    /* what was requested or in service is held, but nothing is dispatched */
    assert_true(irr_has(0x41));
    assert_true(isr_has(0x42));
    assert_int_equal(vlapic_pending(&v), -1);
    mw(O_TIMER_DCR, 0xB);
    mw(O_TIMER_ICR, 10);
    tsc += 100;
    vlapic_timer_poll(&v);
    assert_int_equal(v.timer_fires, 0);

    /* re-enabling leaves the LVTs masked until software unmasks them */
    mw(O_SVR, 0x1FF);
    assert_int_equal(mr(O_LVT_TIMER), APIC_LVT_MASKED | 0x40);
    mw(O_EOI, 0);
    assert_int_equal(vlapic_pending(&v), 0x41);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_state),
        cmocka_unit_test(test_xapic_mmio_reset_values),
        cmocka_unit_test(test_xapic_mmio_sizes_and_reserved),
        cmocka_unit_test(test_xapic_ldr_dfr),
        cmocka_unit_test(test_apic_base_transitions),
        cmocka_unit_test(test_disable_resets_state),
        cmocka_unit_test(test_x2apic_id_and_ldr),
        cmocka_unit_test(test_x2apic_gp),
        cmocka_unit_test(test_tpr_ppr_pending),
        cmocka_unit_test(test_nested_eoi_order),
        cmocka_unit_test(test_eoi_hook),
        cmocka_unit_test(test_illegal_vectors),
        cmocka_unit_test(test_esr_latch),
        cmocka_unit_test(test_self_ipi_xapic),
        cmocka_unit_test(test_self_ipi_x2apic),
        cmocka_unit_test(test_dropped_ipis),
        cmocka_unit_test(test_timer_oneshot),
        cmocka_unit_test(test_timer_periodic),
        cmocka_unit_test(test_timer_divider),
        cmocka_unit_test(test_timer_masked),
        cmocka_unit_test(test_timer_tsc_deadline),
        cmocka_unit_test(test_timer_mode_change_disarms),
        cmocka_unit_test(test_software_disable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
