/*
 * PCI configuration space, as an ordinary OS reaches it: the legacy type-1 mechanism (ports
 * 0xcf8/0xcfc) by default, or ECAM (memory-mapped, 4 KiB per function) once given its base.
 * Devices are named by bus/device/function packed as bdf = bus << 8 | dev << 3 | fn.
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_BDF(bus, dev, fn)	((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define PCI_BUS(bdf)		(((bdf) >> 8) & 0xff)
#define PCI_DEV(bdf)		(((bdf) >> 3) & 0x1f)
#define PCI_FN(bdf)		((bdf) & 0x7)

/* Configuration header (type 0). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_INTERRUPT_LINE	0x3c

#define PCI_COMMAND_IO		(1u << 0)
#define PCI_COMMAND_MEMORY	(1u << 1)
#define PCI_COMMAND_MASTER	(1u << 2)	/* bus master: needed for DMA and MSI writes */
#define PCI_COMMAND_INTX_DISABLE (1u << 10)

#define PCI_STATUS_CAP_LIST	(1u << 4)
#define PCI_HEADER_MULTIFUNCTION 0x80

#define PCI_BAR_IO		0x1
#define PCI_BAR_MEM_TYPE_MASK	0x6
#define PCI_BAR_MEM_TYPE_64	0x4
#define PCI_BAR_PREFETCH	0x8

/* Capabilities. */
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11

#define PCI_MSI_FLAGS		0x02	/* message control, from the capability */
#define PCI_MSI_ADDRESS_LO	0x04
#define PCI_MSI_ADDRESS_HI	0x08	/* 64-bit variant only */
#define PCI_MSI_DATA_32		0x08
#define PCI_MSI_DATA_64		0x0c
#define PCI_MSI_MASK_32		0x0c	/* per-vector masking variants only */
#define PCI_MSI_MASK_64		0x10
#define PCI_MSI_FLAGS_ENABLE	(1u << 0)
#define PCI_MSI_FLAGS_QMASK	(7u << 1)	/* multiple message capable */
#define PCI_MSI_FLAGS_QSIZE	(7u << 4)	/* multiple message enable */
#define PCI_MSI_FLAGS_64BIT	(1u << 7)
#define PCI_MSI_FLAGS_MASKBIT	(1u << 8)

/* x86 MSI message: physical destination mode, fixed delivery, edge. */
#define MSI_ADDR_BASE		0xfee00000u
#define MSI_ADDR_DEST_SHIFT	12		/* 8-bit destination APIC ID in bits 19:12 */
#define MSI_ADDR_X86(dest)	(MSI_ADDR_BASE | (((uint32_t)(dest) & 0xff) << MSI_ADDR_DEST_SHIFT))
#define MSI_DATA_X86(vector)	((uint32_t)(vector) & 0xff)

/* pci_bar's result: what kind of BAR it is. */
enum pci_bar_kind {
	PCI_BAR_NONE = 0,	/* not implemented (size 0) */
	PCI_BAR_KIND_MEM32,
	PCI_BAR_KIND_MEM64,	/* occupies BAR n and n + 1 */
	PCI_BAR_KIND_IO,
};

/*
 * Reads option ecam=0x... from the command line: if present, configuration space is reached
 * through ECAM at that base (bus 0 at base + 0, 1 MiB per bus) rather than the 0xcf8 ports.
 * Safe to call more than once.
 */
void pci_init(void);
/* Switches to ECAM at base (0: back to the ports). */
void pci_use_ecam(uint64_t base);
/* The ECAM base in use, or 0 when the legacy ports are. */
uint64_t pci_ecam_base(void);

/* Accesses at byte offset off (0-0xff with the ports, 0-0xfff with ECAM), naturally aligned. */
uint32_t pci_read32(uint16_t bdf, unsigned off);
uint16_t pci_read16(uint16_t bdf, unsigned off);
uint8_t pci_read8(uint16_t bdf, unsigned off);
void pci_write32(uint16_t bdf, unsigned off, uint32_t v);
void pci_write16(uint16_t bdf, unsigned off, uint16_t v);
void pci_write8(uint16_t bdf, unsigned off, uint8_t v);

/* Scans bus 0 (32 slots, functions 1-7 of multifunction devices); true and *bdf if found. */
bool pci_find(uint16_t vendor, uint16_t device, uint16_t *bdf);

/*
 * BAR n (0-5): base (flag bits stripped) and size, found by writing all ones with decoding
 * off and restoring the BAR and the command register after. Returns PCI_BAR_NONE if the BAR
 * is not implemented (then *base = *size = 0).
 */
enum pci_bar_kind pci_bar(uint16_t bdf, unsigned n, uint64_t *base, uint64_t *size);
/* Places BAR n at base (both halves for a 64-bit BAR); decoding is left as it was. */
void pci_bar_set(uint16_t bdf, unsigned n, uint64_t base);

/* Offset of the first capability with this ID, or 0 if none. */
unsigned pci_find_cap(uint16_t bdf, uint8_t id);

/* Command register helpers; each returns the previous value. */
uint16_t pci_command_set(uint16_t bdf, uint16_t bits);
uint16_t pci_command_clear(uint16_t bdf, uint16_t bits);

/*
 * Programs the MSI capability for one vector (multiple message enable 0) with this address
 * and data, unmasks vector 0 where per-vector masking exists, enables MSI, and sets bus
 * master and INTx disable in the command register. Handles the 32- and 64-bit variants.
 * Returns false if the device has no MSI capability.
 */
bool pci_enable_msi(uint16_t bdf, uint64_t addr, uint32_t data);
/* Clears MSI enable. */
void pci_disable_msi(uint16_t bdf);

#endif
