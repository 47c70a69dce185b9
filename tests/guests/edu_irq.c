/*
 * edu_irq: an interrupt workload on QEMU's edu device. The guest raises an edu interrupt
 * (MSI, x2APIC physical destination, vector=V, default 0x41), waits for its handler, and
 * repeats count=N times (default 100000): back to back, or rate=R interrupts per second
 * (which needs the TSC frequency: PIT channel 2, else option tsc_hz=). The handler checks the
 * device's interrupt status (a raise bit, else the interrupt is spurious), acks it, records
 * the TSC and EOIs through the x2APIC EOI MSR. With lat=1 (default; lat=0 turns it off) the
 * latency raise -> handler entry is recorded per interrupt, in TSC cycles.
 *
 * Prints `edu-result {json}`. Passes iff every raised interrupt was handled exactly once and
 * none was spurious.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pit.h"
#include "x2apic.h"

#define DEFAULT_COUNT		100000
#define DEFAULT_VECTOR		0x41
#define MAX_LATENCIES		200000
#define LOST_SECONDS		2		/* no handler after this long: the interrupt is lost */
#define LOST_CYCLES_UNKNOWN_HZ	10000000000ull	/* the same bound when the TSC rate is unknown */

static struct edu_dev edu;
static volatile uint64_t handled;
static volatile uint64_t spurious;
static volatile uint64_t handler_tsc;

static uint64_t latency[MAX_LATENCIES];
static uint64_t sorted[MAX_LATENCIES];

static void edu_handler(struct int_frame *frame)
{
	uint64_t now = rdtsc();
	uint32_t status = edu_irq_status(&edu);

	(void)frame;
	if (status & EDU_IRQ_BIT) {
		edu_ack(&edu, status);
		handler_tsc = now;
		handled++;
	} else {
		spurious++;
	}
	x2apic_eoi();
}

/* Heapsort: no recursion, no extra memory, O(n log n) for 200000 entries. */
static void sift_down(uint64_t *a, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		uint64_t t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

static void sort_u64(uint64_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		uint64_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

int main(void)
{
	uint64_t count = cmdline_get_u64("count", DEFAULT_COUNT);
	uint64_t vector = cmdline_get_u64("vector", DEFAULT_VECTOR);
	uint64_t rate = cmdline_get_u64("rate", 0);
	bool lat = cmdline_get_u64("lat", 1) != 0;

	if (lat && count > MAX_LATENCIES) {
		printf("count %lu capped at %u (the latency array's size)\n", count, MAX_LATENCIES);
		count = MAX_LATENCIES;
	}
	if (!edu_irq_setup(&edu, vector))
		return report_summary();
	idt_set_handler((unsigned)vector, edu_handler);

	uint64_t hz = tsc_hz();
	uint64_t period = 0;
	if (rate) {
		if (!hz) {
			report_skip("rate=%lu: the TSC frequency is unknown (no PIT; give tsc_hz=)",
				    rate);
			return report_summary();
		}
		period = hz / rate;
	}
	uint64_t lost_bound = hz ? LOST_SECONDS * hz : LOST_CYCLES_UNKNOWN_HZ;
	printf("edu_irq: %lu interrupts on vector %#lx, %s%s\n", count, vector,
	       rate ? "paced" : "back to back", lat ? ", recording latency" : "");
	if (rate)
		printf("edu_irq: rate %lu/s, one raise every %lu TSC cycles\n", rate, period);

	uint64_t raised = 0;
	bool lost = false;
	sti();
	uint64_t start = rdtsc(), next = start;
	for (uint64_t i = 0; i < count; i++) {
		if (period) {
			while ((int64_t)(rdtsc() - next) < 0)
				pause();
			next += period;
		}
		uint64_t before = handled;
		uint64_t t0 = rdtsc();
		edu_raise(&edu, EDU_IRQ_BIT);
		raised++;
		if (!edu_wait_count(&handled, before, t0, lost_bound)) {
			lost = true;
			break;
		}
		if (lat)
			latency[i] = handler_tsc - t0;
	}
	uint64_t end = rdtsc();
	/* first thing after the loop: the line that ends the measured stretch */
	printf("raised %lu, handled %lu, spurious %lu, APIC spurious %lu\n", raised, handled,
	       spurious, edu_apic_spurious);
	cli();
	edu_msi_disable(&edu);

	uint64_t cycles = end - start;
	uint64_t n = lat ? handled : 0;
	if (n > raised)
		n = raised;
	uint64_t lat_min = 0, lat_median = 0, lat_p99 = 0, lat_max = 0;
	if (n) {
		memcpy(sorted, latency, n * sizeof(sorted[0]));
		sort_u64(sorted, n);
		lat_min = sorted[0];
		lat_median = sorted[n / 2];
		lat_p99 = sorted[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
		lat_max = sorted[n - 1];
	}

	printf("cycles %lu (%lu per interrupt)", cycles, raised ? cycles / raised : 0);
	if (hz)
		printf(", %lu us, %lu interrupts/s", cycles * 1000 / (hz / 1000),
		       cycles ? raised * hz / cycles : 0);
	printf("\n");
	if (lat)
		printf("latency (cycles): min %lu, median %lu, p99 %lu, max %lu\n", lat_min,
		       lat_median, lat_p99, lat_max);
	printf("edu-result {\"raised\":%lu,\"handled\":%lu,\"spurious\":%lu,\"cycles\":%lu,"
	       "\"lat_min\":%lu,\"lat_median\":%lu,\"lat_p99\":%lu,\"vector\":%lu,\"rate\":%lu,"
	       "\"tsc_hz\":%lu}\n", raised, handled, spurious, cycles, lat_min, lat_median,
	       lat_p99, vector, rate, hz);

	if (lost)
		report(false, "interrupt lost: no handler within %lu cycles of raise %lu",
		       lost_bound, raised);
	report(handled == raised, "handled %lu of %lu raised edu interrupts", handled, raised);
	report(spurious == 0, "%lu spurious edu interrupts (status without the raise bit)",
	       spurious);
	return report_summary();
}
