#include "arch/x86/cpuid.h"
#include <string.h>

enum { EAX, EBX, ECX, EDX };

bool cpuid_kvm_signature;

void cpuid_filter(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    (void)subleaf;
    if (leaf >= CPUID_HV_BASE && leaf <= CPUID_HV_BASE + 0xff) {
        memset(r, 0, 4 * sizeof(r[0]));
        if (leaf == CPUID_HV_BASE) {
            /* KVM's leaf 0x40000001 (features, hints) reads all zero: none offered */
            r[EAX] = CPUID_HV_BASE + (cpuid_kvm_signature ? 1 : 0);
            memcpy(&r[EBX], cpuid_kvm_signature ? CPUID_KVM_SIGNATURE : CPUID_HV_SIGNATURE, 12);
        }
        return;
    }
    switch (leaf) {
    case 1:
        /* eli's virtual LAPIC offers x2APIC and the TSC-deadline timer whatever the
         * host has; MONITOR is not intercepted, VMX never offered */
        r[ECX] &= ~(CPUID_1_ECX_MONITOR | CPUID_1_ECX_VMX);
        r[ECX] |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
        r[EBX] &= 0x00ffffffu; /* initial APIC ID: the virtual LAPIC's, 0 */
        /* no machine-check or MTRR MSRs are offered (each would be a #GP): an OS
         * that sees these bits reads them unguarded (Linux panics on MCG_STATUS) */
        r[EDX] &= ~(CPUID_1_EDX_MCE | CPUID_1_EDX_MCA | CPUID_1_EDX_MTRR);
        break;
    case 0xB:
        r[EDX] = 0; /* x2APIC ID */
        break;
    case 0x80000001u:
        r[ECX] &= ~CPUID_8000_0001_ECX_SVM;
        break;
    case CPUID_8000_000A_SVM_FEATURES:
        memset(r, 0, 4 * sizeof(r[0]));
        break;
    default:
        break;
    }
}
