/* ELI on SVM: how eli_cpu.c's steps are written into the VMCB, the nested page tables and
 * the MSR permission map, and the SVM exits that belong to ELI. The steps are
 * arch/x86/eli_cpu.c's, the decisions hv/eli/eli.c's. */
#include "arch/x86/cpu.h"
#include "arch/x86/hpet.h"
#include "arch/x86/svm/msrpm.h"
#include "arch/x86/svm/vcpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/x2apic.h"
#include "core/guest.h"

static struct svm_vcpu *vcpu_of(void *be)
{
    return be;
}

static uint64_t svm_rip(void *be)
{
    return vcpu_of(be)->vmcb->save.rip;
}

static uint64_t svm_rflags(void *be)
{
    return vcpu_of(be)->vmcb->save.rflags;
}

static bool svm_long_mode(void *be)
{
    return vcpu_of(be)->vmcb->save.efer & EFER_LMA;
}

static bool svm_interrupt_shadow(void *be)
{
    return vcpu_of(be)->vmcb->control.interrupt_shadow & INTERRUPT_SHADOW;
}

static int svm_gva_to_gpa(void *be, uint64_t gva, uint64_t *gpa)
{
    return svm_translate(be, gva, gpa);
}

static int svm_map(void *be, uint64_t gpa, uint64_t hpa, bool writable)
{
    return svm_npt_map_page(be, gpa, hpa, writable);
}

static void svm_set_idtr(void *be, uint64_t base, uint32_t limit)
{
    struct vmcb_save *s = &vcpu_of(be)->vmcb->save;
    s->idtr.base = base;
    s->idtr.limit = limit;
}

/* Direct mode: physical interrupts go through the guest's (shadow) IDT, gated by its IF
 * alone (V_INTR_MASKING off, APM 15.21.1), and HLT halts the CPU in guest mode. */
static void svm_set_direct(void *be, bool direct)
{
    struct vmcb_control *c = &vcpu_of(be)->vmcb->control;
    if (direct) {
        c->intercept_misc1 &= ~(INTERCEPT1_INTR | INTERCEPT1_HLT);
        c->vintr &= ~VINTR_V_INTR_MASKING;
    } else {
        c->intercept_misc1 |= INTERCEPT1_INTR | INTERCEPT1_HLT;
        c->vintr |= VINTR_V_INTR_MASKING;
    }
}

static void svm_set_eoi_intercept(void *be, bool intercept)
{
    msrpm_set(vcpu_of(be)->msrpm, X2APIC_EOI, true, intercept);
}

static void svm_set_window(void *be, bool on)
{
    struct vmcb_control *c = &vcpu_of(be)->vmcb->control;
    if (on) {
        c->vintr |= VINTR_V_IRQ | VINTR_V_IGN_TPR;
        c->intercept_misc1 |= INTERCEPT1_VINTR;
    } else {
        c->vintr &= ~(VINTR_V_IRQ | VINTR_V_IGN_TPR);
        c->intercept_misc1 &= ~INTERCEPT1_VINTR;
    }
}

/* the guest's CR8 reads see V_TPR outside direct mode (QEMU does not intercept them,
 * docs/eli.md) */
static void svm_sync_tpr(void *be, uint8_t tpr)
{
    struct vmcb_control *c = &vcpu_of(be)->vmcb->control;
    c->vintr = (c->vintr & ~VINTR_V_TPR_MASK) | (tpr >> 4 & VINTR_V_TPR_MASK);
}

static void svm_inject_interrupt(void *be, uint8_t vector)
{
    vcpu_of(be)->vmcb->control.eventinj = vector | EVENT_TYPE_INTR | EVENT_VALID;
}

static void svm_cancel_event(void *be)
{
    vcpu_of(be)->vmcb->control.eventinj = 0;
}

static int svm_delivering_exception(void *be)
{
    uint64_t info = vcpu_of(be)->vmcb->control.exitintinfo;
    if (!(info & EVENT_VALID) || (info & 0x700) != EVENT_TYPE_EXCEPTION)
        return -1;
    return (int)(info & 0xff);
}

static void svm_inject_exc(void *be, uint8_t vector, bool has_error, uint32_t error)
{
    svm_inject_exception(be, vector, has_error, error);
}

/* The watchdog is the HPET's NMI. */
static uint32_t svm_watchdog_period_us(void)
{
    return hpet_watchdog_period_us();
}

static void svm_start_probation(void *be, uint64_t now, uint32_t us)
{
    (void)be;
    (void)now;
    hpet_watchdog_soon(us);
}

static const struct eli_cpu_ops svm_eli_ops = {
    .rip = svm_rip,
    .rflags = svm_rflags,
    .long_mode = svm_long_mode,
    .interrupt_shadow = svm_interrupt_shadow,
    .read_guest = svm_read_guest_at,
    .translate = svm_gva_to_gpa,
    .map_page = svm_map,
    .set_idtr = svm_set_idtr,
    .set_direct = svm_set_direct,
    .set_eoi_intercept = svm_set_eoi_intercept,
    .set_window = svm_set_window,
    .sync_tpr = svm_sync_tpr,
    .inject_interrupt = svm_inject_interrupt,
    .cancel_event = svm_cancel_event,
    .delivering_exception = svm_delivering_exception,
    .inject_exception = svm_inject_exc,
    .watchdog_period_us = svm_watchdog_period_us,
    .start_probation = svm_start_probation,
    .end_halted_cli = svm_end_halted_cli,
};

void svm_eli_init(struct svm_vcpu *v)
{
    eli_cpu_init(&v->ecpu, &svm_eli_ops, v, v->guest);
}

void svm_eli_before_entry(struct svm_vcpu *v)
{
    bool fired = watchdog_fired;
    watchdog_fired = false;
    eli_cpu_before_entry(&v->ecpu, fired);
}

void svm_eli_after_exit(struct svm_vcpu *v)
{
    struct vmcb_control *c = &v->vmcb->control;
    /* an event the exit interrupted is delivered again (APM 15.7.2) */
    bool reinject = c->exitintinfo & EVENT_VALID;
    if (reinject)
        c->eventinj = c->exitintinfo;
    eli_cpu_after_exit(&v->ecpu, reinject);
}

void svm_handle_np(struct svm_vcpu *v)
{
    eli_cpu_handle_np(&v->ecpu, (uint32_t)v->vmcb->control.exitinfo1);
}

void svm_handle_vintr(struct svm_vcpu *v)
{
    svm_set_window(v, false); /* eli_plan injects now that the guest can take it */
}
