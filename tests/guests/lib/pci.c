/* PCI configuration space through the 0xcf8/0xcfc ports or ECAM; BARs, capabilities, MSI. */
#include "pci.h"
#include "libguest.h"
#include "processor.h"

#define PCI_CONFIG_ADDRESS	0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_CONFIG_ENABLE	0x80000000u

#define PCI_SLOTS		32
#define PCI_FUNCTIONS		8
#define PCI_BARS		6
#define PCI_CAP_MAX		48	/* bounds the walk of a looping capability list */

static uint64_t ecam_base;

void pci_use_ecam(uint64_t base)
{
	ecam_base = base;
}

uint64_t pci_ecam_base(void)
{
	return ecam_base;
}

void pci_init(void)
{
	const char *s = cmdline_get("ecam");
	uint64_t base;

	if (!s)
		return;
	if (!parse_u64(s, &base) || (base & 0xfffff)) {
		report(false, "option ecam=%s is a 1 MiB-aligned address", s);
		exit(1);
	}
	pci_use_ecam(base);
}

static volatile void *ecam_ptr(uint16_t bdf, unsigned off)
{
	return (volatile void *)(uintptr_t)(ecam_base + ((uint64_t)bdf << 12) + (off & 0xfff));
}

/* Type 1: bus, device, function and dword-aligned register; the byte lane is the port's. */
static void cf8_select(uint16_t bdf, unsigned off)
{
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | ((uint32_t)bdf << 8) | (off & 0xfc));
}

uint32_t pci_read32(uint16_t bdf, unsigned off)
{
	if (ecam_base)
		return *(volatile uint32_t *)ecam_ptr(bdf, off & ~3u);
	cf8_select(bdf, off);
	return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(uint16_t bdf, unsigned off)
{
	if (ecam_base)
		return *(volatile uint16_t *)ecam_ptr(bdf, off & ~1u);
	cf8_select(bdf, off);
	return inw(PCI_CONFIG_DATA + (off & 2));
}

uint8_t pci_read8(uint16_t bdf, unsigned off)
{
	if (ecam_base)
		return *(volatile uint8_t *)ecam_ptr(bdf, off);
	cf8_select(bdf, off);
	return inb(PCI_CONFIG_DATA + (off & 3));
}

void pci_write32(uint16_t bdf, unsigned off, uint32_t v)
{
	if (ecam_base) {
		*(volatile uint32_t *)ecam_ptr(bdf, off & ~3u) = v;
		return;
	}
	cf8_select(bdf, off);
	outl(PCI_CONFIG_DATA, v);
}

void pci_write16(uint16_t bdf, unsigned off, uint16_t v)
{
	if (ecam_base) {
		*(volatile uint16_t *)ecam_ptr(bdf, off & ~1u) = v;
		return;
	}
	cf8_select(bdf, off);
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

void pci_write8(uint16_t bdf, unsigned off, uint8_t v)
{
	if (ecam_base) {
		*(volatile uint8_t *)ecam_ptr(bdf, off) = v;
		return;
	}
	cf8_select(bdf, off);
	outb(PCI_CONFIG_DATA + (off & 3), v);
}

bool pci_find(uint16_t vendor, uint16_t device, uint16_t *bdf)
{
	for (unsigned dev = 0; dev < PCI_SLOTS; dev++) {
		for (unsigned fn = 0; fn < PCI_FUNCTIONS; fn++) {
			uint16_t b = PCI_BDF(0, dev, fn);
			uint32_t id = pci_read32(b, PCI_VENDOR_ID);

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0) {
				if (fn == 0)
					break;	/* empty slot */
				continue;
			}
			if ((id & 0xffff) == vendor && (id >> 16) == device) {
				*bdf = b;
				return true;
			}
			if (fn == 0 && !(pci_read8(b, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFUNCTION))
				break;
		}
	}
	return false;
}

uint16_t pci_command_set(uint16_t bdf, uint16_t bits)
{
	uint16_t old = pci_read16(bdf, PCI_COMMAND);

	pci_write16(bdf, PCI_COMMAND, old | bits);
	return old;
}

uint16_t pci_command_clear(uint16_t bdf, uint16_t bits)
{
	uint16_t old = pci_read16(bdf, PCI_COMMAND);

	pci_write16(bdf, PCI_COMMAND, old & ~bits);
	return old;
}

/* Writes all ones to the BAR register at off and returns what reads back; restores it. */
static uint32_t bar_probe(uint16_t bdf, unsigned off, uint32_t *orig)
{
	*orig = pci_read32(bdf, off);
	pci_write32(bdf, off, 0xffffffffu);
	uint32_t mask = pci_read32(bdf, off);
	pci_write32(bdf, off, *orig);
	return mask;
}

enum pci_bar_kind pci_bar(uint16_t bdf, unsigned n, uint64_t *base, uint64_t *size)
{
	unsigned off = PCI_BAR0 + 4 * n;
	enum pci_bar_kind kind;
	uint32_t lo, hi = 0, mask_lo, mask_hi = 0xffffffffu;

	*base = *size = 0;
	if (n >= PCI_BARS)
		return PCI_BAR_NONE;

	/* No decoding while the BAR holds all ones: it must not claim addresses meanwhile. */
	uint16_t cmd = pci_command_clear(bdf, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	mask_lo = bar_probe(bdf, off, &lo);
	if (lo & PCI_BAR_IO) {
		kind = PCI_BAR_KIND_IO;
	} else if ((lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 && n + 1 < PCI_BARS) {
		kind = PCI_BAR_KIND_MEM64;
		mask_hi = bar_probe(bdf, off + 4, &hi);
	} else {
		kind = PCI_BAR_KIND_MEM32;
	}
	pci_write16(bdf, PCI_COMMAND, cmd);

	if (kind == PCI_BAR_KIND_IO) {
		uint32_t mask = mask_lo & ~3u;

		if (!mask)
			return PCI_BAR_NONE;
		*base = lo & ~3u;
		*size = (uint32_t)~(mask | 0xffff0000u) + 1;	/* the upper 16 bits may read 0 */
		return kind;
	}
	uint64_t mask = ((uint64_t)mask_hi << 32) | (mask_lo & ~0xfu);
	if (!(mask_lo & ~0xfu) && (kind == PCI_BAR_KIND_MEM32 || !mask_hi))
		return PCI_BAR_NONE;
	*base = ((uint64_t)hi << 32) | (lo & ~0xfu);
	*size = ~mask + 1;
	return kind;
}

void pci_bar_set(uint16_t bdf, unsigned n, uint64_t base)
{
	unsigned off = PCI_BAR0 + 4 * n;
	uint32_t lo = pci_read32(bdf, off);

	if (lo & PCI_BAR_IO) {
		pci_write32(bdf, off, (uint32_t)base | PCI_BAR_IO);
		return;
	}
	pci_write32(bdf, off, ((uint32_t)base & ~0xfu) | (lo & 0xf));
	if ((lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 && n + 1 < PCI_BARS)
		pci_write32(bdf, off + 4, (uint32_t)(base >> 32));
}

unsigned pci_find_cap(uint16_t bdf, uint8_t id)
{
	if (!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	unsigned pos = pci_read8(bdf, PCI_CAP_PTR) & 0xfc;
	for (unsigned i = 0; pos >= 0x40 && i < PCI_CAP_MAX; i++) {
		if (pci_read8(bdf, pos) == id)
			return pos;
		pos = pci_read8(bdf, pos + 1) & 0xfc;
	}
	return 0;
}

bool pci_enable_msi(uint16_t bdf, uint64_t addr, uint32_t data)
{
	unsigned cap = pci_find_cap(bdf, PCI_CAP_ID_MSI);

	if (!cap)
		return false;
	uint16_t flags = pci_read16(bdf, cap + PCI_MSI_FLAGS);
	bool is64 = flags & PCI_MSI_FLAGS_64BIT;

	/* Off while it is reprogrammed; one message. */
	flags &= ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_write16(bdf, cap + PCI_MSI_FLAGS, flags);
	pci_write32(bdf, cap + PCI_MSI_ADDRESS_LO, (uint32_t)addr);
	if (is64) {
		pci_write32(bdf, cap + PCI_MSI_ADDRESS_HI, (uint32_t)(addr >> 32));
		pci_write16(bdf, cap + PCI_MSI_DATA_64, (uint16_t)data);
	} else {
		pci_write16(bdf, cap + PCI_MSI_DATA_32, (uint16_t)data);
	}
	if (flags & PCI_MSI_FLAGS_MASKBIT) {
		unsigned mask = cap + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
		pci_write32(bdf, mask, pci_read32(bdf, mask) & ~1u);
	}
	pci_command_set(bdf, PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	pci_write16(bdf, cap + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
	return true;
}

void pci_disable_msi(uint16_t bdf)
{
	unsigned cap = pci_find_cap(bdf, PCI_CAP_ID_MSI);

	if (cap)
		pci_write16(bdf, cap + PCI_MSI_FLAGS,
			    pci_read16(bdf, cap + PCI_MSI_FLAGS) & ~PCI_MSI_FLAGS_ENABLE);
}
