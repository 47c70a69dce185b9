/*
 * QEMU's "edu" educational PCI device (hw/misc/edu.c, 1234:11e8): BAR0 is 1 MiB of 32-bit
 * registers; a write to EDU_IRQ_RAISE ORs bits into the interrupt status and raises the
 * interrupt (with MSI enabled: sends one MSI message per write), EDU_IRQ_ACK clears them.
 */
#ifndef GUEST_EDU_H
#define GUEST_EDU_H

#include <stdbool.h>
#include <stdint.h>

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

#define EDU_ID			0x00	/* reads 0x010000ed: major, minor, 0xed */
#define EDU_LIVENESS		0x04	/* reads back the bitwise NOT of what was written */
#define EDU_FACTORIAL		0x08
#define EDU_STATUS		0x20	/* bit 0 computing, bit 7 interrupt after factorial */
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_RAISE		0x60
#define EDU_IRQ_ACK		0x64

#define EDU_ID_MAGIC		0xed	/* low byte of EDU_ID */
#define EDU_IRQ_BIT		0x1	/* what the workloads raise */

/* The BAR0 address the library uses when the firmware left it unassigned. */
#define EDU_DEFAULT_BAR		0xe0000000ull

struct edu_dev {
	uint16_t bdf;
	uint64_t bar;		/* BAR0 base */
	uint64_t bar_size;
	volatile uint32_t *regs;	/* BAR0, identity-mapped */
};

/*
 * Finds the device on bus 0 (after pci_init, so option ecam= applies), sizes BAR0, places it
 * at EDU_DEFAULT_BAR if it reads 0 (or at edu_bar=ADDR if given), enables memory decoding
 * and checks the identification and liveness registers. Each step is reported (PASS/FAIL);
 * returns false if the device cannot be used.
 */
bool edu_setup(struct edu_dev *d);

/*
 * Points the device's MSI at x2APIC physical destination dest with this vector (fixed,
 * edge) and enables it (and bus mastering, which QEMU needs to let the MSI write out).
 */
bool edu_msi_enable(struct edu_dev *d, uint32_t dest, uint8_t vector);
void edu_msi_disable(struct edu_dev *d);

/* The x2APIC's spurious vector edu_irq_setup programs, and how often it fired. */
#define EDU_APIC_SPURIOUS_VECTOR 0xff
extern volatile uint64_t edu_apic_spurious;

/*
 * Everything an interrupt workload needs before its loop: the x2APIC on (IA32_APIC_BASE EN
 * then EXTD; SVR enabled with spurious vector 0xff, counted in edu_apic_spurious; TPR 0),
 * edu_setup, and the device's MSI aimed at this CPU's x2APIC ID with this vector. Fails (with
 * a FAIL line) if the CPU has no x2APIC, the vector is outside 0x20-0xfe, or the device is
 * unusable. Interrupts stay disabled.
 */
bool edu_irq_setup(struct edu_dev *d, uint64_t vector);

/* Spins until *count differs from before (a handler ran) or bound TSC cycles have passed
 * since t0; false when the bound passed first (the interrupt is lost). */
bool edu_wait_count(const volatile uint64_t *count, uint64_t before, uint64_t t0, uint64_t bound);

static inline uint32_t edu_read(const struct edu_dev *d, unsigned reg)
{
	return d->regs[reg / 4];
}

static inline void edu_write(const struct edu_dev *d, unsigned reg, uint32_t v)
{
	d->regs[reg / 4] = v;
}

static inline void edu_raise(const struct edu_dev *d, uint32_t bits)
{
	edu_write(d, EDU_IRQ_RAISE, bits);
}

static inline void edu_ack(const struct edu_dev *d, uint32_t bits)
{
	edu_write(d, EDU_IRQ_ACK, bits);
}

static inline uint32_t edu_irq_status(const struct edu_dev *d)
{
	return edu_read(d, EDU_IRQ_STATUS);
}

#endif
