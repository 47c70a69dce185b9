/*
 * hostile_idt: IDT tricks against whatever delivers the guest's interrupts. Needs QEMU's edu
 * device (-device edu) for every case but lidt-int; vector=V (default 0x41).
 *
 * case=gate        gate V rewritten in place (a plain store into the live IDT) to another
 *                  entry, B: 100 interrupts must all run B; back to the library's entry: 100
 *                  more run it.
 * case=noncanon-gp gate V points at a non-canonical address: the interrupt raises #GP, which the
 *                  guest's own #GP handler takes (it acks the device and EOIs V); with the gate
 *                  restored the device works again.
 * case=noncanon    gates V, #GP and #DF all point at a non-canonical address: the interrupt
 *                  triple-faults the guest (on bare metal the machine resets).
 * case=outside     the guest maps the virtual gigabyte at 4 GiB to the guest-physical one (beyond
 *                  its RAM) and points gate V at 0x100000000: the interrupt fetches code from
 *                  there. On bare QEMU that is unassigned address space; under a hypervisor, no
 *                  memory of the guest's.
 * case=lidt        LIDT of IDTs a hypervisor cannot shadow, each for a while, each followed by
 *                  SIDT (it must return exactly what was loaded) and by 10 edu interrupts on the
 *                  library's IDT: a base mapped beyond its RAM (0x100000000), a base not mapped
 *                  in its page tables (0x200000000), limit 0x7, limit 0xff (int $0x20 -> #GP),
 *                  limit 0x7ff (int $0x7f delivered, int $0x80 -> #GP).
 * case=lidt-int    LIDT with the base mapped beyond its RAM, then int3: the CPU reads the gate
 *                  from there.
 * case=sidt        with the device interrupting (exitless under eli), LIDT of a copy with limit
 *                  0x7ff: SIDT (also inside the interrupt handler) returns the copy and 0x7ff;
 *                  back on the library's IDT it returns that and 0xfff. Also prints which of the
 *                  library's gates read back differently from what it wrote (information only).
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pit.h"
#include "x2apic.h"

#define DEFAULT_VECTOR		0x41
#define IDT_GATES		256
#define IDT_LIMIT		(IDT_GATES * 16 - 1)
#define PAGE_SIZE		4096
#define NONCANONICAL		0x0000800000000000ull
#define HIGH_BASE		0x100000000ull		/* 4 GiB: beyond the guest's RAM */
#define UNMAPPED_BASE		0x200000000ull		/* 8 GiB: not in the guest's page tables */
#define ARRIVE_CYCLES		5000000000ul
#define PTE_P			0x1ull
#define PTE_W			0x2ull
#define PTE_PS			0x80ull
#define ISR_STUB_SIZE		16


static struct idt_gate idt_copy[IDT_GATES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pd_high[512] __attribute__((aligned(PAGE_SIZE)));

static struct edu_dev edu;
static uint8_t vector;
static struct descriptor_ptr lib_idt;
static volatile uint64_t lib_runs, alt_runs, spurious, gp_hits, gp_error, soft_hits;
static volatile struct descriptor_ptr sidt_in_handler;

/* Entry B: saves the caller-saved registers and calls alt_handler (the CPU aligned RSP to 16
 * before its 40-byte frame, so after 9 pushes the stack is aligned for the call). */
__asm__(
	"	.pushsection .text\n"
	"	.balign 16\n"
	"entry_b:\n"
	"	pushq %rax\n	pushq %rcx\n	pushq %rdx\n	pushq %rsi\n	pushq %rdi\n"
	"	pushq %r8\n	pushq %r9\n	pushq %r10\n	pushq %r11\n"
	"	cld\n"
	"	call alt_handler\n"
	"	popq %r11\n	popq %r10\n	popq %r9\n	popq %r8\n"
	"	popq %rdi\n	popq %rsi\n	popq %rdx\n	popq %rcx\n	popq %rax\n"
	"	iretq\n"
	"	.popsection\n");
extern const char entry_b[];
extern const char isr_stubs[];

static void ack_device(volatile uint64_t *counter)
{
	uint32_t status = edu_irq_status(&edu);

	if (status & EDU_IRQ_BIT) {
		edu_ack(&edu, status);
		(*counter)++;
	} else {
		spurious++;
	}
}

void alt_handler(void);
void alt_handler(void)
{
	ack_device(&alt_runs);
	x2apic_eoi();
}

static void lib_handler(struct int_frame *frame)
{
	(void)frame;
	sidt_in_handler = sidt();
	ack_device(&lib_runs);
	x2apic_eoi();
}

/*
 * #GP from an interrupt gate with a non-canonical target. The SDM has the fault come during
 * delivery, its frame pointing at the interrupted instruction; QEMU's TCG enters the gate and
 * faults on the fetch, so the frame's RIP is the non-canonical target and the interrupt's own
 * frame lies on the stack below: resume from that one.
 */
static volatile uint64_t gp_at_target;

static void gp_handler(struct int_frame *frame)
{
	gp_hits++;
	gp_error = frame->error_code;
	if ((uint64_t)((int64_t)(frame->rip << 16) >> 16) != frame->rip) {
		const uint64_t *inner = (const uint64_t *)(uintptr_t)frame->rsp;

		gp_at_target++;
		frame->rip = inner[0];
		frame->cs = inner[1];
		frame->rflags = inner[2];
		frame->rsp = inner[3];
		frame->ss = inner[4];
	}
	edu_ack(&edu, 0xffffffffu);
	x2apic_eoi();
}

static void soft_handler(struct int_frame *frame)
{
	(void)frame;
	soft_hits++;
}



static struct idt_gate *live_idt(void)
{
	return (struct idt_gate *)(uintptr_t)lib_idt.base;
}


/* Maps virtual [4 GiB, 5 GiB) to guest-physical [4 GiB, 5 GiB) with 2 MiB pages. */
static void map_high(void)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(read_cr3() & ~0xfffull);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);

	for (unsigned i = 0; i < 512; i++)
		pd_high[i] = (HIGH_BASE + ((uint64_t)i << 21)) | PTE_P | PTE_W | PTE_PS;
	pdpt[4] = (uintptr_t)pd_high | PTE_P | PTE_W;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" : : : "rax", "memory");
}

static bool wait_for(volatile uint64_t *counter, uint64_t target)
{
	uint64_t start = rdtsc();

	while (*counter < target) {
		if (rdtsc() - start > ARRIVE_CYCLES)
			return false;
		pause();
	}
	return true;
}

/* n raises, one at a time; returns how many ran `counter`'s handler. Interrupts as they are. */
static uint64_t raise_n(unsigned n, volatile uint64_t *counter)
{
	uint64_t before = *counter;

	for (unsigned i = 0; i < n; i++) {
		uint64_t c0 = *counter;

		edu_raise(&edu, EDU_IRQ_BIT);
		if (!wait_for(counter, c0 + 1))
			break;
	}
	return *counter - before;
}

/* After each trick: the library's IDT again, and the device's interrupts work. */
static void check_device(const char *after)
{
	uint64_t alt0 = alt_runs;

	sti();
	uint64_t got = raise_n(10, &lib_runs);
	cli();
	report(got == 10 && alt_runs == alt0, "after %s: 10 interrupts ran the library's "
	       "handler (%lu)", after, got);
}

static void case_gate(void)
{
	struct idt_gate saved = live_idt()[vector];

	sti();
	uint64_t a = raise_n(100, &lib_runs);
	idt_gate_write(live_idt(), vector, idt_gate_make((uintptr_t)entry_b));
	uint64_t lib0 = lib_runs;
	uint64_t b = raise_n(100, &alt_runs);
	uint64_t lib_during_b = lib_runs - lib0;
	idt_gate_write(live_idt(), vector, saved);
	uint64_t alt0 = alt_runs;
	uint64_t c = raise_n(100, &lib_runs);
	cli();
	report(a == 100, "100 interrupts through the library's gate (%lu)", a);
	report(b == 100 && lib_during_b == 0, "gate %#x rewritten in place to entry B: 100 ran B "
	       "(%lu), none the old entry (%lu)", vector, b, lib_during_b);
	report(c == 100 && alt_runs == alt0, "gate restored: 100 ran the library's entry (%lu), "
	       "none B (%lu)", c, alt_runs - alt0);
}

static void case_noncanon_gp(void)
{
	struct idt_gate saved = live_idt()[vector];

	idt_set_handler(GP_VECTOR, gp_handler);
	idt_gate_write(live_idt(), vector, idt_gate_make(NONCANONICAL));
	uint64_t lib0 = lib_runs;
	sti();
	edu_raise(&edu, EDU_IRQ_BIT);
	bool hit = wait_for(&gp_hits, 1);
	tsc_spin(10000000);
	cli();
	printf("hostile_idt: #GP hits %lu, error code %#lx, %lu with the frame at the target\n",
	       gp_hits, gp_error, gp_at_target);
	report(hit && gp_hits == 1 && lib_runs == lib0, "gate %#x at non-canonical %#llx: the "
	       "interrupt raised #GP once (%lu), the handler did not run", vector, NONCANONICAL,
	       gp_hits);
	report(!x2apic_isr_test(vector), "the #GP handler's EOI left nothing in service");
	idt_gate_write(live_idt(), vector, saved);
	idt_set_handler(GP_VECTOR, NULL);
	check_device("the gate was restored");
}

static _Noreturn void wait_for_the_end(const char *what)
{
	sti();
	edu_raise(&edu, EDU_IRQ_BIT);
	tsc_spin(ARRIVE_CYCLES);
	cli();
	report(false, "still running after %s", what);
	exit(report_summary());
}

static void case_noncanon(void)
{
	struct idt_gate bad = idt_gate_make(NONCANONICAL);

	idt_gate_write(live_idt(), vector, bad);
	idt_gate_write(live_idt(), GP_VECTOR, bad);
	idt_gate_write(live_idt(), DF_VECTOR, bad);
	printf("hostile_idt: gates %#x, #GP and #DF non-canonical; raising: about to triple "
	       "fault\n", vector);
	wait_for_the_end("an interrupt through a non-canonical gate with #GP and #DF broken");
}

static void case_outside(void)
{
	map_high();
	idt_gate_write(live_idt(), vector, idt_gate_make(HIGH_BASE));
	printf("hostile_idt: gate %#x -> %#llx (mapped to guest-physical %#llx); raising\n",
	       vector, HIGH_BASE, HIGH_BASE);
	wait_for_the_end("an interrupt whose handler lies beyond guest RAM");
}

static void soft_int_0x20(void *arg) { (void)arg; __asm__ volatile("int $0x20"); }
static void soft_int_0x7f(void *arg) { (void)arg; __asm__ volatile("int $0x7f"); }
static void soft_int_0x80(void *arg) { (void)arg; __asm__ volatile("int $0x80"); }

static const char *fault_text(int v)
{
	return v == NO_FAULT ? "no exception" : exception_name((unsigned)v);
}

static void case_lidt(void)
{
	map_high();
	sti();
	raise_n(10, &lib_runs);		/* exitless delivery going before the tricks */
	cli();

	idt_load(HIGH_BASE, IDT_LIMIT);
	idt_sidt_is(HIGH_BASE, IDT_LIMIT, "a base mapped beyond guest RAM");
	idt_load(lib_idt.base, lib_idt.limit);
	check_device("an IDT beyond guest RAM");

	idt_load(UNMAPPED_BASE, IDT_LIMIT);
	idt_sidt_is(UNMAPPED_BASE, IDT_LIMIT, "a base not mapped in the page tables");
	idt_load(lib_idt.base, lib_idt.limit);
	check_device("an unmapped IDT");

	idt_load(lib_idt.base, 0x7);
	idt_sidt_is(lib_idt.base, 0x7, "the library's IDT with limit 0x7");
	idt_load(lib_idt.base, lib_idt.limit);
	check_device("limit 0x7");

	idt_load(lib_idt.base, 0xff);
	idt_sidt_is(lib_idt.base, 0xff, "the library's IDT with limit 0xff");
	idt_set_handler(0x20, soft_handler);
	int v = expect_fault(soft_int_0x20, NULL);
	report(v == GP_VECTOR && soft_hits == 0, "limit 0xff: int $0x20 raises #GP (got %s)",
	       fault_text(v));
	idt_load(lib_idt.base, lib_idt.limit);
	check_device("limit 0xff");

	idt_set_handler(0x7f, soft_handler);
	idt_set_handler(0x80, soft_handler);
	idt_load(lib_idt.base, 0x7ff);
	idt_sidt_is(lib_idt.base, 0x7ff, "the library's IDT with limit 0x7ff");
	soft_hits = 0;
	v = expect_fault(soft_int_0x7f, NULL);
	int w = expect_fault(soft_int_0x80, NULL);
	report(v == NO_FAULT && w == GP_VECTOR && soft_hits == 1, "limit 0x7ff: int $0x7f "
	       "delivered (%s), int $0x80 raises #GP (%s); handler runs %lu", fault_text(v),
	       fault_text(w), soft_hits);
	sti();
	uint64_t got = raise_n(10, &lib_runs);
	cli();
	report(got == 10, "limit 0x7ff: 10 device interrupts on %#x delivered (%lu)", vector, got);
	idt_load(lib_idt.base, lib_idt.limit);
	idt_sidt_is(lib_idt.base, lib_idt.limit, "the library's IDT again");
	check_device("limit 0x7ff");
}

static void case_lidt_int(void)
{
	map_high();
	idt_load(HIGH_BASE, IDT_LIMIT);
	printf("hostile_idt: IDT at %#llx (beyond guest RAM); int3\n", HIGH_BASE);
	__asm__ volatile("int3");
	idt_load(lib_idt.base, lib_idt.limit);
	report(false, "still running after int3 through an IDT beyond guest RAM");
}

static void case_sidt(void)
{
	sti();
	raise_n(100, &lib_runs);
	memcpy(idt_copy, live_idt(), sizeof(idt_copy));
	idt_load((uintptr_t)idt_copy, 0x7ff);
	uint64_t got = raise_n(100, &lib_runs);
	struct descriptor_ptr in = sidt_in_handler;
	cli();
	report(got == 100, "100 interrupts through a copy with limit 0x7ff (%lu)", got);
	idt_sidt_is((uintptr_t)idt_copy, 0x7ff, "a copy with limit 0x7ff");
	report(in.base == (uintptr_t)idt_copy && in.limit == 0x7ff, "SIDT in the interrupt "
	       "handler: base %#lx limit %#x", (uint64_t)in.base, in.limit);
	idt_load(lib_idt.base, lib_idt.limit);
	sti();
	raise_n(100, &lib_runs);
	in = sidt_in_handler;
	cli();
	idt_sidt_is(lib_idt.base, lib_idt.limit, "the library's IDT");
	report(in.base == lib_idt.base && in.limit == lib_idt.limit, "SIDT in the interrupt "
	       "handler: base %#lx limit %#x", (uint64_t)in.base, in.limit);

	/* What the guest reads from its own IDT: the library wrote stub v for every vector. */
	unsigned differ = 0;
	printf("hostile_idt: gates that read back differently from what the library wrote:");
	for (unsigned v = 0; v < IDT_GATES; v++) {
		struct idt_gate want = idt_gate_make((uintptr_t)isr_stubs + v * ISR_STUB_SIZE);
		if (memcmp(&want, &live_idt()[v], sizeof(want))) {
			printf(" %#x(type %#x)", v, live_idt()[v].type_attr);
			differ++;
		}
	}
	printf("%s (%u)\n", differ ? "" : " none", differ);
}

int main(void)
{
	const char *c = cmdline_get("case");
	uint64_t v = cmdline_get_u64("vector", DEFAULT_VECTOR);

	lib_idt = sidt();
	if (!c) {
		report(false, "option case=gate|noncanon-gp|noncanon|outside|lidt|lidt-int|sidt given");
		return report_summary();
	}
	if (!strcmp(c, "lidt-int")) {
		case_lidt_int();
		return report_summary();
	}
	if (!edu_irq_setup(&edu, v))
		return report_summary();
	vector = (uint8_t)v;
	idt_set_handler(vector, lib_handler);
	if (!strcmp(c, "gate"))
		case_gate();
	else if (!strcmp(c, "noncanon-gp"))
		case_noncanon_gp();
	else if (!strcmp(c, "noncanon"))
		case_noncanon();
	else if (!strcmp(c, "outside"))
		case_outside();
	else if (!strcmp(c, "lidt"))
		case_lidt();
	else if (!strcmp(c, "sidt"))
		case_sidt();
	else
		report(false, "known case '%s'", c);
	edu_msi_disable(&edu);
	report(spurious == 0, "no spurious edu interrupts (%lu)", spurious);
	return report_summary();
}
