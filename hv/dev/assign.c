#include "dev/assign.h"
#include "arch/x86/acpi.h"
#include "arch/x86/amd_iommu.h"
#include "arch/x86/ioapic.h"
#include "arch/x86/trap.h"
#include "arch/x86/x2apic.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/guest.h"
#include "core/mmio.h"
#include "core/vm.h"
#include "dev/vioapic.h"
#include "dev/vpci.h"
#include <string.h>

#define PAGE 4096ull
#define MSI_ADDR_BASE 0xFEE00000ull
#define MSI_ADDR_MASK 0xFFF00000ull
#define MSI_ADDR_DEST_SHIFT 12
#define MSI_DATA_VECTOR_MASK 0xFFu
#define MSI_DATA_DELIVERY_SHIFT 8
#define MSI_DATA_DELIVERY_MASK 0x7u
#define MSI_DELIVERY_FIXED 0u
#define MSI_DELIVERY_LOWEST 1u
#define MAX_VECTORS 32
/* Interrupt remapping entries: MSI-X entry i uses entry i, MSI the one after them, so a
 * guest switching between the two never has one clear the other's entry */
#define IRTE_MSI MAX_VECTORS

struct assigned {
    struct guest *guest;
    pci_bdf_t bdf;
    struct pci_bar bars[PCI_NUM_BARS];
    unsigned msi_cap, msix_cap;
    struct pci_msix_info msix;
    uint64_t msix_table_pa;
    uint64_t msix_table_gpa;   /* where the trapped table page(s) are, 0: not mapped */
    uint64_t msix_table_bytes;
    struct vpci_dev vdev;
    struct vpci vpci;
    int phys_vec[MAX_VECTORS]; /* per MSI/MSI-X index, 0: none */
    bool msi_live;             /* the guest enabled MSI */
    bool msi_ok;               /* and eli accepted its message */
    /* A device with neither MSI nor MSI-X interrupts on its INTx line, through the IOAPIC
     * (Bochs's e1000): eli owns the physical IOAPIC, the guest programs a virtual one. */
    bool intx;
    unsigned gsi;              /* the line the firmware set: the guest's IOAPIC pin */
    unsigned phys_pin;         /* that GSI's pin on the physical IOAPIC that holds it */
    struct vioapic vioapic;
};

static struct assigned dev;
static struct vpci bus_only;
static struct vpci *bus; /* set before the guest runs (assign_bus_only, assign_device) */

/* The IOMMU that confines the assigned device's DMA and interrupts, and whether the
 * operator allowed assignment without one (option unsafe-no-iommu). */
static struct {
    bool iommu;
    bool unsafe_allowed;
    bool dma_offset;    /* unsafe-dma-offset: the guest adds its RAM's host address */
    const struct acpi *acpi; /* the firmware's tables (MADT: where the IOAPIC is), or NULL */
    bool assigned;
} confine;

static uint32_t phys_cfg_read(void *ctx, unsigned off, unsigned size)
{
    const struct assigned *a = ctx;
    return pci_cfg_read(a->bdf, off, size);
}

static void phys_command(void *ctx, uint16_t cmd)
{
    const struct assigned *a = ctx;
    pci_cfg_write(a->bdf, PCI_COMMAND, 2, cmd);
}

static int table_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
    return vpci_msix_table_read(&((struct assigned *)ctx)->vdev, off, size, val);
}

static int table_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
    return vpci_msix_table_write(&((struct assigned *)ctx)->vdev, off, size, val);
}

/* The pages of [base, base + size) that hold the MSI-X table, if this BAR has it. */
static bool table_pages(const struct assigned *a, unsigned bar, uint64_t *off, uint64_t *len)
{
    if (!a->msix_cap || a->msix.table_bir != bar)
        return false;
    *off = a->msix.table_off & ~(PAGE - 1);
    uint64_t end = a->msix.table_off + (uint64_t)a->msix.nvec * 16;
    *len = ((end + PAGE - 1) & ~(PAGE - 1)) - *off;
    return true;
}

/* Maps the BAR straight through, except the MSI-X table, which eli emulates. */
static int bar_map(void *ctx, unsigned bar, uint64_t guest_base, uint64_t size, uint64_t host_base,
                   bool enable)
{
    struct assigned *a = ctx;
    uint64_t toff = 0, tlen = 0;
    bool has_table = table_pages(a, bar, &toff, &tlen);
    uint64_t map_size = (size + PAGE - 1) & ~(PAGE - 1);
    if (a->bars[bar].flags & PCI_BAR_IO)
        return 0; /* port I/O BARs are not passed through */
    if (!enable) {
        if (has_table && a->msix_table_gpa) {
            mmio_unregister(a->msix_table_gpa);
            a->msix_table_gpa = 0;
        }
        return vm_unmap(guest_base, map_size);
    }
    int rc = vm_map_mmio(guest_base, host_base, map_size);
    if (!rc && has_table) {
        rc = vm_unmap(guest_base + toff, tlen);
        if (!rc)
            rc = mmio_register(guest_base + toff, tlen, table_read, table_write, a, "msix-table");
        a->msix_table_gpa = rc ? 0 : guest_base + toff;
        a->msix_table_bytes = tlen;
    }
    if (rc)
        log_line("cannot map BAR%u of the assigned device at guest 0x%llx (error %d)", bar,
                 (unsigned long long)guest_base, rc);
    return rc;
}

/* Plain MSI has no mask (without per-vector masking): a message eli refused is kept
 * off by disabling MSI on the device, whatever the guest's enable bit says. */
static void msi_apply(struct assigned *a)
{
    pci_msi_enable(a->bdf, a->msi_cap, a->msi_live && a->msi_ok);
}

static void irq_enable(void *ctx, enum vpci_irq_kind kind, bool on)
{
    struct assigned *a = ctx;
    if (kind == VPCI_MSI && a->msi_cap) {
        a->msi_live = on;
        msi_apply(a);
    }
    else if (kind == VPCI_MSIX && a->msix_cap)
        pci_msix_control(a->bdf, a->msix_cap, on, false);
}

static void on_assigned_irq(uint8_t vector)
{
    eli_on_host_irq(&dev.guest->eli, vector);
}

/* The message the guest wrote must name its own APIC and an ordinary vector:
 * NMI, SMI, INIT or ExtINT messages are never let through. */
static int guest_vector_of(uint64_t addr, uint32_t data)
{
    unsigned delivery = data >> MSI_DATA_DELIVERY_SHIFT & MSI_DATA_DELIVERY_MASK;
    unsigned vector = data & MSI_DATA_VECTOR_MASK;
    if ((addr & MSI_ADDR_MASK) != MSI_ADDR_BASE)
        return -EINVAL;
    if (delivery != MSI_DELIVERY_FIXED && delivery != MSI_DELIVERY_LOWEST)
        return -EPERM;
    if (vector < 16)
        return -EINVAL;
    return (int)vector;
}

static unsigned irte_of(enum vpci_irq_kind kind, unsigned index)
{
    return kind == VPCI_MSI ? IRTE_MSI : index;
}

/* The message the device sends for MSI or MSI-X entry `index`, carrying physical vector p.
 * With the IOMMU the message only names an entry of the device's interrupt remapping
 * table (spec 2.2.5.1: data bits 10:0, delivery mode 000b), and that entry, which only eli
 * writes, holds the physical vector and APIC ID: a message the guest forges (a DMA write
 * to the 0xFEE00000 window) can name only entries eli filled in for this guest, or empty
 * ones. */
static int phys_message(enum vpci_irq_kind kind, unsigned index, uint8_t p, uint64_t *addr,
                        uint32_t *data)
{
    uint32_t dest = x2apic_id();
    if (!confine.iommu) {
        *addr = MSI_ADDR_BASE | (uint64_t)dest << MSI_ADDR_DEST_SHIFT;
        *data = p;
        return 0;
    }
    unsigned irte = irte_of(kind, index);
    *addr = MSI_ADDR_BASE;
    *data = irte;
    int rc = amd_iommu_irte_set(irte, p, dest);
    if (rc)
        log_line("iommu: interrupt remapping entry %u for vector 0x%x: error %d; the vector "
                 "stays masked", irte, p, rc);
    return rc;
}

/* The device stops sending for the entry before its remapping entry goes: a message
 * raised in between waits in the device's pending bits (MSI-X) or is not sent (MSI),
 * where the IOMMU would abort it (an interrupt lost for good). */
static void silence_phys(struct assigned *a, enum vpci_irq_kind kind, unsigned index)
{
    if (kind == VPCI_MSI) {
        a->msi_ok = false;
        msi_apply(a);
    } else {
        pci_msix_entry_mask(a->msix_table_pa, index, true);
    }
    if (confine.iommu) {
        unsigned irte = irte_of(kind, index);
        int rc = amd_iommu_irte_clear(irte);
        if (rc)
            log_line("iommu: clearing interrupt remapping entry %u: error %d", irte, rc);
    }
}

static void program_phys(struct assigned *a, enum vpci_irq_kind kind, unsigned index, uint8_t p)
{
    uint64_t addr;
    uint32_t data;
    /* a live MSI-X entry being given a new vector: masked while its remapping entry
     * changes (RemapEn is off for a moment), its message held in the pending bits */
    if (kind == VPCI_MSIX)
        pci_msix_entry_mask(a->msix_table_pa, index, true);
    if (phys_message(kind, index, p, &addr, &data)) {
        silence_phys(a, kind, index);
        return;
    }
    if (kind == VPCI_MSI) {
        pci_msi_program(a->bdf, a->msi_cap, addr, data);
        a->msi_ok = true;
        msi_apply(a);
        return;
    }
    pci_msix_entry_program(a->msix_table_pa, index, addr, data, false);
}

static void msi_update(void *ctx, enum vpci_irq_kind kind, unsigned index, bool enabled,
                       uint64_t guest_addr, uint32_t guest_data)
{
    struct assigned *a = ctx;
    if (index >= MAX_VECTORS)
        return;
    if (!enabled) {
        silence_phys(a, kind, index);
        return;
    }
    int g = guest_vector_of(guest_addr, guest_data);
    if (g < 0) {
        log_line("guest MSI%s %u: address 0x%llx data 0x%x refused (%s); the vector stays masked",
                 kind == VPCI_MSIX ? "-X" : "", index, (unsigned long long)guest_addr, guest_data,
                 g == -EPERM ? "not a fixed-delivery interrupt" : "not an interrupt to its APIC");
        silence_phys(a, kind, index);
        return;
    }
    int p = eli_assign_vector(&a->guest->eli, (uint8_t)g);
    if (p < 0) {
        log_line("no physical vector free for guest vector 0x%x; the vector stays masked", g);
        silence_phys(a, kind, index);
        return;
    }
    if (p != g && a->phys_vec[index] != p)
        log_line("guest vector 0x%x collides with eli's vectors: carried as physical 0x%x", g, p);
    a->phys_vec[index] = p;
    trap_set_irq_handler((uint8_t)p, on_assigned_irq);
    program_phys(a, kind, index, (uint8_t)p);
}

static uint64_t pba_read(void *ctx, uint64_t offset, unsigned size)
{
    const struct assigned *a = ctx;
    const struct pci_bar *b = &a->bars[a->msix.pba_bir];
    volatile const uint8_t *p = (volatile const uint8_t *)(uintptr_t)(b->base + a->msix.pba_off + offset);
    return size == 8 ? *(volatile const uint64_t *)p : *(volatile const uint32_t *)p;
}

static int ecam_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
    (void)ctx;
    *val = vpci_ecam_read(bus, off, size);
    return 0;
}

static int ecam_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
    (void)ctx;
    vpci_ecam_write(bus, off, size, (uint32_t)val);
    return 0;
}

static void register_ecam(void)
{
    mmio_register(ASSIGN_ECAM_BASE, ASSIGN_ECAM_SIZE, ecam_read, ecam_write, NULL, "ecam");
}

void assign_bus_only(struct guest *g)
{
    (void)g;
    vpci_init(&bus_only, NULL);
    bus = &bus_only;
    register_ecam();
}

void assign_iommu_probe(const struct acpi *acpi, bool unsafe_no_iommu, bool unsafe_dma_offset)
{
    confine.unsafe_allowed = unsafe_no_iommu;
    confine.dma_offset = unsafe_dma_offset;
    confine.acpi = acpi;
    amd_iommu_probe(acpi);
}

/* Before the device is touched: its DMA confined to the guest's RAM, its interrupts to
 * the entries eli writes. Without an IOMMU only unsafe-no-iommu lets it through. */
static int confine_device(struct guest *g, pci_bdf_t bdf, const char *name, char *err,
                          size_t errlen)
{
    if (amd_iommu_present() && confine.dma_offset) {
        fmt_snprintf(err, errlen, "assign=%s: unsafe-dma-offset is for a machine without an "
                     "IOMMU, and this one has one", name);
        return -EINVAL;
    }
    if (!amd_iommu_present()) {
        if (!confine.unsafe_allowed) {
            fmt_snprintf(err, errlen,
                         "assign=%s: no IOMMU to confine its DMA and interrupts "
                         "(option unsafe-no-iommu assigns it anyway)", name);
            return -EPERM;
        }
        log_line("assign=%s: no IOMMU: UNSAFE (unsafe-no-iommu): the guest can program the "
                 "device to DMA anywhere in host memory and to send any interrupt%s", name,
                 amd_iommu_present() ? "" : "; this machine has none: DMA isolation is not enforced");
        confine.assigned = true;
        return 0;
    }
    char why[160];
    int rc = amd_iommu_confine(bdf, g->ram_hpa, g->mem.size, why, sizeof(why));
    if (rc) {
        fmt_snprintf(err, errlen, "assign=%s: %s", name, why);
        return rc;
    }
    confine.iommu = true;
    confine.assigned = true;
    return 0;
}

void assign_run_end(void)
{
    if (!confine.assigned)
        return;
    if (confine.iommu) {
        amd_iommu_drain_events();
        uint64_t n = amd_iommu_events_total();
        log_line("iommu: %llu event(s) in the event log this run%s", (unsigned long long)n,
                 n ? "" : " (QEMU 10.0 logs none for a blocked DMA or interrupt)");
    }
}

static int probe_msix(struct assigned *a, char *err, size_t errlen)
{
    a->msix_cap = pci_find_cap(a->bdf, PCI_CAP_ID_MSIX);
    if (!a->msix_cap)
        return 0;
    if (pci_msix_info(a->bdf, a->msix_cap, &a->msix) ||
        pci_msix_table_pa(a->bars, &a->msix, &a->msix_table_pa)) {
        fmt_snprintf(err, errlen, "the device's MSI-X table is not in a memory BAR");
        return -EINVAL;
    }
    for (unsigned i = 0; i < a->msix.nvec; i++)
        pci_msix_entry_mask(a->msix_table_pa, i, true);
    return 0;
}

/* ---- INTx through the IOAPIC ----
 * The physical IOAPIC (the MADT's that holds the line's GSI, else the PC's at 0xFEC00000)
 * is never mapped into the guest; the guest programs a virtual one (vioapic.c) and
 * eli writes the physical entry of the device's pin from the guest's choice: the physical
 * vector eli's vector map gives the guest's vector, fixed delivery to this CPU, level
 * triggered (PCI INTx is a level, active-low line), the guest's polarity.
 *
 * Completion: the line stays asserted until the guest's handler clears the device's cause,
 * so it must not fire again before the guest's EOI. A level-triggered entry sets Remote IRR
 * when the local APIC accepts the interrupt and the IOAPIC sends nothing more from that pin
 * until the EOI message for its vector clears it (82093AA datasheet 3.2.4); the local APIC
 * broadcasts that EOI for a vector whose TMR bit is set, since eli leaves SVR bit 12
 * (suppress EOI broadcast) clear (SDM vol. 3 10.8.5). In direct mode (eli) the guest's
 * WRMSR 0x80B reaches the physical x2APIC without an exit and the broadcast completes the
 * line. Under injection (baseline, eli-delivery) eli already holds the physical EOI back
 * until the guest's virtual EOI (eli.c: a guest vector backed by a physical one is ended
 * physically when the guest ends it), so the delayed EOI, rather than masking the entry,
 * is what keeps the line from firing again before the guest served it: nothing to add. */

static void vioapic_rte_changed(void *ctx, unsigned pin, union ioapic_rte g)
{
    struct assigned *a = ctx;
    union ioapic_rte p = { .raw = IOAPIC_RTE_MASKED };
    if (pin != a->gsi)
        return;     /* no device of the guest's behind any other pin */
    if (!g.mask) {
        if ((g.delivery_mode != IOAPIC_DELIVERY_FIXED &&
             g.delivery_mode != IOAPIC_DELIVERY_LOWEST) || g.vector < 16) {
            log_line("guest IOAPIC pin %u: entry 0x%llx refused (not a fixed interrupt with a "
                     "vector of 16 or more); the line stays masked", pin,
                     (unsigned long long)g.raw);
        } else {
            int v = eli_assign_vector(&a->guest->eli, (uint8_t)g.vector);
            if (v < 0) {
                log_line("no physical vector free for guest vector 0x%x", (unsigned)g.vector);
            } else {
                trap_set_irq_handler((uint8_t)v, on_assigned_irq);
                p.raw = 0;
                p.vector = (uint8_t)v;
                p.delivery_mode = IOAPIC_DELIVERY_FIXED;
                p.polarity = g.polarity;
                p.trigger_mode = 1;
                p.destination = x2apic_id() & 0xFFu;
            }
        }
    }
    ioapic_write_rte(a->phys_pin, p);
}

static int vioapic_mmio_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
    return vioapic_read(&((struct assigned *)ctx)->vioapic, off, size, val);
}

static int vioapic_mmio_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
    return vioapic_write(&((struct assigned *)ctx)->vioapic, off, size, val);
}

static int probe_intx(struct assigned *a, const char *name, char *err, size_t errlen)
{
    unsigned pin = pci_cfg_read(a->bdf, PCI_INTERRUPT_PIN, 1) & 0xFFu;
    unsigned line = pci_cfg_read(a->bdf, PCI_INTERRUPT_LINE, 1) & 0xFFu;
    uint64_t base = IOAPIC_DEFAULT_BASE;
    uint32_t gsi_base = 0;
    int rc = confine.acpi ? acpi_find_ioapic(confine.acpi, line, &base, &gsi_base) : -ENOENT;
    if (rc == -ENOENT) {
        log_line("assign=%s: no I/O APIC in the MADT for GSI %u: using the PC's at 0x%llx", name,
                 line, (unsigned long long)IOAPIC_DEFAULT_BASE);
    } else if (rc) {
        fmt_snprintf(err, errlen, "assign=%s: the MADT's I/O APIC entries are corrupt (%d)", name,
                     rc);
        return rc;
    }
    ioapic_init(base);
    unsigned pins = ioapic_pins();
    if (!pin || pin > 4 || line - gsi_base >= pins || line >= IOAPIC_PINS) {
        fmt_snprintf(err, errlen, "assign=%s: the device has neither MSI nor MSI-X, and no INTx "
                     "line on an IOAPIC pin (pin %u, line %u, %u pins from GSI %u)", name, pin,
                     line, pins, (unsigned)gsi_base);
        return -EOPNOTSUPP;
    }
    if (x2apic_id() > 0xFFu) {
        fmt_snprintf(err, errlen, "assign=%s: APIC ID %u is out of the IOAPIC's reach", name,
                     x2apic_id());
        return -EOPNOTSUPP;
    }
    a->intx = true;
    a->gsi = line;
    a->phys_pin = line - gsi_base;
    ioapic_write_rte(a->phys_pin, (union ioapic_rte){ .raw = IOAPIC_RTE_MASKED });
    return 0;
}

int assign_device(struct guest *g, pci_bdf_t bdf, char *err, size_t errlen)
{
    struct assigned *a = &dev;
    char name[16];
    pci_bdf_format(bdf, name);
    memset(a, 0, sizeof(*a));
    a->guest = g;
    a->bdf = bdf;
    if ((pci_cfg_read(bdf, PCI_VENDOR_ID, 2) & 0xFFFF) == PCI_VENDOR_NONE) {
        fmt_snprintf(err, errlen, "assign=%s: no PCI function there", name);
        return -ENODEV;
    }
    int rc = confine_device(g, bdf, name, err, errlen);
    if (rc)
        return rc;
    rc = pci_bars_probe(bdf, a->bars);
    if (rc < 0)
        fmt_snprintf(err, errlen, "assign=%s: cannot size its BARs (%d)", name, rc);
    rc = rc < 0 ? rc : 0;
    if (!rc) {
        a->msi_cap = pci_find_cap(bdf, PCI_CAP_ID_MSI);
        if (a->msi_cap)
            pci_msi_enable(bdf, a->msi_cap, false);
        rc = probe_msix(a, err, errlen);
    }
    if (!rc && !a->msi_cap && !a->msix_cap)
        rc = probe_intx(a, name, err, errlen);
    const struct vpci_ops ops = { phys_cfg_read, phys_command, bar_map, irq_enable, msi_update,
                                  pba_read, a };
    if (!rc && (rc = vpci_dev_init(&a->vdev, ASSIGN_GUEST_SLOT, &ops, a->bars)) != 0)
        fmt_snprintf(err, errlen, "assign=%s: cannot virtualize its configuration space (%d)", name, rc);
    if (rc)
        return rc;
    vpci_init(&a->vpci, &a->vdev);
    bus = &a->vpci;
    register_ecam();
    if (a->intx) {
        /* the guest routes the line by the interrupt line register, as firmware set it */
        a->vdev.int_line = (uint8_t)a->gsi;
        vioapic_init(&a->vioapic, vioapic_rte_changed, a);
        rc = mmio_register(IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, vioapic_mmio_read,
                           vioapic_mmio_write, a, "ioapic");
        if (rc) {
            fmt_snprintf(err, errlen, "assign=%s: cannot emulate the guest's IOAPIC (%d)", name, rc);
            return rc;
        }
        log_line("assigned %s (%04x:%04x) to the guest as 00:%02x.0; INTx on IOAPIC pin %u "
                 "(GSI %u; eli owns the IOAPIC; the guest's is virtual at 0x%llx)", name,
                 a->vdev.id & 0xFFFF, a->vdev.id >> 16, ASSIGN_GUEST_SLOT, a->phys_pin, a->gsi,
                 (unsigned long long)IOAPIC_DEFAULT_BASE);
        return 0;
    }
    log_line("assigned %s (%04x:%04x) to the guest as 00:%02x.0; MSI %s, MSI-X %u vector(s)", name,
             a->vdev.id & 0xFFFF, a->vdev.id >> 16, ASSIGN_GUEST_SLOT, a->msi_cap ? "yes" : "no",
             a->msix_cap ? a->msix.nvec : 0);
    return 0;
}

bool assign_owns_port(uint16_t port, unsigned size)
{
    return port >= VPCI_CF8_PORT && port + size <= VPCI_CF8_PORT + VPCI_PORTS;
}

void assign_port_access(uint16_t port, unsigned size, bool in, uint32_t *val)
{
    if (in)
        vpci_port_read(bus, port, size, val);
    else
        vpci_port_write(bus, port, size, *val);
}
