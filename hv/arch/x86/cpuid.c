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
        /* eli's virtual LAPIC offers x2APIC and the TSC-deadline timer whatever the
         * host has; MONITOR is not intercepted, VMX never offered */
        r[ECX] &= ~(CPUID_1_ECX_MONITOR | CPUID_1_ECX_VMX);
        r[ECX] |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
        r[EBX] &= 0x00ffffffu; /* initial APIC ID: the virtual LAPIC's, 0 */
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
