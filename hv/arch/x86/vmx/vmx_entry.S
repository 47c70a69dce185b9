/* int vmx_enter(struct guest_gprs *gprs, int launched)
 * VM entry loads and VM exit saves only the guest's RSP and RIP of the general
 * registers (SDM vol. 3, 27.3 and 28.3): this stub moves the others. The exit lands at
 * vmx_exit (HOST_RIP) on the stack HOST_RSP, written here, where gprs waits. Returns
 * 0 after a VM exit, 1 when VMLAUNCH or VMRESUME itself failed (VM_INSTRUCTION_ERROR). */
#include "arch/x86/asm-offsets.h"

    .text
    .globl vmx_enter
vmx_enter:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi                      /* gprs, found again at the exit */
    mov $VMCS_HOST_RSP, %eax
    vmwrite %rsp, %rax
    jbe .Lfail_early

    test %esi, %esi                /* the flags stay: mov changes none */
    mov GPRS_RAX(%rdi), %rax
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
    jnz 1f
    vmlaunch
    jmp .Lfail
1:  vmresume
.Lfail:
    /* still eli's registers on the stack; the guest's are in the GPRs: drop them */
.Lfail_early:
    pop %rdi
    mov $1, %eax
    jmp .Lout

    .globl vmx_exit
vmx_exit:
    push %rdi                      /* guest rdi; gprs is above it */
    mov 8(%rsp), %rdi
    mov %rax, GPRS_RAX(%rdi)
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
    pop %rdi                       /* gprs */
    /* the end of guest time, before eli's own interrupts run */
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, vmx_exit_tsc(%rip)
    xor %eax, %eax
.Lout:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

    .bss
    .align 8
    .globl vmx_exit_tsc
vmx_exit_tsc:
    .quad 0
    .section .note.GNU-stack, "", @progbits
