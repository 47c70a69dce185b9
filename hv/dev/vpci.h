/* The guest's PCI bus 0: a virtual host bridge at 00:00.0 and the one assigned
 * device at a virtual slot. Everything the guest sees is emulated here:
 * identity read once from the physical device, a command register whose decode,
 * bus-master and INTx-disable bits reach the device through a callback, fully
 * virtual BARs, and a synthesized capability list holding only MSI and MSI-X,
 * whose state is the guest's alone (eli programs the physical MSI registers).
 * Pure: all hardware is reached through callbacks (host-testable).
 *
 * Access paths: ports CF8/CFC (vpci_port_read/write), ECAM (vpci_ecam_read/write,
 * offsets from the guest's ECAM base) and direct bus/device/function accesses
 * (vpci_cfg_read/write) all meet in the same emulation. */
#ifndef ELI_DEV_VPCI_H
#define ELI_DEV_VPCI_H
#include "arch/x86/pci.h"
#include <stdbool.h>
#include <stdint.h>

#define VPCI_HOST_BRIDGE_VENDOR 0x8086u   /* Intel 82G33/Q35 MCH, as QEMU's q35 */
#define VPCI_HOST_BRIDGE_DEVICE 0x29C0u
#define VPCI_HOST_BRIDGE_CLASS 0x060000u  /* bridge, host bridge */

/* Where the guest finds the capabilities, whatever their physical offsets */
#define VPCI_MSI_CAP 0x40u
#define VPCI_MSIX_CAP 0x60u

/* MSI-X vectors virtualized; a longer physical table shows the guest this many */
#define VPCI_MSIX_MAX 256u
/* Memory BARs are shown at least this large so guests place them on page
 * boundaries, which nested paging needs */
#define VPCI_BAR_MIN_MEM 0x1000u

#define VPCI_CF8_PORT 0xCF8u
#define VPCI_CFC_PORT 0xCFCu
#define VPCI_PORTS 8u
#define VPCI_CF8_ENABLE (1u << 31)
/* enable, bus, device, function, register 7:2; other bits read 0 */
#define VPCI_CF8_MASK 0x80FFFFFCu

enum vpci_irq_kind { VPCI_MSI, VPCI_MSIX };

/* Every callback but pba_read is required. */
struct vpci_ops {
    /* The physical device's configuration space: identity at init, status,
     * MSI pending bits. */
    pci_cfg_read_fn cfg_read;
    /* The physical command register's I/O, memory, bus-master and INTx-disable
     * bits must become those of cmd (the other bits are eli's). */
    void (*command)(void *ctx, uint16_t cmd);
    /* The guest placed BAR `bar` (a 64-bit BAR: its lower index) at guest_base with
     * decoding enabled (enable), or that placement ends (!enable). size is the
     * guest's view (memory BARs: at least VPCI_BAR_MIN_MEM). Returns 0 or a negative
     * errno when eli refuses a placement (e.g. over guest RAM): vpci then treats it
     * as unmapped and sends no later !enable for it. */
    int (*bar_map)(void *ctx, unsigned bar, uint64_t guest_base, uint64_t size, uint64_t host_base,
                   bool enable);
    /* The physical MSI (or MSI-X) enable bit must become `on`. MSI and MSI-X are
     * never on together. Turning on comes after the msi_update calls that unmask
     * vectors, turning off before those that mask them. */
    void (*irq_enable)(void *ctx, enum vpci_irq_kind kind, bool on);
    /* Vector `index` (MSI: 0; MSI-X: the table entry) is deliverable or not, with
     * the guest's message address and data. Called when `enabled` changes, and when
     * address or data change while it is enabled. eli programs its own vector and
     * destination, and masks the physical vector when !enabled (MSI without
     * per-vector masking: irq_enable covers it). */
    void (*msi_update)(void *ctx, enum vpci_irq_kind kind, unsigned index, bool enabled,
                       uint64_t guest_addr, uint32_t guest_data);
    /* Reads the physical PBA at `offset` from its start; NULL: the PBA reads 0. */
    uint64_t (*pba_read)(void *ctx, uint64_t offset, unsigned size);
    void *ctx;
};

struct vpci_bar {
    uint64_t host_base;    /* the physical BAR */
    uint64_t size;         /* the guest's view; 0: no BAR here */
    uint64_t guest_base;   /* where the guest put it */
    uint32_t flags;        /* PCI_BAR_* */
    bool upper;            /* the high half of the 64-bit BAR below */
    bool mapped;           /* bar_map(enable) accepted at mapped_base */
    uint64_t mapped_base;
};

/* What vpci last told eli about a vector */
struct vpci_vec {
    bool enabled;
    uint64_t addr;
    uint32_t data;
};

struct vpci_dev {
    struct vpci_ops ops;
    uint8_t slot;
    /* identity, read from the physical device once */
    uint32_t id;           /* vendor | device << 16 */
    uint32_t class_rev;    /* revision | class << 8 */
    uint32_t subsys;       /* subsystem vendor | subsystem id << 16 */
    uint8_t int_pin, min_gnt, max_lat;
    /* the guest's writable registers */
    uint16_t command;
    uint8_t cache_line, latency, int_line;
    uint16_t command_sent; /* the bits last forwarded */
    struct vpci_bar bars[PCI_NUM_BARS];

    unsigned msi_phys;     /* physical MSI capability, 0: none */
    uint16_t msi_ctrl;     /* guest's: enable, and the physical 64-bit / PVM flags */
    uint64_t msi_addr;
    uint32_t msi_data, msi_mask;
    bool msi_on_sent;
    struct vpci_vec msi_sent;

    unsigned msix_phys;    /* physical MSI-X capability, 0: none */
    unsigned msix_phys_nvec, msix_nvec;  /* the device's table size, the guest's */
    uint32_t msix_table, msix_pba;       /* offset | BIR, as the device has them */
    uint16_t msix_ctrl;    /* guest's enable and function mask */
    bool msix_on_sent;
    struct pci_msix_entry msix[VPCI_MSIX_MAX];
    struct vpci_vec msix_sent[VPCI_MSIX_MAX];
};

struct vpci {
    uint32_t cf8;          /* the CONFIG_ADDRESS latch */
    struct vpci_dev *dev;  /* NULL: bus 0 holds only the host bridge */
};

/* Reads the physical identity and capabilities through ops->cfg_read and takes
 * the probed BARs (pci_bars_probe); the guest first sees each BAR where the
 * firmware put it and its command register 0: vpci_dev_init forwards command 0
 * (decoding and bus mastering off, as after a reset). slot is 1-31.
 * Returns 0, -ENODEV (nothing reads at the device), -EINVAL (a bridge, bad slot,
 * a malformed BAR or MSI-X capability). */
int vpci_dev_init(struct vpci_dev *d, uint8_t slot, const struct vpci_ops *ops,
                  const struct pci_bar bars[PCI_NUM_BARS]);
/* dev may be NULL */
void vpci_init(struct vpci *v, struct vpci_dev *dev);

/* size 1, 2 or 4, off aligned to it, off < 0x1000. Absent functions (and bad
 * accesses) read all ones; extended space (>= 0x100) of a present one reads 0. */
uint32_t vpci_cfg_read(struct vpci *v, unsigned bus, unsigned dev, unsigned fn, unsigned off,
                       unsigned size);
void vpci_cfg_write(struct vpci *v, unsigned bus, unsigned dev, unsigned fn, unsigned off,
                    unsigned size, uint32_t val);

/* Ports 0xCF8-0xCFF (PCI 3.0, 3.2.2.3.2). Returns 0 when the access was the
 * configuration mechanism's; -ENOENT for one that is not (any port outside, or a
 * byte or word access to 0xCF8-0xCFB: on Intel chipsets 0xCF9 is the reset
 * control register, eli's to handle); such a read still sets *val to all ones. */
int vpci_port_read(struct vpci *v, uint16_t port, unsigned size, uint32_t *val);
int vpci_port_write(struct vpci *v, uint16_t port, unsigned size, uint32_t val);

/* The guest's ECAM window: offset = guest-physical address - the window's base
 * (bus << 20 | device << 15 | function << 12 | register). */
uint32_t vpci_ecam_read(struct vpci *v, uint64_t offset, unsigned size);
void vpci_ecam_write(struct vpci *v, uint64_t offset, unsigned size, uint32_t val);

/* Where the MSI-X table lies: BAR index, offset in the BAR and length in bytes
 * (the device's whole table). eli traps the guest pages that hold it, wherever the
 * guest places that BAR. -ENOENT without MSI-X. */
int vpci_msix_table_location(const struct vpci_dev *d, unsigned *bar, uint64_t *offset,
                             uint64_t *size);
/* The guest's accesses to the trapped pages: offset is from the start of the
 * table's BAR, size 1, 2, 4 or 8 within one table entry. Table accesses are served
 * from the guest's copy; PBA accesses read the physical PBA (ops->pba_read), writes
 * to it are dropped. Returns 0 when served, -ENOENT when the offset is neither
 * table nor PBA (eli forwards the access to the physical BAR), -EINVAL for a bad
 * size or alignment (read: *val = all ones). */
int vpci_msix_table_read(struct vpci_dev *d, uint64_t offset, unsigned size, uint64_t *val);
int vpci_msix_table_write(struct vpci_dev *d, uint64_t offset, unsigned size, uint64_t val);

#endif
