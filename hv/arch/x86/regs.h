/* Guest general-purpose registers in encoding order (SDM vol. 2, table 2-2), the
 * layout the instruction decoder uses. The world-switch stub moves all but RAX and
 * RSP, which VMRUN keeps in the VMCB (the backend copies them when it emulates). */
#ifndef ELI_ARCH_X86_REGS_H
#define ELI_ARCH_X86_REGS_H
#include <stdint.h>

enum { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
       GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15 };

struct guest_gprs {
    uint64_t r[16];
};

#endif
