#include "arch/x86/cpuid.h"
#include <string.h>

enum { EAX, EBX, ECX, EDX };

void cpuid_filter(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    (void)subleaf;
    if (leaf >= CPUID_HV_BASE && leaf <= CPUID_HV_BASE + 0xff) {
        memset(r, 0, 4 * sizeof(r[0]));
        if (leaf == CPUID_HV_BASE) {
            r[EAX] = CPUID_HV_BASE;
            memcpy(&r[EBX], CPUID_HV_SIGNATURE, 12);
        }
        return;
    }
    switch (leaf) {
    case 1:
        /* x2APIC and the TSC-deadline timer come with the virtual LAPIC; MONITOR
         * is not intercepted, VMX never offered */
        r[ECX] &= ~(CPUID_1_ECX_MONITOR | CPUID_1_ECX_VMX | CPUID_1_ECX_X2APIC |
                    CPUID_1_ECX_TSC_DEADLINE);
        r[ECX] |= CPUID_1_ECX_HYPERVISOR;
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
