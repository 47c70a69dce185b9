/*
 * edu_timer: the guest's own x2APIC timer keeps running while device interrupts come back to
 * back. The timer is periodic on timer_vector=T (default 0x30) with a period of period_us=P
 * microseconds (default 1000) of the APIC timer's frequency, calibrated against the TSC, whose
 * rate comes from PIT channel 2 or option tsc_hz= (if neither, the period is a nominal
 * 1,000,000 ticks, and the expected tick count still follows from the measured ratio). Meanwhile count=N (default 20000) edu interrupts on vector=V
 * (default 0x41) are raised one after another.
 *
 * Each handler checks that its own vector is in service (x2APIC ISR) on entry and no longer
 * after its EOI. Passes iff no edu interrupt is lost or spurious, every ISR check held, and
 * the timer ticked 50%..150% of (elapsed time / period) times. For the lower bound, stretches
 * where the vCPU did not run (one loop iteration longer than a quarter period: a preempted
 * QEMU on a busy host) are left out of the elapsed time, since the APIC timer coalesces the
 * ticks that fall due meanwhile.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pit.h"
#include "x2apic.h"

#define DEFAULT_COUNT		20000
#define DEFAULT_VECTOR		0x41
#define DEFAULT_TIMER_VECTOR	0x30
#define DEFAULT_PERIOD_US	1000
#define NOMINAL_PERIOD_TICKS	1000000		/* 1 ms of a 1 GHz APIC timer (QEMU's) */
#define CALIBRATE_MS		20
#define CALIBRATE_CYCLES	50000000ull	/* the window when the TSC rate is unknown */
#define LOST_CYCLES_UNKNOWN_HZ	10000000000ull
#define MIN_EXPECTED_TICKS	4
#define RATIO_SHIFT		20		/* APIC ticks per TSC cycle, fixed point */

static struct edu_dev edu;
static uint8_t edu_vector, timer_vector;

static volatile uint64_t edu_count, edu_spurious, ticks;
static volatile uint64_t edu_isr_bad_entry, edu_isr_bad_exit;
static volatile uint64_t timer_isr_bad_entry, timer_isr_bad_exit;

static void edu_handler(struct int_frame *frame)
{
	(void)frame;
	if (!x2apic_isr_test(edu_vector))
		edu_isr_bad_entry++;
	uint32_t status = edu_irq_status(&edu);
	if (status & EDU_IRQ_BIT) {
		edu_ack(&edu, status);
		edu_count++;
	} else {
		edu_spurious++;
	}
	x2apic_eoi();
	if (x2apic_isr_test(edu_vector))
		edu_isr_bad_exit++;
}

static void timer_handler(struct int_frame *frame)
{
	(void)frame;
	if (!x2apic_isr_test(timer_vector))
		timer_isr_bad_entry++;
	ticks++;
	x2apic_eoi();
	if (x2apic_isr_test(timer_vector))
		timer_isr_bad_exit++;
}

struct apic_calibration {
	uint64_t hz;		/* APIC timer ticks per second at divide 1, 0 if unknown */
	uint64_t per_tsc;	/* APIC timer ticks per TSC cycle << RATIO_SHIFT */
};

static uint64_t apic_timer_current(void)
{
	return x2apic_read(X2APIC_TIMER_CURRENT);
}

/*
 * The APIC timer's rate against the TSC (itself calibrated against the PIT, or given by
 * tsc_hz=): a masked one-shot count read at both ends of a window of about 20 ms.
 */
static struct apic_calibration calibrate_apic_timer(uint64_t tsc_rate)
{
	struct apic_calibration c = { 0, 0 };
	uint64_t c0, c1, t0, t1;

	x2apic_write(X2APIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_1);
	x2apic_write(X2APIC_LVT_TIMER, APIC_LVT_MASKED);
	x2apic_write(X2APIC_TIMER_INITIAL, 0xffffffffu);
	tsc_bracket(apic_timer_current, &c0, &t0);
	tsc_spin(tsc_rate ? tsc_rate * CALIBRATE_MS / 1000 : CALIBRATE_CYCLES);
	tsc_bracket(apic_timer_current, &c1, &t1);
	x2apic_write(X2APIC_TIMER_INITIAL, 0);

	if (c1 >= c0 || t1 <= t0)
		return c;
	c.per_tsc = ((c0 - c1) << RATIO_SHIFT) / (t1 - t0);
	if (tsc_rate)
		c.hz = (c0 - c1) * tsc_rate / (t1 - t0);
	printf("apic timer: %lu ticks in %lu TSC cycles: ", c0 - c1, t1 - t0);
	if (c.hz)
		printf("%lu Hz\n", c.hz);
	else
		printf("frequency unknown (TSC rate unknown)\n");
	return c;
}

int main(void)
{
	uint64_t count = cmdline_get_u64("count", DEFAULT_COUNT);
	uint64_t vector = cmdline_get_u64("vector", DEFAULT_VECTOR);
	uint64_t tvector = cmdline_get_u64("timer_vector", DEFAULT_TIMER_VECTOR);
	uint64_t period_us = cmdline_get_u64("period_us", DEFAULT_PERIOD_US);

	if (tvector < 0x20 || tvector >= EDU_APIC_SPURIOUS_VECTOR || tvector == vector ||
	    !period_us) {
		report(false, "timer_vector %#lx lies in 0x20-0xfe and differs from vector %#lx; "
		       "period_us %lu > 0", tvector, vector, period_us);
		return report_summary();
	}
	if (!edu_irq_setup(&edu, vector))
		return report_summary();
	edu_vector = (uint8_t)vector;
	timer_vector = (uint8_t)tvector;
	idt_set_handler(edu_vector, edu_handler);
	idt_set_handler(timer_vector, timer_handler);

	uint64_t hz = tsc_hz();
	struct apic_calibration cal = calibrate_apic_timer(hz);
	uint64_t period = cal.hz ? cal.hz * period_us / 1000000 : NOMINAL_PERIOD_TICKS;
	if (!cal.per_tsc || !period || period > 0xffffffffu) {
		report(false, "APIC timer calibration: %lu ticks per TSC cycle << %d, period %lu",
		       cal.per_tsc, RATIO_SHIFT, period);
		return report_summary();
	}
	printf("edu_timer: timer vector %#lx every %lu ticks (%s), %lu edu interrupts on %#lx\n",
	       tvector, period, cal.hz ? "calibrated" : "nominal", count, vector);

	uint64_t lost_bound = hz ? 2 * hz : LOST_CYCLES_UNKNOWN_HZ;
	/* An iteration this long means the vCPU did not run: ticks due meanwhile coalesce. */
	uint64_t period_tsc = (period << RATIO_SHIFT) / cal.per_tsc;
	uint64_t stall = period_tsc / 4;
	uint64_t raised = 0, stalled = 0, stalls = 0;
	bool lost = false;

	sti();
	uint64_t start = rdtsc(), prev = start;
	x2apic_timer_start(timer_vector, (uint32_t)period, true);
	for (uint64_t i = 0; i < count; i++) {
		uint64_t before = edu_count;
		uint64_t t0 = rdtsc();

		if (t0 - prev > stall) {
			stalled += t0 - prev;
			stalls++;
		}
		prev = t0;
		edu_raise(&edu, EDU_IRQ_BIT);
		raised++;
		if (!edu_wait_count(&edu_count, before, t0, lost_bound)) {
			lost = true;
			break;
		}
	}
	x2apic_timer_stop();
	uint64_t elapsed = rdtsc() - start;
	cli();
	edu_msi_disable(&edu);

	uint64_t expected = (elapsed * cal.per_tsc >> RATIO_SHIFT) / period;
	uint64_t expected_running = ((elapsed - stalled) * cal.per_tsc >> RATIO_SHIFT) / period;
	printf("elapsed %lu TSC cycles, timer ticks %lu (expected about %lu)\n", elapsed, ticks,
	       expected);
	printf("stalls (an iteration over a quarter period, %lu cycles): %lu, %lu cycles; "
	       "expected ticks over the rest %lu\n", stall, stalls, stalled, expected_running);
	printf("edu: raised %lu, handled %lu, spurious %lu; APIC spurious %lu\n", raised,
	       edu_count, edu_spurious, edu_apic_spurious);
	printf("ISR checks failed: edu entry %lu exit %lu, timer entry %lu exit %lu\n",
	       edu_isr_bad_entry, edu_isr_bad_exit, timer_isr_bad_entry, timer_isr_bad_exit);
	printf("edu-result {\"raised\":%lu,\"handled\":%lu,\"spurious\":%lu,\"cycles\":%lu,"
	       "\"ticks\":%lu,\"ticks_expected\":%lu,\"stalled_cycles\":%lu,\"isr_bad\":%lu}\n",
	       raised, edu_count, edu_spurious, elapsed, ticks, expected, stalled,
	       edu_isr_bad_entry + edu_isr_bad_exit + timer_isr_bad_entry + timer_isr_bad_exit);

	if (lost)
		report(false, "interrupt lost: no edu handler within %lu cycles of raise %lu",
		       lost_bound, raised);
	report(edu_count == raised && !edu_spurious,
	       "edu: handled %lu of %lu raised, %lu spurious", edu_count, raised, edu_spurious);
	report(!edu_isr_bad_entry && !edu_isr_bad_exit,
	       "edu handler: vector in service on entry, not after EOI (%lu, %lu bad)",
	       edu_isr_bad_entry, edu_isr_bad_exit);
	report(!timer_isr_bad_entry && !timer_isr_bad_exit,
	       "timer handler: vector in service on entry, not after EOI (%lu, %lu bad)",
	       timer_isr_bad_entry, timer_isr_bad_exit);
	/* Ticks due while the vCPU was stalled coalesce (QEMU skips missed periods). */
	if (expected_running < MIN_EXPECTED_TICKS)
		report_skip("timer: %lu ticks expected outside stalls, too few to judge (%lu ticked)",
			    expected_running, ticks);
	else
		report(2 * ticks >= expected_running && 2 * ticks <= 3 * expected,
		       "timer ticked %lu times: at least 50%% of %lu (outside stalls), at most "
		       "150%% of %lu", ticks, expected_running, expected);
	return report_summary();
}
