/* The AMD SVM backend: what the arch-neutral core calls. */
#ifndef ELI_ARCH_X86_SVM_SVM_H
#define ELI_ARCH_X86_SVM_SVM_H
#include "arch/x86/start.h"
#include <stddef.h>
#include <stdint.h>

struct guest;

/* Checks for SVM with nested paging and enables it; err names what is missing. */
int svm_hw_init(char *err, size_t errlen);
/* Sets up the VMCB, the permission maps and the nested page tables. */
int svm_vcpu_init(struct guest *g, const struct x86_start_state *s);
/* Runs the guest until the run ends (never returns). */
__attribute__((noreturn)) void svm_run(struct guest *g);
/* core/vm.h through the nested page tables */
int svm_map_mmio(uint64_t gpa, uint64_t hpa, uint64_t size);
int svm_unmap(uint64_t gpa, uint64_t size);

#endif
