/*
 * spin: spins with interrupts disabled until cycles=N TSC cycles (default 2,000,000,000) have
 * passed. A long stretch without a single exit: under eli, nothing should disturb it.
 */
#include "libguest.h"
#include "processor.h"

#define DEFAULT_CYCLES 2000000000ull

int main(void)
{
	uint64_t cycles = cmdline_get_u64("cycles", DEFAULT_CYCLES);

	printf("spinning for %lu TSC cycles with interrupts disabled\n", cycles);
	cli();
	uint64_t start = rdtsc(), now;
	do {
		pause();
		now = rdtsc();
	} while (now - start < cycles);

	printf("elapsed: %lu cycles\n", now - start);
	report(now - start >= cycles, "spun for at least %lu TSC cycles with interrupts disabled",
	       cycles);
	return report_summary();
}
