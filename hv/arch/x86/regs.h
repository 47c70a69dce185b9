/* Guest general-purpose registers that the world-switch stub moves (RAX and RSP
 * live in the VMCB / VMCS). */
#ifndef ELI_ARCH_X86_REGS_H
#define ELI_ARCH_X86_REGS_H
#include <stdint.h>

struct guest_gprs {
    uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

#endif
