/* The ACPI tables a Linux guest boots with (ACPI 6.4, chapter 5): RSDP, XSDT, a
 * hardware-reduced FADT, an empty DSDT, a MADT with the guest's one local APIC and an
 * MCFG for eli's virtual ECAM window. Pure: written into guest RAM (host-testable). */
#ifndef ELI_DEV_VACPI_H
#define ELI_DEV_VACPI_H
#include "arch/x86/acpi.h"
#include "core/gmem.h"
#include <stdint.h>

/* FADT revision 6 (5.2.9); only the fields eli sets are named. */
struct acpi_fadt {
    struct acpi_header h;
    uint32_t firmware_ctrl;
    uint32_t dsdt;
    uint8_t fields_44_108[65];
    uint16_t iapc_boot_arch;    /* offset 109 */
    uint8_t reserved_111;
    uint32_t flags;             /* offset 112 */
    uint8_t reset_reg[12];
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_version;      /* offset 131 */
    uint64_t x_firmware_ctrl;
    uint64_t x_dsdt;            /* offset 140 */
    uint8_t fields_148_267[120];
    uint64_t hypervisor_vendor_identity; /* offset 268 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 length");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH");
#define FADT_HW_REDUCED_ACPI (1u << 20)

/* The guest's MADT: one local APIC; flags 0 (no PCAT_COMPAT: no 8259s here). */
struct vacpi_madt {
    struct acpi_madt m;
    struct acpi_madt_lapic lapic;
} __attribute__((packed));
_Static_assert(sizeof(struct vacpi_madt) == 52, "the guest's MADT");

struct acpi_mcfg_one {
    struct acpi_mcfg mcfg;
    struct acpi_mcfg_alloc alloc;
} __attribute__((packed));

/* Bytes vacpi_build needs. */
#define VACPI_BYTES 1024

/* Writes the tables at gpa (16-byte aligned, VACPI_BYTES free). Returns the RSDP's
 * gpa, or 0 when they do not fit in g. */
uint64_t vacpi_build(const struct gmem *g, uint64_t gpa, uint64_t ecam_base, uint64_t ecam_size);

#endif
