/*
 * hostile_ops: instructions a hypervisor intercepts, with bad operands. Each must do what it does
 * on a CPU (mostly: raise the right exception), and nothing else.
 *
 * case=msr    RDMSR/WRMSR of MSRs a CPU without SVM does not have (0xabc, 0x1000, 0x40000000,
 *             0xffffffff; VM_CR 0xc0010114 and VM_HSAVE_PA 0xc0010117, SVM's own) -> #GP; EFER
 *             with reserved bits, with SVME (SVM is not offered), or with LME cleared while
 *             paging -> #GP, EFER unchanged; IA32_APIC_BASE with reserved bits, EXTD without
 *             EN, x2APIC straight back to xAPIC -> #GP; PAT with reserved memory types -> #GP;
 *             non-canonical LSTAR, CSTAR -> #GP; non-canonical FS/GS/kernel-GS bases -> #GP
 *             with the base unchanged, or (a CPU that takes them: QEMU's TCG does, and
 *             eli passes these MSRs through) the base as written. The guest keeps
 *             running after each (a hypervisor that stored a bad value would fail its next
 *             entry). Then RDMSR of every MSR in 0x0-0x3ff and 0xc0000000-0xc00000ff and
 *             0xc0010000-0xc00100ff: each returns or raises #GP. SDM behaviour that QEMU's
 *             TCG does not all implement: no bare twin.
 * case=cpuid  CPUID of leaves 0x0-0x20, 0x40000000-0x400000ff, 0x4fffffff, 0x80000000-0x80000028,
 *             0x8fffffff, 0xc0000000, 0xffffffff with subleaves 0, 1, 7, 0xffffffff: each
 *             returns. hv=1: SVM must be hidden (CPUID 0x80000001 ECX bit 2 clear).
 * case=io     512 pseudo-random ports (not the UART 0x3f8-0x3ff, not 0xf4-0xf7, not 0xcf8-0xcff)
 *             read and written as bytes, words and dwords: reads of ports with nothing behind
 *             them return all ones (hv=1); then 0xcf8-0xcff with odd sizes and offsets, accesses
 *             straddling 0xcff/0xd00, config writes to the host bridge (PCIEXBAR at 0x60) and to
 *             absent functions, CONFIG_ADDRESS with reserved bits: the host bridge still reads
 *             as before, CONFIG_ADDRESS reads back what the last dword write put there.
 * case=dtr    LIDT and SIDT with a memory operand in an unmapped page (#PF, CR2 = the address),
 *             at a non-canonical address (#GP), and crossing from a mapped page into an
 *             unmapped one (#PF, CR2 = the unmapped page); the IDTR is unchanged after each.
 * case=cr8    MOV to CR8 of 16, 0x100 and ~0 (#GP, CR8 unchanged), of 15 and 0 through r9.
 * case=hlt    HLT with interrupts disabled: nothing could ever wake the CPU.
 * case=rep    REP OUTSB of a 16-byte string to the UART (0x3f8).
 */
#include "idt.h"
#include "libguest.h"
#include "pci.h"
#include "processor.h"
#include "x2apic.h"

#define NONCANONICAL		0x0000800000000000ull
#define UNMAPPED		0x200000000ull	/* 8 GiB: not in the guest's page tables */
#define HOLE			0x1001000ull	/* case=dtr unmaps this page */
#define MSR_VM_CR		0xc0010114
#define MSR_VM_HSAVE_PA		0xc0010117
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define EFER_RESERVED_BIT1	(1ull << 1)
#define EFER_RESERVED_BIT63	(1ull << 63)

static bool hv;

static const char *fault_text(int v)
{
	return v == NO_FAULT ? "no exception" : exception_name((unsigned)v);
}

/* ---- MSRs ---- */

static void expect_msr_gp(uint32_t msr, bool write, uint64_t value, const char *what)
{
	uint64_t dummy;
	int v = write ? wrmsr_safe(msr, value) : rdmsr_safe(msr, &dummy);

	report(v == GP_VECTOR, "%s %s %#x: #GP (got %s)", write ? "WRMSR" : "RDMSR", what, msr,
	       fault_text(v));
}

static void efer_write_gp(uint64_t value, const char *what)
{
	uint64_t before = rdmsr(MSR_EFER);
	int v = wrmsr_safe(MSR_EFER, value);
	uint64_t after = rdmsr(MSR_EFER);

	report(v == GP_VECTOR && after == before, "WRMSR EFER %#lx (%s): #GP (got %s), EFER still "
	       "%#lx (%#lx)", value, what, fault_text(v), before, after);
}

static void case_msr(void)
{
	static const uint32_t absent[] = { 0xabc, 0x1000, 0x40000000, 0xffffffff, MSR_VM_CR,
					    MSR_VM_HSAVE_PA };
	for (unsigned i = 0; i < ARRAY_SIZE(absent); i++) {
		expect_msr_gp(absent[i], false, 0, "of an MSR it does not have");
		expect_msr_gp(absent[i], true, 0x1000, "of an MSR it does not have");
	}

	uint64_t efer = rdmsr(MSR_EFER);
	printf("hostile_ops: EFER %#lx\n", efer);
	efer_write_gp(efer | EFER_RESERVED_BIT1, "reserved bit 1");
	efer_write_gp(efer | EFER_RESERVED_BIT63, "reserved bit 63");
	efer_write_gp(efer | EFER_SVME, "SVME, on a CPU that does not offer SVM");
	efer_write_gp(efer & ~EFER_LME, "LME cleared while paging is on");
	report(wrmsr_safe(MSR_EFER, efer) == NO_FAULT && rdmsr(MSR_EFER) == efer,
	       "WRMSR EFER with its own value is fine");

	x2apic_enable();
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	printf("hostile_ops: IA32_APIC_BASE %#lx\n", base);
	expect_msr_gp(MSR_IA32_APIC_BASE, true, base | 1, "with reserved bit 0, of IA32_APIC_BASE");
	expect_msr_gp(MSR_IA32_APIC_BASE, true, base | (1ull << 9),
		      "with reserved bit 9, of IA32_APIC_BASE");
	expect_msr_gp(MSR_IA32_APIC_BASE, true, base | (1ull << 60),
		      "with bit 60 (beyond the physical address width), of IA32_APIC_BASE");
	expect_msr_gp(MSR_IA32_APIC_BASE, true, (base & ~APIC_BASE_EN) | APIC_BASE_EXTD,
		      "with EXTD but not EN, of IA32_APIC_BASE");
	expect_msr_gp(MSR_IA32_APIC_BASE, true, base & ~APIC_BASE_EXTD,
		      "from x2APIC straight to xAPIC, of IA32_APIC_BASE");
	report(rdmsr(MSR_IA32_APIC_BASE) == base, "IA32_APIC_BASE unchanged");

	uint64_t pat = rdmsr(MSR_IA32_PAT);
	expect_msr_gp(MSR_IA32_PAT, true, 0x0202020202020202ull, "with reserved type 2 everywhere, of PAT");
	expect_msr_gp(MSR_IA32_PAT, true, pat | (0x08ull << 56), "with type 8 in entry 7, of PAT");
	report(rdmsr(MSR_IA32_PAT) == pat, "PAT unchanged (%#lx)", rdmsr(MSR_IA32_PAT));

	/* passed: the segment bases are the CPU's to check (eli passes them through) */
	static const struct { uint32_t msr; const char *name; bool passed; } bases[] = {
		{ MSR_FS_BASE, "FS_BASE", true }, { MSR_GS_BASE, "GS_BASE", true },
		{ MSR_KERNEL_GS_BASE, "KERNEL_GS_BASE", true }, { MSR_LSTAR, "LSTAR", false },
		{ MSR_CSTAR, "CSTAR", false },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
		uint64_t old = rdmsr(bases[i].msr);
		int v = wrmsr_safe(bases[i].msr, NONCANONICAL);
		uint64_t now = rdmsr(bases[i].msr);
		bool refused = v == GP_VECTOR && now == old;
		bool taken = bases[i].passed && v == NO_FAULT && now == NONCANONICAL;
		report(refused || taken, "WRMSR %s non-canonical %#llx: %s (got %s), now %#lx",
		       bases[i].name, NONCANONICAL, bases[i].passed ? "#GP, or taken as the CPU does" :
		       "#GP", fault_text(v), now);
		wrmsr_safe(bases[i].msr, old);
		report(rdmsr(bases[i].msr) == old, "%s restored", bases[i].name);
	}

	static const uint32_t ranges[][2] = { { 0x0, 0x400 }, { 0xc0000000, 0xc0000100 },
					      { 0xc0010000, 0xc0010100 } };
	unsigned readable = 0, gp = 0, other = 0;
	for (unsigned r = 0; r < ARRAY_SIZE(ranges); r++) {
		for (uint32_t m = ranges[r][0]; m < ranges[r][1]; m++) {
			uint64_t val;
			int v = rdmsr_safe(m, &val);
			readable += v == NO_FAULT;
			gp += v == GP_VECTOR;
			other += v != NO_FAULT && v != GP_VECTOR;
		}
	}
	report(other == 0, "RDMSR of %u MSRs: %u read, %u #GP, %u other exceptions",
	       readable + gp + other, readable, gp, other);
	report(true, "still running after every bad WRMSR");
}

/* ---- CPUID ---- */

static void case_cpuid(void)
{
	static const uint32_t subs[] = { 0, 1, 7, 0xffffffff };
	unsigned n = 0;

	for (uint32_t leaf = 0; leaf <= 0x20; leaf++)
		for (unsigned s = 0; s < ARRAY_SIZE(subs); s++, n++)
			cpuid_count(leaf, subs[s]);
	for (uint32_t leaf = 0x40000000; leaf <= 0x400000ff; leaf++, n++)
		cpuid_count(leaf, 0);
	for (uint32_t leaf = 0x80000000; leaf <= 0x80000028; leaf++)
		for (unsigned s = 0; s < ARRAY_SIZE(subs); s++, n++)
			cpuid_count(leaf, subs[s]);
	static const uint32_t odd[] = { 0x4fffffff, 0x8fffffff, 0xc0000000, 0xffffffff,
					0x7fffffff, 0x20000000 };
	for (unsigned i = 0; i < ARRAY_SIZE(odd); i++) {
		for (unsigned s = 0; s < ARRAY_SIZE(subs); s++, n++) {
			struct cpuid r = cpuid_count(odd[i], subs[s]);
			if (!s)
				printf("hostile_ops: CPUID %#x: %#x %#x %#x %#x\n", odd[i], r.a, r.b,
				       r.c, r.d);
		}
	}
	report(true, "%u CPUID executions with odd leaves and subleaves returned", n);
	if (hv) {
		struct cpuid r = cpuid(0x80000001);
		report(!(r.c & (1u << 2)), "SVM hidden: CPUID 0x80000001 ECX %#x", r.c);
	}
}

/* ---- ports ---- */

static bool port_excluded(uint32_t p)
{
	/* [p, p + 4) must not touch the UART, the debug-exit port or CONFIG_ADDRESS/DATA */
	return (p + 4 > 0x3f8 && p < 0x400) || (p + 4 > 0xf4 && p < 0xf8) ||
	       (p + 4 > 0xcf8 && p < 0xd00) || p > 0xfffc;
}

static uint32_t cf8(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static void case_io(void)
{
	uint32_t seed = 12345, ports = 0, not_ones = 0, first = 0;

	while (ports < 512) {
		seed = seed * 1103515245u + 12345u;
		uint32_t p = (seed >> 8) & 0xffff;
		if (port_excluded(p))
			continue;
		ports++;
		uint32_t b = inb((uint16_t)p), w = inw((uint16_t)p), l = inl((uint16_t)p);
		if (b != 0xff || w != 0xffff || l != 0xffffffffu) {
			not_ones++;
			first = first ? first : p;
		}
		outb((uint16_t)p, 0xa5);
		outw((uint16_t)p, 0x5aa5);
		outl((uint16_t)p, 0xdeadbeef);
	}
	printf("hostile_ops: %u ports; %u did not read all ones (first %#x)\n", ports, not_ones,
	       first);
	if (hv)
		report(not_ones == 0, "%u random ports read all ones and take writes", ports);
	else
		report(true, "%u random ports read and written", ports);

	uint32_t bridge = pci_read32(PCI_BDF(0, 0, 0), 0), pciexbar = pci_read32(PCI_BDF(0, 0, 0), 0x60);
	outl(0xcf8, cf8(0, 0, 0, 0x08));
	uint32_t addr = inl(0xcf8);
	outb(0xcf8, 0x12);		/* only dword accesses reach CONFIG_ADDRESS */
	outw(0xcfa, 0x3456);
	outb(0xcfb, 0xff);
	uint32_t addr_after = inl(0xcf8);
	(void)inb(0xcf9);
	(void)inw(0xcfa);
	(void)inl(0xcf9);		/* misaligned dword */
	(void)inw(0xcfd);
	(void)inl(0xcfe);
	outw(0xcff, 0xffff);		/* straddles 0xd00 */
	outl(0xcfd, 0xffffffffu);
	(void)inl(0xcfd);
	outl(0xcf8, cf8(0, 0, 0, 0x60));
	outl(0xcfc, 0);			/* PCIEXBAR: move or kill the ECAM window */
	outw(0xcfe, 0xffff);
	outl(0xcf8, cf8(0, 0, 0, 0x04));
	outw(0xcfc, 0);			/* host bridge command register */
	outl(0xcf8, cf8(255, 31, 7, 0xfc));
	outl(0xcfc, 0xffffffffu);
	uint32_t absent = inl(0xcfc);
	outl(0xcf8, 0x7f0000fcu | 0x80000000u);	/* reserved bits 30:24 */
	(void)inl(0xcfc);
	outl(0xcfc, 0x12345678);
	outl(0xcf8, cf8(0, 0, 0, 0));
	outb(0xcfe, 0x00);
	report(addr_after == addr, "CONFIG_ADDRESS keeps %#x through byte and word writes (%#x)",
	       addr, addr_after);
	report(absent == 0xffffffffu, "an absent function (bus 255) reads all ones (%#x)", absent);
	uint32_t bridge_after = pci_read32(PCI_BDF(0, 0, 0), 0);
	uint32_t pciexbar_after = pci_read32(PCI_BDF(0, 0, 0), 0x60);
	report(bridge_after == bridge, "the host bridge still reads %#x (%#x)", bridge,
	       bridge_after);
	if (hv)
		report(pciexbar_after == pciexbar, "PCIEXBAR unchanged: %#x (%#x)", pciexbar,
		       pciexbar_after);
}

/* ---- LIDT/SIDT ---- */

static void *dtr_addr;
static void do_lidt(void *arg)
{
	(void)arg;
	__asm__ volatile("lidt (%0)" : : "r"(dtr_addr) : "memory");
}
static void do_sidt(void *arg)
{
	(void)arg;
	__asm__ volatile("sidt (%0)" : : "r"(dtr_addr) : "memory");
}

static uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static void dtr_case(bool load, uint64_t addr, int want, const char *where)
{
	struct descriptor_ptr before = sidt();

	dtr_addr = (void *)(uintptr_t)addr;
	__asm__ volatile("mov %0, %%cr2" : : "r"(0ull));
	int v = expect_fault(load ? do_lidt : do_sidt, NULL);
	uint64_t cr2 = read_cr2();
	struct descriptor_ptr after = sidt();
	bool same = after.base == before.base && after.limit == before.limit;
	uint64_t fault_at = addr == HOLE - 4 ? HOLE : addr;
	bool cr2_ok = want != PF_VECTOR || cr2 == fault_at;

	report(v == want && same && cr2_ok, "%s with its operand %s (%#lx): %s (got %s%s), IDTR "
	       "unchanged (%#lx/%#x)", load ? "LIDT" : "SIDT", where, addr, exception_name(want),
	       fault_text(v), cr2_ok ? "" : ", wrong CR2", (uint64_t)after.base, after.limit);
	if (!cr2_ok)
		printf("hostile_ops: CR2 %#lx, expected %#lx\n", cr2, fault_at);
}

/* A 4 KiB hole at HOLE in the 2 MiB page around it: a page table of its own for that range. */
static uint64_t hole_pt[512] __attribute__((aligned(4096)));

static void make_hole(void)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(read_cr3() & ~0xfffull);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);
	uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[0] & 0x000ffffffffff000ull);
	uint64_t base = HOLE & ~0x1fffffull;

	for (unsigned i = 0; i < 512; i++)
		hole_pt[i] = (base + i * 4096ull) | 0x3;
	hole_pt[(HOLE - base) / 4096] = 0;
	pd[base >> 21] = (uintptr_t)hole_pt | 0x3;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" : : : "rax", "memory");
}

static void case_dtr(void)
{
	dtr_case(true, UNMAPPED, PF_VECTOR, "in an unmapped page");
	dtr_case(false, UNMAPPED, PF_VECTOR, "in an unmapped page");
	dtr_case(true, NONCANONICAL, GP_VECTOR, "at a non-canonical address");
	dtr_case(false, NONCANONICAL, GP_VECTOR, "at a non-canonical address");
	make_hole();
	dtr_case(true, HOLE - 4, PF_VECTOR, "crossing into an unmapped page");
	dtr_case(false, HOLE - 4, PF_VECTOR, "crossing into an unmapped page");
}

/* ---- CR8 ---- */

static void write_cr8(void *arg)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"((uint64_t)(uintptr_t)arg) : "memory");
}

static uint64_t read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void case_cr8(void)
{
	static const uint64_t bad[] = { 16, 0x100, ~0ull, 1ull << 32 };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		int v = expect_fault(write_cr8, (void *)(uintptr_t)bad[i]);
		uint64_t now = read_cr8();
		report(v == GP_VECTOR && now == 0, "MOV CR8, %#lx: #GP (got %s), CR8 still 0 (%lu)",
		       bad[i], fault_text(v), now);
	}
	uint64_t r9 = 15, out;
	__asm__ volatile("mov %1, %%r9; mov %%r9, %%cr8; mov %%cr8, %%r9; mov %%r9, %0"
			 : "=r"(out) : "r"(r9) : "r9", "memory");
	report(out == 15, "MOV CR8 through r9: 15 reads back %lu", out);
	__asm__ volatile("xor %%r9d, %%r9d; mov %%r9, %%cr8" : : : "r9", "memory");
	report(read_cr8() == 0, "and 0 again");
}

int main(void)
{
	const char *c = cmdline_get("case");

	hv = cmdline_get_u64("hv", 0) != 0;
	if (!c) {
		report(false, "option case=msr|cpuid|io|dtr|cr8|hlt|rep given");
	} else if (!strcmp(c, "msr")) {
		case_msr();
	} else if (!strcmp(c, "cpuid")) {
		case_cpuid();
	} else if (!strcmp(c, "io")) {
		case_io();
	} else if (!strcmp(c, "dtr")) {
		case_dtr();
	} else if (!strcmp(c, "cr8")) {
		case_cr8();
	} else if (!strcmp(c, "hlt")) {
		printf("hostile_ops: cli; hlt\n");
		__asm__ volatile("cli; hlt" : : : "memory");
		report(false, "still running after HLT with interrupts disabled");
	} else if (!strcmp(c, "rep")) {
		static const char msg[16] = "rep outsb here!\n";
		const char *p = msg;
		size_t n = sizeof(msg);
		printf("hostile_ops: rep outsb of 16 bytes to 0x3f8\n");
		__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
		report(n == 0, "REP OUTSB wrote its 16 bytes");
	} else {
		report(false, "known case '%s'", c);
	}
	return report_summary();
}
