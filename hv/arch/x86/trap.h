/* Host interrupt and exception handling. */
#ifndef ELI_ARCH_X86_TRAP_H
#define ELI_ARCH_X86_TRAP_H
#include <stdint.h>

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "matches isr.S");

#include <stdbool.h>

typedef void (*irq_handler_fn)(uint8_t vector);

/* Set by the watchdog's NMI; cleared by whoever acts on it. */
extern volatile bool watchdog_fired;

/* Installs the handler that runs for `vector` (>= 32); the handler must EOI. */
void trap_set_irq_handler(uint8_t vector, irq_handler_fn fn);
void trap_dispatch(struct trap_frame *f);
/* Runs the handler of an interrupt eli took as an exit rather than through its IDT. */
void trap_run_irq(uint8_t vector);

#endif
