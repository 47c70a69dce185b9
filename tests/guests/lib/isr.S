/*
 * Interrupt entry stubs and the exception-recovery trampoline.
 *
 * Each of the 256 vectors has a 16-byte stub at isr_stubs + 16 * vector that makes the stack
 * look the same for every vector (a zero error code where the CPU pushes none, then the
 * vector), and jumps to isr_common, which saves the registers and calls
 * idt_dispatch(struct int_frame *). The frame layout must match struct int_frame in idt.h.
 */

#define ISR_STUB_SIZE 16

/* Exceptions the CPU pushes an error code for: #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX. */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
			   (v) == 29 || (v) == 30)

	.text
	.globl isr_stubs
	.balign ISR_STUB_SIZE
isr_stubs:
	.set vector, 0
	.rept 256
1:
	.ifeq HAS_ERROR_CODE(vector)
	pushq $0
	.endif
	pushq $vector
	jmp isr_common
	.org 1b + ISR_STUB_SIZE, 0xcc	/* pads the slot; fails to assemble if the stub outgrew it */
	.set vector, vector + 1
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	movq %rsp, %rbx			/* callee-saved: survives the call */
	andq $-16, %rsp			/* the C ABI wants a 16-byte aligned stack */
	cld
	call idt_dispatch
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	iretq

/*
 * int expect_fault(void (*fn)(void *), void *arg)
 *
 * Calls fn(arg) and returns -1 if it returned normally. If fn raises an exception (vector
 * 0-31), idt_dispatch sees fault_recovery_rsp armed and resumes at expect_fault_resume on the
 * stack saved here, with the vector in fault_recovery_vector; the callee-saved registers come
 * back from that stack, so fn's half-done work is simply abandoned.
 */
	.globl expect_fault
	.type expect_fault, @function
expect_fault:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp			/* 16-byte alignment for the call below */
	movq %rsp, fault_recovery_rsp(%rip)
	movq %rdi, %rax
	movq %rsi, %rdi
	call *%rax
	movl $-1, %eax
expect_fault_done:
	movq $0, fault_recovery_rsp(%rip)
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret
	.size expect_fault, . - expect_fault

	.globl expect_fault_resume
expect_fault_resume:
	movl fault_recovery_vector(%rip), %eax
	jmp expect_fault_done

	.section .note.GNU-stack, "", @progbits
