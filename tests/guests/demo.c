/*
 * demo: a short, chatty workload for `make run`. It does what an ordinary kernel does early on
 * and what a hypervisor has to get right: CPUID, MSR reads, UART port I/O, catching an
 * exception, a little spinning with interrupts off. It never halts: nothing would wake it.
 */
#include "idt.h"
#include "libguest.h"
#include "multiboot.h"
#include "processor.h"

#define SPIN_CYCLES 200000000ull
#define CPUID_EXT_MAX 0x80000000
#define CPUID_BRAND_FIRST 0x80000002
#define CPUID_BRAND_LAST 0x80000004

static void show_cpu(void)
{
	struct cpuid r = cpuid(0);
	char vendor[13];

	memcpy(vendor, &r.b, 4);
	memcpy(vendor + 4, &r.d, 4);
	memcpy(vendor + 8, &r.c, 4);
	vendor[12] = '\0';
	printf("cpu: %s, signature 0x%x\n", vendor, cpuid(1).a);

	if (cpuid(CPUID_EXT_MAX).a < CPUID_BRAND_LAST)
		return;
	char brand[49];
	for (uint32_t leaf = CPUID_BRAND_FIRST; leaf <= CPUID_BRAND_LAST; leaf++) {
		struct cpuid b = cpuid(leaf);
		memcpy(brand + (leaf - CPUID_BRAND_FIRST) * 16, &b, 16);
	}
	brand[48] = '\0';
	printf("cpu: brand \"%s\"\n", brand);
}

static void show_memory(void)
{
	uint32_t lower, upper;

	if (mb_mem(&lower, &upper))
		printf("memory: %u KiB low, %u KiB from 1 MiB\n", lower, upper);
	for (const struct multiboot_mmap_entry *e = mb_mmap_first(); e; e = mb_mmap_next(e))
		printf("memory: [0x%09lx, 0x%09lx) %s\n", e->addr, e->addr + e->len,
		       mb_mmap_type_name(e->type));
}

static void do_ud2(void *arg)
{
	(void)arg;
	__asm__ volatile("ud2");
}

int main(void)
{
	printf("==== eli demo guest ====\n");
	printf("loader \"%s\", command line \"%s\"\n", mb_loader_name(), mb_cmdline());
	show_cpu();
	show_memory();
	printf("tsc: rdtsc 0x%lx, EFER 0x%lx\n", rdtsc(), rdmsr(MSR_EFER));

	int vector = expect_fault(do_ud2, NULL);
	report(vector == UD_VECTOR, "ud2 raised %s and the guest recovered", exception_name(vector));

	cli();
	uint64_t start = rdtsc();
	while (rdtsc() - start < SPIN_CYCLES)
		pause();
	report(true, "spun for %llu TSC cycles with interrupts off", SPIN_CYCLES);

	printf("==== demo done ====\n");
	return report_summary();
}
