/*
 * TSC calibration against PIT channel 2. Like Linux's quick_pit_calibrate, it reads the
 * count itself (latch command) rather than waiting for the output, and times each read with
 * the TSC on both sides, so a vCPU that the host preempts for a few milliseconds (common
 * under TCG on a busy machine) costs a retry, not a wrong frequency.
 */
#include "pit.h"
#include "libguest.h"
#include "processor.h"

#define PIT_CH2		0x42
#define PIT_MODE	0x43
#define PIT_PORT_B	0x61	/* bit 0: channel 2 gate, bit 1: speaker data, bit 5: OUT2 */

#define PORT_B_GATE2	0x01
#define PORT_B_SPEAKER	0x02
#define PORT_B_OUT2	0x20

#define PIT_MODE_CH2_LOHI_MODE0	0xb0	/* channel 2, lobyte/hibyte, mode 0, binary */
#define PIT_LATCH_CH2		0x80	/* counter latch command for channel 2 */

#define PIT_START_COUNT	0xffff		/* 54.9 ms until OUT2 rises */
#define PIT_SPAN	(PIT_HZ * 30 / 1000)	/* ticks to measure over: 30 ms */
/* TSC cycles after which a count that has not moved 30 ms' worth means there is no PIT. */
#define PIT_STUCK_CYCLES 1000000000ull
#define PIT_RETRIES	5
#define BRACKET_TRIES	5
#define CALIBRATIONS	3

void tsc_bracket(uint64_t (*read)(void), uint64_t *value, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;

	for (unsigned i = 0; i < BRACKET_TRIES; i++) {
		uint64_t a = rdtsc();
		uint64_t v = read();
		uint64_t b = rdtsc();

		if (b - a < best) {
			best = b - a;
			*value = v;
			*tsc = a + (b - a) / 2;
		}
	}
}

static uint64_t pit_read_count(void)
{
	outb(PIT_MODE, PIT_LATCH_CH2);
	uint8_t lo = inb(PIT_CH2);
	uint8_t hi = inb(PIT_CH2);
	return (uint64_t)hi << 8 | lo;
}

/* One run: cycles per second, 0 if the PIT looks absent, UINT64_MAX to retry. */
static uint64_t pit_calibrate_once(void)
{
	uint8_t b = inb(PIT_PORT_B);

	if (b == 0xff)
		return 0;
	/* Gate high, speaker off; mode 0 counts down from the start count, OUT2 low until 0. */
	outb(PIT_PORT_B, (b & ~PORT_B_SPEAKER) | PORT_B_GATE2);
	outb(PIT_MODE, PIT_MODE_CH2_LOHI_MODE0);
	outb(PIT_CH2, PIT_START_COUNT & 0xff);
	outb(PIT_CH2, PIT_START_COUNT >> 8);

	uint64_t c0 = 0, t0 = 0, c1 = 0, t1 = 0;
	tsc_bracket(pit_read_count, &c0, &t0);
	do {
		tsc_bracket(pit_read_count, &c1, &t1);
		if (c1 > c0)	/* the count ran out and wrapped between two reads */
			return UINT64_MAX;
		if (t1 - t0 > PIT_STUCK_CYCLES)
			return 0;
	} while (c1 + PIT_SPAN > c0);
	/* OUT2 high: the count reached 0 and wrapped around, so c1 is not what it seems. */
	if (inb(PIT_PORT_B) & PORT_B_OUT2)
		return UINT64_MAX;
	return (t1 - t0) * PIT_HZ / (c0 - c1);
}

uint64_t pit_calibrate_tsc(void)
{
	for (unsigned i = 0; i < PIT_RETRIES; i++) {
		uint64_t hz = pit_calibrate_once();
		if (hz != UINT64_MAX)
			return hz;
	}
	return 0;
}

uint64_t tsc_hz(void)
{
	static uint64_t hz;
	static bool done;

	if (done)
		return hz;
	done = true;

	uint64_t r[CALIBRATIONS];
	unsigned n = 0;
	for (unsigned i = 0; i < CALIBRATIONS; i++) {
		uint64_t v = pit_calibrate_tsc();
		if (!v)
			break;
		/* insertion keeps r sorted */
		unsigned j = n++;
		for (; j > 0 && r[j - 1] > v; j--)
			r[j] = r[j - 1];
		r[j] = v;
	}
	if (n == CALIBRATIONS) {
		hz = r[n / 2];
		printf("tsc: %lu Hz (PIT channel 2; runs %lu..%lu)\n", hz, r[0], r[n - 1]);
		return hz;
	}
	hz = cmdline_get_u64("tsc_hz", 0);
	if (hz)
		printf("tsc: %lu Hz (option tsc_hz, no PIT)\n", hz);
	else
		printf("tsc: frequency unknown (no PIT, no tsc_hz= option)\n");
	return hz;
}

void tsc_spin(uint64_t cycles)
{
	uint64_t start = rdtsc();

	while (rdtsc() - start < cycles)
		pause();
}
