/* The Intel VMX backend: VMX root operation, the VMCS, EPT for the guest's RAM, and
 * the exit loop. ELI's modes are applied in vmx_eli.c, LIDT/SIDT emulated in
 * vmx_emul.c (docs/vmx.md). */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/desc.h"
#include "arch/x86/pt.h"
#include "arch/x86/regs.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "arch/x86/vexit.h"
#include "arch/x86/vmx/exitreason.h"
#include "arch/x86/vmx/vcpu.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/x2apic.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/guest.h"
#include "core/mm.h"
#include "core/panic.h"
#include "core/stats.h"
#include "dev/ioport.h"
#include <string.h>

#define EXCP_UD 6
#define EXCP_DF 8
#define EXCP_NP 11
#define EXCP_GP 13
#define CR0_NE_BIT (1ull << 5)
#define CR4_VMXE (1ull << 13)
#define CR4_PCIDE (1ull << 17)

int vmx_enter(struct guest_gprs *gprs, int launched);
void vmx_exit(void);
extern uint64_t vmx_exit_tsc; /* written by the stub right after the exit */

static struct vmx_vcpu vcpu;

/* What the CPU allows for each control word (SDM vol. 3, appendix A.3-A.5: bits 31:0
 * must be 1 where set, bits 63:32 may be 1 where set). The TRUE MSRs, where
 * IA32_VMX_BASIC bit 55 offers them, let default-1 controls be cleared. */
static struct {
    uint64_t pin, cpu, cpu2, exit, entry;
    uint32_t revision;
    uint64_t ept_cap;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    unsigned preempt_shift; /* the preemption timer counts TSC >> this (IA32_VMX_MISC 4:0) */
} caps;

/* want | the must-be-one bits, or -1 in *missing when a wanted bit is not allowed. */
static uint32_t adjust(uint64_t cap, uint32_t want, uint32_t *missing)
{
    uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);
    *missing |= want & ~may;
    return (want | must) & may;
}

static int read_caps(char *err, size_t errlen)
{
    uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
    bool true_ctls = basic & VMX_BASIC_TRUE_CTLS;
    caps.revision = (uint32_t)(basic & VMX_BASIC_REVISION_MASK);
    caps.pin = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
    caps.cpu = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
    caps.exit = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
    caps.entry = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
    caps.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    caps.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    caps.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    caps.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    caps.preempt_shift = (unsigned)(rdmsr(MSR_IA32_VMX_MISC) & 0x1f);
    if (!((caps.pin >> 32) & PIN_PREEMPTION_TIMER)) {
        fmt_snprintf(err, errlen, "this CPU's VMX has no preemption timer");
        return -ENODEV;
    }
    if (!((caps.cpu >> 32) & CPU_SECONDARY_CONTROLS)) {
        fmt_snprintf(err, errlen, "this CPU's VMX has no secondary controls (so no EPT)");
        return -ENODEV;
    }
    caps.cpu2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
    uint32_t need2 = CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST;
    if (((caps.cpu2 >> 32) & need2) != need2) {
        fmt_snprintf(err, errlen, "this CPU's VMX lacks EPT or unrestricted guest");
        return -ENODEV;
    }
    caps.ept_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
    if (!(caps.ept_cap & EPT_CAP_WALK_4) || !(caps.ept_cap & EPT_CAP_WB)) {
        fmt_snprintf(err, errlen, "this CPU's EPT has no 4-level walk with write-back tables");
        return -ENODEV;
    }
    return 0;
}

int vmx_hw_init(char *err, size_t errlen)
{
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK)) {
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
    } else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
        fmt_snprintf(err, errlen, "VMX is disabled by the firmware (IA32_FEATURE_CONTROL)");
        return -ENODEV;
    }
    int rc = read_caps(err, errlen);
    if (rc)
        return rc;
    /* VMXON requires CR0 and CR4 to honour the fixed bits, CR0.NE and CR4.VMXE among
     * them (SDM vol. 3, 24.8) */
    uint64_t cr0 = (read_cr0() | caps.cr0_fixed0) & caps.cr0_fixed1;
    uint64_t cr4 = (read_cr4() | caps.cr4_fixed0 | CR4_VMXE) & caps.cr4_fixed1;
    __asm__ volatile("mov %0, %%cr0" ::"r"(cr0) : "memory");
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4) : "memory");
    uint64_t region = mm_alloc_zeroed(1, 1);
    if (!region) {
        fmt_snprintf(err, errlen, "out of memory for the VMXON region");
        return -ENOMEM;
    }
    ((struct vmx_region *)(uintptr_t)region)->revision_id = caps.revision;
    if (vmx_on(region)) {
        fmt_snprintf(err, errlen, "VMXON failed");
        return -EIO;
    }
    return 0;
}

/* ---- EPT ---- */

/* pt.c's builder serves EPT too: its P, RW and US are EPT's R, W and X, and its table
 * entries (P | RW | US) are EPT's read-write-execute non-leaf entries (vmcs.h). */
_Static_assert(EPT_R == PTE_P && EPT_W == PTE_RW && EPT_X == PTE_US, "EPT bits 0-2 as pt.c's");
#define EPT_RAM (EPT_R | EPT_W | EPT_X | EPT_MT_WB)
#define EPT_MMIO (EPT_R | EPT_W | EPT_X | EPT_MT_UC)

static void ept_flush(void)
{
    if (!(caps.ept_cap & EPT_CAP_INVEPT))
        return;
    if (caps.ept_cap & EPT_CAP_INVEPT_SINGLE)
        vmx_invept(INVEPT_SINGLE_CONTEXT, vcpu.eptp);
    else
        vmx_invept(INVEPT_ALL_CONTEXTS, 0);
}

static bool overlaps_ram(uint64_t gpa, uint64_t size)
{
    return gpa < vcpu.guest->mem.size || gpa + size < gpa;
}

int vmx_map_mmio(uint64_t gpa, uint64_t hpa, uint64_t size)
{
    if (overlaps_ram(gpa, size))
        return -EINVAL;
    int rc = pt_map(&pt_host_ops, vcpu.ept_root, gpa, hpa, size, EPT_MMIO, false);
    ept_flush();
    return rc;
}

int vmx_ept_map_page(struct vmx_vcpu *v, uint64_t gpa, uint64_t hpa, bool writable)
{
    int rc = pt_remap_4k(&pt_host_ops, v->ept_root, gpa, hpa,
                         EPT_R | EPT_X | EPT_MT_WB | (writable ? EPT_W : 0));
    ept_flush();
    return rc;
}

int vmx_unmap(uint64_t gpa, uint64_t size)
{
    if (overlaps_ram(gpa, size))
        return -EINVAL;
    int rc = pt_unmap(&pt_host_ops, vcpu.ept_root, gpa, size);
    ept_flush();
    return rc;
}

/* Guest RAM only, in 2 MiB pages where they fit: eli's own memory is not mapped, as
 * with the NPT. */
static int ept_build(struct vmx_vcpu *v, const struct guest *g)
{
    v->ept_root = pt_host_ops.alloc_table(NULL);
    if (!v->ept_root)
        return -ENOMEM;
    v->eptp = v->ept_root | EPTP_WALK_4 | EPTP_MT_WB;
    return pt_map(&pt_host_ops, v->ept_root, 0, g->ram_hpa, g->mem.size, EPT_RAM,
                  (caps.ept_cap & EPT_CAP_2M) != 0);
}

/* ---- the MSR bitmap ---- */

void vmx_msr_intercept(struct vmx_msr_bitmap *b, uint32_t msr, bool read, bool write)
{
    uint8_t *r, *w;
    if (msr <= 0x1fff) {
        r = b->read_low;
        w = b->write_low;
    } else if (msr >= 0xc0000000u && msr <= 0xc0001fffu) {
        r = b->read_high;
        w = b->write_high;
        msr -= 0xc0000000u;
    } else {
        return; /* outside the bitmap every access exits */
    }
    uint8_t bit = (uint8_t)(1u << (msr & 7));
    r[msr >> 3] = read ? r[msr >> 3] | bit : r[msr >> 3] & ~bit;
    w[msr >> 3] = write ? w[msr >> 3] | bit : w[msr >> 3] & ~bit;
}

/* ---- VMCS set-up ---- */

/* x86_seg's attributes (descriptor bits 47:40 in 7:0, 55:52 in 11:8) in the VMCS's
 * access-rights format (25.4.1: 55:52 in 15:12); a segment that is not present is
 * marked unusable. The limit is already in bytes; VM entry wants G set for a limit
 * above 1 MiB (27.3.1.2), which SVM never checks (the 64-bit start's CS lacks it). */
#define VMX_AR_G (1u << 15)
static uint32_t vmx_ar(const struct x86_seg *s)
{
    if (!(s->attrib & 0x80))
        return VMX_AR_UNUSABLE;
    uint32_t ar = (s->attrib & 0xffu) | (uint32_t)(s->attrib & 0xf00u) << 4;
    return s->limit > 0xfffffu ? ar | VMX_AR_G : ar;
}

#define LOAD_SEG(SEG, s)                                     \
    do {                                                     \
        vmwrite(GUEST_##SEG##_SELECTOR, (s)->selector);      \
        vmwrite(GUEST_##SEG##_LIMIT, (s)->limit);            \
        vmwrite(GUEST_##SEG##_BASE, (s)->base);              \
        vmwrite(GUEST_##SEG##_AR_BYTES, vmx_ar(s));          \
    } while (0)

/* The guest's CR0 and CR4 as the CPU must hold them (the fixed bits, 24.8; PE and PG
 * are free with unrestricted guest); the guest reads its own values from the shadows. */
static uint64_t cr0_real(uint64_t cr0)
{
    uint64_t fixed0 = caps.cr0_fixed0 & ~(uint64_t)(CR0_PE | CR0_PG);
    return (cr0 | fixed0) & caps.cr0_fixed1;
}

static uint64_t cr4_real(uint64_t cr4)
{
    return (cr4 | caps.cr4_fixed0) & caps.cr4_fixed1;
}

static void load_guest_state(struct vmx_vcpu *v, const struct x86_start_state *s)
{
    LOAD_SEG(CS, &s->cs);
    LOAD_SEG(DS, &s->ds);
    LOAD_SEG(ES, &s->es);
    LOAD_SEG(SS, &s->ss);
    LOAD_SEG(FS, &s->fs);
    LOAD_SEG(GS, &s->gs);
    LOAD_SEG(TR, &s->tr);
    /* a null LDT selector: unusable (an LDT must have a GDT entry to be usable) */
    if (s->ldtr.selector) {
        LOAD_SEG(LDTR, &s->ldtr);
    } else {
        vmwrite(GUEST_LDTR_SELECTOR, 0);
        vmwrite(GUEST_LDTR_LIMIT, 0);
        vmwrite(GUEST_LDTR_BASE, 0);
        vmwrite(GUEST_LDTR_AR_BYTES, VMX_AR_UNUSABLE);
    }
    vmwrite(GUEST_GDTR_BASE, s->gdtr.base);
    vmwrite(GUEST_GDTR_LIMIT, s->gdtr.limit);
    vmwrite(GUEST_IDTR_BASE, s->idtr.base);
    vmwrite(GUEST_IDTR_LIMIT, s->idtr.limit);
    v->cr0_shadow = s->cr0;
    v->cr4_shadow = s->cr4;
    vmwrite(GUEST_CR0, cr0_real(s->cr0));
    vmwrite(GUEST_CR3, s->cr3);
    vmwrite(GUEST_CR4, cr4_real(s->cr4));
    vmwrite(CR0_READ_SHADOW, s->cr0);
    vmwrite(CR4_READ_SHADOW, s->cr4);
    /* the bits the CPU forces are eli's, and PG (IA-32e mode follows it: cr0_write):
     * a guest write that would change them exits */
    vmwrite(CR0_GUEST_HOST_MASK, ((caps.cr0_fixed0 | ~caps.cr0_fixed1) & ~(uint64_t)CR0_PE) | CR0_PG);
    vmwrite(CR4_GUEST_HOST_MASK, caps.cr4_fixed0 | ~caps.cr4_fixed1);
    vmwrite(GUEST_IA32_EFER, s->efer);
    vmwrite(GUEST_IA32_PAT, 0x0007040600070406ull); /* the reset value */
    vmwrite(GUEST_IA32_DEBUGCTL, 0);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_RFLAGS, s->rflags);
    vmwrite(GUEST_RIP, s->rip);
    vmwrite(GUEST_RSP, s->rsp);
    vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmwrite(GUEST_ACTIVITY_STATE, 0);
    vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmwrite(VMCS_LINK_POINTER, ~0ull); /* no shadow VMCS (26.3.1.5) */
    v->gprs.r[GPR_RAX] = s->rax;
    v->gprs.r[GPR_RBX] = s->rbx;
    v->gprs.r[GPR_RDI] = s->rdi;
}

/* The base of the TSS eli's TR selects, from its GDT descriptor (two slots). */
static uint64_t host_tr_base(uint64_t gdt_base)
{
    const uint64_t *d = (const uint64_t *)(uintptr_t)(gdt_base + SEL_TSS);
    return ((d[0] >> 16) & 0xffffffull) | ((d[0] >> 56) & 0xff) << 24 | (d[1] & 0xffffffffull) << 32;
}

static void load_host_state(void)
{
    struct dtr gdtr, idtr;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, read_cr4());
    vmwrite(HOST_CS_SELECTOR, SEL_CODE64);
    vmwrite(HOST_SS_SELECTOR, SEL_DATA);
    vmwrite(HOST_DS_SELECTOR, SEL_DATA);
    vmwrite(HOST_ES_SELECTOR, SEL_DATA);
    vmwrite(HOST_FS_SELECTOR, 0);
    vmwrite(HOST_GS_SELECTOR, 0);
    /* VM entry requires a host TR (26.2.3): eli's TSS also holds its IST stacks */
    vmwrite(HOST_TR_SELECTOR, SEL_TSS);
    vmwrite(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmwrite(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
    vmwrite(HOST_TR_BASE, host_tr_base(gdtr.base));
    vmwrite(HOST_GDTR_BASE, gdtr.base);
    vmwrite(HOST_IDTR_BASE, idtr.base);
    vmwrite(HOST_IA32_SYSENTER_CS, 0);
    vmwrite(HOST_IA32_SYSENTER_ESP, 0);
    vmwrite(HOST_IA32_SYSENTER_EIP, 0);
    vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
    vmwrite(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit);
}

static int load_controls(struct vmx_vcpu *v, const struct x86_start_state *s, uint32_t *missing)
{
    /* The preemption timer bounds every stay in the guest (vmx_run). */
    uint32_t pin = adjust(caps.pin, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | PIN_PREEMPTION_TIMER,
                          missing);
    /* CR8 is the TPR: the virtual LAPIC serves it. Every port exits (SVM's IOPM is all
     * ones too). MSRs exit as the bitmap says. */
    uint32_t cpu = adjust(caps.cpu, CPU_HLT_EXITING | CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING |
                          CPU_UNCOND_IO_EXITING | CPU_USE_MSR_BITMAPS | CPU_SECONDARY_CONTROLS,
                          missing);
    /* LIDT and SIDT exit: the guest's IDTR is recorded, its SIDT sees its own */
    uint32_t cpu2 = adjust(caps.cpu2, CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST |
                           CPU2_DESC_TABLE_EXITING, missing);
    uint32_t exit = adjust(caps.exit, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_IA32_PAT |
                           EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER, missing);
    uint32_t entry = adjust(caps.entry, ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER |
                            ((s->efer & EFER_LMA) ? ENTRY_IA32E_MODE_GUEST : 0), missing);
    /* the TRUE MSRs may still require these; eli wants them off */
    cpu &= ~(uint32_t)(CPU_USE_IO_BITMAPS) | (uint32_t)caps.cpu;
    vmwrite(PIN_BASED_VM_EXEC_CONTROL, pin);
    vmwrite(CPU_BASED_VM_EXEC_CONTROL, cpu);
    vmwrite(SECONDARY_VM_EXEC_CONTROL, cpu2);
    vmwrite(VM_EXIT_CONTROLS, exit);
    vmwrite(VM_ENTRY_CONTROLS, entry);
    /* #NP: eli's own interrupts bounce out of direct mode this way */
    vmwrite(EXCEPTION_BITMAP, 1u << EXCP_NP);
    vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VM_ENTRY_INTR_INFO, 0);
    vmwrite(MSR_BITMAP, (uint64_t)(uintptr_t)v->msr_bitmap);
    vmwrite(EPT_POINTER, v->eptp);
    v->cpu_ctls = cpu;
    v->pin_ctls = pin;
    return *missing ? -ENODEV : 0;
}

int vmx_vcpu_init(struct guest *g, const struct x86_start_state *s)
{
    uint64_t vmcs = mm_alloc_zeroed(1, 1), bitmap = mm_alloc_zeroed(1, 1);
    if (!vmcs || !bitmap)
        return -ENOMEM;
    vcpu.guest = g;
    vcpu.vmcs_pa = vmcs;
    vcpu.msr_bitmap = (struct vmx_msr_bitmap *)(uintptr_t)bitmap;
    memset(vcpu.msr_bitmap, 0xff, sizeof(*vcpu.msr_bitmap));
    /* Not switched by VM entry and exit, and eli itself never uses them (no SYSCALL, no
     * SWAPGS): they are the guest's alone. FS and GS bases are in the VMCS. */
    static const uint32_t passthrough[] = { MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,
                                            MSR_LSTAR, MSR_CSTAR, MSR_SFMASK };
    for (unsigned i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++)
        vmx_msr_intercept(vcpu.msr_bitmap, passthrough[i], false, false);
    int rc = ept_build(&vcpu, g);
    if (rc)
        return rc;
    ((struct vmx_region *)(uintptr_t)vmcs)->revision_id = caps.revision;
    if (vmx_clear(vmcs) || vmx_ptrld(vmcs))
        panic("VMCLEAR or VMPTRLD of a fresh VMCS failed");
    uint32_t missing = 0;
    if (load_controls(&vcpu, s, &missing))
        panic("this CPU's VMX lacks control bits 0x%x eli needs", missing);
    load_host_state();
    load_guest_state(&vcpu, s);
    vcpu.ecpu.idtr_base = s->idtr.base;
    vcpu.ecpu.idtr_limit = s->idtr.limit;
    vmx_eli_init(&vcpu);
    return 0;
}

/* ---- exits ---- */

void vmx_inject_exception(struct vmx_vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    vmwrite(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
                                (has_error ? INTR_INFO_DELIVER_CODE : 0));
    if (has_error)
        vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
    v->ecpu.reinject = false;
}

void vmx_skip_insn(void)
{
    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
    /* the instruction is done: an STI or MOV SS shadow before it is over */
    uint64_t intr = vmread(GUEST_INTERRUPTIBILITY_INFO);
    if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
        vmwrite(GUEST_INTERRUPTIBILITY_INFO, intr & ~(uint64_t)(INTERRUPTIBILITY_STI |
                                                                 INTERRUPTIBILITY_MOV_SS));
}

static void dump_vmcs(void)
{
    log_line("vmcs: exit reason 0x%llx qualification 0x%llx intr info 0x%llx idt vectoring 0x%llx",
             (unsigned long long)vmread(VM_EXIT_REASON), (unsigned long long)vmread(EXIT_QUALIFICATION),
             (unsigned long long)vmread(VM_EXIT_INTR_INFO), (unsigned long long)vmread(IDT_VECTORING_INFO));
    log_line("vmcs: rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx",
             (unsigned long long)vmread(GUEST_RIP), (unsigned long long)vmread(GUEST_RSP),
             (unsigned long long)vmread(GUEST_RFLAGS), (unsigned long long)vmread(GUEST_CR0),
             (unsigned long long)vmread(GUEST_CR3), (unsigned long long)vmread(GUEST_CR4),
             (unsigned long long)vmread(GUEST_IA32_EFER));
    log_line("vmcs: cs %llx/%llx/%llx ss %llx/%llx tr %llx/%llx entry ctls 0x%llx",
             (unsigned long long)vmread(GUEST_CS_SELECTOR), (unsigned long long)vmread(GUEST_CS_AR_BYTES),
             (unsigned long long)vmread(GUEST_CS_BASE), (unsigned long long)vmread(GUEST_SS_SELECTOR),
             (unsigned long long)vmread(GUEST_SS_AR_BYTES), (unsigned long long)vmread(GUEST_TR_SELECTOR),
             (unsigned long long)vmread(GUEST_TR_AR_BYTES), (unsigned long long)vmread(VM_ENTRY_CONTROLS));
}

typedef void (*exit_handler_fn)(struct vmx_vcpu *v);

static void handle_nothing(struct vmx_vcpu *v)
{
    (void)v; /* the host takes the interrupt or NMI itself once its IF is set */
}

static void handle_cpuid(struct vmx_vcpu *v)
{
    uint32_t leaf = (uint32_t)v->gprs.r[GPR_RAX], sub = (uint32_t)v->gprs.r[GPR_RCX], r[4];
    cpuid(leaf, sub, r);
    cpuid_filter(leaf, sub, r);
    v->gprs.r[GPR_RAX] = r[0];
    v->gprs.r[GPR_RBX] = r[1];
    v->gprs.r[GPR_RCX] = r[2];
    v->gprs.r[GPR_RDX] = r[3];
    vmx_skip_insn();
}

/* The VMCS field that holds an MSR VM entry and exit switch, or 0. */
static enum vmcs_field msr_field(uint32_t msr)
{
    switch (msr) {
    case MSR_IA32_PAT: return GUEST_IA32_PAT;
    case MSR_SYSENTER_CS: return GUEST_SYSENTER_CS;
    case MSR_SYSENTER_ESP: return GUEST_SYSENTER_ESP;
    case MSR_SYSENTER_EIP: return GUEST_SYSENTER_EIP;
    default: return 0;
    }
}

/* Returns false when the guest must get #GP. */
static bool msr_read(struct vmx_vcpu *v, uint32_t msr, uint64_t *val)
{
    int rc = vexit_apic_msr_read(v->guest, msr, val);
    if (rc != -ENOENT)
        return rc == 0;
    enum vmcs_field f = msr_field(msr);
    if (f) {
        *val = vmread(f);
        return true;
    }
    switch (msr) {
    case MSR_EFER:
        *val = vmread(GUEST_IA32_EFER);
        return true;
    case MSR_IA32_TSC:
        *val = rdtsc();
        return true;
    default:
        return false;
    }
}

static bool msr_write(struct vmx_vcpu *v, uint32_t msr, uint64_t val)
{
    int rc = vlapic_msr_write(&v->guest->lapic, msr, val);
    if (rc != -ENOENT)
        return rc == 0;
    enum vmcs_field f = msr_field(msr);
    if (f) {
        if (!vexit_msr_value_valid(msr, val))
            return false;
        vmwrite(f, val);
        return true;
    }
    if (msr == MSR_EFER) {
        /* the CPU sets LMA, and the IA-32e mode entry control, when the guest turns
         * paging on with LME (28.3 saves it at each exit) */
        uint64_t efer;
        if (!vexit_efer_write(vmread(GUEST_IA32_EFER), val, vmread(CR0_READ_SHADOW) & CR0_PG, &efer))
            return false;
        vmwrite(GUEST_IA32_EFER, efer);
        return true;
    }
    return false;
}

static void handle_msr(struct vmx_vcpu *v, bool write)
{
    uint32_t msr = (uint32_t)v->gprs.r[GPR_RCX];
    bool ok;
    if (write) {
        ok = msr_write(v, msr, (v->gprs.r[GPR_RAX] & 0xffffffffu) | v->gprs.r[GPR_RDX] << 32);
    } else {
        uint64_t val = 0;
        ok = msr_read(v, msr, &val);
        if (ok) {
            v->gprs.r[GPR_RAX] = (uint32_t)val;
            v->gprs.r[GPR_RDX] = val >> 32;
        }
    }
    if (ok) {
        vmx_skip_insn();
        return;
    }
    vexit_log_msr_once(msr, write, write ? "unknown MSR or a value it refuses" : "unknown MSR");
    vmx_inject_exception(v, EXCP_GP, true, 0);
}

static void handle_rdmsr(struct vmx_vcpu *v)
{
    handle_msr(v, false);
}

static void handle_wrmsr(struct vmx_vcpu *v)
{
    handle_msr(v, true);
}

static void handle_io(struct vmx_vcpu *v)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned size = (unsigned)(q & IO_QUAL_SIZE_MASK) + 1;
    if ((q & IO_QUAL_STRING) || (size != 1 && size != 2 && size != 4)) {
        log_line("guest string or malformed I/O (exit qualification 0x%llx) at rip 0x%llx is not "
                 "supported", (unsigned long long)q, (unsigned long long)vmread(GUEST_RIP));
        run_end(EXIT_GUEST_ENDED, "unsupported-io");
    }
    uint16_t port = (uint16_t)(q >> IO_QUAL_PORT_SHIFT);
    bool in = q & IO_QUAL_IN;
    uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    uint32_t val = (uint32_t)v->gprs.r[GPR_RAX] & mask;
    vmx_skip_insn();
    ioport_access(v->guest, port, size, in, &val);
    if (in)
        v->gprs.r[GPR_RAX] = (v->gprs.r[GPR_RAX] & ~(uint64_t)mask) | (val & mask);
}

void vmx_end_halted_cli(uint64_t hlt_rip)
{
    log_line("guest halted with interrupts disabled at rip 0x%llx: it can never wake",
             (unsigned long long)hlt_rip);
    run_end(EXIT_GUEST_ENDED, "halt-with-interrupts-off");
}

static void handle_hlt(struct vmx_vcpu *v)
{
    uint64_t rip = vmread(GUEST_RIP);
    vmx_skip_insn();
    if (!(vmread(GUEST_RFLAGS) & RFLAGS_IF))
        vmx_end_halted_cli(rip);
    hostclock_idle_for_guest(&v->guest->lapic);
}

static void handle_triple_fault(struct vmx_vcpu *v)
{
    (void)v;
    log_line("guest triple fault (shutdown) at rip 0x%llx, idt vectoring 0x%llx",
             (unsigned long long)vmread(GUEST_RIP), (unsigned long long)vmread(IDT_VECTORING_INFO));
    dump_vmcs();
    run_end(EXIT_GUEST_ENDED, "triple-fault");
}

static void handle_ept_violation(struct vmx_vcpu *v)
{
    uint64_t gpa = vmread(GUEST_PHYSICAL_ADDRESS), q = vmread(EXIT_QUALIFICATION);
    const char *kind = q & EPT_QUAL_FETCH ? "fetch" : q & EPT_QUAL_WRITE ? "write" : "read";
    if ((q & EPT_QUAL_WRITE) && eli_cpu_idt_write(&v->ecpu, gpa))
        return;
    if (!(q & EPT_QUAL_FETCH) && vmx_emulate_mmio(v, gpa))
        return;
    if (gpa < v->guest->mem.size)
        panic("EPT violation inside guest RAM at gpa 0x%llx (qualification 0x%llx)",
              (unsigned long long)gpa, (unsigned long long)q);
    log_line("guest touched guest-physical 0x%llx outside its RAM (%s) at rip 0x%llx",
             (unsigned long long)gpa, kind, (unsigned long long)vmread(GUEST_RIP));
    run_end(EXIT_GUEST_ENDED, "outside-ram");
}

/* A guest write to CR0 (every write that changes PG exits: CR0_GUEST_HOST_MASK). The
 * switch into or out of IA-32e mode is eli's to make, as the CPU makes it: EFER.LMA
 * and the IA-32e mode entry control follow PG while EFER.LME is set (SDM vol. 3,
 * 10.8.5; 27.3.1.1 requires LMA = the control). Returns false after injecting #GP. */
static bool cr0_write(struct vmx_vcpu *v, uint64_t val)
{
    uint64_t efer = vmread(GUEST_IA32_EFER), entry = vmread(VM_ENTRY_CONTROLS);
    bool pg = val & CR0_PG, was_pg = v->cr0_shadow & CR0_PG;
    if ((val >> 32) || (pg && !(val & CR0_PE)) ||
        (pg && !was_pg && (efer & EFER_LME) && !(vmread(GUEST_CR4) & CR4_PAE))) {
        vmx_inject_exception(v, EXCP_GP, true, 0);
        return false;
    }
    if (pg && (efer & EFER_LME)) {
        efer |= EFER_LMA;
        entry |= ENTRY_IA32E_MODE_GUEST;
    } else if (!pg) {
        efer &= ~(uint64_t)EFER_LMA;
        entry &= ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
    }
    vmwrite(GUEST_IA32_EFER, efer);
    vmwrite(VM_ENTRY_CONTROLS, entry);
    v->cr0_shadow = val;
    vmwrite(CR0_READ_SHADOW, val);
    vmwrite(GUEST_CR0, cr0_real(val));
    return true;
}

/* CR access (table 28-3): CR number in bits 3:0, the access type in 5:4 (0: MOV to
 * CR, 1: MOV from CR), the general register in 11:8. CR8 is the virtual LAPIC's TPR;
 * CR0 and CR4 exit only when the guest changes a bit the CPU forces. */
static void handle_cr(struct vmx_vcpu *v)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    uint64_t *r = &v->gprs.r[reg];
    uint64_t rsp = vmread(GUEST_RSP);
    if (reg == GPR_RSP)
        r = &rsp;
    if (cr == 8 && type == 0) {
        if (vlapic_cr8_write(&v->guest->lapic, *r)) {
            vmx_inject_exception(v, EXCP_GP, true, 0);
            return;
        }
    } else if (cr == 8 && type == 1) {
        *r = vlapic_cr8_read(&v->guest->lapic);
    } else if (cr == 0 && type == 0) {
        if (!cr0_write(v, *r))
            return;
    } else if (cr == 4 && type == 0) {
        if (*r & CR4_VMXE) {
            vmx_inject_exception(v, EXCP_GP, true, 0); /* VMX is not offered (CPUID) */
            return;
        }
        v->cr4_shadow = *r;
        vmwrite(CR4_READ_SHADOW, *r);
        vmwrite(GUEST_CR4, cr4_real(*r));
    } else {
        log_line("unhandled CR access (qualification 0x%llx) at rip 0x%llx",
                 (unsigned long long)q, (unsigned long long)vmread(GUEST_RIP));
        run_end(EXIT_GUEST_ENDED, "unhandled-exit");
    }
    if (reg == GPR_RSP)
        vmwrite(GUEST_RSP, rsp);
    vmx_skip_insn();
}

static void handle_vm_insn(struct vmx_vcpu *v)
{
    (void)v;
    /* with VMX hidden, these raise #UD as on a CPU without it */
    vmx_inject_exception(v, EXCP_UD, false, 0);
}

static void handle_window(struct vmx_vcpu *v)
{
    /* eli_plan injects now that the guest can take it */
    vmx_set_cpu(v, v->cpu_ctls & ~CPU_INTR_WINDOW_EXITING);
}

static void handle_preemption(struct vmx_vcpu *v)
{
    vmx_eli_preempted(v);
}

static const exit_handler_fn exit_handlers[VMX_EXIT_COUNT] = {
    [VMX_EXIT_EXTERNAL_INTERRUPT] = handle_nothing,
    [VMX_EXIT_TRIPLE_FAULT] = handle_triple_fault,
    [VMX_EXIT_INTERRUPT_WINDOW] = handle_window,
    [VMX_EXIT_PREEMPTION_TIMER] = handle_preemption,
    [VMX_EXIT_GDTR_IDTR] = vmx_handle_dtr,
    [VMX_EXIT_CPUID] = handle_cpuid,
    [VMX_EXIT_HLT] = handle_hlt,
    [VMX_EXIT_IO_INSTRUCTION] = handle_io,
    [VMX_EXIT_RDMSR] = handle_rdmsr,
    [VMX_EXIT_WRMSR] = handle_wrmsr,
    [VMX_EXIT_CR_ACCESS] = handle_cr,
    [VMX_EXIT_EPT_VIOLATION] = handle_ept_violation,
    [VMX_EXIT_VMCALL] = handle_vm_insn,
    [VMX_EXIT_VMCLEAR] = handle_vm_insn,
    [VMX_EXIT_VMLAUNCH] = handle_vm_insn,
    [VMX_EXIT_VMPTRLD] = handle_vm_insn,
    [VMX_EXIT_VMPTRST] = handle_vm_insn,
    [VMX_EXIT_VMREAD] = handle_vm_insn,
    [VMX_EXIT_VMRESUME] = handle_vm_insn,
    [VMX_EXIT_VMWRITE] = handle_vm_insn,
    [VMX_EXIT_VMXOFF] = handle_vm_insn,
    [VMX_EXIT_VMXON] = handle_vm_insn,
    [VMX_EXIT_INVEPT] = handle_vm_insn,
    [VMX_EXIT_INVVPID] = handle_vm_insn,
};

static void handle_exception_nmi(struct vmx_vcpu *v)
{
    uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
    if ((info & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
        /* the host's NMI, blocked since the exit (NMI exiting, 28.2): run its handler */
        __asm__ volatile("int $2");
        return;
    }
    if ((info & 0xff) == EXCP_NP && (info & INTR_TYPE_MASK) == INTR_TYPE_HW_EXCEPTION) {
        vmx_handle_np(v, (uint32_t)vmread(VM_EXIT_INTR_ERROR_CODE));
        return;
    }
    log_line("unexpected guest exception exit (info 0x%x)", info);
    dump_vmcs();
    run_end(EXIT_GUEST_ENDED, "unhandled-exit");
}

static void handle_unknown(struct vmx_vcpu *v, uint32_t reason)
{
    char name[24];
    (void)v;
    dump_vmcs();
    log_line("unhandled exit %s (reason %u) at rip 0x%llx", vmx_exit_name(reason, name, sizeof(name)),
             reason, (unsigned long long)vmread(GUEST_RIP));
    run_end(EXIT_GUEST_ENDED, "unhandled-exit");
}

static void dispatch_exit(struct vmx_vcpu *v)
{
    uint32_t full = (uint32_t)vmread(VM_EXIT_REASON), reason = full & VMX_EXIT_REASON_BASIC;
    if (full & VMX_EXIT_REASON_ENTRY_FAIL) {
        dump_vmcs();
        panic("VM entry refused the guest state (exit reason 0x%x)", full);
    }
    enum exit_reason r = vmx_exit_reason(reason);
    if (reason == VMX_EXIT_EXCEPTION_NMI &&
        (vmread(VM_EXIT_INTR_INFO) & INTR_TYPE_MASK) == INTR_TYPE_NMI)
        r = EXIT_R_NMI;
    stats.exits[r]++;
    stats.exits_total++;
    if (reason == VMX_EXIT_EXCEPTION_NMI)
        handle_exception_nmi(v);
    else if (reason < VMX_EXIT_COUNT && exit_handlers[reason])
        exit_handlers[reason](v);
    else
        handle_unknown(v, reason);
    vexit_log_dropped_ipis(&v->guest->lapic);
}

/* An event the exit interrupted is delivered again (27.2.4 / 28.2.4 "IDT-vectoring
 * information"), with its error code and, for software events, its length. */
static void after_exit(struct vmx_vcpu *v)
{
    uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
    v->ecpu.reinject = idt & INTR_INFO_VALID;
    vmwrite(VM_ENTRY_INTR_INFO, v->ecpu.reinject ? idt & ~(1u << 12) : 0);
    if (v->ecpu.reinject) {
        if (idt & INTR_INFO_DELIVER_CODE)
            vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, vmread(IDT_VECTORING_ERROR_CODE));
        vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmread(VM_EXIT_INSTRUCTION_LEN));
    }
    vmx_eli_after_exit(v);
}

void vmx_set_pin(struct vmx_vcpu *v, uint32_t pin)
{
    if (pin != v->pin_ctls) {
        vmwrite(PIN_BASED_VM_EXEC_CONTROL, pin);
        v->pin_ctls = pin;
    }
}

void vmx_set_cpu(struct vmx_vcpu *v, uint32_t cpu)
{
    if (cpu != v->cpu_ctls) {
        vmwrite(CPU_BASED_VM_EXEC_CONTROL, cpu);
        v->cpu_ctls = cpu;
    }
}

void vmx_run(struct guest *g)
{
    (void)g;
    stats.run_start_tsc = rdtsc();
    hostclock_start_accounting();
    for (;;) {
        /* interrupts stay off from the entry decision on: in injection mode one that
         * arrives meanwhile makes the guest exit at once (external-interrupt exiting), in
         * direct mode it reaches the guest directly */
        irq_disable();
        vmx_eli_before_entry(&vcpu);
        uint64_t t0 = rdtsc();
        uint64_t bound = vmx_eli_bound(&vcpu, t0) >> caps.preempt_shift;
        vmwrite(VMX_PREEMPTION_TIMER_VALUE, bound > 0xffffffffu ? 0xffffffffu : bound ? bound : 1);
        if (vcpu.set_cr2) {
            /* VM entry leaves CR2 alone: an injected #PF finds it as eli set it */
            __asm__ volatile("mov %0, %%cr2" ::"r"(vcpu.guest_cr2) : "memory");
            vcpu.set_cr2 = false;
        }
        if (vmx_enter(&vcpu.gprs, vcpu.launched)) {
            dump_vmcs();
            panic("VM%s failed: VM-instruction error %llu", vcpu.launched ? "RESUME" : "LAUNCH",
                  (unsigned long long)vmread(VM_INSTRUCTION_ERROR));
        }
        vcpu.launched = true;
        stats.guest_cycles += vmx_exit_tsc - t0;
        /* VM exit clears RFLAGS.IF (28.5.3). In injection mode eli's interrupts the exit
         * stopped for are taken here, as SVM takes them at STGI; eli then handles the
         * exit with interrupts off, as on SVM (svm_run says why). In direct mode they stay
         * pending for the guest */
        if (!vcpu.ecpu.direct)
            irq_window();
        after_exit(&vcpu);
        dispatch_exit(&vcpu);
    }
}
