/* ELI on VMX: how eli_cpu.c's steps are written into the VMCS, the EPT and the MSR bitmap,
 * and the VMX exits that belong to ELI. The steps are arch/x86/eli_cpu.c's, the decisions
 * hv/eli/eli.c's; what differs from SVM is how each is applied:
 *   - direct mode: external-interrupt exiting and HLT exiting off;
 *   - #NP exits through exception-bitmap bit 11, its error code in the VMCS;
 *   - EOI passed through by clearing WRMSR 0x80B's bit in the MSR bitmap;
 *   - the VMX-preemption timer, armed at each entry, replaces the watchdog NMI. */
#include "arch/x86/cpu.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "arch/x86/vmx/vcpu.h"
#include "arch/x86/x2apic.h"
#include "core/guest.h"
#include "core/stats.h"

static struct vmx_vcpu *vcpu_of(void *be)
{
    return be;
}

static uint64_t vmx_rip(void *be)
{
    (void)be;
    return vmread(GUEST_RIP);
}

static uint64_t vmx_rflags(void *be)
{
    (void)be;
    return vmread(GUEST_RFLAGS);
}

static bool vmx_long_mode(void *be)
{
    (void)be;
    return vmread(GUEST_IA32_EFER) & EFER_LMA;
}

static bool vmx_interrupt_shadow(void *be)
{
    (void)be;
    return vmread(GUEST_INTERRUPTIBILITY_INFO) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
}

static int vmx_gva_to_gpa(void *be, uint64_t gva, uint64_t *gpa)
{
    return vmx_translate(be, gva, gpa);
}

static int vmx_map(void *be, uint64_t gpa, uint64_t hpa, bool writable)
{
    return vmx_ept_map_page(be, gpa, hpa, writable);
}

static void vmx_set_idtr(void *be, uint64_t base, uint32_t limit)
{
    (void)be;
    vmwrite(GUEST_IDTR_BASE, base);
    vmwrite(GUEST_IDTR_LIMIT, limit);
}

/* Direct mode: physical interrupts go through the guest's (shadow) IDT, gated by its IF,
 * and a guest that waits with HLT halts the CPU itself (as on SVM). */
static void vmx_set_direct(void *be, bool direct)
{
    struct vmx_vcpu *v = vcpu_of(be);
    if (direct) {
        vmx_set_pin(v, v->pin_ctls & ~PIN_EXT_INTR_EXITING);
        vmx_set_cpu(v, v->cpu_ctls & ~CPU_HLT_EXITING);
    } else {
        vmx_set_pin(v, v->pin_ctls | PIN_EXT_INTR_EXITING);
        vmx_set_cpu(v, v->cpu_ctls | CPU_HLT_EXITING);
    }
}

static void vmx_set_eoi_intercept(void *be, bool intercept)
{
    vmx_msr_intercept(vcpu_of(be)->msr_bitmap, X2APIC_EOI, true, intercept);
}

static void vmx_set_window(void *be, bool on)
{
    struct vmx_vcpu *v = vcpu_of(be);
    vmx_set_cpu(v, on ? v->cpu_ctls | CPU_INTR_WINDOW_EXITING
                      : v->cpu_ctls & ~CPU_INTR_WINDOW_EXITING);
}

static void vmx_inject_interrupt(void *be, uint8_t vector)
{
    (void)be;
    vmwrite(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | vector);
}

static void vmx_cancel_event(void *be)
{
    (void)be;
    vmwrite(VM_ENTRY_INTR_INFO, 0);
}

static int vmx_delivering_exception(void *be)
{
    (void)be;
    uint32_t info = (uint32_t)vmread(IDT_VECTORING_INFO);
    if (!(info & INTR_INFO_VALID) || (info & INTR_TYPE_MASK) != INTR_TYPE_HW_EXCEPTION)
        return -1;
    return (int)(info & 0xff);
}

static void vmx_inject_exc(void *be, uint8_t vector, bool has_error, uint32_t error)
{
    vmx_inject_exception(be, vector, has_error, error);
}

/* The watchdog is the preemption timer, armed a full-rate tick period past the tick's
 * due time (vmx_eli_bound). */
static uint32_t vmx_watchdog_period_us(void)
{
    return (uint32_t)(hostclock_fast_period_tsc() * 1000000 / timing.tsc_hz);
}

static void vmx_start_probation(void *be, uint64_t now, uint32_t us)
{
    vcpu_of(be)->probation_until = now + timing.tsc_hz / 1000000 * us;
}

static const struct eli_cpu_ops vmx_eli_ops = {
    .rip = vmx_rip,
    .rflags = vmx_rflags,
    .long_mode = vmx_long_mode,
    .interrupt_shadow = vmx_interrupt_shadow,
    .read_guest = vmx_read_guest_at,
    .translate = vmx_gva_to_gpa,
    .map_page = vmx_map,
    .set_idtr = vmx_set_idtr,
    .set_direct = vmx_set_direct,
    .set_eoi_intercept = vmx_set_eoi_intercept,
    .set_window = vmx_set_window,
    .sync_tpr = NULL,
    .inject_interrupt = vmx_inject_interrupt,
    .cancel_event = vmx_cancel_event,
    .delivering_exception = vmx_delivering_exception,
    .inject_exception = vmx_inject_exc,
    .watchdog_period_us = vmx_watchdog_period_us,
    .start_probation = vmx_start_probation,
    .end_halted_cli = vmx_end_halted_cli,
};

void vmx_eli_init(struct vmx_vcpu *v)
{
    eli_cpu_init(&v->ecpu, &vmx_eli_ops, v, v->guest);
}

/* The preemption timer expired. In direct mode that is the watchdog: eli's tick did not
 * get in (its armed time is the tick's due time plus a full-rate period). Otherwise it
 * only bounded the stay (vmx.c, Bochs's masked interrupts), and the tick is taken now. */
void vmx_eli_preempted(struct vmx_vcpu *v)
{
    if (!v->ecpu.direct)
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
    return v->ecpu.direct ? due + fast : due + fast / 8;
}

void vmx_eli_before_entry(struct vmx_vcpu *v)
{
    uint64_t now = rdtsc();
    /* The preemption timer counts in guest mode only: a guest that keeps IF = 0 and
     * exits often (port I/O) re-arms it each time, and in direct mode eli handles exits
     * with interrupts off. So the watchdog also fires here, as the NMI would on SVM. */
    if (v->ecpu.direct && !v->watchdog && now > hostclock_next_tick_tsc() + hostclock_fast_period_tsc()) {
        v->watchdog = true;
        stats.watchdog_nmis++;
    }
    bool fired = v->watchdog || watchdog_fired;
    v->watchdog = false;
    watchdog_fired = false;
    eli_cpu_before_entry(&v->ecpu, fired);
}

void vmx_eli_after_exit(struct vmx_vcpu *v)
{
    eli_cpu_after_exit(&v->ecpu, v->ecpu.reinject);
}

void vmx_handle_np(struct vmx_vcpu *v, uint32_t err)
{
    eli_cpu_handle_np(&v->ecpu, err);
}
