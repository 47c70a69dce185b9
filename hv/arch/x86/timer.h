/* Time: the TSC and the local APIC timer, both calibrated against the PIT. */
#ifndef ELI_ARCH_X86_TIMER_H
#define ELI_ARCH_X86_TIMER_H
#include <stdint.h>

#define CALIBRATION_US 20000

struct timing {
    uint64_t tsc_hz;
    uint64_t apic_hz;
    uint32_t tick_hz;
};
extern struct timing timing;

/* Busy-waits us microseconds on PIT channel 2 (at most 54 ms). */
void pit_wait_us(uint32_t us);
void tsc_calibrate(void);

/* A value read (a counter) and the TSC at the same moment: of several reads, the one
 * the TSC moved least around. Under TCG a port or APIC access can wait milliseconds
 * for QEMU's lock; timing a counter's start and end instead put up to 20% into the
 * TSC rate. */
uint64_t read_at_tsc(uint64_t (*read)(void), uint64_t *tsc);

#endif
