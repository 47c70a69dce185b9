/*
 * cpuid_msr: CPUID and MSR basics of an ordinary long-mode kernel.
 *
 * Option hv=1 says a hypervisor that presents an architectural CPU without SVM runs the guest:
 * then the hypervisor bit must be set, CPUID.80000001:ECX.SVM clear, leaf 0x8000000A empty and
 * EFER.SVME clear, and the checks a software CPU may get wrong are strict. With hv=0 (default)
 * nothing is assumed about virtualization, since bare QEMU may expose SVM, and those checks
 * only skip: QEMU's TCG reads IA32_TSC as 0 and silently ignores MSRs it does not implement.
 */
#include "idt.h"
#include "libguest.h"
#include "processor.h"

#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_80000001_ECX_SVM	(1u << 2)
#define CPUID_SVM_FEATURES	0x8000000a

/* No CPU defines an MSR at this index and QEMU implements none there, so it must #GP. */
#define MSR_UNIMPLEMENTED	0x00000abc

#define PAT_ENTRY1_SHIFT	8
#define PAT_TYPE_WC		0x01
#define PAT_TYPE_UC_MINUS	0x07

static bool hv;

static const char *fault_text(int vector)
{
	return vector == NO_FAULT ? "no exception" : exception_name((unsigned)vector);
}

/* A check the platform may not honour: a failure with hv=1, otherwise a skip. */
static void report_architectural(bool pass, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void report_architectural(bool pass, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pass || hv)
		report(pass, "%s", msg);
	else
		report_skip("%s: not so on this CPU, required only with hv=1", msg);
}

static bool all_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static void check_cpuid_basic(void)
{
	struct cpuid r = cpuid(0);
	char vendor[13];

	/* The vendor string is EBX, EDX, ECX in that order. */
	memcpy(vendor, &r.b, 4);
	memcpy(vendor + 4, &r.d, 4);
	memcpy(vendor + 8, &r.c, 4);
	vendor[12] = '\0';
	report(all_printable(vendor, 12), "CPUID.0 vendor \"%s\" is printable", vendor);
	report(r.a >= 1, "CPUID.0 reports basic leaves up to 0x%x (>= 1)", r.a);

	struct cpuid l1 = cpuid(1);
	report(l1.a != 0, "CPUID.1 signature 0x%x is non-zero (features ecx 0x%x edx 0x%x)",
	       l1.a, l1.c, l1.d);
}

static void check_cpuid_hypervisor(void)
{
	report(cpuid(1).c & CPUID_1_ECX_HYPERVISOR, "CPUID.1:ECX.hypervisor[31] is set");
	report(!(cpuid(0x80000001).c & CPUID_80000001_ECX_SVM), "CPUID.80000001:ECX.SVM[2] is clear");

	struct cpuid s = cpuid(CPUID_SVM_FEATURES);
	report(!s.a && !s.b && !s.c && !s.d, "CPUID.8000000A is all zeros (0x%x 0x%x 0x%x 0x%x)",
	       s.a, s.b, s.c, s.d);
}

static void check_tsc(void)
{
	uint64_t first = rdmsr(MSR_IA32_TSC);
	uint64_t second = rdmsr(MSR_IA32_TSC);

	report_architectural(second > first, "IA32_TSC increases: 0x%lx then 0x%lx",
			     first, second);
}

/* Rewrites PAT entry 1, which the guest's page tables never select, then restores PAT. */
static void check_pat(void)
{
	uint64_t saved = rdmsr(MSR_IA32_PAT);
	uint64_t entry1 = (saved >> PAT_ENTRY1_SHIFT) & 0xff;
	uint64_t type = entry1 == PAT_TYPE_WC ? PAT_TYPE_UC_MINUS : PAT_TYPE_WC;
	uint64_t value = (saved & ~(0xffull << PAT_ENTRY1_SHIFT)) | (type << PAT_ENTRY1_SHIFT);
	uint64_t got = 0;

	int vector = wrmsr_safe(MSR_IA32_PAT, value);
	report(vector == NO_FAULT, "wrmsr IA32_PAT 0x%lx (%s)", value, fault_text(vector));
	if (vector == NO_FAULT)
		got = rdmsr(MSR_IA32_PAT);
	report(got == value, "IA32_PAT reads back 0x%lx (expected 0x%lx)", got, value);

	wrmsr(MSR_IA32_PAT, saved);
	report(rdmsr(MSR_IA32_PAT) == saved, "IA32_PAT restored to 0x%lx", saved);
}

static void check_efer(void)
{
	uint64_t efer = rdmsr(MSR_EFER);

	report((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
	       "EFER.LME and EFER.LMA are set in long mode (EFER 0x%lx)", efer);
	if (hv)
		report(!(efer & EFER_SVME), "EFER.SVME reads as 0 (EFER 0x%lx)", efer);
}

static void check_unimplemented_msr(void)
{
	uint64_t value;
	int vector = rdmsr_safe(MSR_UNIMPLEMENTED, &value);

	report_architectural(vector == GP_VECTOR, "rdmsr of unimplemented MSR 0x%x raises #GP (%s)",
			     MSR_UNIMPLEMENTED, fault_text(vector));
	vector = wrmsr_safe(MSR_UNIMPLEMENTED, 0);
	report_architectural(vector == GP_VECTOR, "wrmsr of unimplemented MSR 0x%x raises #GP (%s)",
			     MSR_UNIMPLEMENTED, fault_text(vector));
}

int main(void)
{
	hv = cmdline_get_u64("hv", 0) != 0;
	check_cpuid_basic();
	if (hv)
		check_cpuid_hypervisor();
	check_tsc();
	check_pat();
	check_efer();
	check_unimplemented_msr();
	return report_summary();
}
