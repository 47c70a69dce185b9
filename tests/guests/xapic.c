/*
 * xapic: the local APIC as an OS finds it after reset, in xAPIC mode: registers in the
 * MMIO page at 0xfee00000 (ID, version, SVR, TPR, a self-IPI through the ICR, EOI), then
 * the switch to x2APIC by setting EXTD in IA32_APIC_BASE, where the same is done through
 * MSRs, and CR8 as the TPR. Interrupts come from the APIC alone (no device).
 */
#include "idt.h"
#include "libguest.h"
#include "processor.h"
#include "x2apic.h"

#define XAPIC_BASE		0xfee00000ull
#define XAPIC_ID		0x020
#define XAPIC_VERSION		0x030
#define XAPIC_TPR		0x080
#define XAPIC_EOI		0x0b0
#define XAPIC_SVR		0x0f0
#define XAPIC_ISR0		0x100
#define XAPIC_ICR_LO		0x300
#define XAPIC_ICR_HI		0x310
#define XAPIC_LVT_LINT0		0x350
#define SELF_IPI_VECTOR		0x60
#define X2_SELF_IPI_VECTOR	0x61
#define ICR_DEST_SELF		(1u << 18)
#define SPURIOUS_VECTOR		0xff

static volatile uint32_t *reg(unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(XAPIC_BASE + off);
}

static volatile unsigned hits[256];
static volatile bool in_service_seen;
static bool x2;

static bool vector_in_service(unsigned v)
{
	if (x2)
		return x2apic_isr_test(v);
	return *reg(XAPIC_ISR0 + (v / 32) * 0x10) >> (v % 32) & 1;
}

static void ipi_handler(struct int_frame *f)
{
	hits[f->vector]++;
	in_service_seen = vector_in_service((unsigned)f->vector);
	if (x2)
		x2apic_eoi();
	else
		*reg(XAPIC_EOI) = 0;
}

static void write_cr8(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr8" ::"r"(v));
}

static uint64_t read_cr8(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void xapic_part(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	report((base & ~0xfffull) == XAPIC_BASE && (base & APIC_BASE_EN) && !(base & APIC_BASE_EXTD),
	       "after reset the APIC is enabled in xAPIC mode at 0xfee00000 (APIC_BASE %#lx)", base);
	uint32_t version = *reg(XAPIC_VERSION);
	report((version & 0xff) >= 0x10 && ((version >> 16) & 0xff) >= 3,
	       "xAPIC version register %#x: integrated APIC with at least 4 LVTs", version);
	uint32_t id = *reg(XAPIC_ID) >> 24;
	printf("xAPIC ID %u\n", id);

	/* mask the 8259s' path through LINT0, as an OS using the APIC does */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	*reg(XAPIC_LVT_LINT0) = APIC_LVT_MASKED;
	*reg(XAPIC_SVR) = APIC_SVR_ENABLE | SPURIOUS_VECTOR;
	report((*reg(XAPIC_SVR) & 0x1ff) == (APIC_SVR_ENABLE | SPURIOUS_VECTOR),
	       "SVR reads back enabled with spurious vector 0xff");
	*reg(XAPIC_TPR) = 0x20;
	report(*reg(XAPIC_TPR) == 0x20, "TPR reads back 0x20");
	*reg(XAPIC_TPR) = 0;

	sti();
	*reg(XAPIC_ICR_HI) = id << 24;
	*reg(XAPIC_ICR_LO) = ICR_DEST_SELF | SELF_IPI_VECTOR;
	for (int i = 0; i < 1000000 && !hits[SELF_IPI_VECTOR]; i++)
		pause();
	report(hits[SELF_IPI_VECTOR] == 1, "a self-IPI through the xAPIC ICR ran its handler once (%u)",
	       hits[SELF_IPI_VECTOR]);
	report(in_service_seen, "its vector was in service in the handler (xAPIC ISR)");
	report(!vector_in_service(SELF_IPI_VECTOR), "and not after its EOI through the MMIO page");
}

static void x2apic_part(void)
{
	x2apic_enable();
	x2 = true;
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	report(base & APIC_BASE_EXTD, "EXTD set: x2APIC mode (APIC_BASE %#lx)", base);
	uint32_t id = (uint32_t)x2apic_read(X2APIC_ID);
	uint32_t ldr = (uint32_t)x2apic_read(X2APIC_LDR);
	report(ldr == (((id >> 4) << 16) | (1u << (id & 15))), "x2APIC LDR %#x follows from ID %u",
	       ldr, id);
	report((x2apic_read(X2APIC_SVR) & APIC_SVR_ENABLE) != 0, "SVR still enabled after the switch");

	x2apic_write(X2APIC_SELF_IPI, X2_SELF_IPI_VECTOR);
	for (int i = 0; i < 1000000 && !hits[X2_SELF_IPI_VECTOR]; i++)
		pause();
	report(hits[X2_SELF_IPI_VECTOR] == 1, "a self-IPI through the SELF_IPI MSR ran once (%u)",
	       hits[X2_SELF_IPI_VECTOR]);
	report(in_service_seen && !vector_in_service(X2_SELF_IPI_VECTOR),
	       "in service in its handler, cleared by the EOI MSR");

	write_cr8(3);
	report(read_cr8() == 3 && (x2apic_read(X2APIC_TPR) & 0xf0) == 0x30,
	       "CR8 = 3 is TPR 0x30 (TPR %#lx)", x2apic_read(X2APIC_TPR));
	/* a self-IPI below the task priority waits for CR8 to drop */
	x2apic_write(X2APIC_SELF_IPI, 0x25);
	for (int i = 0; i < 100000; i++)
		pause();
	unsigned held = hits[0x25];
	write_cr8(0);
	for (int i = 0; i < 1000000 && !hits[0x25]; i++)
		pause();
	report(held == 0 && hits[0x25] == 1, "vector 0x25 held while CR8 = 3, delivered once after");
	cli();
}

int main(void)
{
	idt_set_handler(SELF_IPI_VECTOR, ipi_handler);
	idt_set_handler(X2_SELF_IPI_VECTOR, ipi_handler);
	idt_set_handler(0x25, ipi_handler);
	if (!x2apic_supported()) {
		report(false, "CPUID.1:ECX.x2APIC[21] is set");
		return report_summary();
	}
	xapic_part();
	x2apic_part();
	return report_summary();
}
