/* The AMD IOMMU driver: discovery (IVRS, the PCI function), turning it on, confining
 * the assigned device, its interrupt remapping entries, the event log.
 *
 * Every DeviceID but the assigned device's and the IOAPICs' gets a pass-through entry
 * (V = 1, TV = 1, Mode 0, IR = IW = 1, IV = 0): its DMA and interrupts go on as before
 * the IOMMU was on. Those devices are eli's alone (the guest sees only the assigned
 * device and a host bridge); blocking them too waits until eli drives none that needs
 * DMA. The IOAPICs' DeviceIDs (IVRS special entries, else 00:14.0) get an entry that
 * aborts every interrupt: eli takes no IOAPIC interrupt, and QEMU 10.0 attributes a
 * device's DMA write to the MSI window (a forged MSI: pci_dma_write carries no requester
 * ID) to the southbridge IOAPIC, 00:14.0, not to the device. A later user of IOAPIC
 * interrupts (an NMI watchdog through a redirection entry, say) needs NMIPass or a
 * table there, and must know that it opens that door to every device under QEMU.
 *
 * QEMU 10.0 facts this code relies on (../shared/design/eli.md 5a): DMA remapping is
 * enforced only with `-device amd-iommu,pt=off`; a last-level entry's present bit is not
 * checked, only its IR/IW, so unmapped pages are zero entries; translations are cached
 * until INVALIDATE_IOMMU_PAGES; IntTabLen is not enforced, so the interrupt table
 * covers every index the MSI data can name; the device table is looked up by the
 * requester's DeviceID without a bound check, so it covers all 65536 of them. */
#include "arch/x86/amd_iommu.h"
#include "arch/x86/acpi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/pci.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/mm.h"
#include <string.h>

#define PAGE 4096ull
#define IDENTITY_END (4ull << 30)        /* eli identity-maps the first 4 GiB */
#define CONFINED_DOMAIN 1u               /* pass-through entries keep DomainID 0 */
#define PT_LEVELS 3u                     /* 39-bit IOVAs: any guest RAM eli can give */
#define IRT_LEN_LOG2 AMD_IOMMU_DTE_INT_TAB_LEN_MAX
#define IRTE_INDEX_LIMIT 256u            /* delivery mode (data bits 10:8) stays fixed */
#define CMD_SPIN_LIMIT 100000000u        /* QEMU runs commands at the tail write */

static struct {
    bool present, enabled, confined;
    bool ga, xt;                    /* 128-bit IRTEs; x2APIC destinations */
    uint64_t base;                  /* MMIO registers */
    uint16_t bdf;                   /* the IOMMU's PCI function */
    uint64_t efr;
    uint64_t dev_tab, cmd_buf, event_log;  /* host-physical = eli's addresses */
    unsigned cmd_tail;              /* next command slot */
    uint16_t device_id;             /* the confined device */
    unsigned nioapic;
    uint16_t ioapic_devid[AMD_IOMMU_MAX_IOAPICS];
    uint64_t irt, pt_root;
    uint64_t events_total;
} iommu;

static volatile uint64_t completion_store __attribute__((aligned(8)));
static uint64_t completion_seq;

static uint64_t mmio_read(unsigned off)
{
    return *(volatile uint64_t *)(uintptr_t)(iommu.base + off);
}

/* QEMU takes the base registers only from 8-byte writes (or the upper half) */
static void mmio_write(unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(uintptr_t)(iommu.base + off) = v;
}

static void barrier(void) { __asm__ volatile("" ::: "memory"); }

static void bdf_name(uint16_t bdf, char *buf) { pci_bdf_format(bdf, buf); }

/* ---- discovery --------------------------------------------------------------- */

/* The MMIO base in the function's capability block (spec 3.2), or 0 */
static uint64_t cap_base(uint16_t bdf, unsigned *cap_out)
{
    unsigned cap = pci_find_cap(bdf, AMD_IOMMU_CAP_ID);
    *cap_out = cap;
    if (!cap)
        return 0;
    uint32_t hdr = pci_cfg_read(bdf, cap, 4);
    if ((hdr >> AMD_IOMMU_CAP_TYPE_SHIFT & AMD_IOMMU_CAP_TYPE_MASK) != AMD_IOMMU_CAP_TYPE_IOMMU)
        return 0;
    uint64_t lo = pci_cfg_read(bdf, cap + AMD_IOMMU_CAP_BASE_LO, 4) & AMD_IOMMU_CAP_BASE_LO_MASK;
    uint64_t hi = pci_cfg_read(bdf, cap + AMD_IOMMU_CAP_BASE_HI, 4);
    return hi << 32 | lo;
}

static bool is_iommu_function(uint16_t bdf)
{
    return pci_cfg_read(bdf, PCI_VENDOR_ID, 4) ==
           ((uint32_t)AMD_IOMMU_PCI_DEVICE << 16 | AMD_IOMMU_PCI_VENDOR);
}

int amd_iommu_probe(const struct acpi *acpi)
{
    const struct acpi_header *h = NULL;
    struct amd_iommu_ivrs_info ivrs = { 0 };
    char name[PCI_BDF_STR_MAX], from_ivrs[48] = "no IVRS table";
    bool have_ivrs = false;
    int found = acpi ? acpi_find_table(acpi, "IVRS", 0, &h, NULL) : -ENOENT;
    if (found == -EINVAL)
        fmt_snprintf(from_ivrs, sizeof(from_ivrs), "IVRS corrupt");
    if (!found) {
        int rc = amd_iommu_ivrs_parse(h, h->length, &ivrs);
        have_ivrs = !rc && ivrs.segment == 0;
        if (have_ivrs)
            fmt_snprintf(from_ivrs, sizeof(from_ivrs), "IVRS: %u IVHD, type 0x%x", ivrs.nivhd,
                         ivrs.type);
        else
            fmt_snprintf(from_ivrs, sizeof(from_ivrs), "IVRS unusable (%d)", rc);
    }
    pci_bdf_t bdf = 0;
    bool have_fn = false;
    if (have_ivrs)
        have_fn = is_iommu_function(bdf = ivrs.device_id);
    else
        have_fn = !pci_find_device(AMD_IOMMU_PCI_VENDOR, AMD_IOMMU_PCI_DEVICE, 0, &bdf);
    unsigned cap = 0;
    uint64_t from_cap = have_fn ? cap_base(bdf, &cap) : 0;
    uint64_t base = have_ivrs ? ivrs.base : from_cap;
    if (!have_ivrs && !have_fn) {
        log_line("iommu: none (%s, no PCI function %04x:%04x)", from_ivrs, AMD_IOMMU_PCI_VENDOR,
                 AMD_IOMMU_PCI_DEVICE);
        return -ENODEV;
    }
    bdf_name(bdf, name);
    if (have_ivrs && have_fn && from_cap && from_cap != base)
        log_line("iommu: IVRS says MMIO at 0x%llx, the capability of %s 0x%llx: using IVRS's",
                 (unsigned long long)base, name, (unsigned long long)from_cap);
    if (!base || (base & (AMD_IOMMU_MMIO_SIZE - 1)) || base + AMD_IOMMU_MMIO_SIZE > IDENTITY_END) {
        log_line("iommu: AMD-Vi at %s (%s) has an unusable MMIO base 0x%llx", name, from_ivrs,
                 (unsigned long long)base);
        return -ENODEV;
    }
    iommu.base = base;
    iommu.bdf = bdf;
    if (have_ivrs && ivrs.nioapic) {
        iommu.nioapic = ivrs.nioapic;
        memcpy(iommu.ioapic_devid, ivrs.ioapic_devid, sizeof(iommu.ioapic_devid));
    } else {
        iommu.nioapic = 1;
        iommu.ioapic_devid[0] = AMD_IOMMU_SB_IOAPIC_DEVID;
    }
    iommu.efr = mmio_read(AMD_IOMMU_EXT_FEATURE);
    iommu.ga = iommu.efr & AMD_IOMMU_EFR_GA_SUP;
    iommu.xt = iommu.ga && (iommu.efr & AMD_IOMMU_EFR_XT_SUP);
    iommu.present = true;
    log_line("iommu: AMD-Vi at 0x%llx, PCI %s%s (capability at 0x%x, base 0x%llx); %s; "
             "EFR 0x%llx:%s%s%s, %u-level tables",
             (unsigned long long)base, name, have_fn ? "" : " (not 1022:1419)", cap,
             (unsigned long long)from_cap, from_ivrs, (unsigned long long)iommu.efr,
             iommu.efr & AMD_IOMMU_EFR_XT_SUP ? " XTSup" : "",
             iommu.efr & AMD_IOMMU_EFR_GA_SUP ? " GASup" : "",
             iommu.efr & AMD_IOMMU_EFR_IA_SUP ? " IASup" : "",
             4 + (unsigned)(iommu.efr >> AMD_IOMMU_EFR_HATS_SHIFT & AMD_IOMMU_EFR_HATS_MASK));
    return 0;
}

bool amd_iommu_present(void) { return iommu.present; }

/* ---- commands (spec 2.4) --------------------------------------------------------- */

static unsigned cmd_head(void)
{
    return (unsigned)((mmio_read(AMD_IOMMU_CMD_BUF_HEAD) & AMD_IOMMU_RING_PTR_MASK) /
                      sizeof(struct amd_iommu_cmd));
}

static int cmd_queue(const struct amd_iommu_cmd *c)
{
    unsigned next = (iommu.cmd_tail + 1) % AMD_IOMMU_CMD_BUF_ENTRIES;
    for (unsigned spin = 0; next == cmd_head(); spin++) {
        if (spin == CMD_SPIN_LIMIT) {
            log_line("iommu: the command buffer stays full (head %u)", cmd_head());
            return -EIO;
        }
        cpu_pause();
    }
    struct amd_iommu_cmd *slot = (struct amd_iommu_cmd *)(uintptr_t)iommu.cmd_buf + iommu.cmd_tail;
    *slot = *c;
    barrier();
    iommu.cmd_tail = next;
    mmio_write(AMD_IOMMU_CMD_BUF_TAIL, (uint64_t)next * sizeof(struct amd_iommu_cmd));
    return 0;
}

/* COMPLETION_WAIT: every command before it has taken effect once the store lands */
static int cmd_sync(void)
{
    struct amd_iommu_cmd c;
    uint64_t seq = ++completion_seq;
    amd_iommu_cmd_completion_wait(&c, (uint64_t)(uintptr_t)&completion_store, seq);
    int rc = cmd_queue(&c);
    if (rc)
        return rc;
    for (unsigned spin = 0; completion_store != seq; spin++) {
        if (spin == CMD_SPIN_LIMIT) {
            log_line("iommu: COMPLETION_WAIT %llu never completed (status 0x%llx)",
                     (unsigned long long)seq, (unsigned long long)mmio_read(AMD_IOMMU_STATUS));
            return -EIO;
        }
        cpu_pause();
    }
    return 0;
}

/* The device's entry, its cached translations and its interrupt table entries */
static int invalidate_device(uint16_t device_id, uint16_t domain)
{
    struct amd_iommu_cmd c;
    int rc;
    amd_iommu_cmd_inval_devtab_entry(&c, device_id);
    if ((rc = cmd_queue(&c)))
        return rc;
    amd_iommu_cmd_inval_pages_all(&c, domain);
    if ((rc = cmd_queue(&c)))
        return rc;
    amd_iommu_cmd_inval_interrupt_table(&c, device_id);
    if ((rc = cmd_queue(&c)))
        return rc;
    return cmd_sync();
}

/* ---- turning it on ---------------------------------------------------------------- */

static int enable(char *err, size_t errlen)
{
    uint64_t tab_pages = AMD_IOMMU_DEV_TAB_BYTES / PAGE;
    iommu.dev_tab = mm_alloc_zeroed(tab_pages, 1);
    iommu.cmd_buf = mm_alloc_zeroed(1, 1);
    iommu.event_log = mm_alloc_zeroed(1, 1);
    if (!iommu.dev_tab || !iommu.cmd_buf || !iommu.event_log) {
        fmt_snprintf(err, errlen, "iommu: out of memory for the device table and buffers");
        return -ENOMEM;
    }
    struct amd_iommu_dte *tab = (struct amd_iommu_dte *)(uintptr_t)iommu.dev_tab;
    for (unsigned i = 0; i < AMD_IOMMU_DEVICE_IDS; i++)
        amd_iommu_dte_passthrough(&tab[i]);
    char ioapics[AMD_IOMMU_MAX_IOAPICS * PCI_BDF_STR_MAX + 8] = "";
    for (unsigned i = 0; i < iommu.nioapic; i++) {
        char name[PCI_BDF_STR_MAX];
        amd_iommu_dte_blocked(&tab[iommu.ioapic_devid[i]]);
        bdf_name(iommu.ioapic_devid[i], name);
        size_t n = strlen(ioapics);
        fmt_snprintf(ioapics + n, sizeof(ioapics) - n, "%s%s", i ? " " : "", name);
    }

    /* spec 3.4: the tables' registers are written while the IOMMU is off */
    mmio_write(AMD_IOMMU_CONTROL, 0);
    mmio_write(AMD_IOMMU_DEV_TAB_BASE, iommu.dev_tab | (tab_pages - 1));
    mmio_write(AMD_IOMMU_CMD_BUF_BASE,
               iommu.cmd_buf | (uint64_t)AMD_IOMMU_LEN_MIN << AMD_IOMMU_LEN_SHIFT);
    mmio_write(AMD_IOMMU_CMD_BUF_HEAD, 0);
    mmio_write(AMD_IOMMU_CMD_BUF_TAIL, 0);
    iommu.cmd_tail = 0;
    mmio_write(AMD_IOMMU_EVENT_LOG_BASE,
               iommu.event_log | (uint64_t)AMD_IOMMU_LEN_MIN << AMD_IOMMU_LEN_SHIFT);
    mmio_write(AMD_IOMMU_EVENT_LOG_HEAD, 0);
    mmio_write(AMD_IOMMU_EVENT_LOG_TAIL, 0);
    mmio_write(AMD_IOMMU_STATUS, AMD_IOMMU_STATUS_EVENT_OVERFLOW | AMD_IOMMU_STATUS_EVENT_LOG_INT |
                                     AMD_IOMMU_STATUS_COM_WAIT_INT);
    /* no interrupt of the IOMMU's own is enabled: eli reads the log itself */
    uint64_t ctrl =
        AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_EVENT_LOG_EN | AMD_IOMMU_CTRL_CMD_BUF_EN;
    if (iommu.ga)
        ctrl |= AMD_IOMMU_CTRL_GA_EN;
    if (iommu.xt)
        ctrl |= AMD_IOMMU_CTRL_XT_EN | AMD_IOMMU_CTRL_INT_CAP_XT_EN;
    mmio_write(AMD_IOMMU_CONTROL, ctrl);
    iommu.enabled = true;

    int rc = cmd_sync();
    if (rc) {
        fmt_snprintf(err, errlen, "iommu: it does not process commands (status 0x%llx)",
                     (unsigned long long)mmio_read(AMD_IOMMU_STATUS));
        return rc;
    }
    uint64_t status = mmio_read(AMD_IOMMU_STATUS);
    log_line("iommu: on: control 0x%llx, status 0x%llx; device table 0x%llx (%u entries, "
             "pass-through but the IOAPIC's %s: all its interrupts aborted), command buffer "
             "0x%llx, event log 0x%llx",
             (unsigned long long)mmio_read(AMD_IOMMU_CONTROL), (unsigned long long)status,
             (unsigned long long)iommu.dev_tab, AMD_IOMMU_DEVICE_IDS, ioapics,
             (unsigned long long)iommu.cmd_buf, (unsigned long long)iommu.event_log);
    return 0;
}

/* ---- the confined device ------------------------------------------------------------- */

static size_t irte_size(void)
{
    return iommu.ga ? sizeof(struct amd_iommu_irte128) : sizeof(amd_iommu_irte32_t);
}

/* Reads the tables back the way the IOMMU walks them: the first and last page of RAM
 * reach the guest's RAM, the page after it nothing. */
static int check_tables(uint64_t ram_hpa, uint64_t ram_size)
{
    uint64_t pa, perms, size;
    if (amd_iommu_pt_walk(&pt_host_ops, iommu.pt_root, PT_LEVELS, 0, &pa, &perms, &size) ||
        pa != ram_hpa || perms != AMD_IOMMU_PTE_PERMS)
        return -EFAULT;
    if (amd_iommu_pt_walk(&pt_host_ops, iommu.pt_root, PT_LEVELS, ram_size - PAGE, &pa, &perms, &size) ||
        pa != ram_hpa + ram_size - PAGE)
        return -EFAULT;
    if (amd_iommu_pt_walk(&pt_host_ops, iommu.pt_root, PT_LEVELS, ram_size, &pa, &perms, &size) !=
        -ENOENT)
        return -EFAULT;
    return 0;
}

int amd_iommu_confine(uint16_t device_id, uint64_t ram_hpa, uint64_t ram_size, char *err,
                      size_t errlen)
{
    char name[PCI_BDF_STR_MAX];
    bdf_name(device_id, name);
    if (!iommu.present) {
        fmt_snprintf(err, errlen, "iommu: none to confine %s", name);
        return -ENODEV;
    }
    if (iommu.confined) {
        fmt_snprintf(err, errlen, "iommu: a device is confined already");
        return -EBUSY;
    }
    if (!ram_size || (ram_size | ram_hpa) & (PAGE - 1) ||
        ram_size > amd_iommu_mode_span(PT_LEVELS)) {
        fmt_snprintf(err, errlen, "iommu: cannot map %llu bytes of guest RAM at 0x%llx",
                     (unsigned long long)ram_size, (unsigned long long)ram_hpa);
        return -EINVAL;
    }
    int rc = iommu.enabled ? 0 : enable(err, errlen);
    if (rc)
        return rc;

    iommu.pt_root = mm_alloc_zeroed(1, 1);
    uint64_t irt_bytes = AMD_IOMMU_IRT_ENTRIES * irte_size();
    iommu.irt = mm_alloc_zeroed((irt_bytes + PAGE - 1) / PAGE, 1);
    if (!iommu.pt_root || !iommu.irt) {
        fmt_snprintf(err, errlen, "iommu: out of memory for %s's tables", name);
        return -ENOMEM;
    }
    /* IOVA = guest-physical: the guest programs the device with its own addresses */
    rc = amd_iommu_pt_map(&pt_host_ops, iommu.pt_root, PT_LEVELS, 0, ram_hpa, ram_size,
                          AMD_IOMMU_PTE_IR | AMD_IOMMU_PTE_IW, true);
    if (!rc)
        rc = check_tables(ram_hpa, ram_size);
    if (rc) {
        fmt_snprintf(err, errlen, "iommu: cannot build %s's I/O page tables (%d)", name, rc);
        return rc;
    }
    /* the whole table stays zero (RemapEn = 0) until eli programs an interrupt: QEMU
     * does not bound the index by IntTabLen, so every index lands in this table */
    struct amd_iommu_dte d;
    amd_iommu_dte_confined(&d, CONFINED_DOMAIN, iommu.pt_root, PT_LEVELS, iommu.irt, IRT_LEN_LOG2);
    volatile struct amd_iommu_dte *slot =
        (struct amd_iommu_dte *)(uintptr_t)iommu.dev_tab + device_id;
    /* the valid and translation bits live in the first quadword: written last */
    slot->data[0] = 0;
    barrier();
    slot->data[1] = d.data[1];
    slot->data[2] = d.data[2];
    slot->data[3] = d.data[3];
    barrier();
    slot->data[0] = d.data[0];
    rc = invalidate_device(device_id, CONFINED_DOMAIN);
    if (rc) {
        fmt_snprintf(err, errlen, "iommu: invalidating %s's entry failed (%d)", name, rc);
        return rc;
    }
    iommu.device_id = device_id;
    iommu.confined = true;
    log_line("iommu: %s confined: DMA to IOVA [0, 0x%llx) reaches host 0x%llx, nothing else; "
             "interrupt remapping table 0x%llx, %u %u-bit entries, all off; NMI, INIT, ExtINT "
             "and LINT messages aborted",
             name, (unsigned long long)ram_size, (unsigned long long)ram_hpa,
             (unsigned long long)iommu.irt, AMD_IOMMU_IRT_ENTRIES, (unsigned)irte_size() * 8);
    return 0;
}

static int irte_write(unsigned index, bool on, uint8_t vector, uint32_t dest)
{
    if (!iommu.confined || index >= IRTE_INDEX_LIMIT)
        return -EINVAL;
    if (iommu.ga) {
        struct amd_iommu_irte128 e = { 0, 0 };
        if (on)
            amd_iommu_irte128_remap(&e, vector, dest);
        if (!iommu.xt && dest > 0xFF)
            return -ERANGE;
        volatile struct amd_iommu_irte128 *t = (struct amd_iommu_irte128 *)(uintptr_t)iommu.irt;
        /* RemapEn (lo bit 0) off while the other half changes */
        t[index].lo = 0;
        barrier();
        t[index].hi = e.hi;
        barrier();
        t[index].lo = e.lo;
    } else {
        amd_iommu_irte32_t e = 0;
        if (on && amd_iommu_irte32_remap(&e, vector, dest))
            return -ERANGE;
        ((volatile amd_iommu_irte32_t *)(uintptr_t)iommu.irt)[index] = e;
    }
    struct amd_iommu_cmd c;
    amd_iommu_cmd_inval_interrupt_table(&c, iommu.device_id);
    int rc = cmd_queue(&c);
    return rc ? rc : cmd_sync();
}

int amd_iommu_irte_set(unsigned index, uint8_t vector, uint32_t dest)
{
    return irte_write(index, true, vector, dest);
}

int amd_iommu_irte_clear(unsigned index) { return irte_write(index, false, 0, 0); }

/* ---- the event log (spec 2.5) ----------------------------------------------------------- */

unsigned amd_iommu_drain_events(void)
{
    if (!iommu.enabled)
        return 0;
    unsigned n = 0;
    uint64_t head = mmio_read(AMD_IOMMU_EVENT_LOG_HEAD) & AMD_IOMMU_RING_PTR_MASK;
    uint64_t tail = mmio_read(AMD_IOMMU_EVENT_LOG_TAIL) & AMD_IOMMU_RING_PTR_MASK;
    uint64_t ring = AMD_IOMMU_EVENT_LOG_ENTRIES * sizeof(struct amd_iommu_event);
    while (head != tail && head < ring) {
        char line[128];
        const struct amd_iommu_event *e =
            (const struct amd_iommu_event *)(uintptr_t)(iommu.event_log + head);
        amd_iommu_event_format(e, line, sizeof(line));
        log_line("iommu: event: %s", line);
        head = (head + sizeof(*e)) % ring;
        n++;
    }
    mmio_write(AMD_IOMMU_EVENT_LOG_HEAD, head);
    uint64_t status = mmio_read(AMD_IOMMU_STATUS);
    if (status & AMD_IOMMU_STATUS_EVENT_OVERFLOW) {
        /* spec 2.5: logging stops at an overflow; clearing it and EventLogEn restarts it */
        log_line("iommu: the event log overflowed: events were lost");
        uint64_t ctrl = mmio_read(AMD_IOMMU_CONTROL);
        mmio_write(AMD_IOMMU_CONTROL, ctrl & ~AMD_IOMMU_CTRL_EVENT_LOG_EN);
        mmio_write(AMD_IOMMU_STATUS, AMD_IOMMU_STATUS_EVENT_OVERFLOW);
        mmio_write(AMD_IOMMU_CONTROL, ctrl);
    }
    iommu.events_total += n;
    return n;
}

uint64_t amd_iommu_events_total(void) { return iommu.events_total; }
