/*
 * Time base for interrupt workloads: the TSC, calibrated the way an ordinary OS does it,
 * against channel 2 of the 8254 PIT (ports 0x42/0x43, gate and output through port 0x61).
 */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ		1193182u

/*
 * Reads a clock (read() returns its value) together with the TSC at that moment: the midpoint
 * of two TSC reads around it, keeping the tightest of a few tries, so that a read delayed by
 * the host (a preempted vCPU, a slow exit) does not skew a calibration.
 */
void tsc_bracket(uint64_t (*read)(void), uint64_t *value, uint64_t *tsc);

/*
 * One calibration of the TSC against PIT channel 2 (mode 0, counted down for about 30 ms and
 * read through latch commands, each read bracketed by tsc_bracket). Returns TSC cycles per
 * second, or 0 if the PIT looks absent: port 0x61 reads 0xff, or the count does not move.
 */
uint64_t pit_calibrate_tsc(void);

/*
 * The TSC frequency in Hz, found once and cached: the PIT (median of three calibrations),
 * else option tsc_hz=N, else 0 (unknown). The first call prints where the value came from.
 */
uint64_t tsc_hz(void);

/* Spins (pause) until cycles TSC cycles have passed; interrupts stay as they are. */
void tsc_spin(uint64_t cycles);

#endif
