/* VMX basic exit reasons: their names and the arch-neutral counters they count under
 * (pure, host-testable). */
#ifndef ELI_ARCH_X86_VMX_EXITREASON_H
#define ELI_ARCH_X86_VMX_EXITREASON_H
#include "core/stats.h"
#include <stdint.h>

/* A short name for a basic exit reason ("cpuid", "ept_violation", "reason63"). */
const char *vmx_exit_name(uint32_t basic, char *buf, unsigned len);
/* The arch-neutral reason the exit is counted under (the same keys as SVM's). */
enum exit_reason vmx_exit_reason(uint32_t basic);

#endif
