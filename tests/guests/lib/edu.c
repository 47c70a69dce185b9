/* Finding and setting up QEMU's edu device. */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pci.h"
#include "processor.h"
#include "x2apic.h"

#define EDU_LIVENESS_PATTERN	0x12345678u

#define PIC1_DATA		0x21	/* 8259 interrupt mask registers */
#define PIC2_DATA		0xa1

bool edu_setup(struct edu_dev *d)
{
	uint64_t base, size;

	memset(d, 0, sizeof(*d));
	pci_init();
	if (pci_ecam_base())
		printf("pci: configuration space through ECAM at %#lx\n", pci_ecam_base());
	if (!pci_find(EDU_VENDOR, EDU_DEVICE, &d->bdf)) {
		report(false, "edu device %04x:%04x found on bus 0 (QEMU needs -device edu)",
		       EDU_VENDOR, EDU_DEVICE);
		return false;
	}
	enum pci_bar_kind kind = pci_bar(d->bdf, 0, &base, &size);
	printf("edu: at %02x:%02x.%x, BAR0 %#lx size %#lx (kind %d), command %#x\n",
	       PCI_BUS(d->bdf), PCI_DEV(d->bdf), PCI_FN(d->bdf), base, size, kind,
	       pci_read16(d->bdf, PCI_COMMAND));
	if (kind != PCI_BAR_KIND_MEM32 && kind != PCI_BAR_KIND_MEM64) {
		report(false, "edu BAR0 is a memory BAR");
		return false;
	}

	uint64_t want = cmdline_get_u64("edu_bar", base ? base : EDU_DEFAULT_BAR);
	if (want != base) {
		if (want & (size - 1)) {
			report(false, "edu_bar=%#lx is aligned to the BAR size %#lx", want, size);
			return false;
		}
		uint16_t cmd = pci_command_clear(d->bdf, PCI_COMMAND_MEMORY);
		pci_bar_set(d->bdf, 0, want);
		pci_write16(d->bdf, PCI_COMMAND, cmd);
		pci_bar(d->bdf, 0, &base, &size);
		printf("edu: BAR0 placed at %#lx\n", base);
		if (base != want) {
			report(false, "edu BAR0 reads back %#lx after placing it at %#lx", base, want);
			return false;
		}
	}
	if (base + size > (4ull << 30)) {
		report(false, "edu BAR0 %#lx lies below 4 GiB (what the page tables map)", base);
		return false;
	}
	pci_command_set(d->bdf, PCI_COMMAND_MEMORY);
	d->bar = base;
	d->bar_size = size;
	d->regs = (volatile uint32_t *)(uintptr_t)base;

	uint32_t id = edu_read(d, EDU_ID);
	edu_write(d, EDU_LIVENESS, EDU_LIVENESS_PATTERN);
	uint32_t live = edu_read(d, EDU_LIVENESS);
	bool ok = (id & 0xff) == EDU_ID_MAGIC && live == ~EDU_LIVENESS_PATTERN;
	report(ok, "edu at %#lx answers: id %#x, liveness %#x", base, id, live);
	return ok;
}

bool edu_msi_enable(struct edu_dev *d, uint32_t dest, uint8_t vector)
{
	/* Nothing half-raised from an earlier user: the status starts clear. */
	edu_ack(d, 0xffffffffu);
	return pci_enable_msi(d->bdf, MSI_ADDR_X86(dest), MSI_DATA_X86(vector));
}

void edu_msi_disable(struct edu_dev *d)
{
	pci_disable_msi(d->bdf);
}

volatile uint64_t edu_apic_spurious;

/* An APIC spurious interrupt has no ISR bit set: no EOI. */
static void apic_spurious_handler(struct int_frame *frame)
{
	(void)frame;
	edu_apic_spurious++;
}

bool edu_irq_setup(struct edu_dev *d, uint64_t vector)
{
	if (vector < 0x20 || vector >= EDU_APIC_SPURIOUS_VECTOR) {
		report(false, "vector %#lx lies in 0x20-0xfe", vector);
		return false;
	}
	if (!x2apic_supported()) {
		report(false, "CPUID.1:ECX.x2APIC[21] is set (QEMU needs -cpu ...,+x2apic)");
		return false;
	}
	idt_set_handler(EDU_APIC_SPURIOUS_VECTOR, apic_spurious_handler);
	/*
	 * The firmware left the 8259s routed through LINT0 (ExtINT) with the PIT's IRQ 0 on
	 * vector 8: an OS that uses the local APIC and MSIs masks every 8259 input, and LINT0.
	 */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	x2apic_enable();
	x2apic_write(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
	x2apic_sw_enable(EDU_APIC_SPURIOUS_VECTOR);
	x2apic_write(X2APIC_TPR, 0);
	if (!edu_setup(d))
		return false;
	uint32_t dest = x2apic_id();
	if (!edu_msi_enable(d, dest, (uint8_t)vector)) {
		report(false, "edu has an MSI capability");
		return false;
	}
	unsigned cap = pci_find_cap(d->bdf, PCI_CAP_ID_MSI);
	printf("edu: MSI to x2APIC ID %u, vector %#lx (address %#x, data %#x; capability at %#x, "
	       "control %#x)\n", dest, vector, MSI_ADDR_X86(dest), MSI_DATA_X86(vector), cap,
	       pci_read16(d->bdf, cap + PCI_MSI_FLAGS));
	return true;
}

bool edu_wait_count(const volatile uint64_t *count, uint64_t before, uint64_t t0, uint64_t bound)
{
	while (*count == before) {
		if (rdtsc() - t0 > bound)
			return false;
		pause();
	}
	return true;
}
