#include "arch/x86/vmx/exitreason.h"
#include "arch/x86/vmx/vmcs.h"
#include "core/fmt.h"

struct exit_desc {
    const char *name;
    enum exit_reason reason;
};

/* Counted as SVM counts its equivalents: VMX instructions as vm_insn (SVM's VMRUN and
 * the like), GDTR/IDTR access as dtr, the interrupt window as vintr. */
static const struct exit_desc exits[VMX_EXIT_COUNT] = {
    [VMX_EXIT_EXCEPTION_NMI] = { "exception_nmi", EXIT_R_EXCEPTION },
    [VMX_EXIT_EXTERNAL_INTERRUPT] = { "external_interrupt", EXIT_R_INTR },
    [VMX_EXIT_TRIPLE_FAULT] = { "triple_fault", EXIT_R_SHUTDOWN },
    [VMX_EXIT_INIT] = { "init", EXIT_R_OTHER },
    [VMX_EXIT_SIPI] = { "sipi", EXIT_R_OTHER },
    [VMX_EXIT_IO_SMI] = { "io_smi", EXIT_R_OTHER },
    [VMX_EXIT_OTHER_SMI] = { "other_smi", EXIT_R_OTHER },
    [VMX_EXIT_INTERRUPT_WINDOW] = { "interrupt_window", EXIT_R_VINTR },
    [VMX_EXIT_NMI_WINDOW] = { "nmi_window", EXIT_R_OTHER },
    [VMX_EXIT_TASK_SWITCH] = { "task_switch", EXIT_R_OTHER },
    [VMX_EXIT_CPUID] = { "cpuid", EXIT_R_CPUID },
    [VMX_EXIT_GETSEC] = { "getsec", EXIT_R_OTHER },
    [VMX_EXIT_HLT] = { "hlt", EXIT_R_HLT },
    [VMX_EXIT_INVD] = { "invd", EXIT_R_OTHER },
    [VMX_EXIT_INVLPG] = { "invlpg", EXIT_R_OTHER },
    [VMX_EXIT_RDPMC] = { "rdpmc", EXIT_R_OTHER },
    [VMX_EXIT_RDTSC] = { "rdtsc", EXIT_R_OTHER },
    [VMX_EXIT_RSM] = { "rsm", EXIT_R_OTHER },
    [VMX_EXIT_VMCALL] = { "vmcall", EXIT_R_VM_INSN },
    [VMX_EXIT_VMCLEAR] = { "vmclear", EXIT_R_VM_INSN },
    [VMX_EXIT_VMLAUNCH] = { "vmlaunch", EXIT_R_VM_INSN },
    [VMX_EXIT_VMPTRLD] = { "vmptrld", EXIT_R_VM_INSN },
    [VMX_EXIT_VMPTRST] = { "vmptrst", EXIT_R_VM_INSN },
    [VMX_EXIT_VMREAD] = { "vmread", EXIT_R_VM_INSN },
    [VMX_EXIT_VMRESUME] = { "vmresume", EXIT_R_VM_INSN },
    [VMX_EXIT_VMWRITE] = { "vmwrite", EXIT_R_VM_INSN },
    [VMX_EXIT_VMXOFF] = { "vmxoff", EXIT_R_VM_INSN },
    [VMX_EXIT_VMXON] = { "vmxon", EXIT_R_VM_INSN },
    [VMX_EXIT_CR_ACCESS] = { "cr_access", EXIT_R_CR },
    [VMX_EXIT_DR_ACCESS] = { "dr_access", EXIT_R_OTHER },
    [VMX_EXIT_IO_INSTRUCTION] = { "io", EXIT_R_IO },
    [VMX_EXIT_RDMSR] = { "rdmsr", EXIT_R_MSR },
    [VMX_EXIT_WRMSR] = { "wrmsr", EXIT_R_MSR },
    [VMX_EXIT_INVALID_GUEST_STATE] = { "invalid_guest_state", EXIT_R_OTHER },
    [VMX_EXIT_MSR_LOADING] = { "msr_loading", EXIT_R_OTHER },
    [VMX_EXIT_MWAIT] = { "mwait", EXIT_R_OTHER },
    [VMX_EXIT_MTF] = { "mtf", EXIT_R_OTHER },
    [VMX_EXIT_MONITOR] = { "monitor", EXIT_R_OTHER },
    [VMX_EXIT_PAUSE] = { "pause", EXIT_R_OTHER },
    [VMX_EXIT_MACHINE_CHECK] = { "machine_check", EXIT_R_OTHER },
    [VMX_EXIT_TPR_BELOW_THRESHOLD] = { "tpr_below_threshold", EXIT_R_OTHER },
    [VMX_EXIT_APIC_ACCESS] = { "apic_access", EXIT_R_OTHER },
    [VMX_EXIT_EOI_INDUCED] = { "eoi_induced", EXIT_R_OTHER },
    [VMX_EXIT_GDTR_IDTR] = { "gdtr_idtr", EXIT_R_DTR },
    [VMX_EXIT_LDTR_TR] = { "ldtr_tr", EXIT_R_DTR },
    [VMX_EXIT_EPT_VIOLATION] = { "ept_violation", EXIT_R_NPF },
    [VMX_EXIT_EPT_MISCONFIG] = { "ept_misconfig", EXIT_R_NPF },
    [VMX_EXIT_INVEPT] = { "invept", EXIT_R_VM_INSN },
    [VMX_EXIT_RDTSCP] = { "rdtscp", EXIT_R_OTHER },
    [VMX_EXIT_PREEMPTION_TIMER] = { "preemption_timer", EXIT_R_OTHER },
    [VMX_EXIT_INVVPID] = { "invvpid", EXIT_R_VM_INSN },
    [VMX_EXIT_WBINVD] = { "wbinvd", EXIT_R_OTHER },
    [VMX_EXIT_XSETBV] = { "xsetbv", EXIT_R_OTHER },
    [VMX_EXIT_APIC_WRITE] = { "apic_write", EXIT_R_OTHER },
    [VMX_EXIT_RDRAND] = { "rdrand", EXIT_R_OTHER },
    [VMX_EXIT_INVPCID] = { "invpcid", EXIT_R_OTHER },
    [VMX_EXIT_VMFUNC] = { "vmfunc", EXIT_R_VM_INSN },
};

const char *vmx_exit_name(uint32_t basic, char *buf, unsigned len)
{
    if (basic < VMX_EXIT_COUNT && exits[basic].name)
        fmt_snprintf(buf, len, "%s", exits[basic].name);
    else
        fmt_snprintf(buf, len, "reason%u", basic);
    return buf;
}

enum exit_reason vmx_exit_reason(uint32_t basic)
{
    if (basic < VMX_EXIT_COUNT && exits[basic].name)
        return exits[basic].reason;
    return EXIT_R_OTHER;
}
