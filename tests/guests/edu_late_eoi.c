/*
 * edu_late_eoi: device interrupts that must wait, on vector=V (default 0x41).
 *
 * (a) With interrupts disabled (CLI) an edu interrupt is raised: for ~20 ms of TSC the handler
 *     must not run; after STI it must run exactly once.
 * (b) A handler that does not EOI: the first interrupt runs it and stays in service (its ISR
 *     bit set); a second interrupt raised on the same vector must not be delivered while the
 *     first is in service (checked for ~10 ms with interrupts enabled); once the main loop
 *     EOIs the first, the second must arrive, exactly once; the main loop then EOIs it too.
 * (c) (b) repeated rounds=N times (default 100).
 * Passes iff every count is exact.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pit.h"
#include "x2apic.h"

#define DEFAULT_VECTOR		0x41
#define DEFAULT_ROUNDS		100
#define HOLD_MS_CLI		20
#define HOLD_MS_IN_SERVICE	10
#define QUIET_MS		2	/* how long "exactly once" waits for a duplicate */
#define ARRIVE_MS		1000	/* how long an interrupt due now may take to arrive */
#define ASSUMED_TSC_HZ		3000000000ul	/* for the waits when the rate is unknown */

static struct edu_dev edu;
static uint8_t vector;
static volatile uint64_t runs, spurious;
static volatile bool eoi_in_handler;

static void edu_handler(struct int_frame *frame)
{
	(void)frame;
	uint32_t status = edu_irq_status(&edu);

	if (status & EDU_IRQ_BIT) {
		edu_ack(&edu, status);
		runs++;
	} else {
		spurious++;
	}
	if (eoi_in_handler)
		x2apic_eoi();
}

static uint64_t ms_cycles;	/* TSC cycles per millisecond */

/* Spins (interrupts as they are) until runs reaches target or ms pass; true if reached. */
static bool wait_runs(uint64_t target, unsigned ms)
{
	uint64_t start = rdtsc();

	while (runs < target) {
		if (rdtsc() - start > ms * ms_cycles)
			return false;
		pause();
	}
	return true;
}

static void check_cli(void)
{
	runs = 0;
	eoi_in_handler = true;
	cli();
	edu_raise(&edu, EDU_IRQ_BIT);
	tsc_spin(HOLD_MS_CLI * ms_cycles);
	uint64_t held = runs;
	sti();
	wait_runs(1, ARRIVE_MS);
	tsc_spin(QUIET_MS * ms_cycles);
	cli();
	uint64_t after = runs;

	report(held == 0, "(a) no delivery for %u ms with interrupts disabled (%lu runs)",
	       HOLD_MS_CLI, held);
	report(after == 1, "(a) delivered exactly once after STI (%lu runs)", after);
}

struct round_result {
	uint64_t first;		/* runs after the first raise */
	bool in_service;	/* ISR bit of the vector set while the handler left it */
	uint64_t held;		/* runs after the second raise, with the first in service */
	uint64_t second;	/* runs after the EOI of the first */
	bool cleared;		/* ISR bit clear after both EOIs */
};

/* One round of (b); interrupts enabled throughout, EOIs from here. */
static struct round_result late_eoi_round(void)
{
	struct round_result r;

	runs = 0;
	eoi_in_handler = false;
	sti();
	edu_raise(&edu, EDU_IRQ_BIT);
	wait_runs(1, ARRIVE_MS);
	r.first = runs;
	r.in_service = x2apic_isr_test(vector);

	edu_raise(&edu, EDU_IRQ_BIT);
	tsc_spin(HOLD_MS_IN_SERVICE * ms_cycles);
	r.held = runs;

	x2apic_eoi();		/* completes the first: the second is due now */
	wait_runs(2, ARRIVE_MS);
	tsc_spin(QUIET_MS * ms_cycles);
	r.second = runs;
	if (r.second >= 2)
		x2apic_eoi();	/* completes the second */
	cli();
	r.cleared = !x2apic_isr_test(vector);
	return r;
}

static bool round_ok(const struct round_result *r)
{
	return r->first == 1 && r->in_service && r->held == 1 && r->second == 2 && r->cleared;
}

static void report_round(const char *what, const struct round_result *r)
{
	report(r->first == 1 && r->in_service,
	       "%s first interrupt ran once (%lu) and stays in service without EOI (ISR %s)",
	       what, r->first, r->in_service ? "set" : "clear");
	report(r->held == 1, "%s second interrupt held for %u ms while the first is in service "
	       "(%lu runs)", what, HOLD_MS_IN_SERVICE, r->held);
	report(r->second == 2, "%s second interrupt delivered exactly once after the EOI "
	       "(%lu runs)", what, r->second);
	report(r->cleared, "%s nothing in service after both EOIs", what);
}

int main(void)
{
	uint64_t v = cmdline_get_u64("vector", DEFAULT_VECTOR);
	uint64_t rounds = cmdline_get_u64("rounds", DEFAULT_ROUNDS);

	if (!edu_irq_setup(&edu, v))
		return report_summary();
	vector = (uint8_t)v;
	idt_set_handler(vector, edu_handler);
	uint64_t hz = tsc_hz();
	if (!hz)
		printf("waits assume a %lu Hz TSC\n", ASSUMED_TSC_HZ);
	ms_cycles = (hz ? hz : ASSUMED_TSC_HZ) / 1000;

	check_cli();

	struct round_result r = late_eoi_round();
	report_round("(b)", &r);
	if (!round_ok(&r)) {
		/* Leave nothing in service for the rounds below. */
		for (unsigned i = 0; i < 2 && !r.cleared; i++) {
			x2apic_eoi();
			r.cleared = !x2apic_isr_test(vector);
		}
	}

	uint64_t bad = 0;
	struct round_result first_bad = { 0 };
	uint64_t first_bad_round = 0;
	for (uint64_t i = 0; i < rounds; i++) {
		r = late_eoi_round();
		if (round_ok(&r))
			continue;
		if (!bad++) {
			first_bad = r;
			first_bad_round = i;
		}
		for (unsigned j = 0; j < 2 && x2apic_isr_test(vector); j++)
			x2apic_eoi();
	}
	if (bad) {
		printf("first bad round %lu:\n", first_bad_round);
		report_round("(c) first bad round:", &first_bad);
	}
	report(!bad, "(c) %lu rounds of (b): %lu with a wrong count", rounds, bad);

	edu_msi_disable(&edu);
	report(spurious == 0, "no spurious edu interrupts (%lu)", spurious);
	printf("edu-result {\"rounds\":%lu,\"bad_rounds\":%lu,\"spurious\":%lu}\n", rounds, bad,
	       spurious);
	return report_summary();
}
