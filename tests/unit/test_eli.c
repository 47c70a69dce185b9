/* Host unit tests of hv/eli/eli.c, the ELI state machine, with the real virtual LAPIC
 * (hv/dev/vlapic.c) and a fake physical x2APIC: an in-service register that the tests
 * set as the CPU would when it takes an interrupt, and an EOI that clears its highest
 * bit, as a real APIC's does (SDM vol. 3, 11.8.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/errno.h"
#include "dev/vlapic.h"
#include "eli/eli.h"

#define TSC_HZ 2000000000ull
#define IDT_GPA 0x10000ull
#define BASE_X2APIC (VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP | APIC_BASE_EXTD)

static const uint8_t host3[] = { 0xF0, 0xFE, 0xFF }; /* timer, error, spurious */

static struct vlapic lapic;
static struct eli e;
static uint64_t tsc;

/* ---- the fake physical APIC ------------------------------------------------------ */

static uint64_t phys_isr[4];
static unsigned phys_eois;
static int phys_eoi_log[32]; /* the vector each physical EOI completed, -1 for none */

static bool fake_in_service(uint8_t v)
{
    return phys_isr[v / 64] >> (v % 64) & 1;
}

static void fake_eoi(void)
{
    int done = -1;
    for (int v = 255; v >= 0; v--) {
        if (fake_in_service((uint8_t)v)) {
            phys_isr[v / 64] &= ~(1ull << (v % 64));
            done = v;
            break;
        }
    }
    if (phys_eois < 32)
        phys_eoi_log[phys_eois] = done;
    phys_eois++;
}

static uint32_t fake_isr_word(unsigned word)
{
    return (uint32_t)(phys_isr[word / 2] >> (32 * (word % 2)));
}

static int raised = -1; /* the last physical vector eli raised (a self-IPI) */
static void fake_raise(uint8_t p)
{
    raised = p;
}

/* The physical timer lent to the guest's: what was loaded last, and what it has left. */
static int hw_vector, hw_loads;
static bool hw_periodic;
static uint64_t hw_delta, hw_left;

static void fake_timer_load(uint8_t p, bool periodic, uint64_t delta_tsc)
{
    hw_vector = p;
    hw_periodic = periodic;
    hw_delta = delta_tsc;
    hw_loads++;
}

static uint64_t fake_timer_unload(void)
{
    hw_vector = 0;
    return hw_left;
}

static const struct eli_phys_ops phys = { fake_in_service, fake_isr_word, fake_eoi, fake_raise,
                                          fake_timer_load, fake_timer_unload };

/* The CPU took physical vector p (through the shadow IDT or eli's own). */
static void phys_take(uint8_t p)
{
    phys_isr[p / 64] |= 1ull << (p % 64);
}

static bool phys_idle(void)
{
    return !(phys_isr[0] | phys_isr[1] | phys_isr[2] | phys_isr[3]);
}

/* ---- the guest's side ------------------------------------------------------------ */

static uint64_t fake_now(void *ctx)
{
    return *(uint64_t *)ctx;
}

static void xw(uint32_t msr, uint64_t val)
{
    assert_int_equal(vlapic_msr_write(&lapic, msr, val), 0);
}

/* The guest writes its EOI register and the write is intercepted: it reaches eli
 * through the virtual LAPIC's hook. */
static void guest_eoi(void)
{
    xw(X2APIC_EOI, 0);
}

static bool virr(unsigned v)
{
    return lapic.irr[v / 32] >> (v % 32) & 1;
}

static bool visr(unsigned v)
{
    return lapic.isr[v / 32] >> (v % 32) & 1;
}

static void setup_mode(enum eli_mode mode)
{
    tsc = 1000000;
    vlapic_init(&lapic, 0, TSC_HZ, fake_now, &tsc);
    xw(VLAPIC_MSR_APIC_BASE, BASE_X2APIC);
    xw(X2APIC_SVR, 0x1FF); /* software-enabled */
    memset(phys_isr, 0, sizeof(phys_isr));
    phys_eois = 0;
    raised = -1;
    hw_vector = -1;
    hw_loads = 0;
    hw_left = 0;
    memset(phys_eoi_log, 0xFF, sizeof(phys_eoi_log));
    memset(&e, 0xA5, sizeof(e)); /* eli_init must not rely on zeroed memory */
    eli_init(&e, mode, &lapic, &phys, host3, sizeof(host3));
}

static void valid_lidt(void)
{
    eli_on_lidt(&e, IDT_GPA, IDT_FULL_LIMIT, true);
}

static struct eli_plan plan(bool can_inject)
{
    return eli_plan(&e, can_inject, tsc);
}

static void expect_plan(struct eli_plan p, bool direct, bool passthrough, int inject, bool window)
{
    if (p.direct != direct || p.eoi_passthrough != passthrough || p.inject != inject ||
        p.window != window)
        fail_msg("plan {direct %d, eoi_passthrough %d, inject %d, window %d}, want {%d, %d, %d, %d}",
                 p.direct, p.eoi_passthrough, p.inject, p.window, direct, passthrough, inject, window);
    if (p.direct && !p.shadow)
        fail_msg("direct mode without the shadow IDT");
    if (p.inject >= 0 && p.window)
        fail_msg("both an injection and a window");
}

/* Injects what the plan says, as the backend does, and checks that it is `vector`. */
static void inject(int vector)
{
    struct eli_plan p = plan(true);
    assert_int_equal(p.inject, vector);
    assert_false(p.direct);
    eli_on_injected(&e, (uint8_t)vector);
}

/* ---- modes ---------------------------------------------------------------------- */

static void test_mode_names(void **state)
{
    (void)state;
    static const char *const names[] = { "baseline", "eli-delivery", "eli" };
    assert_int_equal(ELI_MODE_COUNT, 3);
    for (unsigned m = 0; m < ELI_MODE_COUNT; m++) {
        assert_string_equal(eli_mode_name((enum eli_mode)m), names[m]);
        enum eli_mode out = (enum eli_mode)99;
        assert_int_equal(eli_mode_parse(names[m], &out), 0);
        assert_int_equal(out, m);
    }
    assert_string_equal(eli_mode_name(ELI_MODE_BASELINE), "baseline");
    assert_string_equal(eli_mode_name(ELI_MODE_DELIVERY), "eli-delivery");
    assert_string_equal(eli_mode_name(ELI_MODE_FULL), "eli");
    assert_string_equal(eli_mode_name(ELI_MODE_COUNT), "?");
    assert_string_equal(eli_mode_name((enum eli_mode)99), "?");
    static const char *const bad[] = { "", "ELI", "eli ", " eli", "eli-deliver", "eli-delivery2",
                                       "base", "baseline-", "full", "elidelivery" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum eli_mode out = ELI_MODE_FULL;
        assert_int_equal(eli_mode_parse(bad[i], &out), -EINVAL);
        assert_int_equal(out, ELI_MODE_FULL); /* untouched */
    }
}

static void test_init(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    assert_int_equal(e.mode, ELI_MODE_FULL);
    assert_ptr_equal(e.lapic, &lapic);
    assert_ptr_equal(e.phys, &phys);
    assert_non_null(lapic.eoi_hook);
    assert_ptr_equal(lapic.hook_ctx, &e);
    assert_false(e.direct);
    assert_false(e.guest_idt_valid);
    assert_false(e.shadow_valid);
    assert_non_null(e.no_direct_reason);
    static const struct eli_counters zero;
    assert_memory_equal(&e.n, &zero, sizeof(zero));
    for (unsigned v = 0; v < 256; v++) {
        assert_int_equal(vecmap_host_owned(&e.vecs, (uint8_t)v), v == 0xF0 || v == 0xFE || v == 0xFF);
        assert_int_equal(vecmap_phys(&e.vecs, (uint8_t)v), -1);
    }
    for (unsigned w = 0; w < 4; w++)
        assert_int_equal(e.phys_backed[w], 0);
}

static void test_assign_vector(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    eli_on_shadow_built(&e);
    assert_true(e.shadow_valid);
    assert_int_equal(eli_assign_vector(&e, 5), -EINVAL);
    assert_true(e.shadow_valid); /* nothing changed: the shadow still holds */
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    assert_false(e.shadow_valid); /* the new vector needs its gate */
    eli_on_shadow_built(&e);
    /* eli's own vector: out of eli's class 0xF0, to the highest free vector below */
    int p = eli_assign_vector(&e, 0xF0);
    assert_int_equal(p, 0xEF);
    assert_int_equal(vecmap_guest(&e.vecs, (uint8_t)p), 0xF0);
    assert_false(e.shadow_valid);
    assert_int_equal(e.n.shadow_builds, 2);
    /* a free vector of eli's class is remapped as well */
    assert_int_equal(eli_assign_vector(&e, 0xF5), 0xEE);
    assert_int_equal(vecmap_guest(&e.vecs, 0xF5), -1);
}

/* ---- plans ---------------------------------------------------------------------- */

static void test_baseline_never_direct(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_BASELINE);
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    expect_plan(plan(true), false, false, -1, false);
    valid_lidt();
    eli_on_shadow_built(&e);
    for (int i = 0; i < 3; i++)
        expect_plan(plan(true), false, false, -1, false);
    assert_non_null(e.no_direct_reason);

    /* the traditional path: the interrupt exits, eli injects it, the EOI exits */
    phys_take(0x40);
    eli_on_host_irq(&e, 0x40);
    assert_int_equal(phys_eois, 0);
    expect_plan(plan(false), false, false, -1, true);
    expect_plan(plan(true), false, false, 0x40, false);
    eli_on_injected(&e, 0x40);
    expect_plan(plan(true), false, false, -1, false);
    guest_eoi();
    assert_int_equal(phys_eois, 1);
    assert_int_equal(phys_eoi_log[0], 0x40);
    assert_true(phys_idle());
    assert_int_equal(vlapic_highest_isr(&lapic), -1);
    expect_plan(plan(true), false, false, -1, false);
    assert_int_equal(e.n.to_direct, 0);
    assert_int_equal(e.n.to_injection, 0);
    assert_int_equal(e.n.injected, 1);
    assert_int_equal(e.n.injected_assigned, 1);
    assert_int_equal(e.n.eoi_exits, 1);
}

static void test_delivery_direct_without_passthrough(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_DELIVERY);
    expect_plan(plan(true), false, false, -1, false); /* no IDT yet */
    valid_lidt();
    expect_plan(plan(true), true, false, -1, false);
    expect_plan(plan(false), true, false, -1, false);
    assert_int_equal(e.n.to_direct, 1);
    assert_int_equal(e.n.to_injection, 0);
    assert_true(e.direct);
}

static void test_full_direct_with_passthrough(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    expect_plan(plan(true), false, false, -1, false);
    assert_non_null(strstr(e.no_direct_reason, "IDT"));
    eli_on_shadow_built(&e);
    valid_lidt();
    assert_true(e.guest_idt_valid);
    assert_false(e.shadow_valid); /* a new IDT needs a new shadow */
    assert_int_equal(e.idt_base_gpa, IDT_GPA);
    assert_int_equal(e.idt_limit, IDT_FULL_LIMIT);
    expect_plan(plan(true), true, true, -1, false);
    expect_plan(plan(false), true, true, -1, false);
    assert_int_equal(e.n.to_direct, 1);
    assert_int_equal(e.n.to_injection, 0);
}

static void test_invalid_idt_refused(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    expect_plan(plan(true), true, true, -1, false);

    eli_on_lidt(&e, IDT_GPA, IDT_FULL_LIMIT, false); /* a 32-bit IDT */
    assert_false(e.guest_idt_valid);
    expect_plan(plan(true), false, false, -1, false);
    assert_non_null(strstr(e.no_direct_reason, "64-bit"));
    const char *r1 = e.no_direct_reason;

    eli_on_lidt(&e, ~0ull, IDT_FULL_LIMIT, true); /* base not mapped */
    expect_plan(plan(true), false, false, -1, false);
    assert_non_null(strstr(e.no_direct_reason, "mapped"));
    const char *r2 = e.no_direct_reason;

    eli_on_lidt(&e, IDT_GPA, 0x1FE, true); /* short of the 32 exception gates */
    expect_plan(plan(true), false, false, -1, false);
    assert_non_null(strstr(e.no_direct_reason, "exception"));
    const char *r3 = e.no_direct_reason;
    assert_string_not_equal(r1, r2);
    assert_string_not_equal(r2, r3);
    assert_string_not_equal(r1, r3);

    eli_on_lidt(&e, IDT_GPA, 0, true);
    expect_plan(plan(true), false, false, -1, false);

    eli_on_lidt(&e, IDT_GPA + 8, 0x1FF, true); /* exactly the exceptions: enough */
    assert_true(e.guest_idt_valid);
    expect_plan(plan(true), true, true, -1, false);
    assert_int_equal(e.n.to_direct, 2);
    assert_int_equal(e.n.to_injection, 1);
}

/* A virtual interrupt needs injection mode; the vlapic takes it only while
 * software-enabled (SVR bit 8). */
static void test_pending_forces_injection(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    expect_plan(plan(true), true, true, -1, false);

    vlapic_accept(&lapic, 0x50);
    assert_true(virr(0x50));
    expect_plan(plan(false), false, false, -1, true); /* IF = 0: wait for a window */
    expect_plan(plan(false), false, false, -1, true);
    expect_plan(plan(true), false, false, 0x50, false);
    eli_on_injected(&e, 0x50);
    assert_true(visr(0x50));
    assert_false(virr(0x50));
    assert_int_equal(vlapic_highest_isr(&lapic), 0x50);
    /* in service: still injection mode, the EOI intercepted, nothing to inject */
    expect_plan(plan(true), false, false, -1, false);
    expect_plan(plan(false), false, false, -1, false);
    guest_eoi();
    assert_false(visr(0x50));
    assert_int_equal(phys_eois, 0);
    expect_plan(plan(true), true, true, -1, false);

    assert_int_equal(e.n.to_direct, 2);
    assert_int_equal(e.n.to_injection, 1);
    assert_int_equal(e.n.injected, 1);
    assert_int_equal(e.n.injected_assigned, 0);
    assert_int_equal(e.n.eoi_exits, 1);

    /* the APIC software-disabled: no interrupt is taken, direct mode stays */
    xw(X2APIC_SVR, 0xFF);
    vlapic_accept(&lapic, 0x60);
    assert_false(virr(0x60));
    expect_plan(plan(true), true, true, -1, false);
}

/* ---- EOIs ----------------------------------------------------------------------- */

/* (1) an assigned interrupt delivered directly is in the physical ISR only */
static void test_eoi_direct(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_DELIVERY); /* EOI intercepted in direct mode */
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    int p = eli_assign_vector(&e, 0xF0);
    assert_int_equal(p, 0xEF);
    expect_plan(plan(true), true, false, -1, false);

    phys_take(0x40);
    guest_eoi();
    assert_int_equal(phys_eois, 1);
    assert_int_equal(phys_eoi_log[0], 0x40);
    assert_true(phys_idle());
    assert_int_equal(vlapic_highest_isr(&lapic), -1);

    /* a remapped one: the guest's 0xF0 arrives as p */
    phys_take((uint8_t)p);
    guest_eoi();
    assert_int_equal(phys_eois, 2);
    assert_int_equal(phys_eoi_log[1], p);
    assert_true(phys_idle());

    /* nothing in service: an EOI is ignored, as by an APIC */
    guest_eoi();
    assert_int_equal(phys_eois, 2);
    assert_int_equal(e.n.eoi_exits, 3);
    expect_plan(plan(true), true, false, -1, false);
}

/* The guest's own LAPIC timer: in the direct modes it is raised on the physical APIC
 * (its vector mapped as an assigned one's), not put in the virtual IRR, so that it
 * stays in direct mode and its EOI completes it physically; in baseline mode it is a
 * virtual interrupt as before. */
static void test_guest_timer_raised_physically(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    xw(X2APIC_MSR(0x320), 0xEC);       /* LVT timer: one-shot, vector 0xEC */
    xw(X2APIC_MSR(0x3E0), 0xB);        /* divide by 1 */
    xw(X2APIC_MSR(0x380), 100);        /* initial count */
    tsc += TSC_HZ;                     /* long past due */
    vlapic_timer_poll(&lapic);
    assert_int_equal(raised, 0xEC);
    assert_false(virr(0xEC));
    assert_int_equal(lapic.timer_fires, 1);
    expect_plan(plan(true), true, true, -1, false);
    phys_take(0xEC);                   /* delivered directly */
    assert_int_equal(vlapic_highest_isr(&lapic), -1);

    /* arriving while eli had the CPU: injected, its EOI completes it physically */
    memset(phys_isr, 0, sizeof(phys_isr));
    phys_take(0xEC);
    eli_on_host_irq(&e, 0xEC);
    expect_plan(plan(true), false, false, 0xEC, false);
    inject(0xEC);
    guest_eoi();
    assert_int_equal(phys_eois, 1);
    assert_int_equal(phys_eoi_log[0], 0xEC);

    setup_mode(ELI_MODE_BASELINE);
    xw(X2APIC_MSR(0x320), 0xEC);
    xw(X2APIC_MSR(0x3E0), 0xB);
    xw(X2APIC_MSR(0x380), 100);
    tsc += TSC_HZ;
    vlapic_timer_poll(&lapic);
    assert_int_equal(raised, -1);
    assert_true(virr(0xEC));
}

/* In direct mode the physical timer runs the guest's: loaded with the guest's timer on
 * its mapped vector, reloaded only when the guest changes it; the model delivers nothing
 * meanwhile; taken back, the virtual timer goes on where the physical one was. */
static void guest_periodic_ms(uint32_t ms)
{
    xw(X2APIC_MSR(0x320), 0xEC | 1u << 17); /* LVT timer: periodic, vector 0xEC */
    xw(X2APIC_MSR(0x3E0), 0xB);             /* divide by 1: 1 GHz */
    xw(X2APIC_MSR(0x380), ms * 1000000u);
}

static void test_guest_timer_lent(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    guest_periodic_ms(1);
    eli_timer_follow(&e, true);
    assert_int_equal(hw_vector, 0xEC);
    assert_true(hw_periodic);
    assert_int_equal(hw_delta, TSC_HZ / 1000);
    tsc += 5 * TSC_HZ / 1000;
    vlapic_timer_poll(&lapic);
    assert_int_equal(raised, -1);
    assert_false(virr(0xEC));
    eli_timer_follow(&e, true);
    assert_int_equal(hw_loads, 1);
    guest_periodic_ms(2);
    eli_timer_follow(&e, true);
    assert_int_equal(hw_loads, 2);
    assert_int_equal(hw_delta, 2 * TSC_HZ / 1000);
    hw_left = TSC_HZ / 2000;
    eli_timer_follow(&e, false);
    assert_false(lapic.timer_lent);
    assert_int_equal(hw_vector, 0);
    assert_int_equal(vlapic_timer_deadline(&lapic), tsc + TSC_HZ / 2000);
    assert_int_equal(raised, -1);
}

/* In direct mode, the guest's one-shot of 1 ms on vector 0xEC, lent the physical timer. */
static void lend_guest_oneshot_1ms(void)
{
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    xw(X2APIC_MSR(0x320), 0xEC);
    xw(X2APIC_MSR(0x3E0), 0xB);
    xw(X2APIC_MSR(0x380), 1000000);
    eli_timer_follow(&e, true);
}

/* A one-shot the model has passed: if the physical one fired, nothing is owed; if it was
 * stopped a little before firing, eli raises it once. A masked timer loads nothing. */
static void test_guest_timer_lent_oneshot(void **state)
{
    (void)state;
    for (int fired = 0; fired < 2; fired++) {
        lend_guest_oneshot_1ms();
        assert_int_equal(hw_vector, 0xEC);
        assert_false(hw_periodic);
        assert_int_equal(hw_delta, TSC_HZ / 1000);
        tsc += TSC_HZ / 500;
        vlapic_timer_poll(&lapic);
        assert_int_equal(raised, -1);
        hw_left = fired ? 0 : 1000;
        eli_timer_follow(&e, false);
        assert_int_equal(raised, fired ? -1 : 0xEC);
        assert_int_equal(vlapic_timer_deadline(&lapic), 0);
    }
    /* the guest restarts its one-shot after the model passed the old one: the physical
     * timer, a little late, had not fired it yet (owed, raised once) or had */
    for (int fired = 0; fired < 2; fired++) {
        lend_guest_oneshot_1ms();
        tsc += TSC_HZ / 500;
        hw_left = fired ? 0 : 1000;
        xw(X2APIC_MSR(0x380), 1000000);
        eli_timer_follow(&e, true);
        assert_int_equal(raised, fired ? -1 : 0xEC);
        assert_int_equal(hw_loads, 2);
        assert_int_equal(hw_vector, 0xEC);
        assert_int_equal(hw_delta, TSC_HZ / 1000);
    }
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    xw(X2APIC_MSR(0x320), 0xEC | APIC_LVT_MASKED);
    xw(X2APIC_MSR(0x380), 1000000);
    eli_timer_follow(&e, true);
    assert_int_equal(hw_vector, 0);
    assert_true(lapic.timer_lent);
}

/* (2) a virtual interrupt is in the virtual ISR only */
static void test_eoi_virtual(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    vlapic_accept(&lapic, 0x30);
    inject(0x30);
    /* eli's own timer happens to be in service physically: not the guest's */
    phys_take(0xF0);
    guest_eoi();
    assert_false(visr(0x30));
    assert_int_equal(phys_eois, 0);
    assert_true(fake_in_service(0xF0));
    assert_int_equal(e.n.eoi_exits, 1);
}

/* (3) an assigned interrupt taken by eli in host mode is in both: the guest's EOI
 * clears the virtual bit and completes the physical one */
static void test_eoi_host_mode_arrival(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    int p = eli_assign_vector(&e, 0xF0);
    assert_int_equal(p, 0xEF);
    expect_plan(plan(true), true, true, -1, false);

    phys_take((uint8_t)p);
    eli_on_host_irq(&e, (uint8_t)p);
    assert_int_equal(phys_eois, 0); /* not completed by eli */
    assert_true(virr(0xF0));        /* accepted as the guest's vector */
    assert_false(virr((unsigned)p));
    expect_plan(plan(false), false, false, -1, true);
    /* not in service for the guest until injected: the physical bit does not count */
    assert_int_equal(eli_guest_isr_word(&e, 7), 0);
    inject(0xF0);
    assert_int_equal(e.n.injected, 1);
    assert_int_equal(e.n.injected_assigned, 1);
    assert_int_equal(eli_guest_isr_word(&e, 7), 1u << 16); /* 0xF0 once, not p */

    guest_eoi();
    assert_false(visr(0xF0));
    assert_int_equal(phys_eois, 1);
    assert_int_equal(phys_eoi_log[0], p);
    assert_true(phys_idle());
    expect_plan(plan(true), true, true, -1, false);

    /* its next instance comes directly: one physical EOI, no virtual one */
    phys_take((uint8_t)p);
    assert_int_equal(eli_guest_isr_word(&e, 7), 1u << 16);
    guest_eoi();
    assert_int_equal(phys_eois, 2);
    assert_true(phys_idle());
    guest_eoi(); /* and nothing more */
    assert_int_equal(phys_eois, 2);
}

/* (4) a direct interrupt and a virtual one in service together: the higher first */
static void test_eoi_direct_and_virtual(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_DELIVERY);
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x60), 0x60);
    vlapic_accept(&lapic, 0x30);
    inject(0x30);
    phys_take(0x60);
    guest_eoi(); /* ends 0x60, the higher */
    assert_int_equal(phys_eois, 1);
    assert_int_equal(phys_eoi_log[0], 0x60);
    assert_true(visr(0x30));
    guest_eoi(); /* then 0x30 */
    assert_int_equal(phys_eois, 1);
    assert_false(visr(0x30));
    assert_true(phys_idle());

    /* the other way round: the virtual one higher */
    vlapic_accept(&lapic, 0x70);
    inject(0x70);
    phys_take(0x60);
    guest_eoi();
    assert_false(visr(0x70));
    assert_int_equal(phys_eois, 1);
    assert_true(fake_in_service(0x60));
    guest_eoi();
    assert_int_equal(phys_eois, 2);
    assert_int_equal(phys_eoi_log[1], 0x60);
    assert_true(phys_idle());
    assert_int_equal(e.n.eoi_exits, 4);
}

/* A guest whose APIC is off drops the interrupt: eli completes it at once. */
static void test_host_irq_apic_disabled(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    xw(X2APIC_SVR, 0xFF);
    phys_take(0x40);
    eli_on_host_irq(&e, 0x40);
    assert_int_equal(phys_eois, 1);
    assert_true(phys_idle());
    assert_false(virr(0x40));
    expect_plan(plan(true), true, true, -1, false);
    /* enabled again: the dropped interrupt is gone, and nothing waits for an EOI */
    xw(X2APIC_SVR, 0x1FF);
    expect_plan(plan(true), true, true, -1, false);
    guest_eoi();
    assert_int_equal(phys_eois, 1);

    /* a vector that carries no guest vector is completed at once as well */
    phys_take(0x41);
    eli_on_host_irq(&e, 0x41);
    assert_int_equal(phys_eois, 2);
    assert_true(phys_idle());
    assert_false(virr(0x41));
}

/* A virtual vector whose class is not above the directly delivered in-service one
 * waits for that EOI (intercepted, since not in direct mode meanwhile). */
static void test_virtual_waits_for_direct(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x48), 0x48);
    expect_plan(plan(true), true, true, -1, false);
    phys_take(0x48); /* delivered directly */
    vlapic_accept(&lapic, 0x4A); /* same class, higher vector: waits too */
    expect_plan(plan(true), false, false, -1, false);
    vlapic_accept(&lapic, 0x45); /* same class */
    expect_plan(plan(true), false, false, -1, false);
    vlapic_accept(&lapic, 0x35); /* lower class */
    expect_plan(plan(true), false, false, -1, false);
    expect_plan(plan(false), false, false, -1, false); /* no window either */
    assert_int_equal(e.n.injected, 0);

    guest_eoi(); /* ends 0x48 */
    assert_int_equal(phys_eois, 1);
    assert_true(phys_idle());
    inject(0x4A);
    expect_plan(plan(true), false, false, -1, false); /* 0x45 in 0x4A's class */
    guest_eoi();
    assert_false(visr(0x4A));
    inject(0x45);
    expect_plan(plan(true), false, false, -1, false); /* 0x35 below 0x45's class */
    guest_eoi();
    assert_false(visr(0x45));
    inject(0x35);
    guest_eoi();
    expect_plan(plan(true), true, true, -1, false);
    assert_int_equal(phys_eois, 1);

    /* a higher class goes in at once, nesting over the direct one */
    phys_take(0x48);
    vlapic_accept(&lapic, 0x50);
    expect_plan(plan(true), false, false, 0x50, false);
    eli_on_injected(&e, 0x50);
    guest_eoi(); /* 0x50 first */
    assert_false(visr(0x50));
    assert_int_equal(phys_eois, 1);
    guest_eoi(); /* then the direct 0x48 */
    assert_int_equal(phys_eois, 2);
    assert_true(phys_idle());
}

/* A direct interrupt is in service and a higher assigned vector arrives while eli
 * runs; the guest (IF = 0 in its handler) EOIs the direct one first. The guest's view
 * must then show the direct one ended, and the not yet injected one still in service
 * physically (else the device can interrupt again before the guest even saw it). A
 * physical EOI would end 0x60, the highest in service, so eli defers 0x40's until
 * 0x60's and then writes both, the higher first. */
static void test_eoi_direct_below_host_mode_arrival(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    assert_int_equal(eli_assign_vector(&e, 0x60), 0x60);
    expect_plan(plan(true), true, true, -1, false);
    phys_take(0x40);               /* direct */
    phys_take(0x60);               /* then, after an exit, taken by eli's IDT */
    eli_on_host_irq(&e, 0x60);
    expect_plan(plan(false), false, false, -1, true);
    guest_eoi();                   /* the guest ends 0x40 */
    assert_int_equal(phys_eois, 0); /* deferred: it would end 0x60 */
    assert_int_equal(eli_guest_isr_word(&e, 2), 0);
    assert_int_equal(eli_guest_isr_word(&e, 3), 0); /* 0x60 requested, not in service */
    assert_true(fake_in_service(0x60));
    assert_true(fake_in_service(0x40));
    guest_eoi();                   /* nothing in service for the guest: ignored */
    assert_int_equal(phys_eois, 0);
    assert_true(fake_in_service(0x60));
    inject(0x60);
    assert_int_equal(eli_guest_isr_word(&e, 3), 1u << 0);
    assert_int_equal(eli_guest_isr_word(&e, 2), 0);
    guest_eoi();                   /* ends 0x60, then the owed 0x40 */
    assert_int_equal(phys_eois, 2);
    assert_int_equal(phys_eoi_log[0], 0x60);
    assert_int_equal(phys_eoi_log[1], 0x40);
    assert_true(phys_idle());
    assert_int_equal(eli_guest_isr_word(&e, 2), 0);
    assert_int_equal(eli_guest_isr_word(&e, 3), 0);
    assert_int_equal(e.n.eoi_exits, 3);

    /* nothing owed is left behind: 0x40's next instance, direct, ends at once */
    phys_take(0x40);
    assert_int_equal(eli_guest_isr_word(&e, 2), 1u << 0);
    guest_eoi();
    assert_int_equal(phys_eois, 3);
    assert_int_equal(phys_eoi_log[2], 0x40);
    assert_true(phys_idle());
    guest_eoi();
    assert_int_equal(phys_eois, 3);
}

/* The same with both taken by eli and injected, the lower one ended first: its
 * physical EOI waits for the higher one's. */
static void test_eoi_injected_below_host_mode_arrival(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    assert_int_equal(eli_assign_vector(&e, 0x60), 0x60);
    int p = eli_assign_vector(&e, 0xF0); /* the guest's 0xF0, at p */
    assert_int_equal(p, 0xEF);
    phys_take(0x40);
    eli_on_host_irq(&e, 0x40);
    inject(0x40);
    phys_take(0x60);               /* arrives while the guest runs 0x40's handler */
    eli_on_host_irq(&e, 0x60);
    guest_eoi();                   /* IF = 0: the guest ends 0x40 first */
    assert_false(visr(0x40));
    assert_true(virr(0x60));
    assert_int_equal(phys_eois, 0);
    assert_true(fake_in_service(0x40));
    assert_true(fake_in_service(0x60));
    inject(0x60);
    guest_eoi();
    assert_int_equal(phys_eois, 2);
    assert_int_equal(phys_eoi_log[0], 0x60);
    assert_int_equal(phys_eoi_log[1], 0x40);
    assert_true(phys_idle());

    /* a remapped one above: the guest's 0x40 in service directly, its 0xF0 taken by
     * eli at p = 0xEF: 0x40's EOI waits for p's, whose guest vector is 0xF0 */
    phys_take(0x40);
    phys_take((uint8_t)p);
    eli_on_host_irq(&e, (uint8_t)p);
    assert_true(virr(0xF0));
    guest_eoi();                   /* ends 0x40 */
    assert_int_equal(phys_eois, 2);
    assert_int_equal(eli_guest_isr_word(&e, 2), 0);
    inject(0xF0);
    guest_eoi();
    assert_int_equal(phys_eois, 4);
    assert_int_equal(phys_eoi_log[2], p);
    assert_int_equal(phys_eoi_log[3], 0x40);
    assert_true(phys_idle());
}

/* ---- the shadow in injection mode, TPR, starvation --------------------------------- */

/* Injection mode keeps the shadow mapped, unless the vector to inject has another gate
 * there than in the guest's IDT (eli's vectors, remapped slots). */
static void test_shadow_kept_in_injection_mode(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    struct eli_plan p = plan(true);
    assert_false(p.shadow); /* no IDT to shadow yet */
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    int pf0 = eli_assign_vector(&e, 0xF0); /* slot pf0 holds the guest's 0xF0 */
    int r = eli_assign_vector(&e, (uint8_t)pf0); /* guest pf0 moves to r */
    assert_int_equal(pf0, 0xEF);
    assert_int_equal(r, 0xEE);
    assert_true(plan(true).shadow);

    vlapic_accept(&lapic, 0x50); /* a slot like the guest's */
    p = plan(false);
    expect_plan(p, false, false, -1, true);
    assert_true(p.shadow);
    p = plan(true);
    expect_plan(p, false, false, 0x50, false);
    assert_true(p.shadow);
    eli_on_injected(&e, 0x50);
    assert_true(plan(true).shadow); /* in service, nothing to inject */
    guest_eoi();

    /* vectors whose shadow slot is not the guest's gate: injected on the guest's IDT */
    const int differ[] = { 0xF0, pf0, r, 0xFE };
    for (unsigned i = 0; i < 4; i++) {
        vlapic_accept(&lapic, (uint8_t)differ[i]);
        p = plan(true);
        expect_plan(p, false, false, differ[i], false);
        assert_false(p.shadow);
        p = plan(false); /* waiting for a window: nothing delivered yet, shadow kept */
        expect_plan(p, false, false, -1, true);
        assert_true(p.shadow);
        eli_on_injected(&e, (uint8_t)differ[i]);
        guest_eoi();
    }
    p = plan(true);
    expect_plan(p, true, true, -1, false);

    /* slot pf0 once 0xF0 is gone: absent in the shadow (its guest vector is at r) */
    vecmap_unmap(&e.vecs, 0xF0);
    vlapic_accept(&lapic, (uint8_t)pf0);
    p = plan(true);
    expect_plan(p, false, false, pf0, false);
    assert_false(p.shadow);
    eli_on_injected(&e, (uint8_t)pf0);
    guest_eoi();

    /* the entry after an IDT write runs on the guest's own page */
    eli_on_idt_write(&e);
    assert_false(plan(true).shadow);
    assert_true(plan(true).shadow);

    /* an IDT that cannot be shadowed, and baseline mode: never */
    eli_on_lidt(&e, ~0ull, IDT_FULL_LIMIT, true);
    assert_false(plan(true).shadow);
    setup_mode(ELI_MODE_BASELINE);
    valid_lidt();
    assert_false(plan(true).shadow);
    vlapic_accept(&lapic, 0x50);
    assert_false(plan(true).shadow);
}

/* A raised task priority keeps injection mode, and the virtual TPR gates injection. */
static void test_tpr_keeps_injection(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    expect_plan(plan(true), true, true, -1, false);
    xw(X2APIC_TPR, 0x20);
    expect_plan(plan(true), false, false, -1, false);
    vlapic_accept(&lapic, 0x25); /* class 2: masked by TPR */
    expect_plan(plan(true), false, false, -1, false);
    expect_plan(plan(false), false, false, -1, false);
    vlapic_accept(&lapic, 0x31); /* class 3: above it */
    expect_plan(plan(true), false, false, 0x31, false);
    eli_on_injected(&e, 0x31);
    guest_eoi();
    xw(X2APIC_TPR, 0);
    inject(0x25);
    guest_eoi();
    expect_plan(plan(true), true, true, -1, false);
    /* through CR8 as well */
    assert_int_equal(vlapic_cr8_write(&lapic, 2), 0);
    expect_plan(plan(true), false, false, -1, false);
    assert_int_equal(vlapic_cr8_write(&lapic, 0), 0);
    expect_plan(plan(true), true, true, -1, false);
    /* class 1 masks only vectors 16-31, which no interrupt uses (Linux's TPR 0x10) */
    xw(X2APIC_TPR, 0x10);
    expect_plan(plan(true), true, true, -1, false);
    assert_int_equal(e.n.to_injection, 2);
    assert_int_equal(e.n.to_direct, 3);
}

/* A guest that starves eli's tick in direct mode loses direct mode for a penalty that
 * doubles while it keeps doing it, up to a maximum, and starts over after a quiet time. */
static void test_starvation_penalty(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    const uint64_t t0 = tsc, base = 100, max = 1000;
    expect_plan(plan(true), true, true, -1, false);

    eli_on_starved(&e, t0, base, max);
    assert_int_equal(e.n.starved, 1);
    expect_plan(plan(true), false, false, -1, false);
    tsc = t0 + base - 1;
    expect_plan(plan(true), false, false, -1, false);
    /* interrupts are still delivered during the penalty, by injection */
    vlapic_accept(&lapic, 0x50);
    inject(0x50);
    guest_eoi();
    tsc = t0 + base;
    expect_plan(plan(true), true, true, -1, false);

    /* again soon after: twice as long, then 4x, 8x, then the maximum */
    uint64_t want[] = { 2 * base, 4 * base, 8 * base, max, max };
    for (unsigned i = 0; i < 5; i++) {
        tsc += 50;
        eli_on_starved(&e, tsc, base, max);
        assert_int_equal(e.penalty, want[i]);
        uint64_t start = tsc;
        expect_plan(plan(true), false, false, -1, false);
        tsc = start + want[i] - 1;
        expect_plan(plan(true), false, false, -1, false);
        tsc = start + want[i];
        expect_plan(plan(true), true, true, -1, false);
    }
    /* a long quiet time: back to the base penalty */
    tsc += 100 * max;
    eli_on_starved(&e, tsc, base, max);
    assert_int_equal(e.penalty, base);
    expect_plan(plan(true), false, false, -1, false);
    tsc += base;
    expect_plan(plan(true), true, true, -1, false);
    assert_int_equal(e.n.starved, 7);
}

/* The watchdog's first NMI with interrupts held off is forgiven (the platform can be
 * late); a second within the window, with no host interrupt let through in between,
 * costs direct mode; one after the window, or after a bounce, is a first strike again. */
static void test_watchdog_two_strikes(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    const uint64_t window = 1000, base = 100, max = 1000;
    tsc = 5000;
    assert_false(eli_on_watchdog(&e, tsc, window, base, max));
    assert_int_equal(e.n.warned, 1);
    assert_int_equal(e.n.starved, 0);
    expect_plan(plan(true), true, true, -1, false);

    tsc += window - 1;
    assert_true(eli_on_watchdog(&e, tsc, window, base, max));
    assert_int_equal(e.n.starved, 1);
    expect_plan(plan(true), false, false, -1, false);
    tsc += base;
    expect_plan(plan(true), true, true, -1, false);

    tsc += window;
    assert_false(eli_on_watchdog(&e, tsc, window, base, max));
    assert_int_equal(e.n.warned, 2);
    assert_int_equal(e.n.starved, 1);
    expect_plan(plan(true), true, true, -1, false);

    /* a host interrupt that got through in between: the guest let eli in */
    tsc += 10;
    e.n.bounces++;
    assert_false(eli_on_watchdog(&e, tsc, window, base, max));
    assert_int_equal(e.n.warned, 3);
    assert_int_equal(e.n.starved, 1);
}

/* ---- the IDT, bounces, the guest's ISR view -------------------------------------- */

static void test_idt_write_holds_one_entry(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    expect_plan(plan(true), true, true, -1, false);
    eli_on_shadow_built(&e);
    assert_true(e.shadow_valid);
    eli_on_idt_write(&e);
    assert_false(e.shadow_valid);
    assert_int_equal(e.n.idt_writes, 1);
    expect_plan(plan(true), false, false, -1, false); /* on the guest's own IDT once */
    expect_plan(plan(true), true, true, -1, false);
    expect_plan(plan(true), true, true, -1, false);
    assert_int_equal(e.n.to_injection, 1);
    assert_int_equal(e.n.to_direct, 2);

    /* a pending interrupt is injected during the hold, then direct mode */
    eli_on_idt_write(&e);
    vlapic_accept(&lapic, 0x50);
    expect_plan(plan(true), false, false, 0x50, false);
    eli_on_injected(&e, 0x50);
    guest_eoi();
    expect_plan(plan(true), true, true, -1, false);

    /* in baseline mode the write changes nothing visible */
    setup_mode(ELI_MODE_BASELINE);
    valid_lidt();
    eli_on_idt_write(&e);
    expect_plan(plan(true), false, false, -1, false);
    expect_plan(plan(true), false, false, -1, false);
    assert_int_equal(e.n.idt_writes, 1);
}

static void test_host_bounce(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    int p = eli_assign_vector(&e, 0xF0);
    assert_int_equal(p, 0xEF);
    for (unsigned v = 0; v < 256; v++)
        assert_false(eli_is_host_bounce(&e, (uint8_t)v)); /* nothing in service */
    phys_take(0xF0);
    assert_true(eli_is_host_bounce(&e, 0xF0));
    assert_false(eli_is_host_bounce(&e, 0xFE));
    phys_take(0xFE);
    assert_true(eli_is_host_bounce(&e, 0xFE));
    /* a guest's INT n to a host vector that is not in service physically */
    assert_false(eli_is_host_bounce(&e, 0xFF));
    /* the guest's own vectors, in service or not, are never eli's */
    phys_take(0x40);
    phys_take(0x41);
    phys_take((uint8_t)p);
    assert_false(eli_is_host_bounce(&e, 0x40));
    assert_false(eli_is_host_bounce(&e, 0x41));
    assert_false(eli_is_host_bounce(&e, (uint8_t)p));
    assert_false(eli_is_host_bounce(&e, 0x20));
}

static void test_guest_isr_word(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    valid_lidt();
    assert_int_equal(eli_assign_vector(&e, 0x41), 0x41);
    assert_int_equal(eli_assign_vector(&e, 0x60), 0x60);
    int p = eli_assign_vector(&e, 0xF0); /* guest 0xF0 = word 7, bit 16 */
    assert_int_equal(p, 0xEF);            /* physical word 7, bit 15 */
    for (unsigned w = 0; w < 8; w++)
        assert_int_equal(eli_guest_isr_word(&e, w), 0);

    vlapic_accept(&lapic, 0x30); /* word 1, bit 16 */
    inject(0x30);
    phys_take(0x41);            /* direct: word 2, bit 1 */
    phys_take((uint8_t)p);      /* direct, remapped: shown as the guest's 0xF0 */
    phys_take(0xFE);            /* eli's own: never the guest's */
    phys_take(0x42);            /* not assigned */
    phys_take(0x60);            /* taken in host mode, only requested so far */
    eli_on_host_irq(&e, 0x60);

    assert_int_equal(eli_guest_isr_word(&e, 0), 0);
    assert_int_equal(eli_guest_isr_word(&e, 1), 1u << 16);
    assert_int_equal(eli_guest_isr_word(&e, 2), 1u << 1);
    assert_int_equal(eli_guest_isr_word(&e, 3), 0);
    assert_int_equal(eli_guest_isr_word(&e, 7), 1u << 16);
    for (unsigned w = 4; w < 7; w++)
        assert_int_equal(eli_guest_isr_word(&e, w), 0);
    /* the virtual bits and the direct bits in one word */
    vlapic_accept(&lapic, 0x4F);
    eli_on_injected(&e, 0x4F);
    assert_int_equal(eli_guest_isr_word(&e, 2), 1u << 1 | 1u << 15);
}

/* The counters over a whole sequence. */
static void test_counters(void **state)
{
    (void)state;
    setup_mode(ELI_MODE_FULL);
    assert_int_equal(eli_assign_vector(&e, 0x40), 0x40);
    plan(true);                      /* no IDT: injection, no switch */
    valid_lidt();
    plan(true);                      /* -> direct (1) */
    eli_on_shadow_built(&e);
    phys_take(0x40);                 /* direct delivery... */
    fake_eoi();                      /* ...and exitless EOI: no counter */
    vlapic_accept(&lapic, 0x30);
    inject(0x30);                    /* -> injection (1), injected 1 */
    guest_eoi();                     /* eoi_exits 1 */
    plan(true);                      /* -> direct (2) */
    phys_take(0x40);
    eli_on_host_irq(&e, 0x40);
    plan(false);                     /* -> injection (2) */
    inject(0x40);                    /* injected 2, assigned 1 */
    guest_eoi();                     /* eoi_exits 2 */
    eli_on_idt_write(&e);
    plan(true);                      /* hold: stays injection */
    plan(true);                      /* -> direct (3) */
    eli_on_shadow_built(&e);
    assert_int_equal(e.n.to_direct, 3);
    assert_int_equal(e.n.to_injection, 2);
    assert_int_equal(e.n.injected, 2);
    assert_int_equal(e.n.injected_assigned, 1);
    assert_int_equal(e.n.eoi_exits, 2);
    assert_int_equal(e.n.shadow_builds, 2);
    assert_int_equal(e.n.idt_writes, 1);
    assert_int_equal(e.n.bounces, 0); /* the backend's */
    assert_int_equal(phys_eois, 2);   /* the guest's own, then eli's for the injected 0x40 */
    assert_true(phys_idle());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_assign_vector),
        cmocka_unit_test(test_baseline_never_direct),
        cmocka_unit_test(test_delivery_direct_without_passthrough),
        cmocka_unit_test(test_full_direct_with_passthrough),
        cmocka_unit_test(test_invalid_idt_refused),
        cmocka_unit_test(test_pending_forces_injection),
        cmocka_unit_test(test_eoi_direct),
        cmocka_unit_test(test_eoi_virtual),
        cmocka_unit_test(test_eoi_host_mode_arrival),
        cmocka_unit_test(test_eoi_direct_and_virtual),
        cmocka_unit_test(test_host_irq_apic_disabled),
        cmocka_unit_test(test_virtual_waits_for_direct),
        cmocka_unit_test(test_eoi_direct_below_host_mode_arrival),
        cmocka_unit_test(test_eoi_injected_below_host_mode_arrival),
        cmocka_unit_test(test_shadow_kept_in_injection_mode),
        cmocka_unit_test(test_tpr_keeps_injection),
        cmocka_unit_test(test_starvation_penalty),
        cmocka_unit_test(test_watchdog_two_strikes),
        cmocka_unit_test(test_guest_timer_raised_physically),
        cmocka_unit_test(test_guest_timer_lent),
        cmocka_unit_test(test_guest_timer_lent_oneshot),
        cmocka_unit_test(test_idt_write_holds_one_entry),
        cmocka_unit_test(test_host_bounce),
        cmocka_unit_test(test_guest_isr_word),
        cmocka_unit_test(test_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
