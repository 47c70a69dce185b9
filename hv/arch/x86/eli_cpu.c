/* ELI applied to an x86 vCPU, the same on SVM and VMX (eli_cpu.h). The decisions are
 * hv/eli/eli.c's; the backends supply the ops that write their control structures. */
#include "arch/x86/eli_cpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "arch/x86/x2apic.h"
#include "core/console.h"
#include "core/guest.h"
#include "core/mm.h"
#include "core/panic.h"

#define PAGE 4096ull
#define EXCP_DF 8
#define EXCP_NP 11
#define EXCP_GP 13
#define NP_ERR_IDT (1u << 1)
#define IDT_WRITE_STREAK_MAX 32 /* quick successive writes before eli gives up the shadow */
/* how soon the watchdog strikes again for a guest on probation */
#define PROBATION_US 5000

/* The probe interrupt (eli's, pending while a guest on probation holds IF = 0): when the
 * guest lets it in, it bounces out and the tick runs; the probation is over. */
static void on_probe(uint8_t vector)
{
    (void)vector;
    hostclock_watchdog_kick();
    x2apic_eoi();
}

void eli_cpu_init(struct eli_cpu *c, const struct eli_cpu_ops *ops, void *be, struct guest *g)
{
    trap_set_irq_handler(VEC_ELI_PROBE, on_probe);
    c->ops = ops;
    c->be = be;
    c->guest = g;
    c->shadow_hpa = mm_alloc_zeroed(2, 1);
    if (!c->shadow_hpa)
        panic("no memory for the shadow IDT");
    c->direct = false;
    c->eoi_passthrough = false;
}

static int map_page(void *ctx, uint64_t gpa, uint64_t hpa, bool writable)
{
    const struct eli_cpu *c = ctx;
    return c->ops->map_page(c->be, gpa, hpa, writable);
}

static int translate(void *ctx, uint64_t gva, uint64_t *gpa)
{
    const struct eli_cpu *c = ctx;
    return c->ops->translate(c->be, gva, gpa);
}

/* The shadow pages (read-only) or the guest's own (writable) under its IDT's pages. */
static void map_window(struct eli_cpu *c, bool shadow)
{
    uint64_t bad;
    if (shadow_window_map(&c->window, shadow, c->shadow_hpa, c->guest->ram_hpa, map_page, c, &bad))
        panic("cannot remap the guest's IDT page 0x%llx", (unsigned long long)bad);
    c->shadow_mapped = shadow;
}

static void rebuild_shadow(struct eli_cpu *c)
{
    const uint8_t *pages = gmem_ptr(&c->guest->mem, c->window.first_page_gpa, c->window.npages * PAGE);
    shadow_idt_build(&c->window, pages, c->idtr_limit, &c->guest->eli.vecs,
                     (uint8_t *)(uintptr_t)c->shadow_hpa);
    eli_on_shadow_built(&c->guest->eli);
}

/* In direct mode the limit is the full table: a host vector beyond the guest's limit
 * must raise #NP, not #GP. */
static void write_idtr(struct eli_cpu *c)
{
    c->ops->set_idtr(c->be, c->idtr_base, c->direct ? IDT_FULL_LIMIT : c->idtr_limit);
}

void eli_cpu_lidt(struct eli_cpu *c)
{
    struct eli *e = &c->guest->eli;
    struct shadow_window w;
    if (c->shadow_mapped)
        map_window(c, false);
    uint64_t gpa = shadow_window_locate(c->idtr_base, &c->guest->mem, translate, c, &w);
    if (gpa != ~0ull)
        c->window = w;
    eli_on_lidt(e, gpa, c->idtr_limit, c->ops->long_mode(c->be));
    write_idtr(c);
    if (!e->guest_idt_valid && e->mode != ELI_MODE_BASELINE)
        log_line("exitless delivery off until the next LIDT: %s", e->no_direct_reason);
}

/* The tick's rate and the APIC timer's owner follow the mode (nothing is written when
 * neither changed); the guest's timer leaves the APIC timer before eli's tick comes back
 * to it. */
static void set_timer_lending(struct eli_cpu *c, bool direct, bool lend)
{
    if (!direct || !lend)
        eli_timer_follow(&c->guest->eli, false);
    hostclock_set_direct(direct, lend);
}

static void set_direct(struct eli_cpu *c, bool direct)
{
    /* a guest that waits for its device with HLT halts the CPU itself: the device's
     * interrupt, or eli's tick, wakes it in guest mode; a HLT with IF = 0 is caught by
     * the watchdog, and outside direct mode eli idles for the guest */
    c->ops->set_direct(c->be, direct);
    c->direct = direct;
    write_idtr(c);
}

static void set_eoi_passthrough(struct eli_cpu *c, bool pass)
{
    c->ops->set_eoi_intercept(c->be, !pass);
    c->eoi_passthrough = pass;
}

/* Whether the guest's last instruction was HLT. In direct mode HLT is not intercepted; the
 * watchdog's event ends it with RIP past it (APM 15.9, SDM vol. 3 26.2: HLT ends on any
 * event). An immediate byte 0xF4 just before RIP could be taken for it; only a guest
 * already holding interrupts off past the watchdog is asked. */
static bool after_hlt(struct eli_cpu *c, uint64_t rip)
{
    uint8_t byte = 0;
    return !c->ops->read_guest(c->be, rip - 1, &byte, 1, true) && byte == 0xF4;
}

/* The watchdog found the guest in direct mode with IF = 0 (eli's exits run with interrupts
 * off there, so the overdue tick is still pending). A first strike runs the tick now and
 * puts the guest on probation: a probe interrupt of eli's, pending until the guest lets
 * interrupts in (then it bounces and ends the probation), and the next strike in
 * PROBATION_US. A guest still holding IF = 0 then is starving eli. Returns whether the
 * guest is now on probation. */
static bool on_watchdog_cli(struct eli_cpu *c, uint64_t now)
{
    struct eli *e = &c->guest->eli;
    uint64_t rip = c->ops->rip(c->be);
    uint32_t period_us = c->ops->watchdog_period_us();
    if (after_hlt(c, rip))
        c->ops->end_halted_cli(rip - 1);
    if (!eli_on_watchdog(e, now, timing.tsc_hz / 10, timing.tsc_hz / 100, timing.tsc_hz)) {
        irq_window();
        wrmsr(X2APIC_SELF_IPI, VEC_ELI_PROBE);
        c->ops->start_probation(c->be, now, PROBATION_US);
        if (e->n.warned <= 3 || e->n.warned % 100 == 0)
            log_line("watchdog (warning %llu): no tick for %u us with the guest in direct mode "
                     "(rip 0x%llx, IF 0): eli's tick runs now; still IF 0 in %u us without "
                     "letting eli in ends direct mode", (unsigned long long)e->n.warned,
                     period_us, (unsigned long long)rip, PROBATION_US);
        return true;
    }
    if (e->n.starved <= 3 || e->n.starved % 100 == 0)
        log_line("watchdog (%llu): no tick for %u us with the guest in direct mode "
                 "(rip 0x%llx, IF %u): baseline delivery for %llu ms",
                 (unsigned long long)e->n.starved, period_us, (unsigned long long)rip,
                 (unsigned)(c->ops->rflags(c->be) >> 9 & 1),
                 (unsigned long long)(e->penalty * 1000 / timing.tsc_hz));
    return false;
}

void eli_cpu_before_entry(struct eli_cpu *c, bool watchdog)
{
    struct eli *e = &c->guest->eli;
    uint64_t rflags = c->ops->rflags(c->be);
    bool can_inject = !c->reinject && (rflags & RFLAGS_IF) && !c->ops->interrupt_shadow(c->be);
    uint64_t now = rdtsc();
    /* the guest's timer as this exit left it, once its handler ran: a due expiry is
     * delivered now, the next deadline armed (in direct mode the guest may halt
     * without another exit) */
    hostclock_set_guest_deadline(vlapic_timer_poll(&c->guest->lapic));
    /* the exit's handling is over: outside direct mode the interrupts that came during
     * it, and the timer expiry just raised as a self-IPI (eli.c timer_hook), are eli's to
     * take, and taken now they are injected at this entry instead of making the guest
     * exit at once */
    if (!c->direct)
        irq_window();
    if (watchdog) {
        /* only a guest that holds interrupts off is to blame: with IF set the tick
         * was late for the platform's own reasons (a busy TCG host) */
        bool probation = c->direct && !(rflags & RFLAGS_IF) && on_watchdog_cli(c, now);
        if (!probation)
            hostclock_watchdog_kick();
    }
    struct eli_plan p = eli_plan(e, can_inject, now);
    if (p.shadow && !e->shadow_valid)
        rebuild_shadow(c);
    if (p.shadow != c->shadow_mapped)
        map_window(c, p.shadow);
    if (p.direct != c->direct)
        set_direct(c, p.direct);
    set_timer_lending(c, p.direct, p.direct && eli_timer_lendable(e));
    if (c->direct)
        eli_timer_follow(e, hostclock_lent());
    if (c->ops->sync_tpr)
        c->ops->sync_tpr(c->be, e->lapic->tpr);
    if (p.eoi_passthrough != c->eoi_passthrough)
        set_eoi_passthrough(c, p.eoi_passthrough);
    if (p.inject >= 0) {
        c->ops->inject_interrupt(c->be, (uint8_t)p.inject);
        eli_on_injected(e, (uint8_t)p.inject);
    }
    c->ops->set_window(c->be, p.window);
}

void eli_cpu_after_exit(struct eli_cpu *c, bool reinject)
{
    c->reinject = reinject;
    if (!c->direct && (c->ops->rflags(c->be) & RFLAGS_IF) && c->guest->eli.penalty)
        eli_on_guest_interruptible(&c->guest->eli);
}

static void cancel_reinjection(struct eli_cpu *c)
{
    c->ops->cancel_event(c->be);
    c->reinject = false;
}

static bool beyond_limit(const struct eli_cpu *c, uint8_t vector)
{
    return (uint32_t)vector * IDT_GATE64_SIZE + IDT_GATE64_SIZE - 1 > c->idtr_limit;
}

/* Whether the guest's own IDT has a present gate for vector. */
static bool guest_gate_present(const struct eli_cpu *c, uint8_t vector)
{
    if (beyond_limit(c, vector))
        return false;
    const uint8_t *gate = gmem_ptr(&c->guest->mem, c->guest->eli.idt_base_gpa + vector * IDT_GATE64_SIZE,
                                   IDT_GATE64_SIZE);
    return gate && idt_gate_present(gate);
}

/* A fault while an exception was being delivered escalates as on hardware (SDM vol. 3,
 * table 6-5, simplified): to #DF, and a fault delivering #DF ends the guest. */
static bool escalate(struct eli_cpu *c)
{
    int vector = c->ops->delivering_exception(c->be);
    if (vector < 0)
        return false;
    cancel_reinjection(c);
    if (vector == EXCP_DF) {
        log_line("guest triple fault: a fault while delivering #DF, at rip 0x%llx",
                 (unsigned long long)c->ops->rip(c->be));
        run_end(EXIT_GUEST_ENDED, "triple-fault");
    }
    c->ops->inject_exception(c->be, EXCP_DF, true, 0);
    return true;
}

/* #NP. In direct mode, one of eli's interrupts that arrived in guest mode (its vector is
 * eli's and in service in the physical APIC: QEMU never sets the error code's EXT bit,
 * docs/eli.md 3a), or the guest's own INT n to a vector whose shadow gate is absent (it
 * runs again on the guest's own IDT). Anything else is the guest's #NP. */
void eli_cpu_handle_np(struct eli_cpu *c, uint32_t err)
{
    struct eli *e = &c->guest->eli;
    uint8_t vector = (uint8_t)(err >> 3);
    if (c->direct && (err & NP_ERR_IDT) && eli_is_host_bounce(e, vector)) {
        cancel_reinjection(c);
        e->n.bounces++;
        trap_run_irq(vector);
        return;
    }
    if (escalate(c))
        return;
    if (c->shadow_mapped && (err & NP_ERR_IDT)) {
        if (guest_gate_present(c, vector)) {
            cancel_reinjection(c);
            e->hold_injection = true;
            return;
        }
        /* in direct mode the shadow's limit is the full table; the guest's may be
         * shorter, and a vector beyond it is a #GP with the same error code (SDM
         * vol. 3, 6.12.1) */
        if (c->direct && beyond_limit(c, vector)) {
            cancel_reinjection(c);
            c->ops->inject_exception(c->be, EXCP_GP, true, err);
            return;
        }
    }
    cancel_reinjection(c);
    c->ops->inject_exception(c->be, EXCP_NP, true, err);
}

bool eli_cpu_idt_write(struct eli_cpu *c, uint64_t gpa)
{
    struct eli *e = &c->guest->eli;
    if (!c->shadow_mapped || gpa < c->window.first_page_gpa ||
        gpa >= c->window.first_page_gpa + c->window.npages * PAGE)
        return false;
    uint64_t now = rdtsc();
    c->idt_write_streak = now - c->idt_write_tsc < timing.tsc_hz / 100 ? c->idt_write_streak + 1 : 0;
    c->idt_write_tsc = now;
    eli_on_idt_write(e);
    if (c->idt_write_streak == IDT_WRITE_STREAK_MAX) {
        e->guest_idt_valid = false;
        e->no_direct_reason = "the guest keeps writing the page of its IDT";
        log_line("exitless delivery off until the next LIDT: %s (gpa 0x%llx)", e->no_direct_reason,
                 (unsigned long long)gpa);
    }
    return true;
}
