/* Run-time choice of the virtualization backend: the vendor test lives here alone. */
#include "arch/x86/backend.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/vmx/vmx.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/vm.h"

static const struct x86_backend svm_backend = { "svm", "VMCB", svm_hw_init, svm_vcpu_init, svm_run,
                                                svm_map_mmio, svm_unmap };
static const struct x86_backend vmx_backend = { "vmx", "VMCS", vmx_hw_init, vmx_vcpu_init, vmx_run,
                                                vmx_map_mmio, vmx_unmap };

const struct x86_backend *backend;

const struct x86_backend *backend_select(char *err, size_t errlen)
{
    uint32_t r[4];
    cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000001u) {
        cpuid(0x80000001u, 0, r);
        if (r[2] & CPUID_8000_0001_ECX_SVM)
            return backend = &svm_backend;
    }
    cpuid(1, 0, r);
    if (r[2] & CPUID_1_ECX_VMX)
        return backend = &vmx_backend;
    fmt_snprintf(err, errlen, "this CPU has neither AMD SVM (CPUID 8000_0001h ECX bit 2) nor "
                 "Intel VMX (CPUID 1 ECX bit 5)");
    return NULL;
}

int vm_map_mmio(uint64_t gpa, uint64_t hpa, uint64_t size)
{
    return backend->map_mmio(gpa, hpa, size);
}

int vm_unmap(uint64_t gpa, uint64_t size)
{
    return backend->unmap(gpa, size);
}
