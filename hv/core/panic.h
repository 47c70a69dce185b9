/* Two ways out (docs/conventions.md): a broken hypervisor invariant (panic), and a
 * run that ends: the guest finished, misbehaved past repair, or eli was misconfigured. */
#ifndef ELI_CORE_PANIC_H
#define ELI_CORE_PANIC_H
#include <stdint.h>

/* Values eli writes to QEMU's isa-debug-exit port */
#define EXIT_CONFIG_ERROR 0x10u
#define EXIT_GUEST_ENDED 0x11u
#define EXIT_PANIC 0x12u

__attribute__((noreturn)) void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints one line naming the configuration problem, and stops. */
__attribute__((noreturn)) void config_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the result line and ends the run with `status` on the debug-exit port. */
__attribute__((noreturn)) void run_end(uint32_t status, const char *why);

#endif
