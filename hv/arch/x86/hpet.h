/* The watchdog that bounds how long a guest can hold eli out (docs/security.md): an
 * HPET comparator sending its interrupt as an MSI message with NMI delivery (the FSB
 * route, IA-PC HPET specification 1.0a, 2.3.9), which the guest cannot mask and which
 * exits through the VMCB's NMI intercept. eli's host tick pushes the deadline forward,
 * so the NMI comes only when ticks stop arriving. */
#ifndef ELI_ARCH_X86_HPET_H
#define ELI_ARCH_X86_HPET_H
#include "arch/x86/acpi.h"
#include <stdbool.h>
#include <stdint.h>

/* Finds the HPET through ACPI and arms a comparator to send an NMI to this CPU
 * period_us after each kick. Returns 0 or -ENODEV (no HPET, or no comparator that
 * can send FSB messages). */
int hpet_watchdog_init(const struct acpi *a, uint32_t apic_id, uint32_t period_us);
bool hpet_watchdog_armed(void);
/* The next NMI in `us` unless pushed again first. */
void hpet_watchdog_soon(uint32_t us);
uint32_t hpet_watchdog_period_us(void);

/* eli's tick while the guest has the LAPIC timer (docs/eli.md, decision 11): another FSB
 * comparator, sending `vector` with fixed delivery. -ENODEV without the watchdog's HPET
 * or a second FSB comparator. */
int hpet_tick_init(uint32_t apic_id, uint8_t vector);
bool hpet_tick_ready(void);
/* The tick's interrupt in `us`; stopped until armed again. */
void hpet_tick_in(uint64_t us);
void hpet_tick_stop(void);

#endif
