/*
 * hostile_irq: a guest that mistreats its interrupts. Needs QEMU's edu device (-device edu)
 * except for case=eoi-flood. vector=V (default 0x41) is the device's vector.
 *
 * case=never-eoi  the edu handler acks the device but never EOIs. After the first interrupt,
 *                 the device is raised again every ~40 us for cycles=N TSC cycles (default
 *                 2,500,000,000) with interrupts enabled: V stays in service, so none of those
 *                 may run (only higher classes could). The guest starves itself, on purpose.
 * case=eoi-flood  no device: writes the x2APIC EOI MSR count=N times (default 1,000,000) with
 *                 nothing in service and interrupts enabled; then a self-IPI must still be
 *                 delivered once and end with its EOI.
 * case=storm      raises edu interrupts back to back (one MMIO write each, as fast as the CPU
 *                 goes) for cycles=N with interrupts enabled, while its handler spins work=W
 *                 TSC cycles (default 25,000, ~10 us) with interrupts disabled before it acks
 *                 and EOIs.
 * case=storm-noack the same, but the handler never acks the device (its status stays set) and
 *                 does not spin: it only EOIs.
 * After a storm the guest must still work: count=100 raises, one at a time, each handled once.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pit.h"
#include "x2apic.h"

#define DEFAULT_VECTOR		0x41
#define DEFAULT_CYCLES		2500000000ul
#define DEFAULT_WORK		25000ul
#define DEFAULT_EOIS		1000000ul
#define RAISE_GAP		100000ul	/* cycles between raises in never-eoi (~40 us) */
#define CHECK_RAISES		100
#define SELF_IPI_VECTOR		0x40
#define ARRIVE_CYCLES		5000000000ul	/* how long a due interrupt may take */

static struct edu_dev edu;
static uint8_t vector;
static volatile uint64_t runs, spurious, self_hits, self_in_service;
static uint64_t work;
static volatile bool do_ack = true, do_eoi = true;

static void edu_handler(struct int_frame *frame)
{
	(void)frame;
	if (work)
		tsc_spin(work);
	uint32_t status = edu_irq_status(&edu);

	if (status & EDU_IRQ_BIT) {
		if (do_ack)
			edu_ack(&edu, status);
		runs++;
	} else {
		spurious++;
	}
	if (do_eoi)
		x2apic_eoi();
}

static void self_handler(struct int_frame *frame)
{
	(void)frame;
	self_hits++;
	self_in_service += x2apic_isr_test(SELF_IPI_VECTOR);
	x2apic_eoi();
}

static bool wait_runs(uint64_t target, uint64_t cycles)
{
	uint64_t start = rdtsc();

	while (runs < target) {
		if (rdtsc() - start > cycles)
			return false;
		pause();
	}
	return true;
}

/* The device still works: n raises, one at a time, each handled once. */
static void check_device_works(const char *after)
{
	uint64_t lost = 0;

	work = 0;
	do_ack = do_eoi = true;
	edu_ack(&edu, 0xffffffffu);
	sti();
	tsc_spin(10000000);		/* whatever was pending from the storm comes in */
	uint64_t base = runs;
	for (uint64_t i = 0; i < CHECK_RAISES; i++) {
		uint64_t before = runs;

		edu_raise(&edu, EDU_IRQ_BIT);
		if (!wait_runs(before + 1, ARRIVE_CYCLES))
			lost++;
	}
	tsc_spin(1000000);
	cli();
	report(!lost && runs - base == CHECK_RAISES,
	       "after %s: %d raises handled once each (%lu handled, %lu lost)", after,
	       CHECK_RAISES, runs - base, lost);
}

static void case_never_eoi(uint64_t cycles)
{
	do_eoi = false;
	sti();
	edu_raise(&edu, EDU_IRQ_BIT);
	bool first = wait_runs(1, ARRIVE_CYCLES);
	bool in_service = x2apic_isr_test(vector);
	report(first && in_service, "first interrupt ran and stays in service without EOI "
	       "(%lu runs, ISR %s)", runs, in_service ? "set" : "clear");

	printf("hostile_irq: never EOIs; raising every %lu cycles for %lu cycles\n", RAISE_GAP,
	       cycles);
	uint64_t raised = 0, start = rdtsc(), last = start, now;
	while ((now = rdtsc()) - start < cycles) {
		if (now - last >= RAISE_GAP) {
			edu_ack(&edu, EDU_IRQ_BIT);
			edu_raise(&edu, EDU_IRQ_BIT);
			raised++;
			last = now;
		}
	}
	cli();
	printf("hostile_irq: raised %lu more; handler runs %lu; spurious %lu\n", raised, runs,
	       spurious);
	report(runs == 1, "no further interrupt on %#x while it stays in service (%lu runs "
	       "after %lu raises)", vector, runs, raised);
	report(x2apic_isr_test(vector), "vector %#x still in service at the end", vector);
}

static void case_eoi_flood(uint64_t count)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	x2apic_enable();
	x2apic_write(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
	idt_set_handler(SELF_IPI_VECTOR, self_handler);
	x2apic_sw_enable(0xff);
	x2apic_write(X2APIC_TPR, 0);

	printf("hostile_irq: %lu EOIs with nothing in service\n", count);
	sti();
	uint64_t start = rdtsc();
	for (uint64_t i = 0; i < count; i++)
		wrmsr(X2APIC_EOI, 0);
	uint64_t took = rdtsc() - start;
	printf("hostile_irq: %lu EOIs took %lu TSC cycles\n", count, took);
	x2apic_self_ipi(SELF_IPI_VECTOR);
	tsc_spin(1000000);
	cli();
	report(self_hits == 1 && self_in_service == 1,
	       "a self-IPI after the flood is delivered once, in service in its handler (%lu, %lu)",
	       self_hits, self_in_service);
	report(!x2apic_isr_test(SELF_IPI_VECTOR), "and ends with its EOI");
}

static void case_storm(uint64_t cycles, bool ack)
{
	do_ack = ack;
	if (!ack)
		work = 0;
	printf("hostile_irq: storm for %lu cycles, handler %s, %lu cycles of work each\n", cycles,
	       ack ? "acks" : "never acks", work);
	sti();
	uint64_t raised = 0, start = rdtsc();
	while (rdtsc() - start < cycles) {
		edu_raise(&edu, EDU_IRQ_BIT);
		raised++;
	}
	cli();
	printf("hostile_irq: storm raised %lu, handled %lu, spurious %lu\n", raised, runs, spurious);
	report(runs >= 1, "storm: %lu interrupts handled of %lu raised", runs, raised);
	check_device_works("the storm");
}

int main(void)
{
	const char *c = cmdline_get("case");
	uint64_t v = cmdline_get_u64("vector", DEFAULT_VECTOR);
	uint64_t cycles = cmdline_get_u64("cycles", DEFAULT_CYCLES);

	work = cmdline_get_u64("work", DEFAULT_WORK);
	if (!c) {
		report(false, "option case=never-eoi|eoi-flood|storm|storm-noack given");
		return report_summary();
	}
	if (!strcmp(c, "eoi-flood")) {
		if (!x2apic_supported())
			report(false, "the CPU has an x2APIC");
		else
			case_eoi_flood(cmdline_get_u64("count", DEFAULT_EOIS));
		return report_summary();
	}
	if (!edu_irq_setup(&edu, v))
		return report_summary();
	vector = (uint8_t)v;
	idt_set_handler(vector, edu_handler);
	if (!strcmp(c, "never-eoi"))
		case_never_eoi(cycles);
	else if (!strcmp(c, "storm"))
		case_storm(cycles, true);
	else if (!strcmp(c, "storm-noack"))
		case_storm(cycles, false);
	else
		report(false, "known case '%s'", c);
	edu_msi_disable(&edu);
	return report_summary();
}
