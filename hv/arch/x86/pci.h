/* PCI: configuration-space layout (PCI Local Bus 3.0, chapter 6), the physical
 * configuration access (ECAM, PCIe base 6.0 7.2.2, or ports CF8/CFC, PCI 3.0
 * 3.2.2.3.2), enumeration, BAR sizing, capabilities, and programming of the
 * physical MSI capability and MSI-X table.
 *
 * Pure parts (no hardware, host-testable): the BDF helpers and parser, BAR
 * decoding, and the capability walk through a reader callback. */
#ifndef ELI_ARCH_X86_PCI_H
#define ELI_ARCH_X86_PCI_H
#include "arch/x86/acpi.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type-0 header registers (PCI 3.0, 6.1, figure 6-1) */
#define PCI_VENDOR_ID 0x00u
#define PCI_DEVICE_ID 0x02u
#define PCI_COMMAND 0x04u
#define PCI_STATUS 0x06u
#define PCI_REVISION_ID 0x08u
#define PCI_CLASS_PROG 0x09u       /* then sub-class 0x0A, base class 0x0B */
#define PCI_CACHE_LINE_SIZE 0x0Cu
#define PCI_LATENCY_TIMER 0x0Du
#define PCI_HEADER_TYPE 0x0Eu
#define PCI_BIST 0x0Fu
#define PCI_BAR0 0x10u
#define PCI_CARDBUS_CIS 0x28u
#define PCI_SUBSYS_VENDOR_ID 0x2Cu
#define PCI_SUBSYS_ID 0x2Eu
#define PCI_ROM_ADDRESS 0x30u
#define PCI_CAP_PTR 0x34u
#define PCI_INTERRUPT_LINE 0x3Cu
#define PCI_INTERRUPT_PIN 0x3Du
#define PCI_MIN_GNT 0x3Eu
#define PCI_MAX_LAT 0x3Fu
#define PCI_CAP_START 0x40u         /* capabilities live above the header */
#define PCI_CFG_SIZE 0x100u         /* conventional configuration space */
#define PCIE_CFG_SIZE 0x1000u       /* with PCIe's extended space */

#define PCI_NUM_BARS 6u             /* type-0 header */
#define PCI_BRIDGE_NUM_BARS 2u      /* type-1 header */
#define PCI_BAR_OFFSET(i) (PCI_BAR0 + 4u * (i))

#define PCI_VENDOR_NONE 0xFFFFu     /* what an absent function reads */

#define PCI_CMD_IO (1u << 0)
#define PCI_CMD_MEM (1u << 1)
#define PCI_CMD_MASTER (1u << 2)
#define PCI_CMD_PARITY (1u << 6)
#define PCI_CMD_SERR (1u << 8)
#define PCI_CMD_INTX_DISABLE (1u << 10)

#define PCI_STATUS_INTX (1u << 3)
#define PCI_STATUS_CAP_LIST (1u << 4)

#define PCI_HEADER_TYPE_MASK 0x7Fu
#define PCI_HEADER_MULTI_FN 0x80u

/* BAR register bits (PCI 3.0, 6.2.5.1) */
#define PCI_BAR_REG_IO 0x1u
#define PCI_BAR_REG_MEM_TYPE 0x6u   /* 00: 32-bit, 10: 64-bit */
#define PCI_BAR_REG_MEM_64 0x4u
#define PCI_BAR_REG_PREFETCH 0x8u
#define PCI_BAR_REG_MEM_MASK 0xFFFFFFF0u
#define PCI_BAR_REG_IO_MASK 0xFFFFFFFCu

/* Capability IDs (PCI Code and ID Assignment, 2) */
#define PCI_CAP_ID_PM 0x01u
#define PCI_CAP_ID_MSI 0x05u
#define PCI_CAP_ID_PCIE 0x10u
#define PCI_CAP_ID_MSIX 0x11u
/* The 192 bytes above the header hold at most 48 four-byte capabilities: a longer
 * walk is a loop in a broken list */
#define PCI_CAP_MAX_HOPS 48u

/* MSI capability (PCI 3.0, 6.8.1): the layout depends on two control bits */
#define PCI_MSI_CTRL 0x2u
#define PCI_MSI_ADDR_LO 0x4u
#define PCI_MSI_ADDR_HI 0x8u        /* 64-bit variant only */
#define PCI_MSI_CTRL_ENABLE (1u << 0)
#define PCI_MSI_CTRL_MMC_MASK (7u << 1)  /* multiple message capable */
#define PCI_MSI_CTRL_MME_MASK (7u << 4)  /* multiple message enable */
#define PCI_MSI_CTRL_64BIT (1u << 7)
#define PCI_MSI_CTRL_PVM (1u << 8)       /* per-vector masking capable */

static inline unsigned pci_msi_data_off(uint16_t ctrl)
{
    return ctrl & PCI_MSI_CTRL_64BIT ? 0xCu : 0x8u;
}
static inline unsigned pci_msi_mask_off(uint16_t ctrl) { return pci_msi_data_off(ctrl) + 4u; }
static inline unsigned pci_msi_pending_off(uint16_t ctrl) { return pci_msi_data_off(ctrl) + 8u; }
#define PCI_MSI_CAP_MAX_LEN 0x18u  /* 64-bit address and per-vector masking */
/* Bytes the capability spans, rounded up to whole dwords */
static inline unsigned pci_msi_cap_len(uint16_t ctrl)
{
    return ctrl & PCI_MSI_CTRL_PVM ? pci_msi_pending_off(ctrl) + 4u : pci_msi_data_off(ctrl) + 4u;
}

/* MSI-X capability (PCI 3.0, 6.8.2) */
#define PCI_MSIX_CTRL 0x2u
#define PCI_MSIX_TABLE 0x4u         /* BIR in bits 2:0, offset in 31:3 */
#define PCI_MSIX_PBA 0x8u
#define PCI_MSIX_CAP_LEN 0xCu
#define PCI_MSIX_CTRL_SIZE_MASK 0x7FFu   /* table size - 1 */
#define PCI_MSIX_CTRL_FMASK (1u << 14)
#define PCI_MSIX_CTRL_ENABLE (1u << 15)
#define PCI_MSIX_BIR_MASK 0x7u
#define PCI_MSIX_MAX_VECTORS 2048u

/* One MSI-X table entry (PCI 3.0, 6.8.2.6-9) */
struct pci_msix_entry {
    uint32_t addr_lo;
    uint32_t addr_hi;
    uint32_t data;
    uint32_t vector_ctrl;
};
_Static_assert(sizeof(struct pci_msix_entry) == 16, "MSI-X table entry");
#define PCI_MSIX_ENTRY_ADDR_LO 0x0u
#define PCI_MSIX_ENTRY_ADDR_HI 0x4u
#define PCI_MSIX_ENTRY_DATA 0x8u
#define PCI_MSIX_ENTRY_CTRL 0xCu
#define PCI_MSIX_ENTRY_MASKED (1u << 0)

/* ---- pure helpers ------------------------------------------------------- */

/* Bus 15:8, device 7:3, function 2:0: the PCIe routing-ID layout, segment 0 only */
typedef uint16_t pci_bdf_t;
#define PCI_BDF(b, d, f) \
    ((pci_bdf_t)(((unsigned)(b) & 0xFFu) << 8 | ((unsigned)(d) & 0x1Fu) << 3 | ((unsigned)(f) & 7u)))
#define PCI_BDF_BUS(x) ((unsigned)(x) >> 8)
#define PCI_BDF_DEV(x) (((unsigned)(x) >> 3) & 0x1Fu)
#define PCI_BDF_FN(x) ((unsigned)(x) & 7u)
#define PCI_BDF_STR_MAX 8u          /* "bb:dd.f" and its NUL */

/* Parses "BB:DD.F" as lspci prints it: hexadecimal bus (1-2 digits), device (1-2
 * digits, at most 1f) and function (one digit 0-7), so "00:03.0" and "0:3.0" are
 * the same. An optional segment prefix of exactly 4 hex digits must be "0000"
 * ("0000:00:03.0", as sysfs names it). Nothing may follow. Returns 0, -EINVAL
 * (malformed) or -ERANGE (device > 1f, function > 7, or another segment). */
int pci_bdf_parse(const char *s, pci_bdf_t *out);
/* "bb:dd.f" into buf (PCI_BDF_STR_MAX bytes). */
void pci_bdf_format(pci_bdf_t bdf, char *buf);

/* A base address register, decoded */
#define PCI_BAR_IO (1u << 0)
#define PCI_BAR_64 (1u << 1)        /* takes this register and the next */
#define PCI_BAR_PREFETCH (1u << 2)
struct pci_bar {
    uint64_t base;     /* host-physical address, or I/O port */
    uint64_t size;     /* 0: the BAR is not implemented */
    uint32_t flags;    /* PCI_BAR_* */
};

/* Decodes a BAR from its value and what it read back after all ones were written
 * (hi values: the next register, for a 64-bit BAR; ignored otherwise). The size is
 * the lowest writable address bit (PCI 3.0, 6.2.5.1); an I/O BAR's upper 16 bits
 * may read back 0. */
void pci_bar_decode(uint32_t orig_lo, uint32_t orig_hi, uint32_t mask_lo, uint32_t mask_hi,
                    struct pci_bar *out);

/* Reads `size` (1, 2 or 4) bytes at `off` of one function's configuration space */
typedef uint32_t (*pci_cfg_read_fn)(void *ctx, unsigned off, unsigned size);
/* Offset of the first capability with this ID in the list the reader shows, or 0
 * (none, no list, or a header type without one). */
unsigned pci_cap_find_in(pci_cfg_read_fn rd, void *ctx, uint8_t id);

/* ---- hardware access ---------------------------------------------------- */

/* Uses ECAM at ecam_base (the address of bus 0, as MCFG gives it) for buses
 * start..end, or ports CF8/CFC for buses 0-255 when ecam_base is 0. ECAM must lie in
 * eli's identity map (the first 4 GiB): -ERANGE otherwise. Before pci_init, CF8/CFC
 * is used. */
int pci_init(uint64_t ecam_base, uint8_t start_bus, uint8_t end_bus);
/* pci_init with MCFG's entry for segment 0 that holds bus 0, or CF8/CFC if none.
 * Logs the choice. */
int pci_init_mcfg(const struct mcfg_entry *e, size_t n);
bool pci_uses_ecam(void);

/* size 1, 2 or 4, off aligned to it. Absent functions, buses out of range, bad
 * sizes and offsets >= 0x100 without ECAM read all ones; such writes are dropped. */
uint32_t pci_cfg_read(pci_bdf_t bdf, unsigned off, unsigned size);
void pci_cfg_write(pci_bdf_t bdf, unsigned off, unsigned size, uint32_t val);

/* Calls fn for every function present on the buses in range; returns the count. */
typedef void (*pci_visit_fn)(void *ctx, pci_bdf_t bdf);
unsigned pci_for_each(pci_visit_fn fn, void *ctx);
/* Logs one line per function: bdf, vendor:device, class, header type. */
unsigned pci_log_all(void);
/* The index-th function (in bus order) with these IDs. Returns 0 or -ENODEV. */
int pci_find_device(uint16_t vendor, uint16_t device, unsigned index, pci_bdf_t *out);

/* Sizes every BAR of a type-0 (6 BARs) or type-1 (2 BARs) header. The command
 * register's I/O and memory decode are off while a BAR holds all ones, then
 * restored. A 64-bit BAR fills bars[i] and leaves bars[i + 1] empty. Returns the
 * number of BAR registers, or -ENODEV / -EINVAL (another header type). */
int pci_bars_probe(pci_bdf_t bdf, struct pci_bar bars[PCI_NUM_BARS]);

unsigned pci_find_cap(pci_bdf_t bdf, uint8_t id);

/* MSI (single message). pci_msi_program writes address and data: -EINVAL if the
 * address is not dword aligned, or is above 4 GiB on a 32-bit-only capability. */
int pci_msi_program(pci_bdf_t bdf, unsigned cap, uint64_t addr, uint32_t data);
/* Sets or clears MSI enable, with multiple message enable = 1 message. */
void pci_msi_enable(pci_bdf_t bdf, unsigned cap, bool on);
/* Masks or unmasks vector 0; -EOPNOTSUPP without per-vector masking. */
int pci_msi_mask(pci_bdf_t bdf, unsigned cap, bool masked);

struct pci_msix_info {
    unsigned nvec;               /* table entries */
    uint8_t table_bir, pba_bir;  /* which BAR */
    uint32_t table_off, pba_off; /* offset in that BAR */
};
int pci_msix_info(pci_bdf_t bdf, unsigned cap, struct pci_msix_info *out);
/* The table's host-physical address: -EINVAL unless the BAR is memory and holds
 * the whole table. */
int pci_msix_table_pa(const struct pci_bar bars[PCI_NUM_BARS], const struct pci_msix_info *mi,
                      uint64_t *pa);
/* Sets MSI-X enable and function mask. */
void pci_msix_control(pci_bdf_t bdf, unsigned cap, bool enable, bool function_mask);
/* Entry `index` of the table at host-physical table_pa: masks it, writes address
 * and data, then leaves it masked or not. -ERANGE outside eli's identity map,
 * -EINVAL for an address that is not dword aligned. */
int pci_msix_entry_program(uint64_t table_pa, unsigned index, uint64_t addr, uint32_t data,
                           bool masked);
int pci_msix_entry_mask(uint64_t table_pa, unsigned index, bool masked);

#endif
