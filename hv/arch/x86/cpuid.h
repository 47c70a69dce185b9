/* What a guest sees of CPUID (pure, host-testable). */
#ifndef ELI_ARCH_X86_CPUID_H
#define ELI_ARCH_X86_CPUID_H
#include <stdbool.h>
#include <stdint.h>

#define CPUID_HV_BASE 0x40000000u
#define CPUID_HV_SIGNATURE "eli eli eli "
/* Linux 6.1 keeps x2APIC off without interrupt remapping unless a hypervisor it
 * knows says x2APIC is fine (try_to_enable_x2apic); KVM's signature does. */
#define CPUID_KVM_SIGNATURE "KVMKVMKVM\0\0\0"
extern bool cpuid_kvm_signature;

#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_MCE (1u << 7)
#define CPUID_1_EDX_MTRR (1u << 12)
#define CPUID_1_EDX_MCA (1u << 14)
#define CPUID_8000_0001_ECX_SVM (1u << 2)
#define CPUID_8000_000A_SVM_FEATURES 0x8000000Au

/* Turns the host's answer r[EAX..EDX] for (leaf, subleaf) into the guest's:
 * virtualization hidden, the hypervisor bit set, eli's signature at 0x40000000,
 * the virtual LAPIC's x2APIC and TSC deadline offered with APIC ID 0, and
 * features eli does not virtualize cleared. */
void cpuid_filter(uint32_t leaf, uint32_t subleaf, uint32_t r[4]);

#endif
