/* The host's local APIC in x2APIC mode (Intel SDM vol. 3, 11.12; AMD APM vol. 2, 16.11).
 * Registers are MSRs 0x800 + (xAPIC offset >> 4). */
#ifndef ELI_ARCH_X86_X2APIC_H
#define ELI_ARCH_X86_X2APIC_H
#include <stdbool.h>
#include <stdint.h>

struct vlapic;

#define X2APIC_MSR(off) (0x800u + ((off) >> 4))
#define X2APIC_ID X2APIC_MSR(0x020)
#define X2APIC_VERSION X2APIC_MSR(0x030)
#define X2APIC_TPR X2APIC_MSR(0x080)
#define X2APIC_EOI X2APIC_MSR(0x0B0)      /* 0x80B */
#define X2APIC_LDR X2APIC_MSR(0x0D0)
#define X2APIC_SVR X2APIC_MSR(0x0F0)
#define X2APIC_ISR0 X2APIC_MSR(0x100)     /* 0x810..0x817 */
#define X2APIC_TMR0 X2APIC_MSR(0x180)
#define X2APIC_IRR0 X2APIC_MSR(0x200)
#define X2APIC_ESR X2APIC_MSR(0x280)
#define X2APIC_ICR X2APIC_MSR(0x300)      /* 0x830 */
#define X2APIC_LVT_TIMER X2APIC_MSR(0x320)
#define X2APIC_LVT_LINT0 X2APIC_MSR(0x350)
#define X2APIC_LVT_LINT1 X2APIC_MSR(0x360)
#define X2APIC_LVT_ERROR X2APIC_MSR(0x370)
#define X2APIC_TIMER_ICR X2APIC_MSR(0x380) /* initial count */
#define X2APIC_TIMER_CCR X2APIC_MSR(0x390) /* current count */
#define X2APIC_TIMER_DCR X2APIC_MSR(0x3E0) /* divide configuration */
#define X2APIC_SELF_IPI 0x83Fu

#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)

#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_TIMER_PERIODIC (1u << 17) /* SDM vol. 3, 11.5.4 */
#define APIC_SVR_ENABLE (1u << 8)

/* eli's own vectors: kept at the top so that guests' usual vectors are free */
#define VEC_ELI_TIMER 0xF0
#define VEC_ELI_PROBE 0xF1 /* the watchdog's: bounces once the guest lets interrupts in */
#define VEC_ELI_ERROR 0xFE
#define VEC_ELI_SPURIOUS 0xFF

int x2apic_init(void);
void x2apic_eoi(void);
uint32_t x2apic_id(void);
/* Starts the host tick at hz (calibrated against the PIT), direct_hz while the guest
 * is in direct mode. */
void x2apic_timer_start(uint32_t hz, uint32_t direct_hz);
/* The guest enters, or leaves, direct mode: the tick's rate follows; in direct mode,
 * with lend, the tick moves to the HPET and the APIC timer is lent to the guest's timer
 * (when an HPET comparator can take the tick). */
void hostclock_set_direct(bool direct, bool lend);
/* Whether the APIC timer is lent to the guest's timer (direct mode, with the tick on
 * an HPET comparator). */
bool hostclock_lent(void);
/* The guest's timer on the lent APIC timer: vector 0 stops it; a periodic timer reloads
 * delta_tsc, a one-shot fires once after it. */
void x2apic_guest_timer_load(uint8_t vector, bool periodic, uint64_t delta_tsc);
/* Stops it; returns the TSC cycles it had left (0: a one-shot that fired). */
uint64_t x2apic_guest_timer_unload(void);
/* When eli's next tick is due (TSC), and the period of the full-rate tick: a backend
 * whose watchdog is its own (VMX's preemption timer) arms it from these. */
uint64_t hostclock_next_tick_tsc(void);
uint64_t hostclock_fast_period_tsc(void);
/* Pushes the watchdog's NMI past the next tick (the tick does it itself). */
void hostclock_watchdog_kick(void);
/* Accounts the full-rate periods passed since the last tick (for a reading of the
 * counters between slow ticks: a guest line's mark, the result). */
void hostclock_account(bool final);
/* Ticks are counted from now (the guest's first entry). */
void hostclock_start_accounting(void);
/* Also fire at TSC value tsc (the guest's next virtual-timer expiry); 0 = none. */
void hostclock_set_guest_deadline(uint64_t tsc);
/* A guest's HLT outside direct mode: the CPU halts, eli's own interrupts and the assigned
 * device's running meanwhile, until the guest's LAPIC l has an interrupt for it (its
 * timer's expiry included). */
void hostclock_idle_for_guest(struct vlapic *l);
/* Whether vector is set in the in-service register. */
int x2apic_in_service(uint8_t vector);

#endif
