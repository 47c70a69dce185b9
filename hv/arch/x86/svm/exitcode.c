#include "arch/x86/svm/exitcode.h"
#include "core/fmt.h"

struct exit_desc {
    uint64_t code;
    const char *name;
    enum exit_reason reason;
};

static const struct exit_desc exits[] = {
    { SVM_EXIT_INTR, "intr", EXIT_R_INTR },         { SVM_EXIT_NMI, "nmi", EXIT_R_NMI },
    { SVM_EXIT_SMI, "smi", EXIT_R_OTHER },          { SVM_EXIT_INIT, "init", EXIT_R_OTHER },
    { SVM_EXIT_VINTR, "vintr", EXIT_R_VINTR },      { SVM_EXIT_IDTR_READ, "idtr_read", EXIT_R_DTR },
    { SVM_EXIT_IDTR_WRITE, "idtr_write", EXIT_R_DTR }, { SVM_EXIT_CPUID, "cpuid", EXIT_R_CPUID },
    { SVM_EXIT_INVD, "invd", EXIT_R_OTHER },        { SVM_EXIT_HLT, "hlt", EXIT_R_HLT },
    { SVM_EXIT_INVLPGA, "invlpga", EXIT_R_VM_INSN }, { SVM_EXIT_IOIO, "ioio", EXIT_R_IO },
    { SVM_EXIT_MSR, "msr", EXIT_R_MSR },            { SVM_EXIT_TASK_SWITCH, "task_switch", EXIT_R_OTHER },
    { SVM_EXIT_SHUTDOWN, "shutdown", EXIT_R_SHUTDOWN }, { SVM_EXIT_VMRUN, "vmrun", EXIT_R_VM_INSN },
    { SVM_EXIT_VMMCALL, "vmmcall", EXIT_R_VM_INSN }, { SVM_EXIT_VMLOAD, "vmload", EXIT_R_VM_INSN },
    { SVM_EXIT_VMSAVE, "vmsave", EXIT_R_VM_INSN },  { SVM_EXIT_STGI, "stgi", EXIT_R_VM_INSN },
    { SVM_EXIT_CLGI, "clgi", EXIT_R_VM_INSN },      { SVM_EXIT_SKINIT, "skinit", EXIT_R_VM_INSN },
    { SVM_EXIT_XSETBV, "xsetbv", EXIT_R_OTHER },    { SVM_EXIT_NPF, "npf", EXIT_R_NPF },
};

static const struct exit_desc *find_exit(uint64_t code)
{
    for (unsigned i = 0; i < sizeof(exits) / sizeof(exits[0]); i++)
        if (exits[i].code == code)
            return &exits[i];
    return NULL;
}

const char *svm_exit_name(uint64_t code, char *buf, unsigned len)
{
    const struct exit_desc *d = find_exit(code);
    if (d)
        fmt_snprintf(buf, len, "%s", d->name);
    else if (code < SVM_EXIT_CR0_WRITE)
        fmt_snprintf(buf, len, "cr%u_read", (unsigned)code);
    else if (code < 0x20)
        fmt_snprintf(buf, len, "cr%u_write", (unsigned)(code - SVM_EXIT_CR0_WRITE));
    else if (code < SVM_EXIT_EXCP_BASE)
        fmt_snprintf(buf, len, "dr%u_%s", (unsigned)(code & 15), code < 0x30 ? "read" : "write");
    else if (code < SVM_EXIT_EXCP_BASE + 32)
        fmt_snprintf(buf, len, "excp%u", (unsigned)(code - SVM_EXIT_EXCP_BASE));
    else if (code == SVM_EXIT_INVALID)
        fmt_snprintf(buf, len, "invalid");
    else
        fmt_snprintf(buf, len, "0x%llx", (unsigned long long)code);
    return buf;
}

enum exit_reason svm_exit_reason(uint64_t code)
{
    const struct exit_desc *d = find_exit(code);
    if (d)
        return d->reason;
    if (code < 0x20)
        return EXIT_R_CR;
    if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32)
        return EXIT_R_EXCEPTION;
    return EXIT_R_OTHER;
}

bool svm_decode_ioio(uint64_t exitinfo1, struct ioio_info *out)
{
    unsigned sz = (unsigned)(exitinfo1 >> 4) & 7;
    out->port = (uint16_t)(exitinfo1 >> 16);
    out->in = exitinfo1 & 1;
    out->string = exitinfo1 >> 2 & 1;
    out->rep = exitinfo1 >> 3 & 1;
    out->size = sz == 1 ? 1 : sz == 2 ? 2 : sz == 4 ? 4 : 0;
    return out->size != 0;
}
