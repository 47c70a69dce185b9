#include "dev/vacpi.h"
#include <string.h>

#define LAPIC_ADDRESS 0xFEE00000u

static uint8_t sum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (len--)
        s = (uint8_t)(s + *b++);
    return s;
}

static void header(struct acpi_header *h, const char sig[4], uint32_t len, uint8_t rev)
{
    memcpy(h->signature, sig, 4);
    h->length = len;
    h->revision = rev;
    memcpy(h->oem_id, "ELI   ", 6);
    memcpy(h->oem_table_id, "ELIGUEST", 8);
    h->oem_revision = 1;
    memcpy(&h->creator_id, "ELI ", 4);
    h->creator_revision = 1;
}

/* Copies a finished table into guest RAM, with its checksum. */
static void put(const struct gmem *g, uint64_t gpa, void *table)
{
    struct acpi_header *h = table;
    h->checksum = (uint8_t)(0 - sum(table, h->length));
    memcpy(gmem_ptr(g, gpa, h->length), table, h->length);
}

/* The DSDT's one device, the UART (no PCI host bridge: Linux scans PCI itself with
 * pci=noacpi). Its resources name the ports and no interrupt, so that Linux's 8250 driver
 * takes it with IRQ 0 and polls it (the legacy port's hard-coded IRQ 4 does not exist on
 * a hardware-reduced platform with no IOAPIC, and the tty then fails every write):
 *   Scope (\_SB) { Device (COM1) { Name (_HID, EisaId ("PNP0501")) Name (_UID, One)
 *     Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 1, 8) }) } }
 * in AML (ACPI 6.4, 20.2): each PkgLength counts itself and what follows. */
static const uint8_t dsdt_aml[] = {
    0x10, 0x30, '\\', '_', 'S', 'B', '_',              /* Scope (\_SB), 48 bytes */
    0x5B, 0x82, 0x28, 'C', 'O', 'M', '1',                /* Device (COM1), 40 bytes */
    0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x05, 0x01, /* _HID: EISA ID PNP0501 */
    0x08, '_', 'U', 'I', 'D', 0x01,                      /* _UID: One */
    0x08, '_', 'C', 'R', 'S', 0x11, 0x0D, 0x0A, 0x0A,    /* _CRS: Buffer (10) */
    0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,      /* IO (Decode16, 0x3F8, 0x3F8, 1, 8) */
    0x79, 0x00,                                          /* End tag */
};

uint64_t vacpi_build(const struct gmem *g, uint64_t gpa, uint64_t ecam_base, uint64_t ecam_size)
{
    if (!gmem_ptr(g, gpa, VACPI_BYTES) || gpa & 15)
        return 0;
    uint64_t rsdp_at = gpa, xsdt_at = gpa + 64, fadt_at = gpa + 128, dsdt_at = gpa + 448,
             madt_at = gpa + 576, mcfg_at = gpa + 640;

    struct {
        struct acpi_header h;
        uint8_t aml[sizeof(dsdt_aml)];
    } __attribute__((packed)) dsdt;
    memset(&dsdt, 0, sizeof(dsdt));
    header(&dsdt.h, "DSDT", sizeof(dsdt), 2);
    memcpy(dsdt.aml, dsdt_aml, sizeof(dsdt_aml));
    put(g, dsdt_at, &dsdt);

    /* hardware-reduced (no PM timer, no SCI, no legacy ports in ACPI's name); no
     * IAPC_BOOT_ARCH bit, so MSI is not said to be absent */
    struct acpi_fadt fadt = { 0 };
    header(&fadt.h, "FACP", sizeof(fadt), 6);
    fadt.flags = FADT_HW_REDUCED_ACPI;
    fadt.minor_version = 4;
    fadt.x_dsdt = dsdt_at;
    memcpy(&fadt.hypervisor_vendor_identity, "eli\0\0\0\0\0", 8);
    put(g, fadt_at, &fadt);

    struct vacpi_madt madt = { 0 };
    header(&madt.m.h, "APIC", sizeof(madt), 5);
    madt.m.lapic_address = LAPIC_ADDRESS;
    madt.lapic = (struct acpi_madt_lapic){ ACPI_MADT_LAPIC, sizeof(madt.lapic), 0, 0, 1 };
    put(g, madt_at, &madt);

    struct acpi_mcfg_one mcfg = { 0 };
    header(&mcfg.mcfg.header, "MCFG", sizeof(mcfg), 1);
    mcfg.alloc = (struct acpi_mcfg_alloc){ ecam_base, 0, 0, (uint8_t)((ecam_size >> 20) - 1), 0 };
    put(g, mcfg_at, &mcfg);

    struct {
        struct acpi_header h;
        uint64_t entry[3];
    } __attribute__((packed)) xsdt = { .entry = { fadt_at, madt_at, mcfg_at } };
    header(&xsdt.h, "XSDT", sizeof(xsdt), 1);
    put(g, xsdt_at, &xsdt);

    struct acpi_rsdp rsdp = { .revision = 2, .length = sizeof(rsdp), .xsdt_address = xsdt_at };
    memcpy(rsdp.signature, "RSD PTR ", 8);
    memcpy(rsdp.oem_id, "ELI   ", 6);
    rsdp.checksum = (uint8_t)(0 - sum(&rsdp, 20));
    rsdp.ext_checksum = (uint8_t)(0 - sum(&rsdp, sizeof(rsdp)));
    memcpy(gmem_ptr(g, rsdp_at, sizeof(rsdp)), &rsdp, sizeof(rsdp));
    return rsdp_at;
}
