/*
 * spin: spins until cycles=N TSC cycles (default 2,000,000,000) have passed, with interrupts
 * disabled, or enabled with sti=1 (no device of its own interrupts it). A long stretch in which
 * the guest itself causes no exit.
 */
#include "libguest.h"
#include "processor.h"

#define DEFAULT_CYCLES 2000000000ull

int main(void)
{
	uint64_t cycles = cmdline_get_u64("cycles", DEFAULT_CYCLES);

	bool irqs = cmdline_get_u64("sti", 0) != 0;
	const char *state = irqs ? "enabled" : "disabled";

	printf("spinning for %lu TSC cycles with interrupts %s\n", cycles, state);
	if (irqs) {
		/* the firmware may have left the 8259s on: mask them, as an OS using the APIC does */
		outb(0x21, 0xff);
		outb(0xa1, 0xff);
		sti();
	}
	else
		cli();
	uint64_t start = rdtsc(), now;
	do {
		pause();
		now = rdtsc();
	} while (now - start < cycles);

	printf("elapsed: %lu cycles\n", now - start);
	cli();
	report(now - start >= cycles, "spun for at least %lu TSC cycles with interrupts %s",
	       cycles, state);
	return report_summary();
}
