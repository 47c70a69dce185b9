#include "arch/x86/svm/svm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/pt.h"
#include "arch/x86/regs.h"
#include "arch/x86/svm/exitcode.h"
#include "arch/x86/svm/msrpm.h"
#include "arch/x86/svm/vcpu.h"
#include "arch/x86/x2apic.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/vexit.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/guest.h"
#include "core/mm.h"
#include "core/vm.h"
#include "core/panic.h"
#include "core/stats.h"
#include "dev/ioport.h"
#include <string.h>

#define CPUID_8000_000A_EDX_NP (1u << 0)
#define VM_CR_SVMDIS (1ull << 4)
#define IOPM_PAGES 3
#define GUEST_ASID 1
#define EXCP_UD 6
#define EXCP_GP 13
#define EXCP_NP 11

void svm_vmrun(struct guest_gprs *gprs, uint64_t vmcb_pa, uint64_t host_save_pa);
extern uint64_t svm_exit_tsc; /* written by svm_vmrun right after #VMEXIT */
void svm_vmsave(uint64_t pa);
/* GIF = 0: interrupts and NMIs held, whatever IF is, until VMRUN (APM 15.17); svm_vmrun's
 * STGI after the exit lets them in. */
static inline void svm_clgi(void) { __asm__ volatile("clgi" ::: "memory"); }

struct svm_vcpu vcpu;

int svm_hw_init(char *err, size_t errlen)
{
    uint32_t r[4];
    cpuid(0x80000000u, 0, r);
    uint32_t max_ext = r[0];
    cpuid(0x80000001u, 0, r);
    if (max_ext < CPUID_8000_000A_SVM_FEATURES || !(r[2] & CPUID_8000_0001_ECX_SVM)) {
        fmt_snprintf(err, errlen, "this CPU has no AMD SVM (CPUID 8000_0001h ECX bit 2)");
        return -ENODEV;
    }
    if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
        fmt_snprintf(err, errlen, "SVM is disabled by the firmware (VM_CR.SVMDIS)");
        return -ENODEV;
    }
    cpuid(CPUID_8000_000A_SVM_FEATURES, 0, r);
    if (!(r[3] & CPUID_8000_000A_EDX_NP)) {
        fmt_snprintf(err, errlen, "this CPU's SVM has no nested paging");
        return -ENODEV;
    }
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    uint64_t hsave = mm_alloc_zeroed(1, 1);
    vcpu.host_save_pa = mm_alloc_zeroed(1, 1);
    if (!hsave || !vcpu.host_save_pa) {
        fmt_snprintf(err, errlen, "out of memory for SVM host state");
        return -ENOMEM;
    }
    wrmsr(MSR_VM_HSAVE_PA, hsave);
    /* eli's FS, GS, TR and syscall MSRs, restored after every exit */
    svm_vmsave(vcpu.host_save_pa);
    return 0;
}

/* ---- nested paging ---- */

/* Nested walks are user accesses (APM 15.25.5): leaves need US as well as RW. */
static int npt_build(struct svm_vcpu *v, const struct guest *g)
{
    v->npt_root = pt_host_ops.alloc_table(NULL);
    if (!v->npt_root)
        return -ENOMEM;
    return pt_map(&pt_host_ops, v->npt_root, 0, g->ram_hpa, g->mem.size, PTE_RW | PTE_US, true);
}

int svm_npt_map_page(struct svm_vcpu *v, uint64_t gpa, uint64_t hpa, bool writable)
{
    int rc = pt_remap_4k(&pt_host_ops, v->npt_root, gpa, hpa, PTE_US | (writable ? PTE_RW : 0));
    v->vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL; /* QEMU caches translations */
    return rc;
}

static bool overlaps_ram(uint64_t gpa, uint64_t size)
{
    return gpa < vcpu.guest->mem.size || gpa + size < gpa;
}

int svm_map_mmio(uint64_t gpa, uint64_t hpa, uint64_t size)
{
    if (overlaps_ram(gpa, size))
        return -EINVAL;
    int rc = pt_map(&pt_host_ops, vcpu.npt_root, gpa, hpa, size, PTE_RW | PTE_US | PTE_PCD | PTE_PWT,
                    false);
    vcpu.vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
    return rc;
}

int svm_unmap(uint64_t gpa, uint64_t size)
{
    if (overlaps_ram(gpa, size))
        return -EINVAL;
    int rc = pt_unmap(&pt_host_ops, vcpu.npt_root, gpa, size);
    vcpu.vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
    return rc;
}

/* ---- VMCB set-up ---- */

static void load_seg(struct vmcb_seg *d, const struct x86_seg *s)
{
    *d = (struct vmcb_seg){ s->selector, s->attrib, s->limit, s->base };
}

static void load_start_state(struct vmcb_save *st, const struct x86_start_state *s)
{
    load_seg(&st->cs, &s->cs);
    load_seg(&st->ds, &s->ds);
    load_seg(&st->es, &s->es);
    load_seg(&st->ss, &s->ss);
    load_seg(&st->fs, &s->fs);
    load_seg(&st->gs, &s->gs);
    load_seg(&st->tr, &s->tr);
    load_seg(&st->ldtr, &s->ldtr);
    st->gdtr = (struct vmcb_seg){ 0, 0, s->gdtr.limit, s->gdtr.base };
    st->idtr = (struct vmcb_seg){ 0, 0, s->idtr.limit, s->idtr.base };
    st->cr0 = s->cr0;
    st->cr3 = s->cr3;
    st->cr4 = s->cr4;
    /* VMRUN requires EFER.SVME in the guest state (APM 15.5.1); the guest reads
     * EFER through the MSR intercept, which hides the bit */
    st->efer = s->efer | EFER_SVME;
    st->rflags = s->rflags;
    st->rip = s->rip;
    st->rsp = s->rsp;
    st->rax = s->rax;
    st->dr6 = 0xFFFF0FF0;
    st->dr7 = 0x400;
    st->g_pat = 0x0007040600070406ull; /* the reset value */
    st->cpl = 0;
}

static int alloc_filled(uint64_t pages, uint64_t *pa)
{
    *pa = mm_alloc_zeroed(pages, 1);
    if (!*pa)
        return -ENOMEM;
    memset((void *)(uintptr_t)*pa, 0xff, pages * PAGE_SIZE);
    return 0;
}

int svm_vcpu_init(struct guest *g, const struct x86_start_state *s)
{
    uint64_t vmcb_pa = mm_alloc_zeroed(1, 1), iopm, msrpm;
    if (!vmcb_pa || alloc_filled(IOPM_PAGES, &iopm) || alloc_filled(MSRPM_SIZE / PAGE_SIZE, &msrpm))
        return -ENOMEM;
    vcpu.msrpm = (uint8_t *)(uintptr_t)msrpm;
    msrpm_init(vcpu.msrpm);
    /* The segment bases VMLOAD and VMSAVE switch around every VMRUN (svm_entry.S) are the
     * guest's alone while it runs: an OS writes FS's on every switch to a thread with its
     * own TLS (Linux: 4,000 exits in a 10 s sockperf run), and the CPU itself refuses a
     * non-canonical base with #GP (APM vol. 2, 15.11) */
    msrpm_set(vcpu.msrpm, MSR_FS_BASE, false, false);
    msrpm_set(vcpu.msrpm, MSR_GS_BASE, false, false);
    msrpm_set(vcpu.msrpm, MSR_KERNEL_GS_BASE, false, false);
    int rc = npt_build(&vcpu, g);
    if (rc)
        return rc;
    struct vmcb *vmcb = (struct vmcb *)(uintptr_t)vmcb_pa;
    struct vmcb_control *c = &vmcb->control;
    vcpu.vmcb = vmcb;
    vcpu.vmcb_pa = vmcb_pa;
    vcpu.guest = g;
    c->intercept_misc1 = INTERCEPT1_INTR | INTERCEPT1_NMI | INTERCEPT1_SMI | INTERCEPT1_INIT |
                         INTERCEPT1_CPUID | INTERCEPT1_HLT | INTERCEPT1_INVLPGA |
                         INTERCEPT1_IOIO_PROT | INTERCEPT1_MSR_PROT | INTERCEPT1_SHUTDOWN |
                         INTERCEPT1_IDTR_READ | INTERCEPT1_IDTR_WRITE;
    /* CR8 is the TPR: with V_INTR_MASKING clear a guest write would reach the
     * physical APIC (APM 15.21.4), so the virtual LAPIC serves it */
    c->intercept_cr = INTERCEPT_CR8_READ | INTERCEPT_CR8_WRITE;
    /* #NP: eli's own interrupts bounce out of direct mode this way */
    c->intercept_exceptions = 1u << EXCP_NP;
    /* every SVM instruction: the guest must never own GIF */
    c->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD |
                         INTERCEPT2_VMSAVE | INTERCEPT2_STGI | INTERCEPT2_CLGI | INTERCEPT2_SKINIT;
    c->iopm_base_pa = iopm;
    c->msrpm_base_pa = msrpm;
    c->guest_asid = GUEST_ASID;
    c->tlb_control = TLB_CONTROL_FLUSH_ALL;
    /* traditional delivery: physical interrupts exit, the guest's IF masks only
     * virtual ones (APM 15.21.1) */
    c->vintr = VINTR_V_INTR_MASKING;
    c->np_control = NP_ENABLE;
    c->ncr3 = vcpu.npt_root;
    load_start_state(&vmcb->save, s);
    vcpu.ecpu.idtr_base = s->idtr.base;
    vcpu.ecpu.idtr_limit = s->idtr.limit;
    vcpu.gprs.r[GPR_RBX] = s->rbx;
    vcpu.gprs.r[GPR_RDI] = s->rdi;
    svm_eli_init(&vcpu);
    return 0;
}

/* ---- exits ---- */

void svm_inject_exception(struct svm_vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    v->vmcb->control.eventinj = vector | EVENT_TYPE_EXCEPTION | EVENT_VALID |
                                (has_error ? EVENT_ERROR_VALID | (uint64_t)error << 32 : 0);
}

static void skip_insn(struct svm_vcpu *v, unsigned len)
{
    v->vmcb->save.rip += len;
}

void svm_dump_vmcb(const struct vmcb *vm)
{
    const struct vmcb_control *c = &vm->control;
    const struct vmcb_save *s = &vm->save;
    log_line("vmcb: exitcode 0x%llx info1 0x%llx info2 0x%llx intinfo 0x%llx",
             (unsigned long long)c->exitcode, (unsigned long long)c->exitinfo1,
             (unsigned long long)c->exitinfo2, (unsigned long long)c->exitintinfo);
    log_line("vmcb: rip 0x%llx rsp 0x%llx rax 0x%llx rflags 0x%llx cpl %u",
             (unsigned long long)s->rip, (unsigned long long)s->rsp, (unsigned long long)s->rax,
             (unsigned long long)s->rflags, s->cpl);
    log_line("vmcb: cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx",
             (unsigned long long)s->cr0, (unsigned long long)s->cr2, (unsigned long long)s->cr3,
             (unsigned long long)s->cr4, (unsigned long long)s->efer);
    log_line("vmcb: cs %x/%x/%x/%llx ss %x/%x gdtr %llx/%x idtr %llx/%x", s->cs.selector,
             s->cs.attrib, s->cs.limit, (unsigned long long)s->cs.base, s->ss.selector,
             s->ss.attrib, (unsigned long long)s->gdtr.base, s->gdtr.limit,
             (unsigned long long)s->idtr.base, s->idtr.limit);
}

typedef void (*exit_handler_fn)(struct svm_vcpu *v);

static void handle_nothing(struct svm_vcpu *v)
{
    (void)v; /* the host takes the interrupt or NMI itself at STGI */
}

static void handle_cpuid(struct svm_vcpu *v)
{
    uint32_t leaf = (uint32_t)v->vmcb->save.rax, sub = (uint32_t)v->gprs.r[GPR_RCX], r[4];
    cpuid(leaf, sub, r);
    cpuid_filter(leaf, sub, r);
    v->vmcb->save.rax = r[0];
    v->gprs.r[GPR_RBX] = r[1];
    v->gprs.r[GPR_RCX] = r[2];
    v->gprs.r[GPR_RDX] = r[3];
    skip_insn(v, 2);
}

/* The VMCB field that holds an MSR VMRUN switches, or NULL (FS_BASE, GS_BASE and
 * KERNEL_GS_BASE are not intercepted: svm_vcpu_init). */
static uint64_t *msr_field(struct vmcb_save *s, uint32_t msr)
{
    switch (msr) {
    case MSR_IA32_PAT: return &s->g_pat;
    case MSR_STAR: return &s->star;
    case MSR_LSTAR: return &s->lstar;
    case MSR_CSTAR: return &s->cstar;
    case MSR_SFMASK: return &s->sfmask;
    case MSR_SYSENTER_CS: return &s->sysenter_cs;
    case MSR_SYSENTER_ESP: return &s->sysenter_esp;
    case MSR_SYSENTER_EIP: return &s->sysenter_eip;
    default: return NULL;
    }
}

/* Returns false when the guest must get #GP. */
static bool msr_read(struct svm_vcpu *v, uint32_t msr, uint64_t *val)
{
    struct vmcb_save *s = &v->vmcb->save;
    int rc = vexit_apic_msr_read(v->guest, msr, val);
    if (rc != -ENOENT)
        return rc == 0;
    uint64_t *f = msr_field(s, msr);
    if (f) {
        *val = *f;
        return true;
    }
    switch (msr) {
    case MSR_EFER:
        *val = s->efer & ~EFER_SVME;
        return true;
    case MSR_IA32_TSC:
        *val = rdtsc();
        return true;
    default:
        return false;
    }
}

static bool msr_write(struct svm_vcpu *v, uint32_t msr, uint64_t val)
{
    struct vmcb_save *s = &v->vmcb->save;
    int rc = vlapic_msr_write(&v->guest->lapic, msr, val);
    if (rc != -ENOENT)
        return rc == 0;
    uint64_t *f = msr_field(s, msr);
    if (f) {
        if (!vexit_msr_value_valid(msr, val))
            return false;
        *f = val;
        return true;
    }
    if (msr == MSR_EFER) {
        uint64_t efer;
        if (!vexit_efer_write(s->efer, val, s->cr0 & CR0_PG, &efer))
            return false;
        s->efer = efer | EFER_SVME; /* SVME stays on underneath */
        return true;
    }
    return false;
}

static void handle_msr(struct svm_vcpu *v)
{
    uint32_t msr = (uint32_t)v->gprs.r[GPR_RCX];
    bool write = v->vmcb->control.exitinfo1 == 1, ok;
    if (write) {
        ok = msr_write(v, msr, (v->vmcb->save.rax & 0xffffffffu) | v->gprs.r[GPR_RDX] << 32);
    } else {
        uint64_t val = 0;
        ok = msr_read(v, msr, &val);
        if (ok) {
            v->vmcb->save.rax = (uint32_t)val;
            v->gprs.r[GPR_RDX] = val >> 32;
        }
    }
    if (ok) {
        skip_insn(v, 2);
        return;
    }
    vexit_log_msr_once(msr, write, write ? "unknown MSR or a value it refuses" : "unknown MSR");
    svm_inject_exception(v, EXCP_GP, true, 0);
}

static void handle_ioio(struct svm_vcpu *v)
{
    struct ioio_info io;
    uint64_t info1 = v->vmcb->control.exitinfo1;
    if (!svm_decode_ioio(info1, &io) || io.string) {
        log_line("guest string or malformed I/O (exitinfo1 0x%llx) at rip 0x%llx is not supported",
                 (unsigned long long)info1, (unsigned long long)v->vmcb->save.rip);
        run_end(EXIT_GUEST_ENDED, "unsupported-io");
    }
    uint32_t mask = io.size == 4 ? 0xffffffffu : (1u << (8 * io.size)) - 1;
    uint32_t val = (uint32_t)v->vmcb->save.rax & mask;
    /* EXITINFO2 holds the next RIP for IOIO (APM 15.10.2) */
    v->vmcb->save.rip = v->vmcb->control.exitinfo2;
    ioport_access(v->guest, io.port, io.size, io.in, &val);
    if (io.in)
        v->vmcb->save.rax = (v->vmcb->save.rax & ~(uint64_t)mask) | (val & mask);
}

void svm_end_halted_cli(uint64_t hlt_rip)
{
    log_line("guest halted with interrupts disabled at rip 0x%llx: it can never wake",
             (unsigned long long)hlt_rip);
    run_end(EXIT_GUEST_ENDED, "halt-with-interrupts-off");
}

static void handle_hlt(struct svm_vcpu *v)
{
    skip_insn(v, 1);
    if (!(v->vmcb->save.rflags & RFLAGS_IF))
        svm_end_halted_cli(v->vmcb->save.rip - 1);
    hostclock_idle_for_guest(&v->guest->lapic);
}

static void handle_shutdown(struct svm_vcpu *v)
{
    log_line("guest triple fault (shutdown) at rip 0x%llx, exitintinfo 0x%llx",
             (unsigned long long)v->vmcb->save.rip,
             (unsigned long long)v->vmcb->control.exitintinfo);
    svm_dump_vmcb(v->vmcb);
    run_end(EXIT_GUEST_ENDED, "triple-fault");
}

static void handle_npf(struct svm_vcpu *v)
{
    uint64_t gpa = v->vmcb->control.exitinfo2, err = v->vmcb->control.exitinfo1;
    const char *kind = err & NPF_FETCH ? "fetch" : err & NPF_WRITE ? "write" : "read";
    if ((err & NPF_WRITE) && eli_cpu_idt_write(&v->ecpu, gpa))
        return;
    if (!(err & NPF_FETCH) && svm_emulate_mmio(v, gpa))
        return;
    if (gpa < v->guest->mem.size)
        panic("nested page fault inside guest RAM at gpa 0x%llx (error 0x%llx)",
              (unsigned long long)gpa, (unsigned long long)err);
    log_line("guest touched guest-physical 0x%llx outside its RAM (%s) at rip 0x%llx",
             (unsigned long long)gpa, kind, (unsigned long long)v->vmcb->save.rip);
    run_end(EXIT_GUEST_ENDED, "outside-ram");
}

static void handle_cr8_read(struct svm_vcpu *v)
{
    svm_handle_cr8(v, false);
}

static void handle_cr8_write(struct svm_vcpu *v)
{
    svm_handle_cr8(v, true);
}

static void handle_vm_insn(struct svm_vcpu *v)
{
    /* with SVM hidden, these raise #UD as on a CPU without it */
    svm_inject_exception(v, EXCP_UD, false, 0);
}

static const exit_handler_fn exit_handlers[] = {
    [SVM_EXIT_INTR] = handle_nothing,    [SVM_EXIT_NMI] = handle_nothing,
    [SVM_EXIT_SMI] = handle_nothing,     [SVM_EXIT_CPUID] = handle_cpuid,
    [SVM_EXIT_HLT] = handle_hlt,         [SVM_EXIT_IOIO] = handle_ioio,
    [SVM_EXIT_MSR] = handle_msr,         [SVM_EXIT_SHUTDOWN] = handle_shutdown,
    [SVM_EXIT_VMRUN] = handle_vm_insn,   [SVM_EXIT_VMMCALL] = handle_vm_insn,
    [SVM_EXIT_VMLOAD] = handle_vm_insn,  [SVM_EXIT_VMSAVE] = handle_vm_insn,
    [SVM_EXIT_STGI] = handle_vm_insn,    [SVM_EXIT_CLGI] = handle_vm_insn,
    [SVM_EXIT_SKINIT] = handle_vm_insn,  [SVM_EXIT_INVLPGA] = handle_vm_insn,
    [SVM_EXIT_IDTR_READ] = svm_handle_dtr, [SVM_EXIT_IDTR_WRITE] = svm_handle_dtr,
    [SVM_EXIT_EXCP_BASE + EXCP_NP] = svm_handle_np, [SVM_EXIT_VINTR] = svm_handle_vintr,
    [SVM_EXIT_CR8_READ] = handle_cr8_read, [SVM_EXIT_CR8_WRITE] = handle_cr8_write,
};

static void handle_unknown(struct svm_vcpu *v)
{
    char name[24];
    uint64_t code = v->vmcb->control.exitcode;
    svm_dump_vmcb(v->vmcb);
    if (code == SVM_EXIT_INVALID)
        panic("VMRUN refused the guest state (exit code -1)");
    log_line("unhandled exit %s (code 0x%llx) at rip 0x%llx", svm_exit_name(code, name, sizeof(name)),
             (unsigned long long)code, (unsigned long long)v->vmcb->save.rip);
    run_end(EXIT_GUEST_ENDED, "unhandled-exit");
}

static void dispatch_exit(struct svm_vcpu *v)
{
    uint64_t code = v->vmcb->control.exitcode;
    stats.exits[svm_exit_reason(code)]++;
    stats.exits_total++;
    exit_handler_fn fn = NULL;
    if (code == SVM_EXIT_NPF)
        fn = handle_npf;
    else if (code < sizeof(exit_handlers) / sizeof(exit_handlers[0]))
        fn = exit_handlers[code];
    (fn ? fn : handle_unknown)(v);
    vexit_log_dropped_ipis(&v->guest->lapic);
}

void svm_run(struct guest *g)
{
    (void)g;
    uint64_t vmcb_pa = (uint64_t)(uintptr_t)vcpu.vmcb;
    stats.run_start_tsc = rdtsc();
    hostclock_start_accounting();
    /* eli handles every exit with interrupts off: its interrupt handlers (an assigned
     * device's, the tick) change the guest's LAPIC and eli's own state, so they must not
     * run in the middle of an exit's handling. In injection mode they run at STGI right
     * after the exit, in a window before the entry decision (eli_cpu_before_entry) and
     * while the guest halts (hostclock_idle_for_guest). */
    irq_disable();
    for (;;) {
        svm_eli_before_entry(&vcpu);
        /* GIF = 0 holds interrupts from CLGI to VMRUN whatever IF is (APM 15.17): one
         * that comes after eli_plan looked makes the guest exit at once. The host's IF at
         * VMRUN is the host's IF after the exit. In direct mode it stays off, so an
         * assigned interrupt that comes meanwhile stays pending and reaches the guest
         * directly at entry instead of being taken and injected. Injection mode needs IF
         * on: with V_INTR_MASKING it is what lets physical interrupts exit (APM 15.21.1). */
        svm_clgi();
        if (!vcpu.ecpu.direct)
            irq_enable();
        uint64_t t0 = rdtsc();
        svm_vmrun(&vcpu.gprs, vmcb_pa, vcpu.host_save_pa);
        irq_disable();
        stats.guest_cycles += svm_exit_tsc - t0;
        vcpu.vmcb->control.tlb_control = 0;
        vcpu.vmcb->control.eventinj = 0;
        svm_eli_after_exit(&vcpu);
        dispatch_exit(&vcpu);
    }
}
