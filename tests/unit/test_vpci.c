/* Host unit tests of hv/dev/vpci.c (the guest's PCI bus) and of the pure helpers
 * of hv/arch/x86/pci.c (BDF parser, BAR decoding, capability walk). The physical
 * device is a fake configuration space; every callback vpci makes is recorded, in
 * order, as an event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/pci.h"
#include "core/errno.h"
#include "dev/vpci.h"

/* pci.c logs through eli's console; the pure parts under test never do */
void log_line(const char *fmt, ...)
{
    (void)fmt;
}

/* ---- the fake physical device and the callbacks' record ------------------ */

enum ev_type { EV_CMD, EV_MAP, EV_EN, EV_VEC };

struct event {
    enum ev_type type;
    unsigned a;        /* CMD: command; MAP: bar; EN, VEC: kind */
    unsigned index;    /* VEC */
    bool on;           /* MAP: enable; EN: on; VEC: enabled */
    uint64_t base, size, host;  /* MAP */
    uint64_t addr;     /* VEC */
    uint32_t data;     /* VEC */
};

#define MAX_EVENTS 1024

static struct {
    uint8_t cfg[PCIE_CFG_SIZE];
    struct event ev[MAX_EVENTS];
    unsigned nev;
    int map_result;            /* what bar_map(enable) returns */
    uint64_t pba;              /* the physical PBA's first qword */
    uint64_t pba_off;
    unsigned pba_size, pba_reads;
} fk;

static struct vpci_dev dev;
static struct vpci bus;

static uint32_t fake_cfg_read(void *ctx, unsigned off, unsigned size)
{
    assert_ptr_equal(ctx, &fk);
    assert_true(off + size <= sizeof(fk.cfg));
    uint32_t v = 0;
    for (unsigned k = 0; k < size; k++)
        v |= (uint32_t)fk.cfg[off + k] << (8 * k);
    return v;
}

static struct event *record(enum ev_type type)
{
    assert_true(fk.nev < MAX_EVENTS);
    struct event *e = &fk.ev[fk.nev++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    return e;
}

static void fake_command(void *ctx, uint16_t cmd)
{
    assert_ptr_equal(ctx, &fk);
    record(EV_CMD)->a = cmd;
}

static int fake_bar_map(void *ctx, unsigned bar, uint64_t guest_base, uint64_t size, uint64_t host_base,
                        bool enable)
{
    assert_ptr_equal(ctx, &fk);
    struct event *e = record(EV_MAP);
    e->a = bar;
    e->base = guest_base;
    e->size = size;
    e->host = host_base;
    e->on = enable;
    return enable ? fk.map_result : 0;
}

static void fake_irq_enable(void *ctx, enum vpci_irq_kind kind, bool on)
{
    assert_ptr_equal(ctx, &fk);
    struct event *e = record(EV_EN);
    e->a = kind;
    e->on = on;
}

static void fake_msi_update(void *ctx, enum vpci_irq_kind kind, unsigned index, bool enabled,
                            uint64_t addr, uint32_t data)
{
    assert_ptr_equal(ctx, &fk);
    struct event *e = record(EV_VEC);
    e->a = kind;
    e->index = index;
    e->on = enabled;
    e->addr = addr;
    e->data = data;
}

static uint64_t fake_pba_read(void *ctx, uint64_t offset, unsigned size)
{
    assert_ptr_equal(ctx, &fk);
    fk.pba_reads++;
    fk.pba_off = offset;
    fk.pba_size = size;
    return fk.pba >> (8 * (offset & 7));
}

static struct vpci_ops ops = {
    .cfg_read = fake_cfg_read,
    .command = fake_command,
    .bar_map = fake_bar_map,
    .irq_enable = fake_irq_enable,
    .msi_update = fake_msi_update,
    .pba_read = fake_pba_read,
    .ctx = &fk,
};

static void assert_cmd(unsigned i, uint16_t cmd)
{
    assert_true(i < fk.nev);
    assert_int_equal(fk.ev[i].type, EV_CMD);
    assert_int_equal(fk.ev[i].a, cmd);
}

static void assert_map(unsigned i, unsigned bar, uint64_t base, uint64_t size, uint64_t host, bool on)
{
    assert_true(i < fk.nev);
    assert_int_equal(fk.ev[i].type, EV_MAP);
    assert_int_equal(fk.ev[i].a, bar);
    assert_int_equal(fk.ev[i].base, base);
    assert_int_equal(fk.ev[i].size, size);
    assert_int_equal(fk.ev[i].host, host);
    assert_int_equal(fk.ev[i].on, on);
}

static void assert_en(unsigned i, enum vpci_irq_kind kind, bool on)
{
    assert_true(i < fk.nev);
    assert_int_equal(fk.ev[i].type, EV_EN);
    assert_int_equal(fk.ev[i].a, kind);
    assert_int_equal(fk.ev[i].on, on);
}

static void assert_vec(unsigned i, enum vpci_irq_kind kind, unsigned index, bool on, uint64_t addr,
                       uint32_t data)
{
    assert_true(i < fk.nev);
    assert_int_equal(fk.ev[i].type, EV_VEC);
    assert_int_equal(fk.ev[i].a, kind);
    assert_int_equal(fk.ev[i].index, index);
    assert_int_equal(fk.ev[i].on, on);
    if (on) {
        assert_int_equal(fk.ev[i].addr, addr);
        assert_int_equal(fk.ev[i].data, data);
    }
}

static void put8(unsigned off, uint8_t v) { fk.cfg[off] = v; }
static void put16(unsigned off, uint16_t v)
{
    put8(off, (uint8_t)v);
    put8(off + 1, (uint8_t)(v >> 8));
}
static void put32(unsigned off, uint32_t v)
{
    put16(off, (uint16_t)v);
    put16(off + 2, (uint16_t)(v >> 16));
}

/* A capability at `off` with id and next pointer */
static void put_cap(unsigned off, uint8_t id, uint8_t next)
{
    put8(off, id);
    put8(off + 1, next);
}

/* Identity of QEMU's edu device, with a multi-function bit the guest must not see */
static void put_identity(uint16_t vendor, uint16_t device)
{
    memset(fk.cfg, 0, sizeof(fk.cfg));
    put16(PCI_VENDOR_ID, vendor);
    put16(PCI_DEVICE_ID, device);
    put8(PCI_REVISION_ID, 0x10);
    put8(PCI_CLASS_PROG, 0x00);
    put8(PCI_CLASS_PROG + 1, 0xFF);
    put8(PCI_CLASS_PROG + 2, 0x00);
    put8(PCI_HEADER_TYPE, 0x80);
    put16(PCI_SUBSYS_VENDOR_ID, 0x1AF4);
    put16(PCI_SUBSYS_ID, 0x1100);
    put8(PCI_INTERRUPT_PIN, 1);
    put8(PCI_MIN_GNT, 0x02);
    put8(PCI_MAX_LAT, 0x03);
}

#define EDU_BAR0 0xFEA00000ull
static const struct pci_bar edu_bars[PCI_NUM_BARS] = { { EDU_BAR0, 1u << 20, 0 } };

/* edu: a PM capability (hidden from the guest), then MSI with a 64-bit address */
static void make_edu(uint16_t msi_ctrl)
{
    put_identity(0x1234, 0x11E8);
    put16(PCI_STATUS, PCI_STATUS_CAP_LIST);
    put8(PCI_CAP_PTR, 0x48);
    put_cap(0x48, PCI_CAP_ID_PM, 0x50);
    put_cap(0x50, PCI_CAP_ID_MSI, 0);
    put16(0x50 + PCI_MSI_CTRL, msi_ctrl);
}

#define NIC_BAR0 0xFEB80000ull
#define NIC_BAR1 0xFEBA0000ull
#define NIC_IO 0xC000ull
#define NIC_BAR3 0xFEBC0000ull
#define NIC_BAR4 0x800000000ull
#define NIC_PBA_OFF 0x2000u
/* e1000e-like: BAR3 holds the MSI-X table (offset 0) and PBA (0x2000); a 64-bit
 * prefetchable BAR4 as well, to have one */
static const struct pci_bar nic_bars[PCI_NUM_BARS] = {
    { NIC_BAR0, 0x20000, 0 },
    { NIC_BAR1, 0x20000, 0 },
    { NIC_IO, 0x20, PCI_BAR_IO },
    { NIC_BAR3, 0x4000, 0 },
    { NIC_BAR4, 0x4000, PCI_BAR_64 | PCI_BAR_PREFETCH },
    { 0, 0, 0 },
};

/* caps as QEMU's e1000e lays them out: PM c8 -> MSI d0 -> PCIe e0 -> MSI-X a0 */
static void make_nic(unsigned nvec)
{
    put_identity(0x8086, 0x10D3);
    put16(PCI_STATUS, PCI_STATUS_CAP_LIST | PCI_STATUS_INTX);
    put8(PCI_CAP_PTR, 0xC8);
    put_cap(0xC8, PCI_CAP_ID_PM, 0xD0);
    put_cap(0xD0, PCI_CAP_ID_MSI, 0xE0);
    put16(0xD0 + PCI_MSI_CTRL, PCI_MSI_CTRL_64BIT);
    put_cap(0xE0, PCI_CAP_ID_PCIE, 0xA0);
    put_cap(0xA0, PCI_CAP_ID_MSIX, 0);
    put16(0xA0 + PCI_MSIX_CTRL, (uint16_t)(nvec - 1));
    put32(0xA0 + PCI_MSIX_TABLE, 0x0 | 3);
    put32(0xA0 + PCI_MSIX_PBA, NIC_PBA_OFF | 3);
}

#define SLOT 3

static void attach(const struct pci_bar bars[PCI_NUM_BARS])
{
    assert_int_equal(vpci_dev_init(&dev, SLOT, &ops, bars), 0);
    vpci_init(&bus, &dev);
    /* init forwards command 0, as after a reset */
    assert_int_equal(fk.nev, 1);
    assert_cmd(0, 0);
    fk.nev = 0;
}

static int setup(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof(fk));
    memset(&dev, 0x5A, sizeof(dev));
    return 0;
}

static int setup_edu(void **state)
{
    setup(state);
    make_edu(PCI_MSI_CTRL_64BIT);
    attach(edu_bars);
    return 0;
}

static int setup_nic(void **state)
{
    setup(state);
    make_nic(5);
    attach(nic_bars);
    return 0;
}

/* The guest's view of the device at SLOT */
static uint32_t rd(unsigned off, unsigned size) { return vpci_cfg_read(&bus, 0, SLOT, 0, off, size); }
static void wr(unsigned off, unsigned size, uint32_t v) { vpci_cfg_write(&bus, 0, SLOT, 0, off, size, v); }

/* ---- pci.c's pure helpers ---------------------------------------------- */

static void test_bdf_parse_accepts(void **state)
{
    (void)state;
    pci_bdf_t b = 0xFFFF;
    assert_int_equal(pci_bdf_parse("00:03.0", &b), 0);
    assert_int_equal(b, PCI_BDF(0, 3, 0));
    assert_int_equal(pci_bdf_parse("0:3.0", &b), 0);
    assert_int_equal(b, PCI_BDF(0, 3, 0));
    assert_int_equal(pci_bdf_parse("ff:1f.7", &b), 0);
    assert_int_equal(PCI_BDF_BUS(b), 0xFF);
    assert_int_equal(PCI_BDF_DEV(b), 0x1F);
    assert_int_equal(PCI_BDF_FN(b), 7);
    assert_int_equal(pci_bdf_parse("0A:1B.2", &b), 0);
    assert_int_equal(b, PCI_BDF(0x0A, 0x1B, 2));
    assert_int_equal(pci_bdf_parse("0000:01:00.1", &b), 0);
    assert_int_equal(b, PCI_BDF(1, 0, 1));
}

static void test_bdf_parse_rejects(void **state)
{
    (void)state;
    static const char *const malformed[] = {
        "", "00", "00:03", "00:03.", "00.03.0", "00:03:0", "000:03.0", "00:003.0",
        "00:03.00", "00:03.0 ", " 00:03.0", "0x0:03.0", "g0:03.0", "-1:03.0",
        "00:3.0.0", "000:00:03.0", "00000:00:03.0", ":03.0", "00:.0",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        pci_bdf_t b = 0x1234;
        if (pci_bdf_parse(malformed[i], &b) != -EINVAL)
            fail_msg("'%s' was not rejected as malformed", malformed[i]);
        assert_int_equal(b, 0x1234);
    }
    pci_bdf_t b = 0x1234;
    assert_int_equal(pci_bdf_parse("00:20.0", &b), -ERANGE);
    assert_int_equal(pci_bdf_parse("00:03.8", &b), -ERANGE);
    assert_int_equal(pci_bdf_parse("00:03.a", &b), -ERANGE);
    assert_int_equal(pci_bdf_parse("0001:00:03.0", &b), -ERANGE);
    assert_int_equal(b, 0x1234);
}

static void test_bdf_format(void **state)
{
    (void)state;
    char s[PCI_BDF_STR_MAX];
    pci_bdf_format(PCI_BDF(0, 3, 0), s);
    assert_string_equal(s, "00:03.0");
    pci_bdf_format(PCI_BDF(0xAB, 0x1F, 7), s);
    assert_string_equal(s, "ab:1f.7");
    pci_bdf_t b;
    assert_int_equal(pci_bdf_parse(s, &b), 0);
    assert_int_equal(b, PCI_BDF(0xAB, 0x1F, 7));
}

static void test_bar_decode(void **state)
{
    (void)state;
    struct pci_bar b;
    /* 32-bit, 1 MiB */
    pci_bar_decode(0xFEA00000u, 0, 0xFFF00000u, 0, &b);
    assert_int_equal(b.base, 0xFEA00000u);
    assert_int_equal(b.size, 1u << 20);
    assert_int_equal(b.flags, 0);
    /* 64-bit prefetchable, 16 KiB above 4 GiB */
    pci_bar_decode(0x0000000Cu, 0x8, 0xFFFFC00Cu, 0xFFFFFFFFu, &b);
    assert_int_equal(b.base, 0x800000000ull);
    assert_int_equal(b.size, 0x4000);
    assert_int_equal(b.flags, PCI_BAR_64 | PCI_BAR_PREFETCH);
    /* 64-bit, 8 GiB: every low address bit reads back 0 */
    pci_bar_decode(0x4u, 0x10, 0x4u, 0xFFFFFFFEu, &b);
    assert_int_equal(b.size, 8ull << 30);
    /* I/O, 32 ports, upper 16 bits hardwired 0 */
    pci_bar_decode(0xC001u, 0, 0x0000FFE1u, 0, &b);
    assert_int_equal(b.base, 0xC000);
    assert_int_equal(b.size, 32);
    assert_int_equal(b.flags, PCI_BAR_IO);
    /* not implemented */
    pci_bar_decode(0, 0, 0, 0, &b);
    assert_int_equal(b.size, 0);
}

struct fake_space {
    uint8_t b[PCI_CFG_SIZE];
};

static uint32_t space_read(void *ctx, unsigned off, unsigned size)
{
    struct fake_space *s = ctx;
    uint32_t v = 0;
    for (unsigned k = 0; k < size; k++)
        v |= (uint32_t)s->b[off + k] << (8 * k);
    return v;
}

static void test_cap_find_in(void **state)
{
    (void)state;
    struct fake_space s;
    memset(&s, 0, sizeof(s));
    s.b[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    s.b[PCI_CAP_PTR] = 0x43;   /* low two bits reserved: masked */
    s.b[0x40] = PCI_CAP_ID_PM;
    s.b[0x41] = 0x60;
    s.b[0x60] = PCI_CAP_ID_MSI;
    s.b[0x61] = 0x70;
    s.b[0x70] = PCI_CAP_ID_MSIX;
    s.b[0x71] = 0;
    assert_int_equal(pci_cap_find_in(space_read, &s, PCI_CAP_ID_PM), 0x40);
    assert_int_equal(pci_cap_find_in(space_read, &s, PCI_CAP_ID_MSI), 0x60);
    assert_int_equal(pci_cap_find_in(space_read, &s, PCI_CAP_ID_MSIX), 0x70);
    assert_int_equal(pci_cap_find_in(space_read, &s, PCI_CAP_ID_PCIE), 0);
    /* a list that loops ends */
    s.b[0x71] = 0x40;
    assert_int_equal(pci_cap_find_in(space_read, &s, PCI_CAP_ID_PCIE), 0);
    /* without the status bit there is no list */
    s.b[PCI_STATUS] = 0;
    assert_int_equal(pci_cap_find_in(space_read, &s, PCI_CAP_ID_PM), 0);
}

/* ---- vpci: init and identity -------------------------------------------- */

static void test_host_bridge(void **state)
{
    (void)state;
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, PCI_VENDOR_ID, 2), VPCI_HOST_BRIDGE_VENDOR);
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, PCI_DEVICE_ID, 2), VPCI_HOST_BRIDGE_DEVICE);
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, PCI_REVISION_ID, 4) >> 8, 0x060000);
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, PCI_CAP_PTR, 1), 0);
    vpci_cfg_write(&bus, 0, 0, 0, PCI_COMMAND, 2, 0x7);
    vpci_cfg_write(&bus, 0, 0, 0, PCI_VENDOR_ID, 4, 0);
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, PCI_COMMAND, 2), 0);
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, PCI_VENDOR_ID, 4), 0x29C08086u);
    assert_int_equal(fk.nev, 0);
    /* without an assigned device the bridge is alone */
    struct vpci empty;
    vpci_init(&empty, NULL);
    assert_int_equal(vpci_cfg_read(&empty, 0, 0, 0, PCI_VENDOR_ID, 4), 0x29C08086u);
    assert_int_equal(vpci_cfg_read(&empty, 0, SLOT, 0, PCI_VENDOR_ID, 4), 0xFFFFFFFFu);
}

static void test_device_identity(void **state)
{
    (void)state;
    assert_int_equal(rd(PCI_VENDOR_ID, 2), 0x1234);
    assert_int_equal(rd(PCI_DEVICE_ID, 2), 0x11E8);
    assert_int_equal(rd(PCI_VENDOR_ID, 4), 0x11E81234u);
    assert_int_equal(rd(PCI_REVISION_ID, 1), 0x10);
    assert_int_equal(rd(PCI_REVISION_ID, 4), 0x00FF0010u);
    assert_int_equal(rd(PCI_SUBSYS_VENDOR_ID, 2), 0x1AF4);
    assert_int_equal(rd(PCI_SUBSYS_ID, 2), 0x1100);
    /* type 0, and single-function although the physical device says otherwise */
    assert_int_equal(rd(PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(rd(PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(rd(PCI_MIN_GNT, 1), 2);
    assert_int_equal(rd(PCI_MAX_LAT, 1), 3);
    assert_int_equal(rd(PCI_ROM_ADDRESS, 4), 0);
    /* the identity is read-only */
    wr(PCI_VENDOR_ID, 4, 0);
    wr(PCI_REVISION_ID, 4, 0);
    assert_int_equal(rd(PCI_VENDOR_ID, 4), 0x11E81234u);
    assert_int_equal(rd(PCI_REVISION_ID, 4), 0x00FF0010u);
    /* read once at init: the physical registers are not read again */
    put16(PCI_VENDOR_ID, 0x4321);
    assert_int_equal(rd(PCI_VENDOR_ID, 2), 0x1234);
}

static void test_scratch_registers(void **state)
{
    (void)state;
    wr(PCI_INTERRUPT_LINE, 1, 11);
    wr(PCI_CACHE_LINE_SIZE, 2, 0x4010);
    assert_int_equal(rd(PCI_INTERRUPT_LINE, 1), 11);
    assert_int_equal(rd(PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(rd(PCI_CACHE_LINE_SIZE, 1), 0x10);
    assert_int_equal(rd(PCI_LATENCY_TIMER, 1), 0x40);
    /* a dword write there does not change the header type or BIST */
    wr(PCI_CACHE_LINE_SIZE, 4, 0xFFFF2020u);
    assert_int_equal(rd(PCI_CACHE_LINE_SIZE, 4), 0x00002020u);
    assert_int_equal(fk.nev, 0);
}

static void test_absent_functions_read_all_ones(void **state)
{
    (void)state;
    static const unsigned sizes[] = { 1, 2, 4 };
    static const uint32_t ones[] = { 0xFF, 0xFFFF, 0xFFFFFFFFu };
    for (unsigned s = 0; s < 3; s++) {
        unsigned size = sizes[s];
        assert_int_equal(vpci_cfg_read(&bus, 0, 1, 0, 0, size), ones[s]);
        assert_int_equal(vpci_cfg_read(&bus, 0, 31, 0, 0, size), ones[s]);
        assert_int_equal(vpci_cfg_read(&bus, 0, SLOT, 1, 0, size), ones[s]);
        assert_int_equal(vpci_cfg_read(&bus, 0, 0, 7, 0, size), ones[s]);
        assert_int_equal(vpci_cfg_read(&bus, 1, SLOT, 0, 0, size), ones[s]);
        assert_int_equal(vpci_cfg_read(&bus, 1, 0, 0, 0, size), ones[s]);
    }
    /* misaligned or odd-sized accesses to a present device as well */
    assert_int_equal(rd(1, 2), 0xFFFF);
    assert_int_equal(rd(2, 4), 0xFFFFFFFFu);
    assert_int_equal(rd(0, 3), 0xFFFFFFFFu);
    /* writes to absent functions go nowhere */
    vpci_cfg_write(&bus, 0, SLOT, 1, PCI_COMMAND, 2, PCI_CMD_MEM);
    vpci_cfg_write(&bus, 1, SLOT, 0, PCI_COMMAND, 2, PCI_CMD_MEM);
    assert_int_equal(rd(PCI_COMMAND, 2), 0);
    assert_int_equal(fk.nev, 0);
}

static void test_extended_space_reads_zero(void **state)
{
    (void)state;
    put32(0x100, 0x00010001u);   /* a physical AER header the guest must not see */
    assert_int_equal(rd(0x100, 4), 0);
    assert_int_equal(rd(0x102, 2), 0);
    assert_int_equal(rd(0xFFC, 4), 0);
    assert_int_equal(rd(0xFFF, 1), 0);
    wr(0x100, 4, 0xFFFFFFFFu);
    assert_int_equal(rd(0x100, 4), 0);
    assert_int_equal(vpci_cfg_read(&bus, 0, 0, 0, 0x100, 4), 0);
    /* past the 4 KiB of a function */
    assert_int_equal(rd(0x1000, 4), 0xFFFFFFFFu);
    assert_int_equal(fk.nev, 0);
}

static void test_init_errors(void **state)
{
    (void)state;
    struct vpci_dev *d = &dev;
    make_edu(PCI_MSI_CTRL_64BIT);
    assert_int_equal(vpci_dev_init(d, 0, &ops, edu_bars), -EINVAL);
    assert_int_equal(vpci_dev_init(d, 32, &ops, edu_bars), -EINVAL);
    put16(PCI_VENDOR_ID, 0xFFFF);
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, edu_bars), -ENODEV);
    make_edu(PCI_MSI_CTRL_64BIT);
    put8(PCI_HEADER_TYPE, 0x01);   /* a bridge */
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, edu_bars), -EINVAL);
    make_edu(PCI_MSI_CTRL_64BIT);
    struct pci_bar bad[PCI_NUM_BARS] = { { EDU_BAR0, 3u << 20, 0 } };   /* not a power of 2 */
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, bad), -EINVAL);
    struct pci_bar last64[PCI_NUM_BARS] = { [5] = { 0x800000000ull, 0x1000, PCI_BAR_64 } };
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, last64), -EINVAL);
    struct pci_bar big_io[PCI_NUM_BARS] = { { 0xC000, 0x20000, PCI_BAR_IO } };
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, big_io), -EINVAL);
    struct pci_bar high32[PCI_NUM_BARS] = { { 0x100000000ull, 0x1000, 0 } };   /* 32-bit above 4 GiB */
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, high32), -EINVAL);
    /* an MSI-X table larger than its BAR */
    make_nic(5);
    struct pci_bar small[PCI_NUM_BARS];
    memcpy(small, nic_bars, sizeof(small));
    small[3].size = 0x40;
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, small), -EINVAL);
    /* an MSI-X table in an I/O BAR */
    make_nic(5);
    put32(0xA0 + PCI_MSIX_TABLE, 2);
    assert_int_equal(vpci_dev_init(d, SLOT, &ops, nic_bars), -EINVAL);
    assert_int_equal(fk.nev, 0);
}

/* ---- command and status -------------------------------------------------- */

static void test_command_forwarding(void **state)
{
    (void)state;
    assert_int_equal(rd(PCI_COMMAND, 2), 0);
    wr(PCI_COMMAND, 2, PCI_CMD_MASTER | PCI_CMD_SERR | PCI_CMD_INTX_DISABLE | (1u << 3) | (1u << 9));
    /* the guest reads back what it may set (special cycles and fast back-to-back are 0) */
    assert_int_equal(rd(PCI_COMMAND, 2), PCI_CMD_MASTER | PCI_CMD_SERR | PCI_CMD_INTX_DISABLE);
    /* the device gets bus mastering and INTx disable, not SERR# */
    assert_int_equal(fk.nev, 1);
    assert_cmd(0, PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    /* a change of a bit that is not forwarded makes no call */
    wr(PCI_COMMAND, 2, PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    assert_int_equal(fk.nev, 1);
    /* the same value again: no call */
    wr(PCI_COMMAND, 2, PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    assert_int_equal(fk.nev, 1);
    /* INTx enabled again, through a byte write to the command's high byte */
    wr(PCI_COMMAND + 1, 1, 0);
    assert_int_equal(rd(PCI_COMMAND, 2), PCI_CMD_MASTER);
    assert_int_equal(fk.nev, 2);
    assert_cmd(1, PCI_CMD_MASTER);
}

static void test_status_from_physical(void **state)
{
    (void)state;
    put16(PCI_STATUS, PCI_STATUS_INTX);   /* the device's status, without its cap bit */
    assert_int_equal(rd(PCI_STATUS, 2), PCI_STATUS_INTX | PCI_STATUS_CAP_LIST);
    put16(PCI_STATUS, 0x0200 | PCI_STATUS_CAP_LIST);
    assert_int_equal(rd(PCI_STATUS, 2), 0x0200 | PCI_STATUS_CAP_LIST);
    assert_int_equal(rd(PCI_COMMAND, 4) >> 16, 0x0200 | PCI_STATUS_CAP_LIST);
    /* a status write neither reaches the device nor changes the command */
    wr(PCI_COMMAND, 2, PCI_CMD_MEM);
    fk.nev = 0;
    wr(PCI_STATUS, 2, 0xFFFF);
    assert_int_equal(rd(PCI_COMMAND, 2), PCI_CMD_MEM);
    assert_int_equal(fk.nev, 0);
}

static void test_status_without_caps(void **state)
{
    setup(state);
    put_identity(0x1234, 0x11E8);
    put16(PCI_STATUS, PCI_STATUS_CAP_LIST);   /* only a PM capability */
    put8(PCI_CAP_PTR, 0x40);
    put_cap(0x40, PCI_CAP_ID_PM, 0);
    attach(edu_bars);
    assert_int_equal(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    assert_int_equal(rd(PCI_CAP_PTR, 1), 0);
    assert_int_equal(rd(0x40, 4), 0);
}

/* ---- BARs --------------------------------------------------------------- */

static void test_bars_start_where_firmware_put_them(void **state)
{
    (void)state;
    assert_int_equal(rd(PCI_BAR_OFFSET(0), 4), NIC_BAR0);
    assert_int_equal(rd(PCI_BAR_OFFSET(1), 4), NIC_BAR1);
    assert_int_equal(rd(PCI_BAR_OFFSET(2), 4), NIC_IO | PCI_BAR_REG_IO);
    assert_int_equal(rd(PCI_BAR_OFFSET(3), 4), NIC_BAR3);
    assert_int_equal(rd(PCI_BAR_OFFSET(4), 4), PCI_BAR_REG_MEM_64 | PCI_BAR_REG_PREFETCH);
    assert_int_equal(rd(PCI_BAR_OFFSET(5), 4), NIC_BAR4 >> 32);
    /* nothing is mapped until the guest turns decoding on */
    assert_int_equal(fk.nev, 0);
}

static void test_bar_sizing_32bit(void **state)
{
    (void)state;
    wr(PCI_BAR_OFFSET(0), 4, 0xFFFFFFFFu);
    assert_int_equal(rd(PCI_BAR_OFFSET(0), 4), 0xFFF00000u);   /* 1 MiB, 32-bit, not prefetchable */
    wr(PCI_BAR_OFFSET(0), 4, 0xE0000000u);
    assert_int_equal(rd(PCI_BAR_OFFSET(0), 4), 0xE0000000u);
    /* unaligned placements lose their low bits */
    wr(PCI_BAR_OFFSET(0), 4, 0xE0012345u);
    assert_int_equal(rd(PCI_BAR_OFFSET(0), 4), 0xE0000000u);
    /* unimplemented BARs stay 0 */
    for (unsigned i = 1; i < PCI_NUM_BARS; i++) {
        wr(PCI_BAR_OFFSET(i), 4, 0xFFFFFFFFu);
        assert_int_equal(rd(PCI_BAR_OFFSET(i), 4), 0);
    }
    assert_int_equal(fk.nev, 0);   /* decoding is off: no mapping */
}

static void test_bar_sizing_64bit(void **state)
{
    (void)state;
    wr(PCI_BAR_OFFSET(4), 4, 0xFFFFFFFFu);
    wr(PCI_BAR_OFFSET(5), 4, 0xFFFFFFFFu);
    assert_int_equal(rd(PCI_BAR_OFFSET(4), 4), 0xFFFFC000u | PCI_BAR_REG_MEM_64 | PCI_BAR_REG_PREFETCH);
    assert_int_equal(rd(PCI_BAR_OFFSET(5), 4), 0xFFFFFFFFu);
    wr(PCI_BAR_OFFSET(4), 4, 0x40000000u);
    wr(PCI_BAR_OFFSET(5), 4, 0x00000001u);
    assert_int_equal(rd(PCI_BAR_OFFSET(4), 4), 0x40000000u | PCI_BAR_REG_MEM_64 | PCI_BAR_REG_PREFETCH);
    assert_int_equal(rd(PCI_BAR_OFFSET(5), 4), 1);
    assert_int_equal(dev.bars[4].guest_base, 0x140000000ull);
}

static void test_bar_sizing_io(void **state)
{
    (void)state;
    wr(PCI_BAR_OFFSET(2), 4, 0xFFFFFFFFu);
    /* 32 ports; the upper 16 bits read 0 (PCI 3.0, 6.2.5.1) */
    assert_int_equal(rd(PCI_BAR_OFFSET(2), 4), 0x0000FFE1u);
    wr(PCI_BAR_OFFSET(2), 4, 0xD040u);
    assert_int_equal(rd(PCI_BAR_OFFSET(2), 4), 0xD041u);
    /* byte-wise sizing of the low byte keeps the I/O bit */
    wr(PCI_BAR_OFFSET(2), 1, 0xFF);
    assert_int_equal(rd(PCI_BAR_OFFSET(2), 4), 0xD0E1u);
}

static void test_small_bar_shown_as_a_page(void **state)
{
    setup(state);
    make_edu(PCI_MSI_CTRL_64BIT);
    struct pci_bar bars[PCI_NUM_BARS] = { { 0xFEBF1000ull, 0x100, 0 } };
    attach(bars);
    wr(PCI_BAR_OFFSET(0), 4, 0xFFFFFFFFu);
    assert_int_equal(rd(PCI_BAR_OFFSET(0), 4), 0xFFFFF000u);
}

static void test_placement_calls_bar_map(void **state)
{
    (void)state;
    wr(PCI_BAR_OFFSET(0), 4, 0xE0000000u);
    assert_int_equal(fk.nev, 0);
    wr(PCI_COMMAND, 2, PCI_CMD_MEM);
    /* the command reaches the device, then the placement is mapped */
    assert_int_equal(fk.nev, 2);
    assert_cmd(0, PCI_CMD_MEM);
    assert_map(1, 0, 0xE0000000u, 1u << 20, EDU_BAR0, true);
    /* moving it unmaps the old place and maps the new */
    wr(PCI_BAR_OFFSET(0), 4, 0xE0100000u);
    assert_int_equal(fk.nev, 4);
    assert_map(2, 0, 0xE0000000u, 1u << 20, EDU_BAR0, false);
    assert_map(3, 0, 0xE0100000u, 1u << 20, EDU_BAR0, true);
    /* the same place again changes nothing */
    wr(PCI_BAR_OFFSET(0), 4, 0xE0100000u);
    assert_int_equal(fk.nev, 4);
    /* memory decoding off: unmapped */
    wr(PCI_COMMAND, 2, 0);
    assert_int_equal(fk.nev, 6);
    assert_cmd(4, 0);
    assert_map(5, 0, 0xE0100000u, 1u << 20, EDU_BAR0, false);
    /* I/O decoding does not map a memory BAR */
    wr(PCI_COMMAND, 2, PCI_CMD_IO);
    assert_int_equal(fk.nev, 7);
    assert_cmd(6, PCI_CMD_IO);
}

static void test_placement_64bit_and_io(void **state)
{
    (void)state;
    wr(PCI_COMMAND, 2, PCI_CMD_IO);
    assert_int_equal(fk.nev, 2);
    assert_map(1, 2, NIC_IO, 0x20, NIC_IO, true);
    fk.nev = 0;
    wr(PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM);
    /* every memory BAR, where the firmware left it; 64-bit BAR 4 by its lower index */
    assert_int_equal(fk.nev, 5);
    assert_map(1, 0, NIC_BAR0, 0x20000, NIC_BAR0, true);
    assert_map(2, 1, NIC_BAR1, 0x20000, NIC_BAR1, true);
    assert_map(3, 3, NIC_BAR3, 0x4000, NIC_BAR3, true);
    assert_map(4, 4, NIC_BAR4, 0x4000, NIC_BAR4, true);
    fk.nev = 0;
    /* a 64-bit move, half by half, with decoding on */
    wr(PCI_BAR_OFFSET(5), 4, 0x2);
    assert_int_equal(fk.nev, 2);
    assert_map(0, 4, NIC_BAR4, 0x4000, NIC_BAR4, false);
    assert_map(1, 4, 0x200000000ull, 0x4000, NIC_BAR4, true);
    wr(PCI_BAR_OFFSET(4), 4, 0x10000000u);
    assert_int_equal(fk.nev, 4);
    assert_map(3, 4, 0x210000000ull, 0x4000, NIC_BAR4, true);
}

static void test_bar_map_refused(void **state)
{
    (void)state;
    fk.map_result = -EINVAL;
    wr(PCI_COMMAND, 2, PCI_CMD_MEM);
    assert_int_equal(fk.nev, 2);
    assert_map(1, 0, EDU_BAR0, 1u << 20, EDU_BAR0, true);
    /* a refused placement is never unmapped */
    fk.map_result = 0;
    wr(PCI_BAR_OFFSET(0), 4, 0xE0000000u);
    assert_int_equal(fk.nev, 3);
    assert_map(2, 0, 0xE0000000u, 1u << 20, EDU_BAR0, true);
}

static void test_bar_at_zero_is_unassigned(void **state)
{
    (void)state;
    wr(PCI_BAR_OFFSET(0), 4, 0);
    wr(PCI_COMMAND, 2, PCI_CMD_MEM);
    assert_int_equal(fk.nev, 1);
    assert_cmd(0, PCI_CMD_MEM);
    wr(PCI_BAR_OFFSET(0), 4, 0xC0000000u);
    assert_int_equal(fk.nev, 2);
    assert_map(1, 0, 0xC0000000u, 1u << 20, EDU_BAR0, true);
}

/* ---- the capability list as the guest walks it -------------------------- */

struct guest_ctx {
    struct vpci *bus;
    unsigned slot;
};

static uint32_t guest_read(void *ctx, unsigned off, unsigned size)
{
    struct guest_ctx *g = ctx;
    return vpci_cfg_read(g->bus, 0, g->slot, 0, off, size);
}

static void test_cap_list_msi_and_msix(void **state)
{
    (void)state;
    assert_int_equal(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
    assert_int_equal(rd(PCI_CAP_PTR, 1), VPCI_MSI_CAP);
    assert_int_equal(rd(VPCI_MSI_CAP, 1), PCI_CAP_ID_MSI);
    assert_int_equal(rd(VPCI_MSI_CAP + 1, 1), VPCI_MSIX_CAP);
    assert_int_equal(rd(VPCI_MSIX_CAP, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(rd(VPCI_MSIX_CAP + 1, 1), 0);
    struct guest_ctx g = { &bus, SLOT };
    assert_int_equal(pci_cap_find_in(guest_read, &g, PCI_CAP_ID_MSI), VPCI_MSI_CAP);
    assert_int_equal(pci_cap_find_in(guest_read, &g, PCI_CAP_ID_MSIX), VPCI_MSIX_CAP);
    assert_int_equal(pci_cap_find_in(guest_read, &g, PCI_CAP_ID_PM), 0);
    assert_int_equal(pci_cap_find_in(guest_read, &g, PCI_CAP_ID_PCIE), 0);
    /* the physical offsets hold nothing */
    assert_int_equal(rd(0xC8, 4), 0);
    assert_int_equal(rd(0xE0, 4), 0);
    /* the IDs and pointers are read-only */
    wr(VPCI_MSI_CAP, 2, 0);
    assert_int_equal(rd(VPCI_MSI_CAP, 2), PCI_CAP_ID_MSI | VPCI_MSIX_CAP << 8);
}

static void test_cap_list_msi_only(void **state)
{
    (void)state;
    assert_int_equal(rd(PCI_CAP_PTR, 1), VPCI_MSI_CAP);
    assert_int_equal(rd(VPCI_MSI_CAP, 2), PCI_CAP_ID_MSI);   /* next: 0 */
    assert_int_equal(rd(VPCI_MSIX_CAP, 4), 0);
    struct guest_ctx g = { &bus, SLOT };
    assert_int_equal(pci_cap_find_in(guest_read, &g, PCI_CAP_ID_MSIX), 0);
    assert_int_equal(pci_cap_find_in(guest_read, &g, PCI_CAP_ID_PM), 0);
    uint64_t off, size;
    unsigned bar;
    assert_int_equal(vpci_msix_table_location(&dev, &bar, &off, &size), -ENOENT);
}

/* ---- MSI ---------------------------------------------------------------- */

#define MSI_ADDR 0xFEE00000u

static void test_msi_layout_64bit(void **state)
{
    (void)state;
    /* 64-bit capable, one message: MMC 0 */
    assert_int_equal(rd(VPCI_MSI_CAP + PCI_MSI_CTRL, 2), PCI_MSI_CTRL_64BIT);
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4, MSI_ADDR | 3);   /* bits 1:0 are reserved */
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_HI, 4, 0x12);
    wr(VPCI_MSI_CAP + 0xC, 2, 0x4041);
    assert_int_equal(rd(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4), MSI_ADDR);
    assert_int_equal(rd(VPCI_MSI_CAP + PCI_MSI_ADDR_HI, 4), 0x12);
    assert_int_equal(rd(VPCI_MSI_CAP + 0xC, 4), 0x4041);
    /* no per-vector masking: the capability ends at 0x10 */
    wr(VPCI_MSI_CAP + 0x10, 4, 1);
    assert_int_equal(rd(VPCI_MSI_CAP + 0x10, 4), 0);
    /* nothing reaches eli while MSI is off */
    assert_int_equal(fk.nev, 0);
    /* a guest asking for 8 messages gets one: multiple message enable stays 0 */
    wr(VPCI_MSI_CAP + PCI_MSI_CTRL, 2, (3u << 4) | PCI_MSI_CTRL_ENABLE);
    assert_int_equal(rd(VPCI_MSI_CAP + PCI_MSI_CTRL, 2), PCI_MSI_CTRL_64BIT | PCI_MSI_CTRL_ENABLE);
    assert_int_equal(fk.nev, 2);
    assert_vec(0, VPCI_MSI, 0, true, 0x12FEE00000ull, 0x4041);
    assert_en(1, VPCI_MSI, true);
}

static void test_msi_enable_update_disable(void **state)
{
    (void)state;
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4, MSI_ADDR);
    wr(VPCI_MSI_CAP + 0xC, 2, 0x41);
    assert_int_equal(fk.nev, 0);
    /* enable: the vector is reported before the capability is switched on */
    wr(VPCI_MSI_CAP + PCI_MSI_CTRL, 2, PCI_MSI_CTRL_ENABLE);
    assert_int_equal(fk.nev, 2);
    assert_vec(0, VPCI_MSI, 0, true, MSI_ADDR, 0x41);
    assert_en(1, VPCI_MSI, true);
    /* new data while enabled: reported */
    wr(VPCI_MSI_CAP + 0xC, 2, 0x42);
    assert_int_equal(fk.nev, 3);
    assert_vec(2, VPCI_MSI, 0, true, MSI_ADDR, 0x42);
    /* new destination while enabled: reported */
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4, MSI_ADDR | 0x1000);
    assert_int_equal(fk.nev, 4);
    assert_vec(3, VPCI_MSI, 0, true, MSI_ADDR | 0x1000, 0x42);
    /* the same value again: nothing */
    wr(VPCI_MSI_CAP + 0xC, 2, 0x42);
    assert_int_equal(fk.nev, 4);
    /* disable: the capability goes off first */
    wr(VPCI_MSI_CAP + PCI_MSI_CTRL, 2, 0);
    assert_int_equal(fk.nev, 6);
    assert_en(4, VPCI_MSI, false);
    assert_vec(5, VPCI_MSI, 0, false, 0, 0);
    /* the guest's values only: the physical capability is never written (the fake
     * has no write callback) and still holds what it had */
    assert_int_equal(fk.cfg[0x50 + PCI_MSI_CTRL] & PCI_MSI_CTRL_ENABLE, 0);
    assert_int_equal(fake_cfg_read(&fk, 0x50 + PCI_MSI_ADDR_LO, 4), 0);
}

static void test_msi_enable_by_byte_write(void **state)
{
    (void)state;
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4, MSI_ADDR);
    wr(VPCI_MSI_CAP + 0xC, 2, 0x51);
    wr(VPCI_MSI_CAP + PCI_MSI_CTRL, 1, PCI_MSI_CTRL_ENABLE);
    assert_int_equal(fk.nev, 2);
    assert_vec(0, VPCI_MSI, 0, true, MSI_ADDR, 0x51);
    /* a byte write to the capability ID alone keeps MSI on */
    wr(VPCI_MSI_CAP, 1, 0xFF);
    assert_int_equal(fk.nev, 2);
    assert_int_equal(rd(VPCI_MSI_CAP + PCI_MSI_CTRL, 2) & PCI_MSI_CTRL_ENABLE, PCI_MSI_CTRL_ENABLE);
}

static int setup_edu_32bit_pvm(void **state)
{
    setup(state);
    make_edu(PCI_MSI_CTRL_PVM | (2u << 1));   /* 32-bit, per-vector masking, 4 messages */
    attach(edu_bars);
    return 0;
}

static void test_msi_layout_32bit_masking(void **state)
{
    (void)state;
    /* the physical flags, but one message */
    assert_int_equal(rd(VPCI_MSI_CAP + PCI_MSI_CTRL, 2), PCI_MSI_CTRL_PVM);
    /* 32-bit layout: data at 8, mask at 0xC, pending at 0x10 */
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4, MSI_ADDR);
    wr(VPCI_MSI_CAP + 0x8, 2, 0x61);
    assert_int_equal(rd(VPCI_MSI_CAP + 0x8, 2), 0x61);
    wr(VPCI_MSI_CAP + 0xC, 4, 0xFFFFFFFFu);   /* only vector 0 exists */
    assert_int_equal(rd(VPCI_MSI_CAP + 0xC, 4), 1);
    /* pending comes from the device */
    put32(0x50 + 0x10, 0x1);
    assert_int_equal(rd(VPCI_MSI_CAP + 0x10, 4), 1);
    put32(0x50 + 0x10, 0x0);
    assert_int_equal(rd(VPCI_MSI_CAP + 0x10, 4), 0);
    /* the capability ends after the pending bits */
    assert_int_equal(rd(VPCI_MSI_CAP + 0x14, 4), 0);
    /* enabled but masked: the capability goes on, the vector stays off */
    wr(VPCI_MSI_CAP + PCI_MSI_CTRL, 2, PCI_MSI_CTRL_ENABLE);
    assert_int_equal(fk.nev, 1);
    assert_en(0, VPCI_MSI, true);
    /* unmask: the vector goes live */
    wr(VPCI_MSI_CAP + 0xC, 4, 0);
    assert_int_equal(fk.nev, 2);
    assert_vec(1, VPCI_MSI, 0, true, MSI_ADDR, 0x61);
    /* mask: it stops, the capability stays on */
    wr(VPCI_MSI_CAP + 0xC, 1, 1);
    assert_int_equal(fk.nev, 3);
    assert_vec(2, VPCI_MSI, 0, false, 0, 0);
    /* data change while masked: nothing until unmasked, then the new data */
    wr(VPCI_MSI_CAP + 0x8, 2, 0x62);
    assert_int_equal(fk.nev, 3);
    wr(VPCI_MSI_CAP + 0xC, 1, 0);
    assert_int_equal(fk.nev, 4);
    assert_vec(3, VPCI_MSI, 0, true, MSI_ADDR, 0x62);
}

/* ---- MSI-X -------------------------------------------------------------- */

static void test_msix_capability_view(void **state)
{
    (void)state;
    /* 5 vectors: table size field 4; table and PBA where the device has them */
    assert_int_equal(rd(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2), 4);
    assert_int_equal(rd(VPCI_MSIX_CAP + PCI_MSIX_TABLE, 4), 3);
    assert_int_equal(rd(VPCI_MSIX_CAP + PCI_MSIX_PBA, 4), NIC_PBA_OFF | 3);
    /* only enable and function mask are writable */
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2, 0xFFFF);
    assert_int_equal(rd(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2), PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_FMASK | 4);
    wr(VPCI_MSIX_CAP + PCI_MSIX_TABLE, 4, 0x1000);
    assert_int_equal(rd(VPCI_MSIX_CAP + PCI_MSIX_TABLE, 4), 3);
    unsigned bar;
    uint64_t off, size;
    assert_int_equal(vpci_msix_table_location(&dev, &bar, &off, &size), 0);
    assert_int_equal(bar, 3);
    assert_int_equal(off, 0);
    assert_int_equal(size, 5 * 16);
}

static uint64_t tread(uint64_t off, unsigned size)
{
    uint64_t v;
    assert_int_equal(vpci_msix_table_read(&dev, off, size, &v), 0);
    return v;
}

static void twrite(uint64_t off, unsigned size, uint64_t v)
{
    assert_int_equal(vpci_msix_table_write(&dev, off, size, v), 0);
}

/* Entry i: address, data, and vector control, by dword writes */
static void program_entry(unsigned i, uint64_t addr, uint32_t data, bool masked)
{
    twrite(i * 16 + 0, 4, (uint32_t)addr);
    twrite(i * 16 + 4, 4, (uint32_t)(addr >> 32));
    twrite(i * 16 + 8, 4, data);
    twrite(i * 16 + 12, 4, masked);
}

static void test_msix_table_read_write(void **state)
{
    (void)state;
    /* entries come out of reset masked, address and data 0 */
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(tread(i * 16 + 12, 4), PCI_MSIX_ENTRY_MASKED);
        assert_int_equal(tread(i * 16, 8), 0);
    }
    program_entry(2, 0xFEE01000u, 0x4055, true);
    assert_int_equal(tread(2 * 16, 4), 0xFEE01000u);
    assert_int_equal(tread(2 * 16 + 4, 4), 0);
    assert_int_equal(tread(2 * 16 + 8, 4), 0x4055);
    assert_int_equal(tread(2 * 16 + 8, 8), 0x4055 | 1ull << 32);
    assert_int_equal(tread(2 * 16 + 8, 2), 0x4055);
    assert_int_equal(tread(2 * 16 + 9, 1), 0x40);
    /* qword write of address; reserved vector-control bits and address bits 1:0 drop */
    twrite(2 * 16, 8, 0x00000001FEE02003ull);
    twrite(2 * 16 + 12, 4, 0xFFFFFFFEu);
    assert_int_equal(tread(2 * 16, 8), 0x00000001FEE02000ull);
    assert_int_equal(tread(2 * 16 + 12, 4), 0);
    /* other entries untouched */
    assert_int_equal(tread(1 * 16 + 12, 4), PCI_MSIX_ENTRY_MASKED);
    assert_int_equal(tread(3 * 16 + 8, 4), 0);
    /* misaligned or crossing accesses are refused */
    uint64_t v = 0;
    assert_int_equal(vpci_msix_table_read(&dev, 2 * 16 + 2, 4, &v), -EINVAL);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_int_equal(vpci_msix_table_read(&dev, 2 * 16 + 4, 8, &v), -EINVAL);
    assert_int_equal(vpci_msix_table_write(&dev, 2 * 16 + 1, 2, 0), -EINVAL);
    assert_int_equal(vpci_msix_table_write(&dev, 2 * 16, 3, 0), -EINVAL);
    /* MSI-X is off: no vector was reported */
    assert_int_equal(fk.nev, 0);
}

static void test_msix_enable_and_masks(void **state)
{
    (void)state;
    program_entry(0, 0xFEE00000u, 0x30, false);
    program_entry(1, 0xFEE00000u, 0x31, false);
    program_entry(3, 0xFEE00000u, 0x33, true);
    assert_int_equal(fk.nev, 0);
    /* enable: the unmasked vectors first, then the capability */
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    assert_int_equal(fk.nev, 3);
    assert_vec(0, VPCI_MSIX, 0, true, 0xFEE00000u, 0x30);
    assert_vec(1, VPCI_MSIX, 1, true, 0xFEE00000u, 0x31);
    assert_en(2, VPCI_MSIX, true);
    /* function mask: every live vector stops */
    fk.nev = 0;
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL + 1, 1, (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_FMASK) >> 8);
    assert_int_equal(fk.nev, 2);
    assert_vec(0, VPCI_MSIX, 0, false, 0, 0);
    assert_vec(1, VPCI_MSIX, 1, false, 0, 0);
    /* unmask the function: they resume */
    fk.nev = 0;
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    assert_int_equal(fk.nev, 2);
    assert_vec(0, VPCI_MSIX, 0, true, 0xFEE00000u, 0x30);
    assert_vec(1, VPCI_MSIX, 1, true, 0xFEE00000u, 0x31);
    /* an entry's mask, through the table */
    fk.nev = 0;
    twrite(1 * 16 + 12, 4, 1);
    assert_int_equal(fk.nev, 1);
    assert_vec(0, VPCI_MSIX, 1, false, 0, 0);
    twrite(3 * 16 + 12, 4, 0);
    assert_int_equal(fk.nev, 2);
    assert_vec(1, VPCI_MSIX, 3, true, 0xFEE00000u, 0x33);
    /* new data of a live entry */
    twrite(0 * 16 + 8, 4, 0x38);
    assert_int_equal(fk.nev, 3);
    assert_vec(2, VPCI_MSIX, 0, true, 0xFEE00000u, 0x38);
    /* the guest's data of a masked entry: nothing */
    twrite(1 * 16 + 8, 4, 0x39);
    assert_int_equal(fk.nev, 3);
    /* disable: the capability off first, then the live vectors */
    fk.nev = 0;
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2, 0);
    assert_int_equal(fk.nev, 3);
    assert_en(0, VPCI_MSIX, false);
    assert_vec(1, VPCI_MSIX, 0, false, 0, 0);
    assert_vec(2, VPCI_MSIX, 3, false, 0, 0);
}

static void test_msix_wins_over_msi(void **state)
{
    (void)state;
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4, MSI_ADDR);
    wr(VPCI_MSI_CAP + 0xC, 2, 0x41);
    wr(VPCI_MSI_CAP + PCI_MSI_CTRL, 2, PCI_MSI_CTRL_ENABLE);
    program_entry(0, 0xFEE00000u, 0x30, false);
    fk.nev = 0;
    /* the guest enables MSI-X with MSI still on: MSI goes off before MSI-X goes on */
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    assert_int_equal(fk.nev, 4);
    assert_en(0, VPCI_MSI, false);
    assert_vec(1, VPCI_MSI, 0, false, 0, 0);
    assert_vec(2, VPCI_MSIX, 0, true, 0xFEE00000u, 0x30);
    assert_en(3, VPCI_MSIX, true);
    /* MSI-X off: MSI, still enabled by the guest, comes back */
    fk.nev = 0;
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2, 0);
    assert_int_equal(fk.nev, 4);
    assert_en(0, VPCI_MSIX, false);
    assert_vec(1, VPCI_MSI, 0, true, MSI_ADDR, 0x41);
    assert_vec(2, VPCI_MSIX, 0, false, 0, 0);
    assert_en(3, VPCI_MSI, true);
}

static void test_msix_pba_and_passthrough(void **state)
{
    (void)state;
    fk.pba = 0x12;   /* vectors 1 and 4 pending */
    assert_int_equal(tread(NIC_PBA_OFF, 8), 0x12);
    assert_int_equal(fk.pba_reads, 1);
    assert_int_equal(fk.pba_off, 0);
    assert_int_equal(fk.pba_size, 8);
    assert_int_equal(tread(NIC_PBA_OFF, 4), 0x12);
    assert_int_equal(fk.pba_size, 4);
    /* the PBA is read-only */
    twrite(NIC_PBA_OFF, 8, 0);
    assert_int_equal(fk.pba_reads, 2);
    /* offsets that are neither table nor PBA are the device's */
    uint64_t v;
    assert_int_equal(vpci_msix_table_read(&dev, 0x1000, 4, &v), -ENOENT);
    assert_int_equal(vpci_msix_table_write(&dev, 5 * 16, 4, 0), -ENOENT);
    assert_int_equal(vpci_msix_table_read(&dev, NIC_PBA_OFF + 8, 4, &v), -ENOENT);
    /* without a PBA callback the PBA reads 0 */
    dev.ops.pba_read = NULL;
    assert_int_equal(tread(NIC_PBA_OFF, 8), 0);
    assert_int_equal(fk.nev, 0);
}

static void test_msix_table_clamped(void **state)
{
    setup(state);
    make_nic(300);   /* 300 * 16 bytes of table, below the PBA at 0x2000 */
    attach(nic_bars);
    assert_int_equal(rd(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2), VPCI_MSIX_MAX - 1);
    unsigned bar;
    uint64_t off, size;
    assert_int_equal(vpci_msix_table_location(&dev, &bar, &off, &size), 0);
    assert_int_equal(size, 300 * 16);   /* eli still traps the whole physical table */
    program_entry(0, 0xFEE00000u, 0x70, false);
    program_entry(VPCI_MSIX_MAX - 1, 0xFEE00000u, 0x7F, false);
    wr(VPCI_MSIX_CAP + PCI_MSIX_CTRL, 2, PCI_MSIX_CTRL_ENABLE);
    assert_int_equal(fk.nev, 3);
    assert_vec(0, VPCI_MSIX, 0, true, 0xFEE00000u, 0x70);
    assert_vec(1, VPCI_MSIX, VPCI_MSIX_MAX - 1, true, 0xFEE00000u, 0x7F);
    assert_en(2, VPCI_MSIX, true);
    /* entries past the guest's table read 0 and ignore writes */
    uint64_t last = (uint64_t)VPCI_MSIX_MAX * 16;
    for (unsigned k = 0; k < 16; k += 4)
        assert_int_equal(tread(last + k, 4), 0);
    twrite(last + 12, 4, 0);
    twrite(last + 8, 4, 0x77);
    assert_int_equal(tread(last + 8, 4), 0);
    assert_int_equal(fk.nev, 3);
}

/* ---- the access paths: CF8/CFC and ECAM ---------------------------------- */

static uint32_t cf8(unsigned bus_, unsigned dev_, unsigned fn, unsigned reg)
{
    return VPCI_CF8_ENABLE | bus_ << 16 | dev_ << 11 | fn << 8 | reg;
}

static uint32_t port_in(uint16_t port, unsigned size)
{
    uint32_t v = 0xDEADBEEFu;
    assert_int_equal(vpci_port_read(&bus, port, size, &v), 0);
    return v;
}

static void port_out(uint16_t port, unsigned size, uint32_t v)
{
    assert_int_equal(vpci_port_write(&bus, port, size, v), 0);
}

static void test_cf8_latch(void **state)
{
    (void)state;
    port_out(0xCF8, 4, 0x80000000u);
    assert_int_equal(port_in(0xCF8, 4), 0x80000000u);
    /* reserved bits 30:24 and 1:0 read 0 */
    port_out(0xCF8, 4, 0xFF00FFFFu);
    assert_int_equal(port_in(0xCF8, 4), 0x8000FFFCu);
    /* byte and word accesses to 0xCF8-0xCFB are not the mechanism's (0xCF9: reset) */
    uint32_t v;
    assert_int_equal(vpci_port_write(&bus, 0xCF9, 1, 0x06), -ENOENT);
    v = 0;
    assert_int_equal(vpci_port_read(&bus, 0xCF8, 1, &v), -ENOENT);
    assert_int_equal(v, 0xFF);   /* what a read of nothing gives, should eli pass it on */
    assert_int_equal(vpci_port_read(&bus, 0xCFA, 2, &v), -ENOENT);
    assert_int_equal(vpci_port_read(&bus, 0xCF7, 1, &v), -ENOENT);
    assert_int_equal(vpci_port_read(&bus, 0xD00, 4, &v), -ENOENT);
    assert_int_equal(port_in(0xCF8, 4), 0x8000FFFCu);
}

static void test_cfc_byte_and_word_accesses(void **state)
{
    (void)state;
    port_out(0xCF8, 4, cf8(0, SLOT, 0, PCI_VENDOR_ID));
    assert_int_equal(port_in(0xCFC, 4), 0x11E81234u);
    assert_int_equal(port_in(0xCFC, 1), 0x34);
    assert_int_equal(port_in(0xCFD, 1), 0x12);
    assert_int_equal(port_in(0xCFE, 1), 0xE8);
    assert_int_equal(port_in(0xCFF, 1), 0x11);
    assert_int_equal(port_in(0xCFC, 2), 0x1234);
    assert_int_equal(port_in(0xCFE, 2), 0x11E8);
    /* misaligned data-port accesses read all ones */
    assert_int_equal(port_in(0xCFD, 2), 0xFFFF);
    assert_int_equal(port_in(0xCFE, 4), 0xFFFFFFFFu);
    /* the host bridge through the same ports */
    port_out(0xCF8, 4, cf8(0, 0, 0, PCI_VENDOR_ID));
    assert_int_equal(port_in(0xCFE, 2), VPCI_HOST_BRIDGE_DEVICE);
    /* an absent function */
    port_out(0xCF8, 4, cf8(0, 5, 0, PCI_VENDOR_ID));
    assert_int_equal(port_in(0xCFC, 4), 0xFFFFFFFFu);
    /* with the enable bit clear, nothing is addressed */
    port_out(0xCF8, 4, cf8(0, SLOT, 0, PCI_VENDOR_ID) & ~VPCI_CF8_ENABLE);
    assert_int_equal(port_in(0xCFC, 2), 0xFFFF);
    /* a word write at 0xCFC reaches the command register; one at 0xCFE, status */
    port_out(0xCF8, 4, cf8(0, SLOT, 0, PCI_COMMAND));
    port_out(0xCFC, 2, PCI_CMD_MASTER);
    assert_int_equal(rd(PCI_COMMAND, 2), PCI_CMD_MASTER);
    assert_int_equal(fk.nev, 1);
    assert_cmd(0, PCI_CMD_MASTER);
    port_out(0xCFE, 2, 0xFFFF);
    assert_int_equal(rd(PCI_COMMAND, 2), PCI_CMD_MASTER);
    /* a byte write to the interrupt line at 0x3C */
    port_out(0xCF8, 4, cf8(0, SLOT, 0, PCI_INTERRUPT_LINE));
    port_out(0xCFC, 1, 10);
    assert_int_equal(port_in(0xCFC, 4), 10u | 1u << 8 | 2u << 16 | 3u << 24);
    /* a disabled address drops writes */
    port_out(0xCF8, 4, cf8(0, SLOT, 0, PCI_COMMAND) & ~VPCI_CF8_ENABLE);
    port_out(0xCFC, 2, 0);
    assert_int_equal(rd(PCI_COMMAND, 2), PCI_CMD_MASTER);
    assert_int_equal(fk.nev, 1);
}

static uint64_t ecam(unsigned bus_, unsigned dev_, unsigned fn, unsigned reg)
{
    return (uint64_t)bus_ << 20 | dev_ << 15 | fn << 12 | reg;
}

/* Every register of every function on bus 0, in every size, reads the same
 * through CF8/CFC, ECAM and the direct path */
static void test_paths_agree(void **state)
{
    (void)state;
    wr(VPCI_MSI_CAP + PCI_MSI_ADDR_LO, 4, MSI_ADDR);
    wr(PCI_INTERRUPT_LINE, 1, 9);
    for (unsigned d = 0; d < 32; d++) {
        for (unsigned fn = 0; fn < 2; fn++) {
            for (unsigned off = 0; off < PCI_CFG_SIZE; off++) {
                for (unsigned size = 1; size <= 4; size *= 2) {
                    if (off % size)
                        continue;
                    uint32_t direct = vpci_cfg_read(&bus, 0, d, fn, off, size);
                    assert_int_equal(vpci_ecam_read(&bus, ecam(0, d, fn, off), size), direct);
                    port_out(0xCF8, 4, cf8(0, d, fn, off & 0xFC));
                    assert_int_equal(port_in((uint16_t)(0xCFC + (off & 3)), size), direct);
                }
            }
        }
    }
    /* and they did read something: the device's IDs and its MSI address */
    assert_int_equal(vpci_ecam_read(&bus, ecam(0, SLOT, 0, 0), 4), 0x10D38086u);
    assert_int_equal(vpci_ecam_read(&bus, ecam(0, SLOT, 0, VPCI_MSI_CAP + 4), 4), MSI_ADDR);
    /* ECAM reaches extended space and other buses, reading what the direct path does */
    assert_int_equal(vpci_ecam_read(&bus, ecam(0, SLOT, 0, 0x100), 4), 0);
    assert_int_equal(vpci_ecam_read(&bus, ecam(1, 0, 0, 0), 4), 0xFFFFFFFFu);
    assert_int_equal(vpci_ecam_read(&bus, ecam(0, SLOT, 1, 0), 2), 0xFFFF);
    assert_int_equal(vpci_ecam_read(&bus, 256ull << 20, 4), 0xFFFFFFFFu);
}

static void test_ecam_writes(void **state)
{
    (void)state;
    vpci_ecam_write(&bus, ecam(0, SLOT, 0, PCI_BAR_OFFSET(0)), 4, 0xFFFFFFFFu);
    assert_int_equal(rd(PCI_BAR_OFFSET(0), 4), 0xFFF00000u);
    vpci_ecam_write(&bus, ecam(0, SLOT, 0, PCI_BAR_OFFSET(0)), 4, 0xD0000000u);
    vpci_ecam_write(&bus, ecam(0, SLOT, 0, PCI_COMMAND), 2, PCI_CMD_MEM);
    assert_int_equal(fk.nev, 2);
    assert_cmd(0, PCI_CMD_MEM);
    assert_map(1, 0, 0xD0000000u, 1u << 20, EDU_BAR0, true);
    /* and the port path sees the ECAM path's writes */
    port_out(0xCF8, 4, cf8(0, SLOT, 0, PCI_BAR_OFFSET(0)));
    assert_int_equal(port_in(0xCFC, 4), 0xD0000000u);
    /* writes to other functions and to extended space change nothing */
    vpci_ecam_write(&bus, ecam(0, SLOT, 1, PCI_COMMAND), 2, 0);
    vpci_ecam_write(&bus, ecam(0, SLOT, 0, 0x104), 4, 0xFFFFFFFFu);
    vpci_ecam_write(&bus, 256ull << 20, 4, 0);
    assert_int_equal(rd(PCI_COMMAND, 2), PCI_CMD_MEM);
    assert_int_equal(fk.nev, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bdf_parse_accepts),
        cmocka_unit_test(test_bdf_parse_rejects),
        cmocka_unit_test(test_bdf_format),
        cmocka_unit_test(test_bar_decode),
        cmocka_unit_test(test_cap_find_in),
        cmocka_unit_test_setup(test_host_bridge, setup_edu),
        cmocka_unit_test_setup(test_device_identity, setup_edu),
        cmocka_unit_test_setup(test_scratch_registers, setup_edu),
        cmocka_unit_test_setup(test_absent_functions_read_all_ones, setup_edu),
        cmocka_unit_test_setup(test_extended_space_reads_zero, setup_edu),
        cmocka_unit_test_setup(test_init_errors, setup),
        cmocka_unit_test_setup(test_command_forwarding, setup_edu),
        cmocka_unit_test_setup(test_status_from_physical, setup_edu),
        cmocka_unit_test(test_status_without_caps),
        cmocka_unit_test_setup(test_bars_start_where_firmware_put_them, setup_nic),
        cmocka_unit_test_setup(test_bar_sizing_32bit, setup_edu),
        cmocka_unit_test_setup(test_bar_sizing_64bit, setup_nic),
        cmocka_unit_test_setup(test_bar_sizing_io, setup_nic),
        cmocka_unit_test(test_small_bar_shown_as_a_page),
        cmocka_unit_test_setup(test_placement_calls_bar_map, setup_edu),
        cmocka_unit_test_setup(test_placement_64bit_and_io, setup_nic),
        cmocka_unit_test_setup(test_bar_map_refused, setup_edu),
        cmocka_unit_test_setup(test_bar_at_zero_is_unassigned, setup_edu),
        cmocka_unit_test_setup(test_cap_list_msi_and_msix, setup_nic),
        cmocka_unit_test_setup(test_cap_list_msi_only, setup_edu),
        cmocka_unit_test_setup(test_msi_layout_64bit, setup_edu),
        cmocka_unit_test_setup(test_msi_enable_update_disable, setup_edu),
        cmocka_unit_test_setup(test_msi_enable_by_byte_write, setup_edu),
        cmocka_unit_test_setup(test_msi_layout_32bit_masking, setup_edu_32bit_pvm),
        cmocka_unit_test_setup(test_msix_capability_view, setup_nic),
        cmocka_unit_test_setup(test_msix_table_read_write, setup_nic),
        cmocka_unit_test_setup(test_msix_enable_and_masks, setup_nic),
        cmocka_unit_test_setup(test_msix_wins_over_msi, setup_nic),
        cmocka_unit_test_setup(test_msix_pba_and_passthrough, setup_nic),
        cmocka_unit_test(test_msix_table_clamped),
        cmocka_unit_test_setup(test_cf8_latch, setup_edu),
        cmocka_unit_test_setup(test_cfc_byte_and_word_accesses, setup_edu),
        cmocka_unit_test_setup(test_paths_agree, setup_nic),
        cmocka_unit_test_setup(test_ecam_writes, setup_edu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
