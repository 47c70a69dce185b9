/* void svm_vmrun(struct guest_gprs *gprs, uint64_t vmcb_pa, uint64_t host_save_pa)
 * Called with GIF = 0 (svm_run's CLGI, before it sets IF for the guest's mode). VMRUN
 * saves and restores only the guest's RAX and RSP (APM 15.5.1): this stub moves the other
 * general-purpose registers. VMLOAD/VMSAVE switch the state VMRUN leaves alone (FS, GS,
 * TR, LDTR, syscall MSRs: APM 15.5.2), so eli's TR, and with it its IST stacks, is back
 * before interrupts are taken again at STGI. */
#include "arch/x86/asm-offsets.h"

    .text
    .globl svm_vmrun
svm_vmrun:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdx                      /* host save area */
    push %rdi                      /* gprs */
    mov %rsi, %rax                 /* guest VMCB */

    mov GPRS_RBX(%rdi), %rbx
    mov GPRS_RCX(%rdi), %rcx
    mov GPRS_RDX(%rdi), %rdx
    mov GPRS_RSI(%rdi), %rsi
    mov GPRS_RBP(%rdi), %rbp
    mov GPRS_R8(%rdi), %r8
    mov GPRS_R9(%rdi), %r9
    mov GPRS_R10(%rdi), %r10
    mov GPRS_R11(%rdi), %r11
    mov GPRS_R12(%rdi), %r12
    mov GPRS_R13(%rdi), %r13
    mov GPRS_R14(%rdi), %r14
    mov GPRS_R15(%rdi), %r15
    mov GPRS_RDI(%rdi), %rdi
    vmload %rax
    vmrun %rax
    vmsave %rax                    /* RAX is the VMCB's address again */

    xchg (%rsp), %rdi              /* rdi = gprs, stack slot = guest rdi */
    mov %rbx, GPRS_RBX(%rdi)
    mov %rcx, GPRS_RCX(%rdi)
    mov %rdx, GPRS_RDX(%rdi)
    mov %rsi, GPRS_RSI(%rdi)
    mov %rbp, GPRS_RBP(%rdi)
    mov %r8, GPRS_R8(%rdi)
    mov %r9, GPRS_R9(%rdi)
    mov %r10, GPRS_R10(%rdi)
    mov %r11, GPRS_R11(%rdi)
    mov %r12, GPRS_R12(%rdi)
    mov %r13, GPRS_R13(%rdi)
    mov %r14, GPRS_R14(%rdi)
    mov %r15, GPRS_R15(%rdi)
    pop %rax
    mov %rax, GPRS_RDI(%rdi)
    /* the end of guest time, before eli's own interrupts run at STGI */
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, svm_exit_tsc(%rip)
    pop %rax                       /* host save area */
    vmload %rax
    stgi

    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

    .globl svm_vmsave
svm_vmsave:
    mov %rdi, %rax
    vmsave %rax
    ret
    .bss
    .align 8
    .globl svm_exit_tsc
svm_exit_tsc:
    .quad 0
    .section .note.GNU-stack, "", @progbits
