/* Offsets the assembly needs, generated from the C structures so they are never
 * typed twice. Compiled to assembly; the build extracts the "->" lines. */
#include "arch/x86/regs.h"
#include "arch/x86/vmx/vmcs.h"
#include <stddef.h>

#define DEFINE(sym, val) __asm__ volatile("\n->" #sym " %0" ::"i"(val))

void asm_offsets(void);
void asm_offsets(void)
{
    DEFINE(GPRS_RAX, offsetof(struct guest_gprs, r[GPR_RAX]));
    DEFINE(GPRS_RBX, offsetof(struct guest_gprs, r[GPR_RBX]));
    DEFINE(GPRS_RCX, offsetof(struct guest_gprs, r[GPR_RCX]));
    DEFINE(GPRS_RDX, offsetof(struct guest_gprs, r[GPR_RDX]));
    DEFINE(GPRS_RSI, offsetof(struct guest_gprs, r[GPR_RSI]));
    DEFINE(GPRS_RDI, offsetof(struct guest_gprs, r[GPR_RDI]));
    DEFINE(GPRS_RBP, offsetof(struct guest_gprs, r[GPR_RBP]));
    DEFINE(GPRS_R8, offsetof(struct guest_gprs, r[GPR_R8]));
    DEFINE(GPRS_R9, offsetof(struct guest_gprs, r[GPR_R9]));
    DEFINE(GPRS_R10, offsetof(struct guest_gprs, r[GPR_R10]));
    DEFINE(GPRS_R11, offsetof(struct guest_gprs, r[GPR_R11]));
    DEFINE(GPRS_R12, offsetof(struct guest_gprs, r[GPR_R12]));
    DEFINE(GPRS_R13, offsetof(struct guest_gprs, r[GPR_R13]));
    DEFINE(GPRS_R14, offsetof(struct guest_gprs, r[GPR_R14]));
    DEFINE(GPRS_R15, offsetof(struct guest_gprs, r[GPR_R15]));
    DEFINE(VMCS_HOST_RSP, HOST_RSP);
}
