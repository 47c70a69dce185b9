/* Offsets the assembly needs, generated from the C structures so they are never
 * typed twice. Compiled to assembly; the build extracts the "->" lines. */
#include "arch/x86/regs.h"
#include <stddef.h>

#define DEFINE(sym, val) __asm__ volatile("\n->" #sym " %0" ::"i"(val))

void asm_offsets(void);
void asm_offsets(void)
{
    DEFINE(GPRS_RBX, offsetof(struct guest_gprs, rbx));
    DEFINE(GPRS_RCX, offsetof(struct guest_gprs, rcx));
    DEFINE(GPRS_RDX, offsetof(struct guest_gprs, rdx));
    DEFINE(GPRS_RSI, offsetof(struct guest_gprs, rsi));
    DEFINE(GPRS_RDI, offsetof(struct guest_gprs, rdi));
    DEFINE(GPRS_RBP, offsetof(struct guest_gprs, rbp));
    DEFINE(GPRS_R8, offsetof(struct guest_gprs, r8));
    DEFINE(GPRS_R9, offsetof(struct guest_gprs, r9));
    DEFINE(GPRS_R10, offsetof(struct guest_gprs, r10));
    DEFINE(GPRS_R11, offsetof(struct guest_gprs, r11));
    DEFINE(GPRS_R12, offsetof(struct guest_gprs, r12));
    DEFINE(GPRS_R13, offsetof(struct guest_gprs, r13));
    DEFINE(GPRS_R14, offsetof(struct guest_gprs, r14));
    DEFINE(GPRS_R15, offsetof(struct guest_gprs, r15));
}
