#include "arch/x86/pci.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/fmt.h"

/* Configuration mechanism #1 (PCI 3.0, 3.2.2.3.2) */
#define CF8_ADDRESS_PORT 0xCF8u
#define CFC_DATA_PORT 0xCFCu
#define CF8_ENABLE (1u << 31)

#define ECAM_BUS_SHIFT 20u          /* 1 MiB per bus, 4 KiB per function */
#define ECAM_FN_SHIFT 12u
/* eli identity-maps the first 4 GiB (boot.S): MMIO beyond it is not reachable */
#define IDENTITY_LIMIT (4ull << 30)

/* ---- pure helpers ------------------------------------------------------- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads min..max hex digits at *s; advances *s. Returns the value or -1. */
static long hex_field(const char **s, unsigned min, unsigned max)
{
    long v = 0;
    unsigned n = 0;
    for (int d; n < max && (d = hex_digit((*s)[n])) >= 0; n++)
        v = v * 16 + d;
    if (n < min)
        return -1;
    *s += n;
    return v;
}

static unsigned count_char(const char *s, char c)
{
    unsigned n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

int pci_bdf_parse(const char *s, pci_bdf_t *out)
{
    long seg = 0;
    if (count_char(s, ':') == 2) {
        seg = hex_field(&s, 4, 4);
        if (seg < 0 || *s++ != ':')
            return -EINVAL;
    }
    long bus = hex_field(&s, 1, 2);
    if (bus < 0 || *s++ != ':')
        return -EINVAL;
    long dev = hex_field(&s, 1, 2);
    if (dev < 0 || *s++ != '.')
        return -EINVAL;
    long fn = hex_field(&s, 1, 1);
    if (fn < 0 || *s)
        return -EINVAL;
    if (seg || dev > 0x1F || fn > 7)
        return -ERANGE;
    *out = PCI_BDF(bus, dev, fn);
    return 0;
}

void pci_bdf_format(pci_bdf_t bdf, char *buf)
{
    fmt_snprintf(buf, PCI_BDF_STR_MAX, "%02x:%02x.%x", PCI_BDF_BUS(bdf), PCI_BDF_DEV(bdf),
                 PCI_BDF_FN(bdf));
}

/* The lowest set bit: a BAR's size even when a broken device reads back holes */
static uint64_t lowest_bit(uint64_t v) { return v & (~v + 1); }

void pci_bar_decode(uint32_t orig_lo, uint32_t orig_hi, uint32_t mask_lo, uint32_t mask_hi,
                    struct pci_bar *out)
{
    *out = (struct pci_bar){ 0, 0, 0 };
    if (orig_lo & PCI_BAR_REG_IO) {
        out->flags = PCI_BAR_IO;
        out->base = orig_lo & PCI_BAR_REG_IO_MASK;
        out->size = lowest_bit(mask_lo & PCI_BAR_REG_IO_MASK);
        return;
    }
    uint64_t mask = mask_lo & PCI_BAR_REG_MEM_MASK;
    out->base = orig_lo & PCI_BAR_REG_MEM_MASK;
    if ((orig_lo & PCI_BAR_REG_MEM_TYPE) == PCI_BAR_REG_MEM_64) {
        out->flags |= PCI_BAR_64;
        out->base |= (uint64_t)orig_hi << 32;
        mask |= (uint64_t)mask_hi << 32;
    }
    if (orig_lo & PCI_BAR_REG_PREFETCH)
        out->flags |= PCI_BAR_PREFETCH;
    out->size = lowest_bit(mask);
}

unsigned pci_cap_find_in(pci_cfg_read_fn rd, void *ctx, uint8_t id)
{
    if (!(rd(ctx, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return 0;
    /* type 0 and type 1 headers keep the pointer at 0x34; CardBus bridges elsewhere */
    if ((rd(ctx, PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK) > 1)
        return 0;
    /* PCI 3.0, 6.7: the two low bits of every pointer are reserved, mask them */
    unsigned ptr = rd(ctx, PCI_CAP_PTR, 1) & 0xFCu;
    for (unsigned hops = 0; ptr >= PCI_CAP_START && hops < PCI_CAP_MAX_HOPS; hops++) {
        uint32_t hdr = rd(ctx, ptr, 2);
        if ((hdr & 0xFFu) == id)
            return ptr;
        ptr = (hdr >> 8) & 0xFCu;
    }
    return 0;
}

/* ---- configuration access ---------------------------------------------- */

static struct {
    uint64_t ecam;        /* 0: CF8/CFC */
    unsigned start_bus, end_bus;
} pci = { 0, 0, 255 };

/* arch/x86/cpu.h has only some widths; these are PCI's own */
static inline void port_out8(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void port_out16(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline void port_out32(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t port_in8(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t port_in16(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t port_in32(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t mmio_read32(uint64_t pa) { return *(volatile uint32_t *)(uintptr_t)pa; }
static inline void mmio_write32(uint64_t pa, uint32_t v) { *(volatile uint32_t *)(uintptr_t)pa = v; }

static uint32_t all_ones(unsigned size) { return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1; }

int pci_init(uint64_t ecam_base, uint8_t start_bus, uint8_t end_bus)
{
    if (start_bus > end_bus)
        return -EINVAL;
    if (ecam_base) {
        uint64_t end = ecam_base + ((uint64_t)end_bus + 1) * (1ull << ECAM_BUS_SHIFT);
        if (ecam_base & ((1ull << ECAM_BUS_SHIFT) - 1))
            return -EINVAL;
        if (end > IDENTITY_LIMIT)
            return -ERANGE;
    } else {
        start_bus = 0;
        end_bus = 255;
    }
    pci.ecam = ecam_base;
    pci.start_bus = start_bus;
    pci.end_bus = end_bus;
    return 0;
}

int pci_init_mcfg(const struct mcfg_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].segment || e[i].start_bus)
            continue;
        int rc = pci_init(e[i].base, e[i].start_bus, e[i].end_bus);
        if (!rc) {
            log_line("pci: ECAM at 0x%llx, buses %02x-%02x", (unsigned long long)e[i].base,
                     e[i].start_bus, e[i].end_bus);
            return 0;
        }
        log_line("pci: MCFG's ECAM at 0x%llx unusable (%d)", (unsigned long long)e[i].base, rc);
    }
    log_line("pci: no usable ECAM, using ports CF8/CFC");
    return pci_init(0, 0, 255);
}

bool pci_uses_ecam(void) { return pci.ecam != 0; }

/* Whether an access can reach any device; the caller turns "no" into all ones */
static bool access_ok(pci_bdf_t bdf, unsigned off, unsigned size)
{
    if ((size != 1 && size != 2 && size != 4) || (off & (size - 1)))
        return false;
    if (PCI_BDF_BUS(bdf) < pci.start_bus || PCI_BDF_BUS(bdf) > pci.end_bus)
        return false;
    return off + size <= (pci.ecam ? PCIE_CFG_SIZE : PCI_CFG_SIZE);
}

static uint64_t ecam_addr(pci_bdf_t bdf, unsigned off)
{
    return pci.ecam + ((uint64_t)bdf << ECAM_FN_SHIFT) + off;
}

/* Mechanism #1 addresses dwords: bus, device, function, register 7:2. eli runs
 * one CPU and its interrupt handlers never touch PCI, so the CF8 write and the
 * data access cannot be split by another CF8 user. */
static uint16_t cf8_select(pci_bdf_t bdf, unsigned off)
{
    port_out32(CF8_ADDRESS_PORT, CF8_ENABLE | (uint32_t)bdf << 8 | (off & 0xFCu));
    return (uint16_t)(CFC_DATA_PORT + (off & 3u));
}

uint32_t pci_cfg_read(pci_bdf_t bdf, unsigned off, unsigned size)
{
    if (!access_ok(bdf, off, size))
        return all_ones(size);
    if (pci.ecam) {
        uint64_t a = ecam_addr(bdf, off);
        if (size == 1)
            return *(volatile uint8_t *)(uintptr_t)a;
        if (size == 2)
            return *(volatile uint16_t *)(uintptr_t)a;
        return mmio_read32(a);
    }
    uint16_t port = cf8_select(bdf, off);
    return size == 1 ? port_in8(port) : size == 2 ? port_in16(port) : port_in32(port);
}

void pci_cfg_write(pci_bdf_t bdf, unsigned off, unsigned size, uint32_t val)
{
    if (!access_ok(bdf, off, size))
        return;
    if (pci.ecam) {
        uint64_t a = ecam_addr(bdf, off);
        if (size == 1)
            *(volatile uint8_t *)(uintptr_t)a = (uint8_t)val;
        else if (size == 2)
            *(volatile uint16_t *)(uintptr_t)a = (uint16_t)val;
        else
            mmio_write32(a, val);
        return;
    }
    uint16_t port = cf8_select(bdf, off);
    if (size == 1)
        port_out8(port, (uint8_t)val);
    else if (size == 2)
        port_out16(port, (uint16_t)val);
    else
        port_out32(port, val);
}

/* ---- enumeration -------------------------------------------------------- */

static bool present(pci_bdf_t bdf) { return pci_cfg_read(bdf, PCI_VENDOR_ID, 2) != PCI_VENDOR_NONE; }

unsigned pci_for_each(pci_visit_fn fn, void *ctx)
{
    unsigned count = 0;
    for (unsigned bus = pci.start_bus; bus <= pci.end_bus; bus++) {
        for (unsigned dev = 0; dev < 32; dev++) {
            if (!present(PCI_BDF(bus, dev, 0)))
                continue;
            /* functions 1-7 exist only behind a multi-function function 0 (PCI 3.0, 6.2.1) */
            uint32_t hdr = pci_cfg_read(PCI_BDF(bus, dev, 0), PCI_HEADER_TYPE, 1);
            unsigned nfn = hdr & PCI_HEADER_MULTI_FN ? 8 : 1;
            for (unsigned f = 0; f < nfn; f++) {
                if (!present(PCI_BDF(bus, dev, f)))
                    continue;
                fn(ctx, PCI_BDF(bus, dev, f));
                count++;
            }
        }
    }
    return count;
}

static void log_function(void *ctx, pci_bdf_t bdf)
{
    (void)ctx;
    char name[PCI_BDF_STR_MAX];
    pci_bdf_format(bdf, name);
    uint32_t id = pci_cfg_read(bdf, PCI_VENDOR_ID, 4);
    uint32_t class = pci_cfg_read(bdf, PCI_REVISION_ID, 4) >> 8;
    unsigned hdr = pci_cfg_read(bdf, PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK;
    log_line("pci: %s %04x:%04x class %06x header %u", name, id & 0xFFFFu, id >> 16, class, hdr);
}

unsigned pci_log_all(void) { return pci_for_each(log_function, NULL); }

struct find_ctx {
    uint32_t id;
    unsigned index;
    bool found;
    pci_bdf_t bdf;
};

static void match_function(void *ctx, pci_bdf_t bdf)
{
    struct find_ctx *f = ctx;
    if (f->found || pci_cfg_read(bdf, PCI_VENDOR_ID, 4) != f->id)
        return;
    if (f->index--)
        return;
    f->found = true;
    f->bdf = bdf;
}

int pci_find_device(uint16_t vendor, uint16_t device, unsigned index, pci_bdf_t *out)
{
    struct find_ctx f = { (uint32_t)device << 16 | vendor, index, false, 0 };
    pci_for_each(match_function, &f);
    if (!f.found)
        return -ENODEV;
    *out = f.bdf;
    return 0;
}

/* ---- BARs --------------------------------------------------------------- */

/* Writes all ones and reads back what sticks, then restores the value */
static uint32_t size_register(pci_bdf_t bdf, unsigned off, uint32_t orig)
{
    pci_cfg_write(bdf, off, 4, 0xFFFFFFFFu);
    uint32_t mask = pci_cfg_read(bdf, off, 4);
    pci_cfg_write(bdf, off, 4, orig);
    return mask;
}

int pci_bars_probe(pci_bdf_t bdf, struct pci_bar bars[PCI_NUM_BARS])
{
    if (!present(bdf))
        return -ENODEV;
    unsigned type = pci_cfg_read(bdf, PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK;
    if (type > 1)
        return -EINVAL;
    unsigned n = type == 0 ? PCI_NUM_BARS : PCI_BRIDGE_NUM_BARS;
    for (unsigned i = 0; i < PCI_NUM_BARS; i++)
        bars[i] = (struct pci_bar){ 0, 0, 0 };
    /* PCI 3.0, 6.2.5.1: while a BAR holds all ones it may decode a range that
     * belongs to something else, so decoding is off during sizing */
    uint16_t cmd = (uint16_t)pci_cfg_read(bdf, PCI_COMMAND, 2);
    pci_cfg_write(bdf, PCI_COMMAND, 2, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
    for (unsigned i = 0; i < n; i++) {
        unsigned off = PCI_BAR_OFFSET(i);
        uint32_t lo = pci_cfg_read(bdf, off, 4), hi = 0, mask_hi = 0;
        uint32_t mask_lo = size_register(bdf, off, lo);
        bool is64 = !(lo & PCI_BAR_REG_IO) && (lo & PCI_BAR_REG_MEM_TYPE) == PCI_BAR_REG_MEM_64;
        if (is64 && i + 1 < n) {
            hi = pci_cfg_read(bdf, off + 4, 4);
            mask_hi = size_register(bdf, off + 4, hi);
        }
        pci_bar_decode(lo, hi, mask_lo, mask_hi, &bars[i]);
        if (is64 && i + 1 >= n)
            bars[i].size = 0;   /* a 64-bit BAR in the last register is malformed */
        if (is64)
            i++;
    }
    pci_cfg_write(bdf, PCI_COMMAND, 2, cmd);
    return (int)n;
}

/* ---- capabilities, MSI, MSI-X ------------------------------------------- */

static uint32_t read_bdf(void *ctx, unsigned off, unsigned size)
{
    return pci_cfg_read(*(const pci_bdf_t *)ctx, off, size);
}

unsigned pci_find_cap(pci_bdf_t bdf, uint8_t id) { return pci_cap_find_in(read_bdf, &bdf, id); }

int pci_msi_program(pci_bdf_t bdf, unsigned cap, uint64_t addr, uint32_t data)
{
    uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + PCI_MSI_CTRL, 2);
    bool is64 = ctrl & PCI_MSI_CTRL_64BIT;
    if ((addr & 3) || (!is64 && addr >> 32))
        return -EINVAL;
    pci_cfg_write(bdf, cap + PCI_MSI_ADDR_LO, 4, (uint32_t)addr);
    if (is64)
        pci_cfg_write(bdf, cap + PCI_MSI_ADDR_HI, 4, (uint32_t)(addr >> 32));
    /* PCI 3.0's message data register is 16 bits wide */
    pci_cfg_write(bdf, cap + pci_msi_data_off(ctrl), 2, (uint16_t)data);
    return 0;
}

void pci_msi_enable(pci_bdf_t bdf, unsigned cap, bool on)
{
    uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + PCI_MSI_CTRL, 2);
    ctrl &= (uint16_t)~(PCI_MSI_CTRL_MME_MASK | PCI_MSI_CTRL_ENABLE);
    if (on)
        ctrl |= PCI_MSI_CTRL_ENABLE;
    pci_cfg_write(bdf, cap + PCI_MSI_CTRL, 2, ctrl);
}

int pci_msi_mask(pci_bdf_t bdf, unsigned cap, bool masked)
{
    uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + PCI_MSI_CTRL, 2);
    if (!(ctrl & PCI_MSI_CTRL_PVM))
        return -EOPNOTSUPP;
    unsigned off = cap + pci_msi_mask_off(ctrl);
    uint32_t bits = pci_cfg_read(bdf, off, 4);
    pci_cfg_write(bdf, off, 4, masked ? bits | 1u : bits & ~1u);
    return 0;
}

int pci_msix_info(pci_bdf_t bdf, unsigned cap, struct pci_msix_info *out)
{
    if (!cap || (pci_cfg_read(bdf, cap, 1) != PCI_CAP_ID_MSIX))
        return -EINVAL;
    uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + PCI_MSIX_CTRL, 2);
    uint32_t table = pci_cfg_read(bdf, cap + PCI_MSIX_TABLE, 4);
    uint32_t pba = pci_cfg_read(bdf, cap + PCI_MSIX_PBA, 4);
    *out = (struct pci_msix_info){
        .nvec = (ctrl & PCI_MSIX_CTRL_SIZE_MASK) + 1u,
        .table_bir = table & PCI_MSIX_BIR_MASK,
        .pba_bir = pba & PCI_MSIX_BIR_MASK,
        .table_off = table & ~PCI_MSIX_BIR_MASK,
        .pba_off = pba & ~PCI_MSIX_BIR_MASK,
    };
    return 0;
}

int pci_msix_table_pa(const struct pci_bar bars[PCI_NUM_BARS], const struct pci_msix_info *mi,
                      uint64_t *pa)
{
    if (mi->table_bir >= PCI_NUM_BARS)
        return -EINVAL;
    const struct pci_bar *b = &bars[mi->table_bir];
    uint64_t len = (uint64_t)mi->nvec * sizeof(struct pci_msix_entry);
    if (!b->size || (b->flags & PCI_BAR_IO) || mi->table_off > b->size || len > b->size - mi->table_off)
        return -EINVAL;
    *pa = b->base + mi->table_off;
    return 0;
}

void pci_msix_control(pci_bdf_t bdf, unsigned cap, bool enable, bool function_mask)
{
    uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + PCI_MSIX_CTRL, 2);
    ctrl &= (uint16_t)~(PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_FMASK);
    ctrl |= (uint16_t)((enable ? PCI_MSIX_CTRL_ENABLE : 0) | (function_mask ? PCI_MSIX_CTRL_FMASK : 0));
    pci_cfg_write(bdf, cap + PCI_MSIX_CTRL, 2, ctrl);
}

static int entry_pa(uint64_t table_pa, unsigned index, uint64_t *pa)
{
    *pa = table_pa + (uint64_t)index * sizeof(struct pci_msix_entry);
    if (index >= PCI_MSIX_MAX_VECTORS || *pa + sizeof(struct pci_msix_entry) > IDENTITY_LIMIT)
        return -ERANGE;
    return 0;
}

int pci_msix_entry_mask(uint64_t table_pa, unsigned index, bool masked)
{
    uint64_t e;
    int rc = entry_pa(table_pa, index, &e);
    if (rc)
        return rc;
    uint32_t ctrl = mmio_read32(e + PCI_MSIX_ENTRY_CTRL);
    ctrl = masked ? ctrl | PCI_MSIX_ENTRY_MASKED : ctrl & ~PCI_MSIX_ENTRY_MASKED;
    mmio_write32(e + PCI_MSIX_ENTRY_CTRL, ctrl);
    /* the read flushes the posted write, so the mask holds when we return */
    (void)mmio_read32(e + PCI_MSIX_ENTRY_CTRL);
    return 0;
}

int pci_msix_entry_program(uint64_t table_pa, unsigned index, uint64_t addr, uint32_t data,
                           bool masked)
{
    uint64_t e;
    int rc = entry_pa(table_pa, index, &e);
    if (rc)
        return rc;
    if (addr & 3)
        return -EINVAL;
    /* PCI 3.0, 6.8.2: changing an unmasked entry's address or data is undefined,
     * so mask first; the table takes only aligned dword or qword accesses */
    pci_msix_entry_mask(table_pa, index, true);
    mmio_write32(e + PCI_MSIX_ENTRY_ADDR_LO, (uint32_t)addr);
    mmio_write32(e + PCI_MSIX_ENTRY_ADDR_HI, (uint32_t)(addr >> 32));
    mmio_write32(e + PCI_MSIX_ENTRY_DATA, data);
    if (!masked)
        pci_msix_entry_mask(table_pa, index, false);
    return 0;
}
