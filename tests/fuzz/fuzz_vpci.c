/* libFuzzer target: hv/dev/vpci.c, the guest's PCI bus (the guest writes any
 * configuration register, through any access path; the physical device's
 * configuration space is the platform's, fuzzed here too).
 *
 * Input: [cfg][params...] then operations until the input ends.
 *   cfg bits 0-1: the physical device: 0 an edu-like device (MSI), 1 an e1000e-like
 *                 one (MSI and MSI-X), 2 both capabilities, 3 raw: its first 256
 *                 configuration bytes from the input;
 *   cfg bit 2:    BARs from the input rather than the template's;
 *   cfg bit 3:    a pba_read callback (else NULL);
 *   then the template's parameters (MSI control, MSI-X size, table and PBA
 *   registers, the size of their BAR), byte patches over the configuration space,
 *   the slot, and a pattern of bar_map refusals.
 * Operations: CF8/CFC port accesses, ECAM and direct configuration accesses,
 * MSI-X table and PBA accesses, all with sizes and offsets from the input.
 *
 * The fake device checks every callback against vpci.h's contract: configuration
 * reads inside the 4 KiB space, bar_map never with size 0 (or unaligned, or twice)
 * on enable and only for a mapped BAR on disable, msi_update indexes in range,
 * MSI and MSI-X never on together, an enabled vector only under an enabled
 * capability, command bits only those forwarded, PBA reads inside the PBA. */
#include "fuzz.h"

#include "arch/x86/pci.h"
#include "core/errno.h"
#include "dev/vpci.h"

/* pci.c logs through eli's console; the parts vpci uses never do */
void log_line(const char *fmt, ...);
void log_line(const char *fmt, ...)
{
    (void)fmt;
}

#define CMD_FORWARDED (PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE)

struct fake_map {
    bool on;
    uint64_t base, size;
};

static struct {
    uint8_t *cfg;                 /* PCIE_CFG_SIZE bytes, exact heap block */
    struct vpci_dev *d;
    uint16_t command;
    struct fake_map map[PCI_NUM_BARS];
    unsigned map_calls;
    uint8_t refuse;               /* bar_map(enable) call k fails when bit k % 8 is set */
    bool on[2];                   /* irq_enable state, by kind */
    bool vec_on[2][VPCI_MSIX_MAX];
    unsigned calls;
} fk;

static uint32_t fake_cfg_read(void *ctx, unsigned off, unsigned size)
{
    FUZZ_CHECK(ctx == &fk);
    FUZZ_CHECK(size == 1 || size == 2 || size == 4, "cfg_read size %u", size);
    FUZZ_CHECK(off < PCIE_CFG_SIZE && size <= PCIE_CFG_SIZE - off, "cfg_read at 0x%x size %u", off, size);
    uint32_t v = 0;
    for (unsigned k = 0; k < size; k++)
        v |= (uint32_t)fk.cfg[off + k] << (8 * k);
    return v;
}

static void fake_command(void *ctx, uint16_t cmd)
{
    FUZZ_CHECK(ctx == &fk);
    FUZZ_CHECK((cmd & ~CMD_FORWARDED) == 0, "command 0x%x", cmd);
    fk.command = cmd;
    fk.calls++;
}

static bool pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static int fake_bar_map(void *ctx, unsigned bar, uint64_t guest_base, uint64_t size, uint64_t host_base,
                        bool enable)
{
    FUZZ_CHECK(ctx == &fk);
    FUZZ_CHECK(bar < PCI_NUM_BARS, "bar %u", bar);
    fk.calls++;
    const struct vpci_bar *b = &fk.d->bars[bar];
    FUZZ_CHECK(!b->upper, "bar_map for the upper half %u", bar);
    FUZZ_CHECK(size == b->size && host_base == b->host_base);
    struct fake_map *m = &fk.map[bar];
    if (!enable) {
        FUZZ_CHECK(m->on && m->base == guest_base && m->size == size,
                   "unmap of bar %u at 0x%llx that is not mapped there", bar, (unsigned long long)guest_base);
        m->on = false;
        return 0;
    }
    FUZZ_CHECK(size != 0, "bar_map(enable) of bar %u with size 0", bar);
    FUZZ_CHECK(pow2(size) && guest_base % size == 0, "bar %u at 0x%llx size 0x%llx", bar,
               (unsigned long long)guest_base, (unsigned long long)size);
    FUZZ_CHECK(guest_base != 0);
    FUZZ_CHECK(!m->on, "bar %u mapped twice", bar);
    bool io = b->flags & PCI_BAR_IO;
    FUZZ_CHECK(fk.command & (io ? PCI_CMD_IO : PCI_CMD_MEM), "bar %u mapped with decode off", bar);
    if (io)
        FUZZ_CHECK(guest_base + size <= 0x10000);
    else
        FUZZ_CHECK(size >= VPCI_BAR_MIN_MEM);
    if (fk.refuse >> (fk.map_calls++ % 8) & 1)
        return -EINVAL;
    *m = (struct fake_map){ true, guest_base, size };
    return 0;
}

static void fake_irq_enable(void *ctx, enum vpci_irq_kind kind, bool on)
{
    FUZZ_CHECK(ctx == &fk);
    FUZZ_CHECK(kind == VPCI_MSI || kind == VPCI_MSIX);
    FUZZ_CHECK(fk.on[kind] != on, "irq_enable(%d, %d) repeated", kind, on);
    FUZZ_CHECK(!on || !fk.on[kind == VPCI_MSI ? VPCI_MSIX : VPCI_MSI], "MSI and MSI-X on together");
    FUZZ_CHECK(kind == VPCI_MSI ? fk.d->msi_phys != 0 : fk.d->msix_phys != 0);
    fk.on[kind] = on;
    fk.calls++;
}

static void fake_msi_update(void *ctx, enum vpci_irq_kind kind, unsigned index, bool enabled,
                            uint64_t guest_addr, uint32_t guest_data)
{
    FUZZ_CHECK(ctx == &fk);
    (void)guest_addr;
    if (kind == VPCI_MSI) {
        FUZZ_CHECK(index == 0 && fk.d->msi_phys, "MSI index %u", index);
        FUZZ_CHECK(guest_data <= 0xFFFF && (guest_addr & 3) == 0);
    } else {
        FUZZ_CHECK(kind == VPCI_MSIX);
        FUZZ_CHECK(fk.d->msix_phys && index < fk.d->msix_nvec && index < fk.d->msix_phys_nvec &&
                       index < VPCI_MSIX_MAX,
                   "MSI-X index %u of %u", index, fk.d->msix_nvec);
        FUZZ_CHECK((guest_addr & 3) == 0);
    }
    fk.vec_on[kind][index] = enabled;
    fk.calls++;
}

static uint64_t fake_pba_read(void *ctx, uint64_t offset, unsigned size)
{
    FUZZ_CHECK(ctx == &fk);
    uint64_t len = (fk.d->msix_phys_nvec + 63u) / 64u * 8u;
    FUZZ_CHECK(size == 1 || size == 2 || size == 4 || size == 8);
    FUZZ_CHECK(offset < len && size <= len - offset && offset % size == 0, "pba_read 0x%llx/%u of %llu",
               (unsigned long long)offset, size, (unsigned long long)len);
    return 0x0123456789abcdefull >> (offset % 8);
}

/* ---- the physical device ------------------------------------------------- */

static void put8(unsigned off, uint8_t v) { fk.cfg[off] = v; }
static void put16(unsigned off, uint16_t v) { put8(off, (uint8_t)v); put8(off + 1, (uint8_t)(v >> 8)); }
static void put32(unsigned off, uint32_t v) { put16(off, (uint16_t)v); put16(off + 2, (uint16_t)(v >> 16)); }

static void put_identity(uint16_t vendor, uint16_t device)
{
    put16(PCI_VENDOR_ID, vendor);
    put16(PCI_DEVICE_ID, device);
    put8(PCI_REVISION_ID, 0x10);
    put8(PCI_CLASS_PROG, 0);
    put16(PCI_CLASS_PROG + 1, 0x00FF);
    put16(PCI_SUBSYS_VENDOR_ID, 0x1AF4);
    put16(PCI_SUBSYS_ID, 0x1100);
    put8(PCI_INTERRUPT_PIN, 1);
    put16(PCI_STATUS, PCI_STATUS_CAP_LIST);
}

static void build_device(struct fin *f, unsigned kind, struct pci_bar bars[PCI_NUM_BARS])
{
    memset(fk.cfg, 0, PCIE_CFG_SIZE);
    memset(bars, 0, sizeof(struct pci_bar) * PCI_NUM_BARS);
    uint16_t msi_ctrl = fin_u16(f) & (PCI_MSI_CTRL_64BIT | PCI_MSI_CTRL_PVM | PCI_MSI_CTRL_MMC_MASK);
    uint16_t msix_ctrl = fin_u16(f) & PCI_MSIX_CTRL_SIZE_MASK;
    uint8_t tsel = fin_u8(f);
    uint32_t table = tsel & 0x80 ? fin_u32(f) : 0x0u | 3u;
    uint32_t pba = tsel & 0x40 ? fin_u32(f) : 0x2000u | 3u;
    uint64_t bar3_size = 1ull << (12 + (tsel & 7)); /* 4 KiB .. 512 KiB */
    switch (kind) {
    case 0: /* edu: PM (hidden), then MSI */
        put_identity(0x1234, 0x11E8);
        put8(PCI_CAP_PTR, 0x48);
        put16(0x48, PCI_CAP_ID_PM | 0x50 << 8);
        put16(0x50, PCI_CAP_ID_MSI);
        put16(0x50 + PCI_MSI_CTRL, msi_ctrl);
        bars[0] = (struct pci_bar){ 0xFEA00000ull, 1u << 20, 0 };
        break;
    case 1: /* e1000e: PM c8 -> MSI d0 -> PCIe e0 -> MSI-X a0 */
    case 2: /* and MSI-X first */
        put_identity(0x8086, 0x10D3);
        put8(PCI_CAP_PTR, kind == 1 ? 0xC8 : 0xA0);
        put16(0xC8, PCI_CAP_ID_PM | 0xD0 << 8);
        put16(0xD0, PCI_CAP_ID_MSI | 0xE0 << 8);
        put16(0xD0 + PCI_MSI_CTRL, msi_ctrl);
        put16(0xE0, PCI_CAP_ID_PCIE | (kind == 1 ? 0xA0 : 0x00) << 8);
        put16(0xA0, PCI_CAP_ID_MSIX | (kind == 1 ? 0x00 : 0xC8) << 8);
        put16(0xA0 + PCI_MSIX_CTRL, msix_ctrl);
        put32(0xA0 + PCI_MSIX_TABLE, table);
        put32(0xA0 + PCI_MSIX_PBA, pba);
        bars[0] = (struct pci_bar){ 0xFEB80000ull, 0x20000, 0 };
        bars[1] = (struct pci_bar){ 0xFEBA0000ull, 0x20000, 0 };
        bars[2] = (struct pci_bar){ 0xC000, 0x20, PCI_BAR_IO };
        bars[3] = (struct pci_bar){ 0xFEC00000ull, bar3_size, 0 };
        bars[4] = (struct pci_bar){ 0x800000000ull, 0x4000, PCI_BAR_64 | PCI_BAR_PREFETCH };
        break;
    default: /* raw */
        fin_bytes(f, fk.cfg, PCI_CFG_SIZE);
        bars[0] = (struct pci_bar){ 0xFEA00000ull, 1u << 20, 0 };
        bars[3] = (struct pci_bar){ 0xFEC00000ull, bar3_size, 0 };
        break;
    }
    unsigned npatch = fin_u8(f) % 8;
    for (unsigned i = 0; i < npatch; i++) {
        uint8_t off = fin_u8(f);
        fk.cfg[off] = fin_u8(f);
    }
}

static void input_bars(struct fin *f, struct pci_bar bars[PCI_NUM_BARS])
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        uint8_t s = fin_u8(f);
        bars[i].size = s >= 64 ? 0 : 1ull << s;
        bars[i].flags = fin_u8(f) & (PCI_BAR_IO | PCI_BAR_64 | PCI_BAR_PREFETCH);
        bars[i].base = fin_u8(f) & 1 ? fin_u64(f) : (uint64_t)fin_u32(f) & ~(bars[i].size - 1);
    }
}

/* ---- accesses ------------------------------------------------------------ */

static unsigned pick_size(struct fin *f)
{
    uint8_t s = fin_u8(f);
    static const unsigned sizes[4] = { 4, 1, 2, 4 };
    return s < 0xF0 ? sizes[s & 3] : s & 0xF;
}

static uint32_t ones(unsigned size)
{
    return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

/* bus, device, function: the device's most of the time */
static void pick_bdf(struct fin *f, struct vpci *bus, unsigned *b, unsigned *d, unsigned *fn)
{
    uint8_t sel = fin_u8(f);
    *b = 0;
    *fn = 0;
    *d = bus->dev ? bus->dev->slot : 3;
    if (sel < 0x40)
        *d = 0;
    else if (sel >= 0xC0) {
        *b = fin_u8(f);
        *d = fin_u8(f) & 0x1F;
        *fn = fin_u8(f) & 7;
    }
}

static uint32_t pick_value(struct fin *f)
{
    static const uint32_t vals[] = { 0xFFFFFFFFu, 0, 7, 0x407, 0x10000, 0x810000, 0x1810000, 0xC0000000,
                                     0x4000C000, 0xFEE00000u, 0x41, 0x1, 0xFEBC0000u, 0xFEBC0004u };
    return fin_pick32(f, vals, sizeof(vals) / sizeof(vals[0]));
}

static bool present(struct vpci *bus, unsigned b, unsigned d, unsigned fn)
{
    return b == 0 && fn == 0 && (d == 0 || (bus->dev && d == bus->dev->slot));
}

static void cfg_access(struct vpci *bus, struct fin *f, bool write)
{
    unsigned b, d, fn;
    pick_bdf(f, bus, &b, &d, &fn);
    uint8_t osel = fin_u8(f);
    unsigned off = osel < 0xE0 ? osel : fin_u16(f);
    unsigned size = pick_size(f);
    if (write) {
        vpci_cfg_write(bus, b, d, fn, off, size, pick_value(f));
        return;
    }
    uint32_t v = vpci_cfg_read(bus, b, d, fn, off, size);
    bool ok = (size == 1 || size == 2 || size == 4) && off % size == 0 && off + size <= PCIE_CFG_SIZE;
    if (!ok || !present(bus, b, d, fn))
        FUZZ_CHECK(v == ones(size), "absent %u:%u.%u or bad access read 0x%x", b, d, fn, v);
    if (size < 4)
        FUZZ_CHECK(v <= ones(size));
    if (ok && b < 256 && d < 32 && fn < 8) {
        /* the same register through ECAM */
        uint64_t ecam = (uint64_t)b << 20 | d << 15 | fn << 12 | off;
        FUZZ_CHECK(vpci_ecam_read(bus, ecam, size) == v, "ECAM and direct reads differ");
        /* and through CF8/CFC, for the first 256 bytes */
        if (off < PCI_CFG_SIZE) {
            uint32_t saved = bus->cf8, pv = 0;
            FUZZ_CHECK(vpci_port_write(bus, VPCI_CF8_PORT, 4, VPCI_CF8_ENABLE | b << 16 | d << 11 | fn << 8 |
                                                                  (off & 0xFC)) == 0);
            FUZZ_CHECK(vpci_port_read(bus, (uint16_t)(VPCI_CFC_PORT + (off & 3)), size, &pv) == 0);
            FUZZ_CHECK(pv == v, "CF8/CFC read 0x%x, direct 0x%x", pv, v);
            bus->cf8 = saved;
        }
    }
}

static void port_access(struct vpci *bus, struct fin *f, bool write)
{
    uint8_t sel = fin_u8(f);
    uint16_t port = sel < 0xF0 ? (uint16_t)(VPCI_CF8_PORT + (sel & 7)) : fin_u16(f);
    unsigned size = pick_size(f);
    bool cfg = (port == VPCI_CF8_PORT && size == 4) || (port >= VPCI_CFC_PORT && port < VPCI_CFC_PORT + 4);
    if (write) {
        uint32_t val = sel & 8 ? (VPCI_CF8_ENABLE | (uint32_t)(bus->dev ? bus->dev->slot : 3) << 11 |
                                  (fin_u8(f) & 0xFCu))
                               : pick_value(f);
        int rc = vpci_port_write(bus, port, size, val);
        FUZZ_CHECK(rc == (cfg ? 0 : -ENOENT), "port write 0x%x/%u: %d", port, size, rc);
        FUZZ_CHECK((bus->cf8 & ~VPCI_CF8_MASK) == 0);
    } else {
        uint32_t val = 0x5a5a5a5a;
        int rc = vpci_port_read(bus, port, size, &val);
        FUZZ_CHECK(rc == (cfg ? 0 : -ENOENT), "port read 0x%x/%u: %d", port, size, rc);
        if (rc)
            FUZZ_CHECK(val == ones(size));
        if (size < 4)
            FUZZ_CHECK(val <= ones(size));
    }
}

static void ecam_access(struct vpci *bus, struct fin *f, bool write)
{
    unsigned b, d, fn;
    pick_bdf(f, bus, &b, &d, &fn);
    uint8_t osel = fin_u8(f);
    uint64_t off = osel < 0xF0 ? ((uint64_t)b << 20 | d << 15 | fn << 12 | (osel < 0xE0 ? osel : fin_u16(f) & 0xFFF))
                               : fin_u64(f);
    unsigned size = pick_size(f);
    if (write) {
        vpci_ecam_write(bus, off, size, pick_value(f));
    } else {
        uint32_t v = vpci_ecam_read(bus, off, size);
        if (size < 4)
            FUZZ_CHECK(v <= ones(size));
    }
}

static void table_access(struct vpci_dev *d, struct fin *f, bool write)
{
    unsigned bar = 0;
    uint64_t toff = 0, tsize = 0;
    int rc = vpci_msix_table_location(d, &bar, &toff, &tsize);
    FUZZ_CHECK(rc == 0 || rc == -ENOENT);
    if (rc == 0)
        FUZZ_CHECK(bar < PCI_NUM_BARS && tsize == (uint64_t)d->msix_phys_nvec * 16 &&
                   toff + tsize <= d->bars[bar].size);
    uint8_t sel = fin_u8(f);
    uint64_t off;
    if (sel < 0x80)
        off = toff + fin_u16(f);                          /* in or past the table */
    else if (sel < 0xC0)
        off = (d->msix_pba & ~7u) + (fin_u16(f) & 0x1FF); /* around the PBA */
    else
        off = fin_u64(f);
    unsigned size = pick_size(f);
    if (sel & 0x10)
        size = sel & 0x20 ? 8 : size;
    if (write) {
        uint64_t val = fin_u8(f) & 1 ? fin_u64(f) : pick_value(f);
        rc = vpci_msix_table_write(d, off, size, val);
        FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
    } else {
        uint64_t val = 0;
        rc = vpci_msix_table_read(d, off, size, &val);
        FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
        if (rc == 0 && size < 8)
            FUZZ_CHECK(val >> (8 * size) == 0, "table read 0x%llx/%u = 0x%llx", (unsigned long long)off, size,
                       (unsigned long long)val);
    }
}

static void check_state(const struct vpci_dev *d)
{
    FUZZ_CHECK(!(fk.on[VPCI_MSI] && fk.on[VPCI_MSIX]), "MSI and MSI-X both on");
    /* an enabled vector lives under an enabled capability (off before masking,
     * on after unmasking) */
    FUZZ_CHECK(!fk.vec_on[VPCI_MSI][0] || fk.on[VPCI_MSI], "MSI vector enabled, MSI off");
    for (unsigned i = 0; i < VPCI_MSIX_MAX; i++)
        FUZZ_CHECK(!fk.vec_on[VPCI_MSIX][i] || fk.on[VPCI_MSIX], "MSI-X vector %u enabled, MSI-X off", i);
    FUZZ_CHECK(fk.command == (d->command & CMD_FORWARDED));
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        const struct vpci_bar *b = &d->bars[i];
        if (b->size && !b->upper)
            FUZZ_CHECK(b->guest_base % b->size == 0, "bar %u at 0x%llx size 0x%llx", i,
                       (unsigned long long)b->guest_base, (unsigned long long)b->size);
        FUZZ_CHECK(b->mapped == fk.map[i].on, "bar %u: vpci thinks mapped=%d", i, b->mapped);
        if (b->mapped)
            FUZZ_CHECK(b->mapped_base == fk.map[i].base);
    }
    FUZZ_CHECK(d->msix_nvec <= VPCI_MSIX_MAX && d->msix_nvec <= d->msix_phys_nvec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vpci_dev dev;
    struct vpci bus;
    struct fin f = fin_make(data, size);
    memset(&fk, 0, sizeof(fk));
    fk.cfg = malloc(PCIE_CFG_SIZE);
    FUZZ_CHECK(fk.cfg != NULL);
    fk.d = &dev;

    uint8_t cfg = fin_u8(&f);
    struct pci_bar bars[PCI_NUM_BARS];
    build_device(&f, cfg & 3, bars);
    if (cfg & 4)
        input_bars(&f, bars);
    uint8_t slot = fin_u8(&f);
    slot = slot < 0xF0 ? (uint8_t)(1 + slot % 31) : slot;
    fk.refuse = fin_u8(&f);
    const struct vpci_ops ops = {
        .cfg_read = fake_cfg_read,
        .command = fake_command,
        .bar_map = fake_bar_map,
        .irq_enable = fake_irq_enable,
        .msi_update = fake_msi_update,
        .pba_read = cfg & 8 ? fake_pba_read : NULL,
        .ctx = &fk,
    };
    int rc = vpci_dev_init(&dev, slot, &ops, bars);
    FUZZ_CHECK(rc == 0 || rc == -ENODEV || rc == -EINVAL, "init: %d", rc);
    if (slot == 0 || slot > 31)
        FUZZ_CHECK(rc == -EINVAL);
    vpci_init(&bus, rc == 0 ? &dev : NULL);
    if (rc == 0)
        check_state(&dev);

    for (unsigned n = 0; fin_left(&f) && n < 2048; n++) {
        uint8_t op = fin_u8(&f);
        switch (op % 8) {
        case 0: port_access(&bus, &f, false); break;
        case 1: port_access(&bus, &f, true); break;
        case 2: cfg_access(&bus, &f, false); break;
        case 3: cfg_access(&bus, &f, true); break;
        case 4: ecam_access(&bus, &f, op & 8); break;
        case 5:
        case 6:
            if (bus.dev)
                table_access(&dev, &f, op & 8);
            else
                cfg_access(&bus, &f, op & 8);
            break;
        default: fk.refuse = fin_u8(&f); break;
        }
        if (bus.dev)
            check_state(&dev);
    }
    free(fk.cfg);
    return 0;
}
