/*
 * eli_idt: how the IDT behaves, as an OS relies on it, with an interrupting device.
 *
 * (a) SIDT returns exactly the base and limit that LIDT loaded: the library's IDT, a second
 *     page-aligned copy, the copy with limit 0x7ff (128 gates: int $0x40 is delivered, int
 *     $0x90 raises #GP), a copy at an address that is not 16-byte aligned and spans two pages;
 *     then the library's IDT again.
 * (b) int $n for every n in 32..255 reaches the handler of vector n (the library's per-vector
 *     entry stubs), once; no EOI, nothing is in service.
 * (c) With the edu device interrupting on vector=V (default 0x41): gate V is written to point
 *     at entry A and K=1000 interrupts must all run A; then gate V is rewritten in place (a
 *     plain store into the live IDT, no LIDT) to entry B and the next 1000 must all run B;
 * (d) then LIDT of a second IDT copy whose gate V points at C: the next 1000 must run C;
 * (e) then LIDT of the library's IDT with gate V restored: the next 1000 run the library's
 *     handler for V.
 * Each handler acks the device and EOIs through the x2APIC EOI MSR.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pit.h"
#include "x2apic.h"

#define DEFAULT_VECTOR		0x41
#define PHASE_INTERRUPTS	1000
#define IDT_GATES		256
#define IDT_LIMIT		(IDT_GATES * 16 - 1)
#define IDT_LIMIT_HALF		0x7ff		/* 128 gates */
#define PAGE_SIZE		4096
#define SPAN_OFFSET		0x808		/* 8-byte aligned only, crosses a page boundary */
#define LOST_CYCLES_UNKNOWN_HZ	10000000000ull


enum { ENTRY_A, ENTRY_B, ENTRY_C, ENTRY_LIB, ENTRIES };
static const char entry_names[ENTRIES] = { 'A', 'B', 'C', 'L' };

static struct idt_gate idt_copy[IDT_GATES] __attribute__((aligned(PAGE_SIZE)));
static uint8_t idt_span[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static struct edu_dev edu;
static volatile uint64_t runs[ENTRIES];
static volatile uint64_t total_runs;
static volatile uint64_t spurious;
static volatile uint64_t soft_hits[IDT_GATES];
static volatile int64_t soft_last;

/*
 * int $n; ret for every n, 4 bytes each, so int_n_table + 4 * n raises vector n. Entries A, B
 * and C: distinct interrupt entry points that save the caller-saved registers and call
 * entry_handler(id); the CPU aligned RSP to 16 before its 40-byte frame, so after 9 pushes the
 * stack is aligned for the call.
 */
__asm__(
	"	.pushsection .text\n"
	"	.balign 16\n"
	"int_n_table:\n"
	"	.set n, 0\n"
	"	.rept 256\n"
	"1:	int $n\n"
	"	ret\n"
	"	.org 1b + 4, 0xcc\n"
	"	.set n, n + 1\n"
	"	.endr\n"
	"	.macro ENTRY name, id\n"
	"	.balign 16\n"
	"\\name:\n"
	"	pushq %rax\n	pushq %rcx\n	pushq %rdx\n	pushq %rsi\n	pushq %rdi\n"
	"	pushq %r8\n	pushq %r9\n	pushq %r10\n	pushq %r11\n"
	"	movl $\\id, %edi\n"
	"	cld\n"
	"	call entry_handler\n"
	"	popq %r11\n	popq %r10\n	popq %r9\n	popq %r8\n"
	"	popq %rdi\n	popq %rsi\n	popq %rdx\n	popq %rcx\n	popq %rax\n"
	"	iretq\n"
	"	.endm\n"
	"	ENTRY entry_a, 0\n"
	"	ENTRY entry_b, 1\n"
	"	ENTRY entry_c, 2\n"
	"	.popsection\n");

extern const char int_n_table[];
extern const char entry_a[], entry_b[], entry_c[];

static void edu_interrupt(unsigned id)
{
	uint32_t status = edu_irq_status(&edu);

	if (status & EDU_IRQ_BIT) {
		edu_ack(&edu, status);
		runs[id]++;
		total_runs++;
	} else {
		spurious++;
	}
	x2apic_eoi();
}

void entry_handler(unsigned id);
void entry_handler(unsigned id)
{
	edu_interrupt(id);
}

static void lib_handler(struct int_frame *frame)
{
	(void)frame;
	edu_interrupt(ENTRY_LIB);
}

static void soft_handler(struct int_frame *frame)
{
	soft_hits[frame->vector]++;
	soft_last = (int64_t)frame->vector;
}

static void soft_int(unsigned n)
{
	((void (*)(void))(uintptr_t)(int_n_table + 4 * n))();
}

static void soft_int_arg(void *arg)
{
	soft_int((unsigned)(uintptr_t)arg);
}




/* int $n reaches the handler of n exactly once. */
static bool soft_int_reaches(unsigned n)
{
	uint64_t before = soft_hits[n];

	soft_last = -1;
	soft_int(n);
	return soft_last == (int64_t)n && soft_hits[n] == before + 1;
}

static void check_sidt(struct descriptor_ptr lib)
{
	printf("library IDT at %#lx, limit %#x\n", (uint64_t)lib.base, lib.limit);
	report(lib.limit == IDT_LIMIT, "SIDT: the library's IDT has limit %#x", IDT_LIMIT);

	idt_set_handler(0x40, soft_handler);
	idt_set_handler(0x80, soft_handler);
	idt_set_handler(0x90, soft_handler);

	memcpy(idt_copy, (const void *)(uintptr_t)lib.base, sizeof(idt_copy));
	idt_load((uintptr_t)idt_copy, IDT_LIMIT);
	idt_sidt_is((uintptr_t)idt_copy, IDT_LIMIT, "a page-aligned copy");
	report(soft_int_reaches(0x80), "int $0x80 delivered through the copy");

	idt_load((uintptr_t)idt_copy, IDT_LIMIT_HALF);
	idt_sidt_is((uintptr_t)idt_copy, IDT_LIMIT_HALF, "the copy with 128 gates");
	report(soft_int_reaches(0x40), "int $0x40 delivered within limit %#x", IDT_LIMIT_HALF);
	uint64_t hits = soft_hits[0x90];
	int vector = expect_fault(soft_int_arg, (void *)(uintptr_t)0x90);
	report(vector == GP_VECTOR && soft_hits[0x90] == hits,
	       "int $0x90 beyond limit %#x raises #GP (got %s)", IDT_LIMIT_HALF,
	       vector == NO_FAULT ? "no exception" : exception_name((unsigned)vector));

	void *span = idt_span + SPAN_OFFSET;
	memcpy(span, (const void *)(uintptr_t)lib.base, sizeof(idt_copy));
	idt_load((uintptr_t)span, IDT_LIMIT);
	idt_sidt_is((uintptr_t)span, IDT_LIMIT, "a copy spanning two pages, not 16-byte aligned");
	report(soft_int_reaches(0x80) && soft_int_reaches(0x40),
	       "int $0x80 and int $0x40 delivered through it");

	idt_load(lib.base, lib.limit);
	idt_sidt_is(lib.base, lib.limit, "the library's IDT again");

	idt_set_handler(0x40, NULL);
	idt_set_handler(0x80, NULL);
	idt_set_handler(0x90, NULL);
}

static void check_soft_ints(void)
{
	unsigned bad = 0, first_bad = 0;

	for (unsigned n = 32; n < IDT_GATES; n++)
		idt_set_handler(n, soft_handler);
	for (unsigned n = 32; n < IDT_GATES; n++) {
		if (!soft_int_reaches(n) && !bad++)
			first_bad = n;
	}
	for (unsigned n = 32; n < IDT_GATES; n++)
		idt_set_handler(n, NULL);
	if (bad)
		printf("first wrong vector %#x: handler saw %ld, %lu runs\n", first_bad,
		       soft_last, soft_hits[first_bad]);
	report(!bad, "int $n reaches the handler of n, once, for all n in 32..255 (%u wrong)",
	       bad);
}

/* Raises n edu interrupts one at a time, waiting for each; false if one is lost. */
static bool edu_phase(uint64_t n, uint64_t lost_bound)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t before = total_runs;
		uint64_t t0 = rdtsc();

		edu_raise(&edu, EDU_IRQ_BIT);
		while (total_runs == before) {
			if (rdtsc() - t0 > lost_bound) {
				report(false, "interrupt lost: no handler after raise %lu", i);
				return false;
			}
			pause();
		}
	}
	return true;
}

static void report_phase(const char *what, int expect, const uint64_t *before)
{
	uint64_t d[ENTRIES];
	bool ok = true;

	for (unsigned e = 0; e < ENTRIES; e++) {
		d[e] = runs[e] - before[e];
		ok &= d[e] == (e == (unsigned)expect ? PHASE_INTERRUPTS : 0);
	}
	report(ok, "%s: %u interrupts all ran %c (A %lu, B %lu, C %lu, library %lu)", what,
	       PHASE_INTERRUPTS, entry_names[expect], d[ENTRY_A], d[ENTRY_B], d[ENTRY_C],
	       d[ENTRY_LIB]);
}

static bool run_phase(const char *what, int expect, uint64_t lost_bound)
{
	uint64_t before[ENTRIES];

	for (unsigned e = 0; e < ENTRIES; e++)
		before[e] = runs[e];
	bool ok = edu_phase(PHASE_INTERRUPTS, lost_bound);
	report_phase(what, expect, before);
	return ok;
}

static void check_device_gates(struct descriptor_ptr lib, uint64_t vector)
{
	struct idt_gate *idt = (struct idt_gate *)(uintptr_t)lib.base;
	unsigned v = (unsigned)vector;

	if (!edu_irq_setup(&edu, vector))
		return;
	uint64_t hz = tsc_hz();
	uint64_t lost_bound = hz ? 2 * hz : LOST_CYCLES_UNKNOWN_HZ;
	struct idt_gate lib_gate = idt[v];

	idt_gate_write(idt, v, idt_gate_make((uintptr_t)entry_a));
	sti();
	if (!run_phase("(c) gate V -> A", ENTRY_A, lost_bound))
		goto out;

	/* No interrupt is in flight between two phases: rewrite the live gate in place. */
	idt_gate_write(idt, v, idt_gate_make((uintptr_t)entry_b));
	if (!run_phase("(c) gate V rewritten in place -> B", ENTRY_B, lost_bound))
		goto out;

	memcpy(idt_copy, idt, sizeof(idt_copy));
	idt_gate_write(idt_copy, v, idt_gate_make((uintptr_t)entry_c));
	idt_load((uintptr_t)idt_copy, IDT_LIMIT);
	idt_sidt_is((uintptr_t)idt_copy, IDT_LIMIT, "the second IDT with gate V -> C");
	if (!run_phase("(d) LIDT of a second IDT, gate V -> C", ENTRY_C, lost_bound))
		goto out;

	idt_gate_write(idt, v, lib_gate);
	idt_set_handler(v, lib_handler);
	idt_load((uintptr_t)idt, lib.limit);
	idt_sidt_is(lib.base, lib.limit, "the library's IDT, gate V restored");
	run_phase("(e) back on the library's IDT", ENTRY_LIB, lost_bound);
out:
	cli();
	edu_msi_disable(&edu);
	idt_load((uintptr_t)idt, lib.limit);
	idt_gate_write(idt, v, lib_gate);
	report(spurious == 0, "no spurious edu interrupts (%lu)", spurious);
}

int main(void)
{
	uint64_t vector = cmdline_get_u64("vector", DEFAULT_VECTOR);
	struct descriptor_ptr lib = sidt();

	check_sidt(lib);
	check_soft_ints();
	check_device_gates(lib, vector);
	return report_summary();
}
