/* ELI on VMX: applying eli_plan() to the VMCS, the EPT and the MSR bitmap, and the exits
 * that belong to it (#NP bounces, the interrupt window, writes to the guest's IDT, the
 * preemption timer as the watchdog). The decisions are hv/eli/eli.c's, as on SVM
 * (svm_eli.c); what differs is how each is applied:
 *   - direct mode: external-interrupt exiting and HLT exiting off, the IDTR limit full;
 *   - #NP exits through exception-bitmap bit 11, its error code in the VMCS;
 *   - EOI passed through by clearing WRMSR 0x80B's bit in the MSR bitmap;
 *   - the VMX-preemption timer, armed at each entry, replaces the watchdog NMI. */
#include "arch/x86/cpu.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "arch/x86/vmx/vcpu.h"
#include "arch/x86/x2apic.h"
#include "core/console.h"
#include "core/guest.h"
#include "core/mm.h"
#include "core/panic.h"
#include "core/stats.h"
#include <string.h>

#define PAGE 4096ull
#define EXCP_DF 8
#define EXCP_NP 11
#define EXCP_GP 13
#define NP_ERR_IDT (1u << 1)
#define IDT_WRITE_STREAK_MAX 32 /* quick successive writes before eli gives up the shadow */
#define PROBATION_US 5000

static void on_probe(uint8_t vector)
{
    (void)vector;
    hostclock_watchdog_kick();
    x2apic_eoi();
}

void vmx_eli_init(struct vmx_vcpu *v)
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
    return vmx_ept_map_page(ctx, gpa, hpa, writable);
}

static int translate(void *ctx, uint64_t gva, uint64_t *gpa)
{
    return vmx_translate(ctx, gva, gpa);
}

/* The shadow pages (read-only) or the guest's own (writable) under its IDT's pages. */
static void map_window(struct vmx_vcpu *v, bool shadow)
{
    uint64_t bad;
    if (shadow_window_map(&v->window, shadow, v->shadow_hpa, v->guest->ram_hpa, map_page, v, &bad))
        panic("cannot remap the guest's IDT page 0x%llx", (unsigned long long)bad);
    v->shadow_mapped = shadow;
}

static void rebuild_shadow(struct vmx_vcpu *v)
{
    const uint8_t *pages = gmem_ptr(&v->guest->mem, v->window.first_page_gpa, v->window.npages * PAGE);
    shadow_idt_build(&v->window, pages, v->idtr_limit, &v->guest->eli.vecs,
                     (uint8_t *)(uintptr_t)v->shadow_hpa);
    eli_on_shadow_built(&v->guest->eli);
}

void vmx_eli_lidt(struct vmx_vcpu *v)
{
    struct eli *e = &v->guest->eli;
    struct shadow_window w;
    if (v->shadow_mapped)
        map_window(v, false);
    uint64_t gpa = shadow_window_locate(v->idtr_base, &v->guest->mem, translate, v, &w);
    bool long_mode = vmread(GUEST_IA32_EFER) & EFER_LMA;
    if (gpa != ~0ull)
        v->window = w;
    eli_on_lidt(e, gpa, v->idtr_limit, long_mode);
    vmwrite(GUEST_IDTR_BASE, v->idtr_base);
    vmwrite(GUEST_IDTR_LIMIT, v->direct ? IDT_FULL_LIMIT : v->idtr_limit);
    if (!e->guest_idt_valid && e->mode != ELI_MODE_BASELINE)
        log_line("exitless delivery off until the next LIDT: %s", e->no_direct_reason);
}

static void set_timer_lending(struct vmx_vcpu *v, bool direct, bool lend)
{
    if (!direct || !lend)
        eli_timer_follow(&v->guest->eli, false);
    hostclock_set_direct(direct, lend);
}

static void set_direct(struct vmx_vcpu *v, bool direct)
{
    if (direct) {
        /* physical interrupts go through the guest's (shadow) IDT, gated by its IF; a
         * guest that waits with HLT halts the CPU itself (as on SVM) */
        vmx_set_pin(v, v->pin_ctls & ~PIN_EXT_INTR_EXITING);
        vmx_set_cpu(v, v->cpu_ctls & ~CPU_HLT_EXITING);
        /* a host vector beyond the guest's limit must raise #NP, not #GP */
        vmwrite(GUEST_IDTR_LIMIT, IDT_FULL_LIMIT);
    } else {
        vmx_set_pin(v, v->pin_ctls | PIN_EXT_INTR_EXITING);
        vmx_set_cpu(v, v->cpu_ctls | CPU_HLT_EXITING);
        vmwrite(GUEST_IDTR_LIMIT, v->idtr_limit);
    }
    v->direct = direct;
}

static void set_eoi_passthrough(struct vmx_vcpu *v, bool pass)
{
    vmx_msr_intercept(v->msr_bitmap, X2APIC_EOI, true, !pass);
    v->eoi_passthrough = pass;
}

static void request_window(struct vmx_vcpu *v, bool on)
{
    vmx_set_cpu(v, on ? v->cpu_ctls | CPU_INTR_WINDOW_EXITING
                      : v->cpu_ctls & ~CPU_INTR_WINDOW_EXITING);
}

/* Whether the guest's last instruction was HLT (in direct mode HLT is not intercepted,
 * and the preemption timer ends it with RIP past it). */
static bool after_hlt(struct vmx_vcpu *v)
{
    uint8_t byte = 0;
    return !vmx_read_guest(v, vmread(GUEST_RIP) - 1, &byte, 1, true) && byte == 0xF4;
}

/* As svm_eli.c's on_watchdog_cli, with the preemption timer in the watchdog's place: a
 * first strike runs eli's tick and puts the guest on probation (the next expiry after
 * PROBATION_US); a guest still holding IF = 0 then is starving eli. */
static bool on_watchdog_cli(struct vmx_vcpu *v, uint64_t now)
{
    struct eli *e = &v->guest->eli;
    uint64_t rip = vmread(GUEST_RIP);
    uint32_t period_us = (uint32_t)(hostclock_fast_period_tsc() * 1000000 / timing.tsc_hz);
    if (after_hlt(v))
        vmx_end_halted_cli(rip - 1);
    if (!eli_on_watchdog(e, now, timing.tsc_hz / 10, timing.tsc_hz / 100, timing.tsc_hz)) {
        irq_window();
        wrmsr(X2APIC_SELF_IPI, VEC_ELI_PROBE);
        v->probation_until = now + timing.tsc_hz / 1000000 * PROBATION_US;
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
                 (unsigned)(vmread(GUEST_RFLAGS) >> 9 & 1),
                 (unsigned long long)(e->penalty * 1000 / timing.tsc_hz));
    return false;
}

/* The preemption timer expired. In direct mode that is the watchdog: eli's tick did not
 * get in (its armed time is the tick's due time plus a full-rate period). Otherwise it
 * only bounded the stay (vmx.c, Bochs's masked interrupts), and the tick is taken now. */
void vmx_eli_preempted(struct vmx_vcpu *v)
{
    if (!v->direct)
        return;
    v->watchdog = true;
    stats.watchdog_nmis++;
}

uint64_t vmx_eli_bound(struct vmx_vcpu *v, uint64_t now)
{
    uint64_t next = hostclock_next_tick_tsc(), fast = hostclock_fast_period_tsc();
    if (!fast)
        fast = timing.tsc_hz / 100;
    if (now < v->probation_until)
        return v->probation_until - now;
    uint64_t due = next > now ? next - now : 0;
    return v->direct ? due + fast : due + fast / 8;
}

void vmx_eli_before_entry(struct vmx_vcpu *v)
{
    struct eli *e = &v->guest->eli;
    uint64_t rflags = vmread(GUEST_RFLAGS);
    bool can_inject = !v->reinject && (rflags & RFLAGS_IF) &&
                      !(vmread(GUEST_INTERRUPTIBILITY_INFO) &
                        (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
    uint64_t now = rdtsc();
    hostclock_set_guest_deadline(vlapic_timer_poll(&v->guest->lapic));
    /* The preemption timer counts in guest mode only: a guest that keeps IF = 0 and
     * exits often (port I/O) re-arms it each time, and in direct mode eli handles exits
     * with interrupts off. So the watchdog also fires here, as the NMI would on SVM. */
    if (v->direct && !v->watchdog && now > hostclock_next_tick_tsc() + hostclock_fast_period_tsc()) {
        v->watchdog = true;
        stats.watchdog_nmis++;
    }
    bool fired = v->watchdog || watchdog_fired;
    if (fired) {
        v->watchdog = false;
        watchdog_fired = false;
        bool probation = v->direct && !(rflags & RFLAGS_IF) && on_watchdog_cli(v, now);
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
    if (p.eoi_passthrough != v->eoi_passthrough)
        set_eoi_passthrough(v, p.eoi_passthrough);
    if (p.inject >= 0) {
        vmwrite(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (uint8_t)p.inject);
        eli_on_injected(e, (uint8_t)p.inject);
    }
    request_window(v, p.window);
}

void vmx_eli_after_exit(struct vmx_vcpu *v)
{
    if (!v->direct && (vmread(GUEST_RFLAGS) & RFLAGS_IF) && v->guest->eli.penalty)
        eli_on_guest_interruptible(&v->guest->eli);
}

static void cancel_reinjection(struct vmx_vcpu *v)
{
    vmwrite(VM_ENTRY_INTR_INFO, 0);
    v->reinject = false;
}

static bool guest_gate_present(struct vmx_vcpu *v, uint8_t vector)
{
    if ((uint32_t)vector * IDT_GATE64_SIZE + IDT_GATE64_SIZE - 1 > v->idtr_limit)
        return false;
    const uint8_t *gate = gmem_ptr(&v->guest->mem, v->guest->eli.idt_base_gpa + vector * IDT_GATE64_SIZE,
                                   IDT_GATE64_SIZE);
    return gate && idt_gate_present(gate);
}

/* A fault while an exception was being delivered escalates as on hardware (SDM vol. 3,
 * table 6-5, simplified): to #DF, and a fault delivering #DF ends the guest. */
static bool escalate(struct vmx_vcpu *v)
{
    uint32_t info = (uint32_t)vmread(IDT_VECTORING_INFO);
    if (!(info & INTR_INFO_VALID) || (info & INTR_TYPE_MASK) != INTR_TYPE_HW_EXCEPTION)
        return false;
    cancel_reinjection(v);
    if ((info & 0xff) == EXCP_DF) {
        log_line("guest triple fault: a fault while delivering #DF, at rip 0x%llx",
                 (unsigned long long)vmread(GUEST_RIP));
        run_end(EXIT_GUEST_ENDED, "triple-fault");
    }
    vmx_inject_exception(v, EXCP_DF, true, 0);
    return true;
}

/* #NP, as on SVM (svm_handle_np): in direct mode one of eli's interrupts that arrived in
 * guest mode (its vector is eli's and in service in the physical APIC), or the guest's
 * own INT n to a vector whose shadow gate is absent; anything else is the guest's #NP. */
void vmx_handle_np(struct vmx_vcpu *v, uint32_t err)
{
    struct eli *e = &v->guest->eli;
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
        if (v->direct && (uint32_t)vector * IDT_GATE64_SIZE + IDT_GATE64_SIZE - 1 > v->idtr_limit) {
            cancel_reinjection(v);
            vmx_inject_exception(v, EXCP_GP, true, err);
            return;
        }
    }
    cancel_reinjection(v);
    vmx_inject_exception(v, EXCP_NP, true, err);
}

bool vmx_eli_idt_write(struct vmx_vcpu *v, uint64_t gpa)
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
