/* ELI on SVM: applying eli_plan() to the VMCB, the nested page tables and the MSR
 * permission map, and the exits that belong to it (#NP bounces, the interrupt
 * window, writes to the guest's IDT). The decisions are hv/eli/eli.c's. */
#include "arch/x86/cpu.h"
#include "arch/x86/hpet.h"
#include "arch/x86/svm/exitcode.h"
#include "arch/x86/svm/msrpm.h"
#include "arch/x86/svm/vcpu.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "arch/x86/x2apic.h"
#include "core/console.h"
#include "core/guest.h"
#include "core/mm.h"
#include "core/panic.h"
#include <string.h>

#define PAGE 4096ull
#define EXCP_NP 11
#define EXCP_GP 13
#define EXCP_DF 8
#define NP_ERR_IDT (1u << 1)
#define IDT_WRITE_STREAK_MAX 32 /* quick successive writes before eli gives up the shadow */

static void on_probe(uint8_t vector);

void svm_eli_init(struct svm_vcpu *v)
{
    trap_set_irq_handler(VEC_ELI_PROBE, on_probe);
    v->shadow_hpa = mm_alloc_zeroed(2, 1);
    if (!v->shadow_hpa)
        panic("no memory for the shadow IDT");
    v->direct = false;
    v->eoi_passthrough = false;
}

static int map_page(void *ctx, uint64_t gpa, uint64_t hpa, bool writable)
{
    return svm_npt_map_page(ctx, gpa, hpa, writable);
}

static int translate(void *ctx, uint64_t gva, uint64_t *gpa)
{
    return svm_translate(ctx, gva, gpa);
}

/* The shadow pages (read-only) or the guest's own (writable) under its IDT's pages. */
static void map_window(struct svm_vcpu *v, bool shadow)
{
    uint64_t bad;
    if (shadow_window_map(&v->window, shadow, v->shadow_hpa, v->guest->ram_hpa, map_page, v, &bad))
        panic("cannot remap the guest's IDT page 0x%llx", (unsigned long long)bad);
    v->shadow_mapped = shadow;
}

static void rebuild_shadow(struct svm_vcpu *v)
{
    const uint8_t *pages = gmem_ptr(&v->guest->mem, v->window.first_page_gpa, v->window.npages * PAGE);
    shadow_idt_build(&v->window, pages, v->idtr_limit, &v->guest->eli.vecs,
                     (uint8_t *)(uintptr_t)v->shadow_hpa);
    eli_on_shadow_built(&v->guest->eli);
}

void svm_eli_lidt(struct svm_vcpu *v)
{
    struct eli *e = &v->guest->eli;
    struct shadow_window w;
    if (v->shadow_mapped)
        map_window(v, false);
    uint64_t gpa = shadow_window_locate(v->idtr_base, &v->guest->mem, translate, v, &w);
    bool long_mode = v->vmcb->save.efer & EFER_LMA;
    if (gpa != ~0ull)
        v->window = w;
    eli_on_lidt(e, gpa, v->idtr_limit, long_mode);
    v->vmcb->save.idtr.base = v->idtr_base;
    v->vmcb->save.idtr.limit = v->direct ? IDT_FULL_LIMIT : v->idtr_limit;
    if (!e->guest_idt_valid && e->mode != ELI_MODE_BASELINE)
        log_line("exitless delivery off until the next LIDT: %s", e->no_direct_reason);
}

/* The tick's rate and the APIC timer's owner follow the mode (nothing is written when
 * neither changed); the guest's timer leaves the APIC timer before eli's tick comes back
 * to it. */
static void set_timer_lending(struct svm_vcpu *v, bool direct, bool lend)
{
    if (!direct || !lend)
        eli_timer_follow(&v->guest->eli, false);
    hostclock_set_direct(direct, lend);
}

static void set_direct(struct svm_vcpu *v, bool direct)
{
    struct vmcb_control *c = &v->vmcb->control;
    if (direct) {
        /* a guest that waits for its device with HLT halts the CPU itself: the
         * device's interrupt, or eli's tick, wakes it in guest mode; a HLT with IF = 0
         * is caught by the watchdog, and outside direct mode eli idles for the guest */
        c->intercept_misc1 &= ~(INTERCEPT1_INTR | INTERCEPT1_HLT);
        c->vintr &= ~VINTR_V_INTR_MASKING;
        /* a host vector beyond the guest's limit must raise #NP, not #GP */
        v->vmcb->save.idtr.limit = IDT_FULL_LIMIT;
    } else {
        c->intercept_misc1 |= INTERCEPT1_INTR | INTERCEPT1_HLT;
        c->vintr |= VINTR_V_INTR_MASKING;
        v->vmcb->save.idtr.limit = v->idtr_limit;
    }
    v->direct = direct;
}

static void set_eoi_passthrough(struct svm_vcpu *v, bool pass)
{
    msrpm_set(v->msrpm, X2APIC_EOI, true, !pass);
    v->eoi_passthrough = pass;
}

static void request_window(struct svm_vcpu *v, bool on)
{
    struct vmcb_control *c = &v->vmcb->control;
    if (on) {
        c->vintr |= VINTR_V_IRQ | VINTR_V_IGN_TPR;
        c->intercept_misc1 |= INTERCEPT1_VINTR;
    } else {
        c->vintr &= ~(VINTR_V_IRQ | VINTR_V_IGN_TPR);
        c->intercept_misc1 &= ~INTERCEPT1_VINTR;
    }
}

/* The watchdog NMI found the guest in direct mode with IF = 0 (eli's exits run with
 * interrupts off there, so the overdue tick is still pending). A first strike runs
 * the tick now and puts the guest on probation: a probe interrupt of eli's, pending
 * until the guest lets interrupts in (then it bounces and ends the probation), and the
 * next NMI in PROBATION_US. A guest still holding IF = 0 then is starving eli. */
#define PROBATION_US 5000
static void on_probe(uint8_t vector)
{
    (void)vector;
    hostclock_watchdog_kick();
    x2apic_eoi();
}

/* Whether the guest's last instruction was HLT. In direct mode HLT is not intercepted;
 * an NMI ends it and the guest's RIP is past it (APM 15.9: HLT ends on any event). An
 * immediate byte 0xF4 just before RIP could be taken for it; only a guest already
 * holding interrupts off past the watchdog is asked. */
static bool after_hlt(struct svm_vcpu *v)
{
    uint8_t byte = 0;
    return !svm_read_guest(v, v->vmcb->save.rip - 1, &byte, 1, true) && byte == 0xF4;
}

/* Returns whether the guest is now on probation (the next NMI is set). */
static bool on_watchdog_cli(struct svm_vcpu *v, uint64_t now)
{
    struct eli *e = &v->guest->eli;
    const struct vmcb_save *s = &v->vmcb->save;
    if (after_hlt(v))
        svm_end_halted_cli(s->rip - 1);
    if (!eli_on_watchdog(e, now, timing.tsc_hz / 10, timing.tsc_hz / 100, timing.tsc_hz)) {
        irq_window();
        wrmsr(X2APIC_SELF_IPI, VEC_ELI_PROBE);
        hpet_watchdog_soon(PROBATION_US);
        if (e->n.warned <= 3 || e->n.warned % 100 == 0)
            log_line("watchdog (warning %llu): no tick for %u us with the guest in direct mode "
                     "(rip 0x%llx, IF 0): eli's tick runs now; still IF 0 in %u us without "
                     "letting eli in ends direct mode", (unsigned long long)e->n.warned,
                     hpet_watchdog_period_us(), (unsigned long long)s->rip, PROBATION_US);
        return true;
    }
    if (e->n.starved <= 3 || e->n.starved % 100 == 0)
        log_line("watchdog (%llu): no tick for %u us with the guest in direct mode "
                 "(rip 0x%llx, IF %u): baseline delivery for %llu ms",
                 (unsigned long long)e->n.starved, hpet_watchdog_period_us(),
                 (unsigned long long)s->rip, (unsigned)(s->rflags >> 9 & 1),
                 (unsigned long long)(e->penalty * 1000 / timing.tsc_hz));
    return false;
}

void svm_eli_before_entry(struct svm_vcpu *v)
{
    struct eli *e = &v->guest->eli;
    const struct vmcb_save *s = &v->vmcb->save;
    bool can_inject = !v->reinject && (s->rflags & RFLAGS_IF) &&
                      !(v->vmcb->control.interrupt_shadow & INTERRUPT_SHADOW);
    uint64_t now = rdtsc();
    /* the guest's timer as this exit left it, once its handler ran: a due expiry is
     * delivered now, the next deadline armed (in direct mode the guest may halt
     * without another exit) */
    hostclock_set_guest_deadline(vlapic_timer_poll(&v->guest->lapic));
    if (watchdog_fired) {
        watchdog_fired = false;
        /* only a guest that holds interrupts off is to blame: with IF set the tick
         * was late for the platform's own reasons (a busy TCG host) */
        bool probation = v->direct && !(s->rflags & RFLAGS_IF) && on_watchdog_cli(v, now);
        if (!probation)
            hostclock_watchdog_kick();
    }
    struct eli_plan p = eli_plan(e, can_inject, now);
    if (p.shadow && !e->shadow_valid)
        rebuild_shadow(v);
    if (p.shadow != v->shadow_mapped)
        map_window(v, p.shadow);
    if (p.direct != v->direct)
        set_direct(v, p.direct);
    set_timer_lending(v, p.direct, p.direct && eli_timer_lendable(e));
    if (v->direct)
        eli_timer_follow(e, hostclock_lent());
    /* the guest's CR8 reads see V_TPR outside direct mode (QEMU does not intercept
     * them, docs/eli.md) */
    v->vmcb->control.vintr = (v->vmcb->control.vintr & ~VINTR_V_TPR_MASK) |
                             (e->lapic->tpr >> 4 & VINTR_V_TPR_MASK);
    if (p.eoi_passthrough != v->eoi_passthrough)
        set_eoi_passthrough(v, p.eoi_passthrough);
    if (p.inject >= 0) {
        v->vmcb->control.eventinj = (uint8_t)p.inject | EVENT_TYPE_INTR | EVENT_VALID;
        eli_on_injected(e, (uint8_t)p.inject);
    }
    request_window(v, p.window);
}

void svm_eli_after_exit(struct svm_vcpu *v)
{
    struct vmcb_control *c = &v->vmcb->control;
    /* an event the exit interrupted is delivered again (APM 15.7.2) */
    v->reinject = c->exitintinfo & EVENT_VALID;
    if (v->reinject)
        c->eventinj = c->exitintinfo;
    if (!v->direct && (v->vmcb->save.rflags & RFLAGS_IF) && v->guest->eli.penalty)
        eli_on_guest_interruptible(&v->guest->eli);
}

static void cancel_reinjection(struct svm_vcpu *v)
{
    v->vmcb->control.eventinj = 0;
    v->reinject = false;
}

/* Whether the guest's own IDT has a present gate for vector. */
static bool guest_gate_present(struct svm_vcpu *v, uint8_t vector)
{
    if ((uint32_t)vector * IDT_GATE64_SIZE + IDT_GATE64_SIZE - 1 > v->idtr_limit)
        return false;
    const uint8_t *gate = gmem_ptr(&v->guest->mem, v->guest->eli.idt_base_gpa + vector * IDT_GATE64_SIZE,
                                   IDT_GATE64_SIZE);
    return gate && idt_gate_present(gate);
}

/* #NP. In direct mode, one of eli's interrupts that arrived in guest mode (its
 * vector is eli's and in service in the physical APIC: QEMU never sets the error
 * code's EXT bit, docs/eli.md 3a), or the guest's own INT n to a vector whose
 * shadow gate is absent (it runs again on the guest's own IDT). Anything else is
 * the guest's #NP. */
/* A fault while an exception was being delivered escalates as on hardware (SDM
 * vol. 3, table 6-5, simplified): to #DF, and a fault delivering #DF ends the guest. */
static bool escalate(struct svm_vcpu *v)
{
    uint64_t info = v->vmcb->control.exitintinfo;
    if (!(info & EVENT_VALID) || (info & 0x700) != EVENT_TYPE_EXCEPTION)
        return false;
    cancel_reinjection(v);
    if ((info & 0xff) == EXCP_DF) {
        log_line("guest triple fault: a fault while delivering #DF, at rip 0x%llx",
                 (unsigned long long)v->vmcb->save.rip);
        run_end(EXIT_GUEST_ENDED, "triple-fault");
    }
    svm_inject_exception(v, EXCP_DF, true, 0);
    return true;
}

void svm_handle_np(struct svm_vcpu *v)
{
    struct eli *e = &v->guest->eli;
    uint32_t err = (uint32_t)v->vmcb->control.exitinfo1;
    uint8_t vector = (uint8_t)(err >> 3);
    if (v->direct && (err & NP_ERR_IDT) && eli_is_host_bounce(e, vector)) {
        cancel_reinjection(v);
        e->n.bounces++;
        trap_run_irq(vector);
        return;
    }
    if (escalate(v))
        return;
    if (v->shadow_mapped && (err & NP_ERR_IDT)) {
        if (guest_gate_present(v, vector)) {
            cancel_reinjection(v);
            e->hold_injection = true;
            return;
        }
        /* in direct mode the shadow's limit is the full table; the guest's may be
         * shorter, and a vector beyond it is a #GP with the same error code (SDM
         * vol. 3, 6.12.1) */
        if (v->direct && (uint32_t)vector * IDT_GATE64_SIZE + IDT_GATE64_SIZE - 1 > v->idtr_limit) {
            cancel_reinjection(v);
            svm_inject_exception(v, EXCP_GP, true, err);
            return;
        }
    }
    cancel_reinjection(v);
    svm_inject_exception(v, EXCP_NP, true, err);
}

void svm_handle_vintr(struct svm_vcpu *v)
{
    request_window(v, false); /* eli_plan injects now that the guest can take it */
}

bool svm_eli_idt_write(struct svm_vcpu *v, uint64_t gpa)
{
    struct eli *e = &v->guest->eli;
    if (!v->shadow_mapped || gpa < v->window.first_page_gpa ||
        gpa >= v->window.first_page_gpa + v->window.npages * PAGE)
        return false;
    uint64_t now = rdtsc();
    v->idt_write_streak = now - v->idt_write_tsc < timing.tsc_hz / 100 ? v->idt_write_streak + 1 : 0;
    v->idt_write_tsc = now;
    eli_on_idt_write(e);
    if (v->idt_write_streak == IDT_WRITE_STREAK_MAX) {
        e->guest_idt_valid = false;
        e->no_direct_reason = "the guest keeps writing the page of its IDT";
        log_line("exitless delivery off until the next LIDT: %s (gpa 0x%llx)", e->no_direct_reason,
                 (unsigned long long)gpa);
    }
    return true;
}
