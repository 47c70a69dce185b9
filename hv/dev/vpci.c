#include "dev/vpci.h"
#include "core/errno.h"
#include <string.h>

/* The host bridge sits at device 0; nothing else on bus 0 but the assigned device */
#define HOST_BRIDGE_SLOT 0u

/* What the guest may set in the command register, and what of it reaches the device */
#define CMD_WRITABLE (PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_PARITY | PCI_CMD_SERR | \
                      PCI_CMD_INTX_DISABLE)
#define CMD_FORWARDED (PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE)

/* x86 I/O space is 16 bits: an I/O BAR's upper half may be hardwired 0 (PCI 3.0, 6.2.5.1) */
#define IO_BAR_LIMIT 0x10000u

_Static_assert(VPCI_MSI_CAP + PCI_MSI_CAP_MAX_LEN <= VPCI_MSIX_CAP, "the largest MSI capability fits below MSI-X");
_Static_assert(VPCI_MSIX_CAP + PCI_MSIX_CAP_LEN <= PCI_CFG_SIZE, "MSI-X capability fits");
_Static_assert(VPCI_MSIX_MAX <= PCI_MSIX_MAX_VECTORS, "MSI-X table size field");

static uint32_t ones(unsigned size) { return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu; }
static uint64_t ones64(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

static uint32_t phys_read(const struct vpci_dev *d, unsigned off, unsigned size)
{
    return d->ops.cfg_read(d->ops.ctx, off, size);
}

/* ---- MSI and MSI-X: diff the guest's state against what eli was told ---- */

static bool msix_on(const struct vpci_dev *d)
{
    return d->msix_phys && (d->msix_ctrl & PCI_MSIX_CTRL_ENABLE);
}

/* PCI 3.0, 6.8.2: software must not enable both; should a guest do it, MSI-X wins
 * so the device never has both on */
static bool msi_on(const struct vpci_dev *d)
{
    return d->msi_phys && (d->msi_ctrl & PCI_MSI_CTRL_ENABLE) && !msix_on(d);
}

static void report_vec(struct vpci_dev *d, struct vpci_vec *sent, enum vpci_irq_kind kind,
                       unsigned index, bool enabled, uint64_t addr, uint32_t data)
{
    /* address and data of a disabled vector matter only once it is enabled */
    if (sent->enabled == enabled && (!enabled || (sent->addr == addr && sent->data == data)))
        return;
    *sent = (struct vpci_vec){ enabled, addr, data };
    d->ops.msi_update(d->ops.ctx, kind, index, enabled, addr, data);
}

static void report_enable(struct vpci_dev *d, bool *sent, enum vpci_irq_kind kind, bool on)
{
    if (*sent == on)
        return;
    *sent = on;
    d->ops.irq_enable(d->ops.ctx, kind, on);
}

static void report_vectors(struct vpci_dev *d)
{
    if (d->msi_phys) {
        bool masked = (d->msi_ctrl & PCI_MSI_CTRL_PVM) && (d->msi_mask & 1u);
        report_vec(d, &d->msi_sent, VPCI_MSI, 0, msi_on(d) && !masked, d->msi_addr, d->msi_data);
    }
    bool live = msix_on(d) && !(d->msix_ctrl & PCI_MSIX_CTRL_FMASK);
    for (unsigned i = 0; i < d->msix_nvec; i++) {
        const struct pci_msix_entry *e = &d->msix[i];
        report_vec(d, &d->msix_sent[i], VPCI_MSIX, i, live && !(e->vector_ctrl & PCI_MSIX_ENTRY_MASKED),
                   (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
    }
}

/* Capabilities are switched off before their vectors are masked and on after
 * they are unmasked, so the device is never on with a stale vector */
static void sync_irqs(struct vpci_dev *d)
{
    bool msi = msi_on(d), msix = msix_on(d);
    if (!msi)
        report_enable(d, &d->msi_on_sent, VPCI_MSI, false);
    if (!msix)
        report_enable(d, &d->msix_on_sent, VPCI_MSIX, false);
    report_vectors(d);
    if (msi)
        report_enable(d, &d->msi_on_sent, VPCI_MSI, true);
    if (msix)
        report_enable(d, &d->msix_on_sent, VPCI_MSIX, true);
}

/* ---- command register and BARs ----------------------------------------- */

static void sync_bars(struct vpci_dev *d)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        struct vpci_bar *b = &d->bars[i];
        if (!b->size || b->upper)
            continue;
        bool decode = d->command & (b->flags & PCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEM);
        /* a BAR at 0 is taken as unassigned: it would lie over the guest's RAM */
        bool want = decode && b->guest_base;
        if (b->mapped && (!want || b->mapped_base != b->guest_base)) {
            d->ops.bar_map(d->ops.ctx, i, b->mapped_base, b->size, b->host_base, false);
            b->mapped = false;
        }
        if (!want || b->mapped)
            continue;
        if (!d->ops.bar_map(d->ops.ctx, i, b->guest_base, b->size, b->host_base, true)) {
            b->mapped = true;
            b->mapped_base = b->guest_base;
        }
    }
}

static void forward_command(struct vpci_dev *d)
{
    uint16_t cmd = d->command & CMD_FORWARDED;
    if (cmd == d->command_sent)
        return;
    d->command_sent = cmd;
    d->ops.command(d->ops.ctx, cmd);
}

static void command_write(struct vpci_dev *d, uint16_t val)
{
    d->command = val & CMD_WRITABLE;
    forward_command(d);
    sync_bars(d);
}

static uint32_t bar_read(const struct vpci_dev *d, unsigned i)
{
    const struct vpci_bar *b = &d->bars[i];
    if (b->upper)
        return (uint32_t)(d->bars[i - 1].guest_base >> 32);
    if (!b->size)
        return 0;
    if (b->flags & PCI_BAR_IO)
        return (uint32_t)b->guest_base | PCI_BAR_REG_IO;
    return (uint32_t)b->guest_base | (b->flags & PCI_BAR_64 ? PCI_BAR_REG_MEM_64 : 0) |
           (b->flags & PCI_BAR_PREFETCH ? PCI_BAR_REG_PREFETCH : 0);
}

/* Only the address bits above the size stick, so writing all ones reads back
 * the size mask (PCI 3.0, 6.2.5.1) */
static void bar_write(struct vpci_dev *d, unsigned i, uint32_t val)
{
    struct vpci_bar *b = &d->bars[i];
    if (b->upper) {
        b = &d->bars[i - 1];
        b->guest_base = (b->guest_base & 0xFFFFFFFFull) | (uint64_t)val << 32;
    } else if (!b->size) {
        return;
    } else if (b->flags & PCI_BAR_IO) {
        b->guest_base = val & PCI_BAR_REG_IO_MASK & (IO_BAR_LIMIT - 1);
    } else {
        b->guest_base = (b->guest_base & ~0xFFFFFFFFull) | (val & PCI_BAR_REG_MEM_MASK);
    }
    b->guest_base &= ~(b->size - 1);
    sync_bars(d);
}

/* ---- the synthesized capabilities --------------------------------------- */

static unsigned first_cap(const struct vpci_dev *d)
{
    return d->msi_phys ? VPCI_MSI_CAP : d->msix_phys ? VPCI_MSIX_CAP : 0;
}

static bool in_msi(const struct vpci_dev *d, unsigned reg)
{
    return d->msi_phys && reg >= VPCI_MSI_CAP && reg < VPCI_MSI_CAP + pci_msi_cap_len(d->msi_ctrl);
}

static bool in_msix(const struct vpci_dev *d, unsigned reg)
{
    return d->msix_phys && reg >= VPCI_MSIX_CAP && reg < VPCI_MSIX_CAP + PCI_MSIX_CAP_LEN;
}

/* The guest's MSI capability has the physical one's layout (64-bit address,
 * per-vector masking) but offers a single message: multiple message capable
 * and enable read 0 (PCI 3.0, 6.8.1.3). */
static uint32_t msi_read(const struct vpci_dev *d, unsigned rel)
{
    uint16_t c = d->msi_ctrl;
    if (rel == 0)
        return PCI_CAP_ID_MSI | (d->msix_phys ? VPCI_MSIX_CAP : 0) << 8 | (uint32_t)c << 16;
    if (rel == PCI_MSI_ADDR_LO)
        return (uint32_t)d->msi_addr;
    if ((c & PCI_MSI_CTRL_64BIT) && rel == PCI_MSI_ADDR_HI)
        return (uint32_t)(d->msi_addr >> 32);
    if (rel == pci_msi_data_off(c))
        return d->msi_data;
    if ((c & PCI_MSI_CTRL_PVM) && rel == pci_msi_mask_off(c))
        return d->msi_mask;
    /* pending bits are the device's; while the guest masks its vector eli turns the
     * device's MSI off (assign.c), so a message raised meanwhile is not kept pending */
    if ((c & PCI_MSI_CTRL_PVM) && rel == pci_msi_pending_off(c))
        return phys_read(d, d->msi_phys + rel, 4) & 1u;
    return 0;
}

static void msi_write(struct vpci_dev *d, unsigned rel, uint32_t val)
{
    uint16_t c = d->msi_ctrl;
    if (rel == 0)
        d->msi_ctrl = (uint16_t)((c & ~PCI_MSI_CTRL_ENABLE) | ((val >> 16) & PCI_MSI_CTRL_ENABLE));
    else if (rel == PCI_MSI_ADDR_LO)
        d->msi_addr = (d->msi_addr & ~0xFFFFFFFFull) | (val & ~3u);
    else if ((c & PCI_MSI_CTRL_64BIT) && rel == PCI_MSI_ADDR_HI)
        d->msi_addr = (d->msi_addr & 0xFFFFFFFFull) | (uint64_t)val << 32;
    else if (rel == pci_msi_data_off(c))
        d->msi_data = val & 0xFFFFu;   /* PCI 3.0's data is 16 bits; the upper half reads 0 */
    else if ((c & PCI_MSI_CTRL_PVM) && rel == pci_msi_mask_off(c))
        d->msi_mask = val & 1u;        /* one vector: the other mask bits are reserved */
    sync_irqs(d);
}

static uint32_t msix_cap_read(const struct vpci_dev *d, unsigned rel)
{
    if (rel == 0) {
        uint16_t ctrl = (uint16_t)((d->msix_nvec - 1u) | d->msix_ctrl);
        return PCI_CAP_ID_MSIX | (uint32_t)ctrl << 16;
    }
    return rel == PCI_MSIX_TABLE ? d->msix_table : d->msix_pba;
}

static void msix_cap_write(struct vpci_dev *d, unsigned rel, uint32_t val)
{
    if (rel != 0)
        return;
    d->msix_ctrl = (uint16_t)((val >> 16) & (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_FMASK));
    sync_irqs(d);
}

/* ---- the device's configuration space, a dword at a time ----------------- */

static uint32_t dev_read32(const struct vpci_dev *d, unsigned reg)
{
    switch (reg) {
    case PCI_VENDOR_ID:
        return d->id;
    case PCI_COMMAND: {
        uint32_t status = phys_read(d, PCI_STATUS, 2) & ~PCI_STATUS_CAP_LIST;
        if (first_cap(d))
            status |= PCI_STATUS_CAP_LIST;
        return d->command | status << 16;
    }
    case PCI_REVISION_ID:
        return d->class_rev;
    case PCI_CACHE_LINE_SIZE:   /* header type 0, single function; no BIST */
        return d->cache_line | (uint32_t)d->latency << 8;
    case PCI_SUBSYS_VENDOR_ID:
        return d->subsys;
    case PCI_CAP_PTR:
        return first_cap(d);
    case PCI_INTERRUPT_LINE:
        return d->int_line | (uint32_t)d->int_pin << 8 | (uint32_t)d->min_gnt << 16 |
               (uint32_t)d->max_lat << 24;
    default:
        break;
    }
    if (reg >= PCI_BAR0 && reg < PCI_BAR_OFFSET(PCI_NUM_BARS))
        return bar_read(d, (reg - PCI_BAR0) / 4);
    if (in_msi(d, reg))
        return msi_read(d, reg - VPCI_MSI_CAP);
    if (in_msix(d, reg))
        return msix_cap_read(d, reg - VPCI_MSIX_CAP);
    return 0;   /* CardBus CIS, expansion ROM (not implemented), everything unused */
}

/* `val` is the whole dword: the guest's bytes merged into the current value, so
 * fields the guest did not write are written back unchanged */
static void dev_write32(struct vpci_dev *d, unsigned reg, uint32_t val)
{
    switch (reg) {
    case PCI_COMMAND:   /* status writes are dropped: its error bits are the device's */
        command_write(d, (uint16_t)val);
        return;
    case PCI_CACHE_LINE_SIZE:
        d->cache_line = (uint8_t)val;
        d->latency = (uint8_t)(val >> 8);
        return;
    case PCI_INTERRUPT_LINE:
        d->int_line = (uint8_t)val;
        return;
    default:
        break;
    }
    if (reg >= PCI_BAR0 && reg < PCI_BAR_OFFSET(PCI_NUM_BARS))
        bar_write(d, (reg - PCI_BAR0) / 4, val);
    else if (in_msi(d, reg))
        msi_write(d, reg - VPCI_MSI_CAP, val);
    else if (in_msix(d, reg))
        msix_cap_write(d, reg - VPCI_MSIX_CAP, val);
}

/* The host bridge: identity only, every write dropped */
static uint32_t host_bridge_read32(unsigned reg)
{
    switch (reg) {
    case PCI_VENDOR_ID:
        return VPCI_HOST_BRIDGE_VENDOR | VPCI_HOST_BRIDGE_DEVICE << 16;
    case PCI_REVISION_ID:
        return VPCI_HOST_BRIDGE_CLASS << 8;
    default:
        return 0;
    }
}

/* ---- initialization ----------------------------------------------------- */

static bool pow2(uint64_t v) { return v && !(v & (v - 1)); }

static int init_bar(struct vpci_dev *d, unsigned i, const struct pci_bar *pb)
{
    struct vpci_bar *b = &d->bars[i];
    if (!pow2(pb->size))
        return -EINVAL;
    if (pb->flags & PCI_BAR_IO) {
        if (pb->size > IO_BAR_LIMIT || pb->base >= IO_BAR_LIMIT)
            return -EINVAL;
        b->size = pb->size;
    } else {
        if ((pb->flags & PCI_BAR_64) ? i + 1 >= PCI_NUM_BARS : pb->base + pb->size > (1ull << 32))
            return -EINVAL;
        b->size = pb->size < VPCI_BAR_MIN_MEM ? VPCI_BAR_MIN_MEM : pb->size;
        if (pb->flags & PCI_BAR_64)
            d->bars[i + 1].upper = true;
    }
    b->host_base = pb->base;
    b->flags = pb->flags & (PCI_BAR_IO | PCI_BAR_64 | PCI_BAR_PREFETCH);
    /* the guest first finds the BAR where the firmware put it */
    b->guest_base = pb->base & ~(b->size - 1);
    return 0;
}

static int init_bars(struct vpci_dev *d, const struct pci_bar bars[PCI_NUM_BARS])
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (d->bars[i].upper || !bars[i].size)
            continue;
        int rc = init_bar(d, i, &bars[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* A table or PBA in a BAR: a memory BAR (not the high half of one) that holds it */
static bool region_ok(const struct vpci_dev *d, const struct pci_bar bars[PCI_NUM_BARS], uint32_t reg,
                      uint64_t len)
{
    unsigned bir = reg & PCI_MSIX_BIR_MASK;
    uint64_t off = reg & ~PCI_MSIX_BIR_MASK;
    if (bir >= PCI_NUM_BARS || d->bars[bir].upper || !bars[bir].size || (bars[bir].flags & PCI_BAR_IO))
        return false;
    return off <= bars[bir].size && len <= bars[bir].size - off;
}

/* The device's whole table */
static uint64_t table_len(const struct vpci_dev *d)
{
    return (uint64_t)d->msix_phys_nvec * sizeof(struct pci_msix_entry);
}

/* One pending bit per entry, in qwords (PCI 3.0, 6.8.2.10) */
static uint64_t pba_len(const struct vpci_dev *d) { return (d->msix_phys_nvec + 63u) / 64u * 8u; }

static int init_msix(struct vpci_dev *d, const struct pci_bar bars[PCI_NUM_BARS])
{
    unsigned cap = pci_cap_find_in(d->ops.cfg_read, d->ops.ctx, PCI_CAP_ID_MSIX);
    if (!cap)
        return 0;
    uint16_t ctrl = (uint16_t)phys_read(d, cap + PCI_MSIX_CTRL, 2);
    d->msix_phys_nvec = (ctrl & PCI_MSIX_CTRL_SIZE_MASK) + 1u;
    d->msix_table = phys_read(d, cap + PCI_MSIX_TABLE, 4);
    d->msix_pba = phys_read(d, cap + PCI_MSIX_PBA, 4);
    if (!region_ok(d, bars, d->msix_table, table_len(d)) ||
        !region_ok(d, bars, d->msix_pba, pba_len(d)))
        return -EINVAL;
    d->msix_phys = cap;
    d->msix_nvec = d->msix_phys_nvec < VPCI_MSIX_MAX ? d->msix_phys_nvec : VPCI_MSIX_MAX;
    /* PCI 3.0, 6.8.2.9: every entry comes out of reset masked */
    for (unsigned i = 0; i < d->msix_nvec; i++)
        d->msix[i].vector_ctrl = PCI_MSIX_ENTRY_MASKED;
    return 0;
}

int vpci_dev_init(struct vpci_dev *d, uint8_t slot, const struct vpci_ops *ops,
                  const struct pci_bar bars[PCI_NUM_BARS])
{
    memset(d, 0, sizeof(*d));
    if (slot == HOST_BRIDGE_SLOT || slot > 31)
        return -EINVAL;
    d->ops = *ops;
    d->slot = slot;
    d->id = phys_read(d, PCI_VENDOR_ID, 4);
    if ((d->id & 0xFFFFu) == PCI_VENDOR_NONE)
        return -ENODEV;
    if (phys_read(d, PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK)
        return -EINVAL;   /* bridges are not assigned */
    d->class_rev = phys_read(d, PCI_REVISION_ID, 4);
    d->subsys = phys_read(d, PCI_SUBSYS_VENDOR_ID, 4);
    d->int_pin = (uint8_t)phys_read(d, PCI_INTERRUPT_PIN, 1);
    d->min_gnt = (uint8_t)phys_read(d, PCI_MIN_GNT, 1);
    d->max_lat = (uint8_t)phys_read(d, PCI_MAX_LAT, 1);
    int rc = init_bars(d, bars);
    if (rc)
        return rc;
    unsigned msi = pci_cap_find_in(d->ops.cfg_read, d->ops.ctx, PCI_CAP_ID_MSI);
    if (msi) {
        d->msi_phys = msi;
        d->msi_ctrl = phys_read(d, msi + PCI_MSI_CTRL, 2) & (PCI_MSI_CTRL_64BIT | PCI_MSI_CTRL_PVM);
    }
    rc = init_msix(d, bars);
    if (rc)
        return rc;
    d->ops.command(d->ops.ctx, 0);
    return 0;
}

void vpci_init(struct vpci *v, struct vpci_dev *dev)
{
    v->cf8 = 0;
    v->dev = dev;
}

/* ---- access paths ------------------------------------------------------- */

static bool access_ok(unsigned off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && !(off & (size - 1)) && off + size <= PCIE_CFG_SIZE;
}

/* Both functions on bus 0 are single-function devices: function 0 only */
static bool present(const struct vpci *v, unsigned bus, unsigned dev, unsigned fn)
{
    if (bus != 0 || fn != 0)
        return false;
    return dev == HOST_BRIDGE_SLOT || (v->dev && dev == v->dev->slot);
}

uint32_t vpci_cfg_read(struct vpci *v, unsigned bus, unsigned dev, unsigned fn, unsigned off,
                       unsigned size)
{
    if (!access_ok(off, size) || !present(v, bus, dev, fn))
        return ones(size);
    /* PCIe base 6.0, 7.6.3: a zero header at 0x100 means no extended capabilities */
    if (off >= PCI_CFG_SIZE)
        return 0;
    unsigned reg = off & ~3u;
    uint32_t dword = dev == HOST_BRIDGE_SLOT ? host_bridge_read32(reg) : dev_read32(v->dev, reg);
    return (dword >> (8 * (off & 3u))) & ones(size);
}

void vpci_cfg_write(struct vpci *v, unsigned bus, unsigned dev, unsigned fn, unsigned off,
                    unsigned size, uint32_t val)
{
    if (!access_ok(off, size) || !present(v, bus, dev, fn) || off >= PCI_CFG_SIZE ||
        dev == HOST_BRIDGE_SLOT)
        return;
    unsigned reg = off & ~3u, shift = 8 * (off & 3u);
    uint32_t mask = ones(size) << shift;
    uint32_t merged = (dev_read32(v->dev, reg) & ~mask) | ((val << shift) & mask);
    dev_write32(v->dev, reg, merged);
}

/* Where an access to 0xCFC-0xCFF goes: the function CONFIG_ADDRESS (0xCF8) names, at
 * its register plus the port's byte offset (PCI 3.0, 3.2.2.3.2). */
struct cfc_target {
    unsigned bus, dev, fn, off;
};

/* False when CONFIG_ADDRESS has its enable bit clear: the access reaches no function. */
static bool cfc_target(const struct vpci *v, uint16_t port, struct cfc_target *t)
{
    if (!(v->cf8 & VPCI_CF8_ENABLE))
        return false;
    *t = (struct cfc_target){ (v->cf8 >> 16) & 0xFFu, (v->cf8 >> 11) & 0x1Fu, (v->cf8 >> 8) & 7u,
                              (v->cf8 & 0xFCu) + (port - VPCI_CFC_PORT) };
    return true;
}

static bool is_cfc(uint16_t port) { return port >= VPCI_CFC_PORT && port < VPCI_CFC_PORT + 4u; }

int vpci_port_read(struct vpci *v, uint16_t port, unsigned size, uint32_t *val)
{
    /* PCI 3.0, 3.2.2.3.2: only dword accesses to 0xCF8 reach CONFIG_ADDRESS */
    if (port == VPCI_CF8_PORT && size == 4) {
        *val = v->cf8;
        return 0;
    }
    *val = ones(size);
    if (!is_cfc(port))
        return -ENOENT;
    /* misaligned accesses read all ones, as vpci_cfg_read answers them */
    struct cfc_target t;
    if (cfc_target(v, port, &t))
        *val = vpci_cfg_read(v, t.bus, t.dev, t.fn, t.off, size);
    return 0;
}

int vpci_port_write(struct vpci *v, uint16_t port, unsigned size, uint32_t val)
{
    if (port == VPCI_CF8_PORT && size == 4) {
        v->cf8 = val & VPCI_CF8_MASK;
        return 0;
    }
    if (!is_cfc(port))
        return -ENOENT;
    struct cfc_target t;
    if (cfc_target(v, port, &t))
        vpci_cfg_write(v, t.bus, t.dev, t.fn, t.off, size, val);
    return 0;
}

/* ECAM (PCIe base 6.0, 7.2.2): bus 27:20, device 19:15, function 14:12, register 11:0 */
#define ECAM_WINDOW (256ull << 20)

uint32_t vpci_ecam_read(struct vpci *v, uint64_t offset, unsigned size)
{
    if (offset >= ECAM_WINDOW)
        return ones(size);
    return vpci_cfg_read(v, (unsigned)(offset >> 20), (unsigned)(offset >> 15) & 0x1Fu,
                         (unsigned)(offset >> 12) & 7u, (unsigned)offset & 0xFFFu, size);
}

void vpci_ecam_write(struct vpci *v, uint64_t offset, unsigned size, uint32_t val)
{
    if (offset >= ECAM_WINDOW)
        return;
    vpci_cfg_write(v, (unsigned)(offset >> 20), (unsigned)(offset >> 15) & 0x1Fu,
                   (unsigned)(offset >> 12) & 7u, (unsigned)offset & 0xFFFu, size, val);
}

/* ---- the MSI-X table and PBA --------------------------------------------- */

int vpci_msix_table_location(const struct vpci_dev *d, unsigned *bar, uint64_t *offset,
                             uint64_t *size)
{
    if (!d->msix_phys)
        return -ENOENT;
    *bar = d->msix_table & PCI_MSIX_BIR_MASK;
    *offset = d->msix_table & ~PCI_MSIX_BIR_MASK;
    *size = table_len(d);
    return 0;
}

/* Whether [offset, offset + len) of the table's BAR starts in the region (reg is
 * its offset | BIR); *rel is the offset in the region */
static bool in_region(const struct vpci_dev *d, uint32_t reg, uint64_t len, uint64_t offset,
                      uint64_t *rel)
{
    uint64_t start = reg & ~PCI_MSIX_BIR_MASK;
    if ((reg & PCI_MSIX_BIR_MASK) != (d->msix_table & PCI_MSIX_BIR_MASK) || offset < start ||
        offset - start >= len)
        return false;
    *rel = offset - start;
    return true;
}

/* PCI 3.0, 6.8.2: the table takes aligned accesses; one must stay in one entry */
static bool table_access_ok(uint64_t rel, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && !(rel & (size - 1));
}

static uint32_t *entry_word(struct pci_msix_entry *e, unsigned w)
{
    switch (w) {
    case 0:
        return &e->addr_lo;
    case 1:
        return &e->addr_hi;
    case 2:
        return &e->data;
    default:
        return &e->vector_ctrl;
    }
}

int vpci_msix_table_read(struct vpci_dev *d, uint64_t offset, unsigned size, uint64_t *val)
{
    uint64_t rel;
    *val = ones64(size);
    if (!d->msix_phys)
        return -ENOENT;
    if (in_region(d, d->msix_table, table_len(d), offset, &rel)) {
        if (!table_access_ok(rel, size))
            return -EINVAL;
        unsigned i = (unsigned)(rel / sizeof(struct pci_msix_entry));
        unsigned b = (unsigned)(rel % sizeof(struct pci_msix_entry));
        *val = 0;
        /* entries past the guest's table size (VPCI_MSIX_MAX) read 0 */
        for (unsigned k = 0; k < size && i < d->msix_nvec; k++, b++)
            *val |= (uint64_t)((*entry_word(&d->msix[i], b / 4) >> (8 * (b % 4))) & 0xFFu) << (8 * k);
        return 0;
    }
    if (in_region(d, d->msix_pba, pba_len(d), offset, &rel)) {
        if (!table_access_ok(rel, size))
            return -EINVAL;
        *val = d->ops.pba_read ? d->ops.pba_read(d->ops.ctx, rel, size) & ones64(size) : 0;
        return 0;
    }
    return -ENOENT;
}

int vpci_msix_table_write(struct vpci_dev *d, uint64_t offset, unsigned size, uint64_t val)
{
    uint64_t rel;
    if (!d->msix_phys)
        return -ENOENT;
    if (in_region(d, d->msix_table, table_len(d), offset, &rel)) {
        if (!table_access_ok(rel, size))
            return -EINVAL;
        unsigned i = (unsigned)(rel / sizeof(struct pci_msix_entry));
        unsigned b = (unsigned)(rel % sizeof(struct pci_msix_entry));
        if (i >= d->msix_nvec)
            return 0;
        struct pci_msix_entry *e = &d->msix[i];
        for (unsigned k = 0; k < size; k++, b++) {
            uint32_t *w = entry_word(e, b / 4);
            unsigned shift = 8 * (b % 4);
            *w = (*w & ~(0xFFu << shift)) | (uint32_t)((val >> (8 * k)) & 0xFFu) << shift;
        }
        /* PCI 3.0, 6.8.2.6 and 6.8.2.9: address bits 1:0 and all control bits
         * but the mask are reserved */
        e->addr_lo &= ~3u;
        e->vector_ctrl &= PCI_MSIX_ENTRY_MASKED;
        sync_irqs(d);
        return 0;
    }
    if (in_region(d, d->msix_pba, pba_len(d), offset, &rel))
        return table_access_ok(rel, size) ? 0 : -EINVAL;   /* the PBA is read-only */
    return -ENOENT;
}
