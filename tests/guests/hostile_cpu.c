/*
 * hostile_cpu: a guest that tries to keep the CPU from whatever runs under it. Knows nothing of
 * eli: everything here is something an OS (a broken or malicious one) may do on bare metal.
 *
 * case=cli  spins cycles=N TSC cycles (default 3,000,000,000) with interrupts disabled, in a
 *           loop that causes no exit of its own (RDTSC only), then ends.
 * case=tpr  enables the x2APIC (8259s and LINT0 masked) and sets its task priority to 15
 *           (TPR MSR 0x808 = 0xff), then spins cycles=N with interrupts enabled. A self-IPI on
 *           vector 0x40 sent meanwhile must stay pending (class 4 <= 15) until TPR is 0 again.
 * case=cr8  the same through MOV to CR8 (CR8 = 15; the TPR MSR then reads 0xf0).
 * case=svm  executes CLGI, STGI, VMRUN, VMLOAD, VMSAVE, SKINIT, INVLPGA and VMMCALL; each must
 *           raise #UD (the CPU it sees has no SVM, or has it disabled: EFER.SVME = 0); then CLGI
 *           once more followed by cycles=N spinning with interrupts enabled.
 * case=vmx  executes VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH,
 *           VMRESUME, VMCALL, INVEPT, INVVPID and VMFUNC; each must raise #UD (the CPU it sees
 *           has no VMX: CPUID 1 ECX bit 5 clear, CR4.VMXE = 0); then cycles=N spinning with
 *           interrupts enabled.
 */
#include "idt.h"
#include "libguest.h"
#include "processor.h"
#include "x2apic.h"

#define DEFAULT_CYCLES		3000000000ull
#define TPR_VECTOR		0x40
#define SPURIOUS_VECTOR		0xff

static volatile uint64_t hits[256];

static void count_handler(struct int_frame *f)
{
	hits[f->vector]++;
	x2apic_eoi();
}

static void spurious_handler(struct int_frame *f)
{
	hits[f->vector]++;
}

static void write_cr8(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static uint64_t read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

/* The spin: nothing in the loop exits (no PAUSE either: a PAUSE filter could). */
static uint64_t spin(uint64_t cycles)
{
	uint64_t start = rdtsc(), now;

	do {
		now = rdtsc();
	} while (now - start < cycles);
	return now - start;
}

static void case_cli(uint64_t cycles)
{
	printf("hostile_cpu: interrupts off for %lu TSC cycles\n", cycles);
	cli();
	uint64_t spun = spin(cycles);
	printf("hostile_cpu: spun %lu cycles with IF = 0\n", spun);
	report(spun >= cycles && !(read_rflags() & RFLAGS_IF),
	       "spun %lu TSC cycles with interrupts disabled", cycles);
}

static void apic_setup(void)
{
	outb(0x21, 0xff);	/* 8259s masked: an OS using the APIC does this */
	outb(0xa1, 0xff);
	x2apic_enable();
	x2apic_write(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
	idt_set_handler(SPURIOUS_VECTOR, spurious_handler);
	idt_set_handler(TPR_VECTOR, count_handler);
	x2apic_sw_enable(SPURIOUS_VECTOR);
	x2apic_write(X2APIC_TPR, 0);
}

static void case_tpr(uint64_t cycles, bool by_cr8)
{
	const char *how = by_cr8 ? "MOV to CR8" : "the TPR MSR";

	apic_setup();
	if (by_cr8)
		write_cr8(15);
	else
		x2apic_write(X2APIC_TPR, 0xff);
	uint64_t tpr = x2apic_read(X2APIC_TPR), cr8 = read_cr8();
	report(tpr == (by_cr8 ? 0xf0u : 0xffu) && cr8 == 15,
	       "task priority 15 through %s: TPR %#lx, CR8 %lu", how, tpr, cr8);

	printf("hostile_cpu: task priority 15, interrupts on, for %lu TSC cycles\n", cycles);
	sti();
	x2apic_self_ipi(TPR_VECTOR);
	uint64_t spun = spin(cycles);
	uint64_t held = hits[TPR_VECTOR];
	printf("hostile_cpu: spun %lu cycles at task priority 15\n", spun);
	report(held == 0, "self-IPI on %#x held while the task priority is 15 (%lu runs)",
	       TPR_VECTOR, held);
	if (by_cr8)
		write_cr8(0);
	else
		x2apic_write(X2APIC_TPR, 0);
	spin(1000000);
	cli();
	report(hits[TPR_VECTOR] == 1, "self-IPI delivered once after the task priority went "
	       "back to 0 (%lu runs)", hits[TPR_VECTOR]);
	report(read_cr8() == 0 && x2apic_read(X2APIC_TPR) == 0, "TPR and CR8 read 0 again");
}

/* The SVM instructions: 0f 01 d8..df. RAX points at a page of junk (a "VMCB"). */
static uint8_t junk_page[4096] __attribute__((aligned(4096)));

static void do_vmrun(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xd8" : : "a"(junk_page) : "memory"); }
static void do_vmmcall(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xd9" : : : "memory"); }
static void do_vmload(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xda" : : "a"(junk_page) : "memory"); }
static void do_vmsave(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xdb" : : "a"(junk_page) : "memory"); }
static void do_stgi(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xdc" : : : "memory"); }
static void do_clgi(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xdd" : : : "memory"); }
static void do_skinit(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xde" : : "a"(junk_page) : "memory"); }
static void do_invlpga(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xdf" : : "a"(junk_page), "c"(1) : "memory"); }

static const struct {
	const char *name;
	void (*fn)(void *);
} svm_insns[] = {
	{ "CLGI", do_clgi }, { "STGI", do_stgi }, { "VMRUN", do_vmrun }, { "VMLOAD", do_vmload },
	{ "VMSAVE", do_vmsave }, { "SKINIT", do_skinit }, { "INVLPGA", do_invlpga },
	{ "VMMCALL", do_vmmcall },
};

static void case_svm(uint64_t cycles)
{
	memset(junk_page, 0xa5, sizeof(junk_page));
	for (unsigned i = 0; i < ARRAY_SIZE(svm_insns); i++) {
		int v = expect_fault(svm_insns[i].fn, NULL);
		report(v == UD_VECTOR, "%s raises #UD (got %s)", svm_insns[i].name,
		       v == NO_FAULT ? "no exception" : exception_name((unsigned)v));
	}
	/* CLGI and go on as if the global interrupt flag were clear: nothing may change. */
	int v = expect_fault(do_clgi, NULL);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	sti();
	uint64_t spun = spin(cycles);
	cli();
	report(v == UD_VECTOR, "CLGI again (#UD), then %lu cycles spun with IF = 1", spun);
}

/* The VMX instructions, with junk operands. */
static void do_vmxon(void *a) { (void)a; __asm__ volatile("vmxon %0" : : "m"(junk_page) : "memory", "cc"); }
static void do_vmxoff(void *a) { (void)a; __asm__ volatile("vmxoff" : : : "memory", "cc"); }
static void do_vmclear(void *a) { (void)a; __asm__ volatile("vmclear %0" : : "m"(junk_page) : "memory", "cc"); }
static void do_vmptrld(void *a) { (void)a; __asm__ volatile("vmptrld %0" : : "m"(junk_page) : "memory", "cc"); }
static void do_vmptrst(void *a) { (void)a; __asm__ volatile("vmptrst %0" : "=m"(junk_page) : : "memory", "cc"); }
static void do_vmread(void *a)
{
	(void)a;
	uint64_t v, f = 0x681e; /* guest RIP */
	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"(f) : "cc");
}
static void do_vmwrite(void *a)
{
	(void)a;
	uint64_t f = 0x681e, v = 0;
	__asm__ volatile("vmwrite %1, %0" : : "r"(f), "r"(v) : "cc");
}
static void do_vmlaunch(void *a) { (void)a; __asm__ volatile("vmlaunch" : : : "memory", "cc"); }
static void do_vmresume(void *a) { (void)a; __asm__ volatile("vmresume" : : : "memory", "cc"); }
static void do_vmcall(void *a) { (void)a; __asm__ volatile("vmcall" : : : "memory", "cc"); }
static void do_invept(void *a) { (void)a; __asm__ volatile("invept %0, %1" : : "m"(junk_page), "r"(2ull) : "memory", "cc"); }
static void do_invvpid(void *a) { (void)a; __asm__ volatile("invvpid %0, %1" : : "m"(junk_page), "r"(2ull) : "memory", "cc"); }
static void do_vmfunc(void *a) { (void)a; __asm__ volatile(".byte 0x0f,0x01,0xd4" : : "a"(0), "c"(0) : "memory"); }

static const struct {
	const char *name;
	void (*fn)(void *);
} vmx_insns[] = {
	{ "VMXON", do_vmxon }, { "VMXOFF", do_vmxoff }, { "VMCLEAR", do_vmclear },
	{ "VMPTRLD", do_vmptrld }, { "VMPTRST", do_vmptrst }, { "VMREAD", do_vmread },
	{ "VMWRITE", do_vmwrite }, { "VMLAUNCH", do_vmlaunch }, { "VMRESUME", do_vmresume },
	{ "VMCALL", do_vmcall }, { "INVEPT", do_invept }, { "INVVPID", do_invvpid },
	{ "VMFUNC", do_vmfunc },
};

static void case_vmx(uint64_t cycles)
{
	memset(junk_page, 0xa5, sizeof(junk_page));
	for (unsigned i = 0; i < ARRAY_SIZE(vmx_insns); i++) {
		int v = expect_fault(vmx_insns[i].fn, NULL);
		report(v == UD_VECTOR, "%s raises #UD (got %s)", vmx_insns[i].name,
		       v == NO_FAULT ? "no exception" : exception_name((unsigned)v));
	}
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	sti();
	uint64_t spun = spin(cycles);
	cli();
	printf("hostile_cpu: %lu cycles spun with IF = 1 after the VMX instructions\n", spun);
}

int main(void)
{
	const char *c = cmdline_get("case");
	uint64_t cycles = cmdline_get_u64("cycles", DEFAULT_CYCLES);

	if (!c) {
		report(false, "option case=cli|tpr|cr8|svm|vmx given");
	} else if (!strcmp(c, "cli")) {
		case_cli(cycles);
	} else if (!strcmp(c, "tpr") || !strcmp(c, "cr8")) {
		if (!x2apic_supported())
			report(false, "the CPU has an x2APIC (QEMU needs -cpu ...,+x2apic)");
		else
			case_tpr(cycles, !strcmp(c, "cr8"));
	} else if (!strcmp(c, "svm")) {
		case_svm(cycles);
	} else if (!strcmp(c, "vmx")) {
		case_vmx(cycles);
	} else {
		report(false, "known case '%s'", c);
	}
	return report_summary();
}
