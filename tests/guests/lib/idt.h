/* Interrupt handling: one IDT covering all 256 vectors, per-vector C handlers, fault catching. */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#include <stdbool.h>
#include <stdint.h>

/* The stack as isr_common in isr.S leaves it: saved registers, then what the CPU pushed. */
struct int_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;	/* 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
};

/*
 * A handler may change the frame (registers, rip, rsp) before the interrupted code resumes.
 * Handlers for external interrupts must send their own EOI.
 */
typedef void (*interrupt_handler)(struct int_frame *frame);

/* Called by the library at start-up: every vector goes to the default handler. */
void idt_init(void);

/* A 64-bit IDT gate (SDM vol. 3, 6.14.1). */
struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

#define GATE_INTERRUPT64	0x8e	/* present, DPL 0, 64-bit interrupt gate (clears IF) */

/* A gate to entry through the current code segment. */
struct idt_gate idt_gate_make(uint64_t entry);
/* A plain store of one gate into an IDT, live or not. */
void idt_gate_write(struct idt_gate *idt, unsigned vector, struct idt_gate g);

/* Installs handler for vector (0-255); NULL restores the default, which reports and exits(1). */
void idt_set_handler(unsigned vector, interrupt_handler handler);

/* LIDT of (base, limit). */
void idt_load(uint64_t base, uint16_t limit);
/* Reports whether SIDT reads back (base, limit), what was loaded ("of <what>"). */
bool idt_sidt_is(uint64_t base, uint16_t limit, const char *what);

/* Returned by expect_fault and the *_safe functions when no exception happened. */
#define NO_FAULT (-1)

/*
 * Runs fn(arg); returns the vector of the first exception (0-31) it raises, or NO_FAULT.
 * The faulting code is abandoned, not resumed. Not reentrant: fn must not call expect_fault.
 */
int expect_fault(void (*fn)(void *arg), void *arg);

/* rdmsr/wrmsr that return the exception vector (e.g. 13 for #GP) or NO_FAULT. */
int rdmsr_safe(uint32_t index, uint64_t *value);
int wrmsr_safe(uint32_t index, uint64_t value);

/* Short mnemonic for an exception vector ("#GP"), or "" beyond 31. */
const char *exception_name(unsigned vector);

#endif
