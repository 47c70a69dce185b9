/* Exit handling both virtualization backends share (vexit.c). */
#ifndef ELI_ARCH_X86_VEXIT_H
#define ELI_ARCH_X86_VEXIT_H
#include "dev/vlapic.h"
#include <stdbool.h>
#include <stdint.h>

/* A 48-bit canonical address. */
bool vexit_canonical(uint64_t a);
/* Every PAT entry names a memory type. */
bool vexit_pat_valid(uint64_t pat);
/* "guest reads/writes MSR ...: why: #GP", once per MSR and direction, at most 32 kinds. */
void vexit_log_msr_once(uint32_t msr, bool write, const char *why);
/* IPIs the guest asked for that never left its CPU: logged, the first few, then every
 * 1000th. */
void vexit_log_dropped_ipis(const struct vlapic *l);

#endif
