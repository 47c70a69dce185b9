/* The SVM MSR permission map (APM vol. 2, 15.11): two bits per MSR (read, write)
 * for three ranges of 8K MSRs; a set bit intercepts. MSRs outside the ranges are
 * always intercepted. Pure, host-testable. */
#ifndef ELI_ARCH_X86_SVM_MSRPM_H
#define ELI_ARCH_X86_SVM_MSRPM_H
#include <stdbool.h>
#include <stdint.h>

#define MSRPM_SIZE 8192u

/* Intercept everything. */
void msrpm_init(uint8_t *map);
/* Returns -EINVAL for an MSR the map cannot describe (always intercepted). */
int msrpm_set(uint8_t *map, uint32_t msr, bool intercept_read, bool intercept_write);
bool msrpm_intercepts(const uint8_t *map, uint32_t msr, bool write);

#endif
