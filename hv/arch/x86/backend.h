/* The virtualization backend, chosen at run time from CPUID: AMD SVM or Intel VMX.
 * The core calls it only through these hooks, so it never tests the vendor. */
#ifndef ELI_ARCH_X86_BACKEND_H
#define ELI_ARCH_X86_BACKEND_H
#include "arch/x86/start.h"
#include <stddef.h>
#include <stdint.h>

struct guest;

struct x86_backend {
    const char *name; /* "svm" or "vmx": the result line's `backend` */
    const char *control_name; /* its control structure, for messages: "VMCB", "VMCS" */
    /* Checks the CPU's support and enables it; err names what is missing. */
    int (*hw_init)(char *err, size_t errlen);
    /* Sets up the guest's control structures and nested page tables. */
    int (*vcpu_init)(struct guest *g, const struct x86_start_state *s);
    /* Runs the guest until the run ends. */
    __attribute__((noreturn)) void (*run)(struct guest *g);
    /* core/vm.h, for the backend's nested page tables */
    int (*map_mmio)(uint64_t gpa, uint64_t hpa, uint64_t size);
    int (*unmap)(uint64_t gpa, uint64_t size);
};

/* The backend this CPU offers (SVM first, as before VMX existed), or NULL with err set. */
const struct x86_backend *backend_select(char *err, size_t errlen);
/* The backend backend_select() chose (NULL before). */
extern const struct x86_backend *backend;

#endif
