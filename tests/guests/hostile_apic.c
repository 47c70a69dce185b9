/*
 * hostile_apic: a guest that abuses its local APIC (x2APIC mode). Every vector 0x20-0xfe has a
 * handler that counts it and EOIs when it is in service; NMIs are counted too.
 *
 * case=sweep        RDMSR and WRMSR of every x2APIC MSR 0x800-0x8ff with values 0, 1, 0xff, 0x100,
 *                   0x1ff, 0x10000, 0x200ff, 0xffffffff, 1 << 32, ~0, interrupts disabled, each
 *                   register put back to a sane value after its writes. Read-only registers
 *                   (ID, version, PPR, LDR, ISR, TMR, IRR, current count) must refuse every write
 *                   with #GP, unimplemented ones every access, write-only ones (EOI, SELF IPI)
 *                   every read; bits 63:32 of all but the ICR are reserved (#GP; not checked for EOI, which
 *                   may go straight to a physical APIC). Afterwards the
 *                   APIC still delivers a self-IPI. Architectural x2APIC behaviour (SDM vol. 3,
 *                   11.12.1): QEMU's own x2APIC is laxer, so no bare twin.
 * case=icr          ICR writes that must never leave this CPU: INIT, SIPI, NMI, SMI, remote read,
 *                   ExtINT (to itself and to others), fixed IPIs to APIC ID 5, to all excluding
 *                   self, to all including self, to broadcast 0xffffffff, to another logical
 *                   cluster, lowest priority. Prints how many were meant for another CPU or not a
 *                   fixed interrupt (`icr-result {"sent_away":N}`). The fixed ones that include
 *                   this CPU must arrive here, once each; no NMI may arrive; this CPU survives
 *                   its own INIT. No bare twin (an INIT to itself resets a real CPU).
 * case=lvt          its own timer on vector 0xf0 (a vector a hypervisor may use itself),
 *                   periodic 1 ms, for cycles=N (default 500,000,000): it must tick about as
 *                   often as the APIC timer's rate says (25%..150%); LINT1 as NMI, error LVT on
 *                   0xfe, thermal and performance LVTs with SMI and NMI delivery written too.
 * case=timer-flood  periodic timer with initial count 1 (the shortest period there is) on vector
 *                   0x40 for cycles=N; its handler stops the timer once the time is up, and the
 *                   main loop must then go on (during the flood it may get nowhere).
 * case=svr          (needs -device edu) edu interrupts on 0x41, then the APIC software-disabled
 *                   (SVR bit 8 clear) while the device is raised 200 times; re-enabled, the device
 *                   must work again: 100 raises, each handled once.
 * case=selfipi      count=N (default 25,000) self-IPIs through the SELF IPI MSR (0x83f) with
 *                   interrupts enabled: each delivered once; then count_off=M (default 100,000)
 *                   on vectors cycling 0x40-0xef with interrupts disabled: after STI each
 *                   vector arrives at most once.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pit.h"
#include "x2apic.h"

#define DEFAULT_CYCLES		500000000ul
#define DEFAULT_SELF_IPIS	25000ul
#define DEFAULT_SELF_IPIS_OFF	100000ul
#define SPURIOUS_VECTOR		0xff
#define NMI_VECTOR		2
#define IPI_VECTOR		0x60
#define FLOOD_VECTOR		0x40
#define ELI_TIMER_VECTOR	0xf0
#define EDU_VECTOR		0x41
#define ARRIVE_CYCLES		5000000000ul
#define X2APIC_CMCI		0x82f
#define X2APIC_ICR_HIGH		0x831	/* xAPIC only: reserved in x2APIC mode */
#define APIC_PERIOD_1MS		1000000u	/* at QEMU's (and the SDM examples') 1 GHz */

static volatile uint64_t hits[256];
static volatile uint64_t eois;
static struct edu_dev edu;
static bool have_edu;

static void count_handler(struct int_frame *f)
{
	unsigned v = (unsigned)f->vector;

	hits[v]++;
	if (have_edu && v == EDU_VECTOR)
		edu_ack(&edu, 0xffffffffu);
	if (x2apic_isr_test((uint8_t)v)) {
		x2apic_eoi();
		eois++;
	}
}

static void nmi_handler(struct int_frame *f)
{
	(void)f;
	hits[NMI_VECTOR]++;
}

static void apic_setup(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	for (unsigned v = 0x20; v < 0x100; v++)
		idt_set_handler(v, count_handler);
	idt_set_handler(NMI_VECTOR, nmi_handler);
	x2apic_enable();
	x2apic_write(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
	x2apic_sw_enable(SPURIOUS_VECTOR);
	x2apic_write(X2APIC_TPR, 0);
}

static void reset_counts(void)
{
	for (unsigned v = 0; v < 256; v++)
		hits[v] = 0;
}

static uint64_t total_hits(void)
{
	uint64_t n = 0;

	for (unsigned v = 0x20; v < 0x100; v++)
		n += hits[v];
	return n;
}

/* Everything a sweep may have left behind, back to a sane state. */
static void apic_sane(void)
{
	wrmsr_safe(X2APIC_SVR, APIC_SVR_ENABLE | SPURIOUS_VECTOR);
	wrmsr_safe(X2APIC_TPR, 0);
	wrmsr_safe(X2APIC_TIMER_INITIAL, 0);
	wrmsr_safe(X2APIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_1);
	for (uint32_t m = X2APIC_LVT_TIMER; m <= X2APIC_LVT_ERROR; m++)
		wrmsr_safe(m, APIC_LVT_MASKED);
	wrmsr_safe(X2APIC_ESR, 0);
}

static bool any_in_service(void)
{
	uint64_t any = 0;

	for (unsigned w = 0; w < 8; w++)
		any |= x2apic_read(X2APIC_ISR0 + w);
	return any != 0;
}

/* Drains whatever the writes left pending: interrupts on for a moment. */
static void drain(void)
{
	sti();
	tsc_spin(20000000);
	cli();
	for (unsigned i = 0; i < 256 && any_in_service(); i++)
		x2apic_eoi();
}

enum kind { RW, RO, WO, NONE, SKIP };

static enum kind reg_kind(uint32_t m)
{
	switch (m) {
	case X2APIC_ID: case X2APIC_VERSION: case X2APIC_PPR: case X2APIC_LDR:
	case X2APIC_TIMER_CURRENT:
		return RO;
	case X2APIC_EOI: case X2APIC_SELF_IPI:
		return WO;
	case X2APIC_TPR: case X2APIC_SVR: case X2APIC_ESR: case X2APIC_ICR:
	case X2APIC_TIMER_INITIAL: case X2APIC_TIMER_DIVIDE:
		return RW;
	case X2APIC_CMCI:
		return SKIP;	/* Intel's CMCI LVT; an AMD CPU has none: either answer is right */
	default:
		if (m >= X2APIC_ISR0 && m < X2APIC_ISR0 + 24)
			return RO;	/* ISR, TMR, IRR */
		if (m >= X2APIC_LVT_TIMER && m <= X2APIC_LVT_ERROR)
			return RW;
		return NONE;
	}
}

static const uint64_t sweep_values[] = {
	0, 1, 0xff, 0x100, 0x1ff, 0x10000, 0x200ff, 0xffffffffull, 1ull << 32, ~0ull,
};

static void case_sweep(void)
{
	unsigned bad_ro = 0, bad_none = 0, bad_wo = 0, bad_high = 0, faults = 0, writes = 0;
	unsigned eoi_high_faults = 0;
	uint32_t first_bad = 0;

	cli();
	for (uint32_t m = 0x800; m <= 0x8ff; m++) {
		enum kind k = reg_kind(m);
		uint64_t val;
		int rv = rdmsr_safe(m, &val);

		if ((k == NONE || k == WO) && rv != GP_VECTOR) {
			(*(k == NONE ? &bad_none : &bad_wo))++;
			first_bad = first_bad ? first_bad : m;
		}
		for (unsigned i = 0; i < ARRAY_SIZE(sweep_values); i++) {
			uint64_t v = sweep_values[i];
			int wv = wrmsr_safe(m, v);

			writes++;
			faults += wv == GP_VECTOR;
			if ((k == RO || k == NONE) && wv != GP_VECTOR) {
				(*(k == RO ? &bad_ro : &bad_none))++;
				first_bad = first_bad ? first_bad : m;
			}
			/* EOI may reach a physical APIC untouched (exitless EOI): what it does
			 * with reserved bits is that APIC's business (QEMU's ignores them) */
			if (m == X2APIC_EOI && (v >> 32))
				eoi_high_faults += wv == GP_VECTOR;
			if ((v >> 32) && m != X2APIC_ICR && m != X2APIC_EOI && k != SKIP &&
			    wv != GP_VECTOR) {
				bad_high++;
				first_bad = first_bad ? first_bad : m;
			}
		}
		apic_sane();
	}
	printf("hostile_apic: %u writes, %u #GP; first register answering wrongly: %#x; EOI with "
	       "bits 63:32 set: %u of 2 raised #GP\n", writes, faults, first_bad, eoi_high_faults);
	report(!bad_ro, "writes to read-only x2APIC registers raise #GP (%u did not)", bad_ro);
	report(!bad_none, "unimplemented x2APIC MSRs raise #GP on read and write (%u did not)",
	       bad_none);
	report(!bad_wo, "reads of EOI and SELF IPI raise #GP (%u did not)", bad_wo);
	report(!bad_high, "bits 63:32 set in any register but the ICR and EOI raise #GP (%u did not)",
	       bad_high);
	drain();
	printf("hostile_apic: after the sweep, %lu interrupts drained, %lu NMIs\n", total_hits(),
	       hits[NMI_VECTOR]);
	reset_counts();
	sti();
	x2apic_self_ipi(IPI_VECTOR);
	tsc_spin(1000000);
	cli();
	report(hits[IPI_VECTOR] == 1 && total_hits() == 1,
	       "the APIC still delivers a self-IPI, once (%lu, %lu in all)", hits[IPI_VECTOR],
	       total_hits());
}

#define ICR_MODE(m)		((uint64_t)(m) << 8)
#define ICR_LOGICAL_DEST	(1ull << 11)
#define ICR_SH_SELF		(1ull << 18)
#define ICR_SH_ALL_INCL		(2ull << 18)
#define ICR_SH_ALL_EXCL		(3ull << 18)
#define ICR_DEST(d)		((uint64_t)(d) << 32)
enum { DM_FIXED, DM_LOWEST, DM_SMI, DM_REMOTE_READ, DM_NMI, DM_INIT, DM_SIPI, DM_EXTINT };

struct icr_case {
	const char *what;
	uint64_t icr;		/* without the destination for "self" cases */
	bool to_self_id;	/* destination = this CPU's ID */
	bool away;		/* meant (also) for another CPU, or not a fixed interrupt */
	unsigned here;		/* fixed interrupts on IPI_VECTOR that must arrive here */
};

static const struct icr_case icr_cases[] = {
	{ "INIT to itself", ICR_MODE(DM_INIT) | APIC_ICR_ASSERT, true, true, 0 },
	{ "INIT to all excluding self", ICR_MODE(DM_INIT) | APIC_ICR_ASSERT | ICR_SH_ALL_EXCL, false, true, 0 },
	{ "INIT to all including self", ICR_MODE(DM_INIT) | APIC_ICR_ASSERT | ICR_SH_ALL_INCL, false, true, 0 },
	{ "INIT to APIC ID 5", ICR_MODE(DM_INIT) | APIC_ICR_ASSERT | ICR_DEST(5), false, true, 0 },
	{ "SIPI (vector 0x10) to APIC ID 1", ICR_MODE(DM_SIPI) | 0x10 | ICR_DEST(1), false, true, 0 },
	{ "SIPI to all excluding self", ICR_MODE(DM_SIPI) | 0x10 | ICR_SH_ALL_EXCL, false, true, 0 },
	{ "SIPI to itself", ICR_MODE(DM_SIPI) | 0x10, true, true, 0 },
	{ "NMI to itself", ICR_MODE(DM_NMI) | APIC_ICR_ASSERT, true, true, 0 },
	{ "NMI to all excluding self", ICR_MODE(DM_NMI) | APIC_ICR_ASSERT | ICR_SH_ALL_EXCL, false, true, 0 },
	{ "NMI to broadcast 0xffffffff", ICR_MODE(DM_NMI) | APIC_ICR_ASSERT | ICR_DEST(0xffffffffu), false, true, 0 },
	{ "SMI to itself", ICR_MODE(DM_SMI) | APIC_ICR_ASSERT, true, true, 0 },
	{ "SMI to all including self", ICR_MODE(DM_SMI) | APIC_ICR_ASSERT | ICR_SH_ALL_INCL, false, true, 0 },
	{ "remote read of APIC ID 5", ICR_MODE(DM_REMOTE_READ) | 0x30 | ICR_DEST(5), false, true, 0 },
	{ "ExtINT to APIC ID 5", ICR_MODE(DM_EXTINT) | APIC_ICR_ASSERT | ICR_DEST(5), false, true, 0 },
	{ "fixed 0x60 to APIC ID 5", IPI_VECTOR | APIC_ICR_ASSERT | ICR_DEST(5), false, true, 0 },
	{ "fixed 0x60 to all excluding self", IPI_VECTOR | APIC_ICR_ASSERT | ICR_SH_ALL_EXCL, false, true, 0 },
	{ "fixed 0x60 to all including self", IPI_VECTOR | APIC_ICR_ASSERT | ICR_SH_ALL_INCL, false, true, 1 },
	{ "fixed 0x60 to broadcast 0xffffffff", IPI_VECTOR | APIC_ICR_ASSERT | ICR_DEST(0xffffffffu), false, true, 1 },
	{ "fixed 0x60 to logical cluster 1, member 0", IPI_VECTOR | APIC_ICR_ASSERT | ICR_LOGICAL_DEST | ICR_DEST(0x10001), false, true, 0 },
	{ "lowest priority 0x60 to APIC ID 5", ICR_MODE(DM_LOWEST) | IPI_VECTOR | APIC_ICR_ASSERT | ICR_DEST(5), false, true, 0 },
	{ "fixed 0x60 to itself", IPI_VECTOR | APIC_ICR_ASSERT, true, false, 1 },
	{ "fixed 0x60 through the self shorthand", IPI_VECTOR | APIC_ICR_ASSERT | ICR_SH_SELF, false, false, 1 },
};

static void case_icr(void)
{
	uint32_t self = x2apic_id();
	unsigned away = 0, wrong = 0, faults = 0;

	printf("hostile_apic: x2APIC ID %u\n", self);
	for (unsigned i = 0; i < ARRAY_SIZE(icr_cases); i++) {
		const struct icr_case *c = &icr_cases[i];
		uint64_t icr = c->icr | (c->to_self_id ? ICR_DEST(self) : 0);

		reset_counts();
		sti();
		int v = wrmsr_safe(X2APIC_ICR, icr);
		tsc_spin(2000000);
		cli();
		away += c->away && v == NO_FAULT;
		faults += v != NO_FAULT;
		bool ok = hits[IPI_VECTOR] == c->here && total_hits() == c->here &&
			  hits[NMI_VECTOR] == 0;
		wrong += !ok;
		report(ok, "ICR %#018lx, %s: %lu here on 0x60, %lu interrupts, %lu NMIs (%s)", icr,
		       c->what, hits[IPI_VECTOR], total_hits(), hits[NMI_VECTOR],
		       v == NO_FAULT ? "accepted" : exception_name((unsigned)v));
	}
	wrmsr_safe(X2APIC_ESR, 0);
	printf("hostile_apic: ESR after the IPIs %#lx; %u ICR writes refused with a fault\n",
	       x2apic_read(X2APIC_ESR), faults);
	printf("icr-result {\"sent_away\":%u,\"wrong\":%u}\n", away, wrong);
	report(true, "this CPU is still running after INIT, SIPI, NMI and SMI IPIs");
}

/* APIC timer counts per TSC cycle << 20, over about `cycles` TSC cycles. */
static uint64_t apic_per_tsc(uint64_t cycles)
{
	x2apic_write(X2APIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_1);
	x2apic_write(X2APIC_LVT_TIMER, APIC_LVT_MASKED);
	x2apic_write(X2APIC_TIMER_INITIAL, 0xffffffffu);
	uint64_t c0 = x2apic_read(X2APIC_TIMER_CURRENT), t0 = rdtsc();
	tsc_spin(cycles);
	uint64_t c1 = x2apic_read(X2APIC_TIMER_CURRENT), t1 = rdtsc();
	x2apic_write(X2APIC_TIMER_INITIAL, 0);
	return c1 < c0 && t1 > t0 ? ((c0 - c1) << 20) / (t1 - t0) : 0;
}

static void case_lvt(uint64_t cycles, uint8_t tv)
{
	uint64_t per_tsc = apic_per_tsc(50000000);

	report(wrmsr_safe(X2APIC_LVT_LINT1, ICR_MODE(DM_NMI)) == NO_FAULT, "LINT1 as NMI");
	report(wrmsr_safe(X2APIC_LVT_ERROR, 0xfe) == NO_FAULT, "error LVT on vector 0xfe");
	report(wrmsr_safe(X2APIC_LVT_THERMAL, ICR_MODE(DM_SMI)) == NO_FAULT,
	       "thermal LVT with SMI delivery");
	report(wrmsr_safe(X2APIC_LVT_PMC, ICR_MODE(DM_NMI)) == NO_FAULT,
	       "performance-counter LVT with NMI delivery");
	printf("hostile_apic: own timer on vector %#x, periodic, %u counts, for %lu cycles\n",
	       tv, APIC_PERIOD_1MS, cycles);
	sti();
	uint64_t start = rdtsc();
	x2apic_timer_start(tv, APIC_PERIOD_1MS, true);
	tsc_spin(cycles);
	x2apic_timer_stop();
	uint64_t elapsed = rdtsc() - start;
	tsc_spin(1000000);
	cli();
	uint64_t expected = (elapsed * per_tsc >> 20) / APIC_PERIOD_1MS;
	printf("hostile_apic: timer ticks %lu, expected about %lu; NMIs %lu; others %lu\n",
	       hits[tv], expected, hits[NMI_VECTOR],
	       total_hits() - hits[tv]);
	report(expected >= 4 && hits[tv] * 4 >= expected && hits[tv] * 2 <= expected * 3,
	       "its own timer on vector %#x ticked %lu times (expected %lu; 25%%..150%%: ticks "
	       "due while the vCPU is held up coalesce)",
	       tv, hits[tv], expected);
	report(hits[NMI_VECTOR] == 0 && total_hits() == hits[tv],
	       "nothing else arrived (NMIs %lu)", hits[NMI_VECTOR]);
	apic_sane();
}

/* The timer's own handler ends the flood once the time is up: the guest may get nothing else
 * done meanwhile (a real CPU would spend it all in this handler too). */
static volatile uint64_t flood_start, flood_cycles;

static void flood_handler(struct int_frame *f)
{
	(void)f;
	hits[FLOOD_VECTOR]++;
	if (rdtsc() - flood_start >= flood_cycles)
		x2apic_timer_stop();
	x2apic_eoi();
}

static void case_timer_flood(uint64_t cycles)
{
	printf("hostile_apic: periodic timer, initial count 1, vector %#x, for %lu cycles\n",
	       FLOOD_VECTOR, cycles);
	idt_set_handler(FLOOD_VECTOR, flood_handler);
	flood_cycles = cycles;
	sti();
	uint64_t loops = 0;
	flood_start = rdtsc();
	x2apic_timer_start(FLOOD_VECTOR, 1, true);
	while (rdtsc() - flood_start < cycles)
		loops++;
	uint64_t loops_during = loops;
	while (rdtsc() - flood_start < 2 * cycles)
		loops++;
	cli();
	x2apic_timer_stop();
	printf("hostile_apic: %lu timer interrupts; main loop %lu iterations during the flood, "
	       "%lu after it\n", hits[FLOOD_VECTOR], loops_during, loops - loops_during);
	report(hits[FLOOD_VECTOR] >= 1 && loops > loops_during, "the flood (%lu interrupts) "
	       "ended and the guest went on", hits[FLOOD_VECTOR]);
}

static uint64_t raise_wait(unsigned n)
{
	uint64_t got = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t before = hits[EDU_VECTOR], t0 = rdtsc();

		edu_raise(&edu, EDU_IRQ_BIT);
		while (hits[EDU_VECTOR] == before && rdtsc() - t0 < ARRIVE_CYCLES)
			pause();
		got += hits[EDU_VECTOR] != before;
	}
	return got;
}

static void case_svr(void)
{
	if (!edu_irq_setup(&edu, EDU_VECTOR))
		return;
	have_edu = true;
	for (unsigned v = 0x20; v < 0xff; v++)
		idt_set_handler(v, count_handler);
	sti();
	uint64_t before = raise_wait(100);
	report(before == 100, "100 edu interrupts with the APIC enabled (%lu)", before);

	reset_counts();
	x2apic_write(X2APIC_SVR, SPURIOUS_VECTOR);	/* software-disabled */
	for (unsigned i = 0; i < 200; i++) {
		edu_raise(&edu, EDU_IRQ_BIT);
		tsc_spin(250000);
	}
	tsc_spin(50000000);
	uint64_t while_off = total_hits();
	x2apic_write(X2APIC_SVR, APIC_SVR_ENABLE | SPURIOUS_VECTOR);
	tsc_spin(20000000);
	cli();
	printf("hostile_apic: while software-disabled: %lu interrupts ran (%lu on 0x41); after "
	       "re-enabling %lu\n", while_off, hits[EDU_VECTOR], total_hits() - while_off);
	edu_ack(&edu, 0xffffffffu);
	for (unsigned i = 0; i < 8 && x2apic_isr_test(EDU_VECTOR); i++)
		x2apic_eoi();
	reset_counts();
	sti();
	uint64_t after = raise_wait(100);
	tsc_spin(1000000);
	cli();
	report(after == 100 && hits[EDU_VECTOR] == 100, "re-enabled: 100 edu interrupts, each "
	       "handled once (%lu, %lu runs)", after, hits[EDU_VECTOR]);
	edu_msi_disable(&edu);
}

static void case_selfipi(uint64_t count, uint64_t count_off)
{
	printf("hostile_apic: %lu self-IPIs on %#x with interrupts enabled\n", count, IPI_VECTOR);
	sti();
	for (uint64_t i = 0; i < count; i++)
		wrmsr(X2APIC_SELF_IPI, IPI_VECTOR);
	tsc_spin(1000000);
	cli();
	report(hits[IPI_VECTOR] == count && total_hits() == count,
	       "each delivered once: %lu of %lu", hits[IPI_VECTOR], count);

	reset_counts();
	printf("hostile_apic: %lu self-IPIs on 0x40-0xef with interrupts disabled\n", count_off);
	for (uint64_t i = 0; i < count_off; i++)
		wrmsr(X2APIC_SELF_IPI, 0x40 + i % 0xb0);
	sti();
	tsc_spin(10000000);
	cli();
	uint64_t n = total_hits(), vectors = 0, worst = 0;
	for (unsigned v = 0x40; v < 0xf0; v++) {
		vectors += hits[v] != 0;
		worst = hits[v] > worst ? hits[v] : worst;
	}
	report(vectors == (count_off < 0xb0 ? count_off : 0xb0) && worst == 1 && n == vectors,
	       "%lu self-IPIs with interrupts disabled: %lu vectors arrived, at most once each "
	       "(%lu in all)", count_off, vectors, n);
}

int main(void)
{
	const char *c = cmdline_get("case");
	uint64_t cycles = cmdline_get_u64("cycles", DEFAULT_CYCLES);

	if (!x2apic_supported()) {
		report(false, "the CPU has an x2APIC (QEMU needs -cpu ...,+x2apic)");
		return report_summary();
	}
	apic_setup();
	if (!c)
		report(false, "option case=sweep|icr|lvt|timer-flood|svr|selfipi given");
	else if (!strcmp(c, "sweep"))
		case_sweep();
	else if (!strcmp(c, "icr"))
		case_icr();
	else if (!strcmp(c, "lvt"))
		case_lvt(cycles, (uint8_t)cmdline_get_u64("vector", ELI_TIMER_VECTOR));
	else if (!strcmp(c, "timer-flood"))
		case_timer_flood(cycles);
	else if (!strcmp(c, "svr"))
		case_svr();
	else if (!strcmp(c, "selfipi"))
		case_selfipi(cmdline_get_u64("count", DEFAULT_SELF_IPIS),
			     cmdline_get_u64("count_off", DEFAULT_SELF_IPIS_OFF));
	else
		report(false, "known case '%s'", c);
	return report_summary();
}
