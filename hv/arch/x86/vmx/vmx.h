/* The Intel VMX backend: what hv/arch/x86/backend.c calls. */
#ifndef ELI_ARCH_X86_VMX_VMX_H
#define ELI_ARCH_X86_VMX_VMX_H
#include "arch/x86/start.h"
#include <stddef.h>
#include <stdint.h>

struct guest;

/* Checks for VMX with EPT and unrestricted guest, and enters VMX root operation. */
int vmx_hw_init(char *err, size_t errlen);
/* Sets up the VMCS, the MSR bitmap and the EPT. */
int vmx_vcpu_init(struct guest *g, const struct x86_start_state *s);
/* Runs the guest until the run ends (never returns). */
__attribute__((noreturn)) void vmx_run(struct guest *g);
/* core/vm.h through the EPT */
int vmx_map_mmio(uint64_t gpa, uint64_t hpa, uint64_t size);
int vmx_unmap(uint64_t gpa, uint64_t size);

#endif
