/* Interrupt and exception entry stubs: each pushes a uniform frame
 * (vector, error code or 0) and calls trap_dispatch(struct trap_frame *). */

    .text
.macro isr_stub v
    .align 16
isr_\v:
    .if ((\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30))
    .else
    pushq $0
    .endif
    pushq $\v
    jmp isr_common
.endm

    .altmacro
.set i, 0
.rept 256
    isr_stub %i
    .set i, i + 1
.endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    /* align the stack for C: remember the old one in a callee-saved register */
    mov %rsp, %rbx
    and $-16, %rsp
    cld
    call trap_dispatch
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp       /* vector, error code */
    iretq

.macro isr_addr v
    .quad isr_\v
.endm
    .section .rodata
    .align 8
    .globl isr_table
isr_table:
.set i, 0
.rept 256
    isr_addr %i
    .set i, i + 1
.endr
    .section .note.GNU-stack, "", @progbits
