/* The few ACPI tables eli reads: the RSDP, the XSDT or RSDT, and MCFG (where PCI
 * Express's memory-mapped configuration space lies). Section numbers are those of
 * ACPI 6.5 and of the PCI Firmware Specification 3.0. Pure: physical memory is
 * read through a callback (host-testable). */
#ifndef ELI_ARCH_X86_ACPI_H
#define ELI_ARCH_X86_ACPI_H
#include "core/bootinfo.h"
#include <stddef.h>
#include <stdint.h>

/* Root System Description Pointer (ACPI 6.5, 5.2.5.3). Revision 0 (ACPI 1.0)
 * ends after rsdt_address; revision 2 and later add the rest. */
struct acpi_rsdp {
    char signature[8];     /* "RSD PTR " */
    uint8_t checksum;      /* the first 20 bytes sum to 0 */
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    uint32_t length;       /* of the whole structure (revision >= 2) */
    uint64_t xsdt_address;
    uint8_t ext_checksum;  /* all `length` bytes sum to 0 */
    uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(offsetof(struct acpi_rsdp, length) == 20, "RSDP 1.0 part is 20 bytes");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == 24, "RSDP xsdt_address");

#define ACPI_RSDP_V1_LEN 20u

/* System Description Table Header (ACPI 6.5, 5.2.6): starts every table. */
struct acpi_header {
    char signature[4];
    uint32_t length;       /* of the whole table, header included */
    uint8_t revision;
    uint8_t checksum;      /* all `length` bytes sum to 0 */
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");
_Static_assert(offsetof(struct acpi_header, checksum) == 9, "ACPI header checksum");

/* MCFG (PCI Firmware Specification 3.0, 4.1.2, table 4-2): the header, 8 reserved
 * bytes, then one allocation (table 4-3) per range of buses with ECAM. */
struct acpi_mcfg {
    struct acpi_header header;
    uint8_t reserved[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG fixed part");

struct acpi_mcfg_alloc {
    uint64_t base;         /* ECAM address of bus 0 of the segment, even if start_bus > 0 */
    uint16_t segment;
    uint8_t start_bus, end_bus;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg_alloc) == 16, "MCFG allocation");
_Static_assert(offsetof(struct acpi_mcfg_alloc, start_bus) == 10, "MCFG start bus");

/* MADT ("APIC"): the fixed part, then entries of {type, length, ...} (ACPI 6.5, 5.2.12) */
struct acpi_madt {
    struct acpi_header h;
    uint32_t lapic_address;
    uint32_t flags;             /* bit 0 PCAT_COMPAT: 8259s present too */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT fixed part");

#define ACPI_MADT_LAPIC 0u
/* Processor local APIC structure (ACPI 6.5, 5.2.12.2) */
struct acpi_madt_lapic {
    uint8_t type, length;       /* 0, 8 */
    uint8_t processor_uid, apic_id;
    uint32_t flags;             /* bit 0: enabled */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT processor local APIC");

#define ACPI_MADT_IOAPIC 1u
/* I/O APIC structure (ACPI 6.5, 5.2.12.3) */
struct acpi_madt_ioapic {
    uint8_t type, length;
    uint8_t ioapic_id;
    uint8_t reserved;
    uint32_t address;
    uint32_t gsi_base;     /* the GSI of its pin 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT I/O APIC entry");
_Static_assert(offsetof(struct acpi_madt_ioapic, gsi_base) == 8, "MADT I/O APIC GSI base");

/* Where the RSDP is searched on a PC (ACPI 6.5, 5.2.5.1) */
#define ACPI_BDA_EBDA_SEGMENT 0x40Eu  /* 16-bit real-mode segment of the EBDA */
#define ACPI_EBDA_SEARCH_LEN 1024u
#define ACPI_BIOS_AREA_START 0xE0000u
#define ACPI_BIOS_AREA_END 0x100000u
#define ACPI_RSDP_ALIGN 16u

/* A table longer than this is taken for garbage (the largest, the DSDT, is far smaller) */
#define ACPI_TABLE_MAX_LEN (16u << 20)

/* The root table eli found, and how to read memory. */
struct acpi {
    phys_reader_fn rd;
    void *ctx;
    uint64_t rsdp_pa;
    uint64_t root_pa;      /* the XSDT (revision >= 2 with a valid one), else the RSDT */
    unsigned entry_size;   /* 8 (XSDT) or 4 (RSDT) */
    unsigned nentries;
    uint8_t revision;      /* the RSDP's */
};

/* One ECAM range, from MCFG. */
struct mcfg_entry {
    uint64_t base;         /* the address of bus 0's configuration space */
    uint16_t segment;
    uint8_t start_bus, end_bus;
};

/* Searches the RSDP where a PC BIOS puts it (the first KiB of the EBDA, then
 * 0xE0000-0xFFFFF, on 16-byte boundaries) and opens its root table. Returns 0,
 * -ENOENT (no valid RSDP) or -EINVAL (the root table is unreadable or corrupt). */
int acpi_init(struct acpi *a, phys_reader_fn rd, void *ctx);
/* The same with an RSDP whose address is known (a boot loader may pass it);
 * -EINVAL when there is no valid RSDP at rsdp_pa. */
int acpi_init_at(struct acpi *a, phys_reader_fn rd, void *ctx, uint64_t rsdp_pa);

/* The index-th table (0-based, in root-table order) whose signature is `sig`
 * (4 characters). On success *table points at its `length` readable bytes and
 * *pa (if pa is not NULL) is its physical address. Returns 0, -ENOENT, or
 * -EINVAL when that table is unreadable, too short, or its checksum is wrong. */
int acpi_find_table(const struct acpi *a, const char *sig, unsigned index,
                    const struct acpi_header **table, uint64_t *pa);

/* The ECAM ranges MCFG lists, at most `max` of them into out[]; *n is the count.
 * Returns 0, -ENOENT (no MCFG), -EINVAL (corrupt table or entry) or -E2BIG. */
int acpi_parse_mcfg(const struct acpi *a, struct mcfg_entry *out, size_t max, size_t *n);

/* The I/O APIC MADT lists with the highest GSI base not above `gsi`, the one whose pins
 * should hold it: its address and GSI base. Returns 0, -ENOENT (no MADT, or no I/O APIC
 * at or below gsi) or -EINVAL (corrupt table or entry). */
int acpi_find_ioapic(const struct acpi *a, uint32_t gsi, uint64_t *address, uint32_t *gsi_base);

/* 0 when the `len` bytes at p sum to 0 modulo 256, as ACPI checksums require. */
uint8_t acpi_checksum(const void *p, size_t len);

#endif
