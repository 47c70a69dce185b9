#include "arch/x86/acpi.h"
#include "core/errno.h"
#include <string.h>
#include <stdbool.h>

uint8_t acpi_checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + b[i]);
    return sum;
}

/* The RSDP at pa if it is one: the signature, the ACPI 1.0 checksum over its
 * first 20 bytes and, from revision 2 on, the extended checksum over `length`
 * bytes (ACPI 6.5, 5.2.5.3). */
static const struct acpi_rsdp *rsdp_at(phys_reader_fn rd, void *ctx, uint64_t pa)
{
    const struct acpi_rsdp *r = rd(ctx, pa, ACPI_RSDP_V1_LEN);
    if (!r || memcmp(r->signature, "RSD PTR ", 8) || acpi_checksum(r, ACPI_RSDP_V1_LEN))
        return NULL;
    if (r->revision < 2)
        return r;
    r = rd(ctx, pa, sizeof(*r));
    if (!r || r->length < sizeof(*r) || r->length > ACPI_TABLE_MAX_LEN)
        return NULL;
    const void *all = rd(ctx, pa, r->length);
    return all && !acpi_checksum(all, r->length) ? r : NULL;
}

static int scan_rsdp(phys_reader_fn rd, void *ctx, uint64_t start, uint64_t end, uint64_t *pa)
{
    for (uint64_t p = start; p + ACPI_RSDP_V1_LEN <= end; p += ACPI_RSDP_ALIGN) {
        if (rsdp_at(rd, ctx, p)) {
            *pa = p;
            return 0;
        }
    }
    return -ENOENT;
}

/* The EBDA's address, from the real-mode segment the BIOS stores at 40:0Eh, or 0 */
static uint64_t ebda_base(phys_reader_fn rd, void *ctx)
{
    const uint8_t *seg = rd(ctx, ACPI_BDA_EBDA_SEGMENT, 2);
    if (!seg)
        return 0;
    uint64_t base = (uint64_t)(seg[0] | seg[1] << 8) << 4;
    return base < ACPI_BIOS_AREA_END ? base : 0;
}

/* A table header at pa whose whole `length` bytes are readable, or NULL. */
static const struct acpi_header *table_at(const struct acpi *a, uint64_t pa)
{
    const struct acpi_header *h = a->rd(a->ctx, pa, sizeof(*h));
    if (!h || h->length < sizeof(*h) || h->length > ACPI_TABLE_MAX_LEN)
        return NULL;
    return a->rd(a->ctx, pa, h->length);
}

static const struct acpi_header *valid_table_at(const struct acpi *a, uint64_t pa, const char *sig)
{
    const struct acpi_header *h = table_at(a, pa);
    if (!h || memcmp(h->signature, sig, 4) || acpi_checksum(h, h->length))
        return NULL;
    return h;
}

/* ACPI 6.5, 5.2.5.3: an OS uses the XSDT when the RSDP (revision >= 2) gives one.
 * A corrupt XSDT falls back to the RSDT rather than leaving eli without tables. */
static int open_root(struct acpi *a, const struct acpi_rsdp *r)
{
    const struct acpi_header *root = NULL;
    if (r->revision >= 2 && r->xsdt_address) {
        root = valid_table_at(a, r->xsdt_address, "XSDT");
        a->root_pa = r->xsdt_address;
        a->entry_size = 8;
    }
    if (!root && r->rsdt_address) {
        root = valid_table_at(a, r->rsdt_address, "RSDT");
        a->root_pa = r->rsdt_address;
        a->entry_size = 4;
    }
    if (!root)
        return -EINVAL;
    a->nentries = (root->length - sizeof(*root)) / a->entry_size;
    return 0;
}

static void acpi_reset(struct acpi *a, phys_reader_fn rd, void *ctx)
{
    memset(a, 0, sizeof(*a));
    a->rd = rd;
    a->ctx = ctx;
}

int acpi_init_at(struct acpi *a, phys_reader_fn rd, void *ctx, uint64_t rsdp_pa)
{
    acpi_reset(a, rd, ctx);
    const struct acpi_rsdp *r = rsdp_at(rd, ctx, rsdp_pa);
    if (!r)
        return -EINVAL;
    a->rsdp_pa = rsdp_pa;
    a->revision = r->revision;
    return open_root(a, r);
}

int acpi_init(struct acpi *a, phys_reader_fn rd, void *ctx)
{
    uint64_t ebda = ebda_base(rd, ctx), pa;
    int rc = -ENOENT;
    if (ebda)
        rc = scan_rsdp(rd, ctx, ebda, ebda + ACPI_EBDA_SEARCH_LEN, &pa);
    if (rc)
        rc = scan_rsdp(rd, ctx, ACPI_BIOS_AREA_START, ACPI_BIOS_AREA_END, &pa);
    if (rc) {
        acpi_reset(a, rd, ctx);
        return rc;
    }
    return acpi_init_at(a, rd, ctx, pa);
}

/* Root-table entries are 4 or 8 bytes at offset 36, so XSDT entries are only
 * 4-byte aligned: read them bytewise. */
static uint64_t root_entry(const struct acpi *a, const struct acpi_header *root, unsigned i)
{
    const uint8_t *e = (const uint8_t *)(root + 1) + (size_t)i * a->entry_size;
    uint64_t v = 0;
    for (unsigned b = 0; b < a->entry_size; b++)
        v |= (uint64_t)e[b] << (8 * b);
    return v;
}

int acpi_find_table(const struct acpi *a, const char *sig, unsigned index,
                    const struct acpi_header **table, uint64_t *pa)
{
    const struct acpi_header *root = a->root_pa ? table_at(a, a->root_pa) : NULL;
    if (!root)
        return -ENOENT;
    for (unsigned i = 0; i < a->nentries; i++) {
        uint64_t tpa = root_entry(a, root, i);
        const struct acpi_header *h = tpa ? a->rd(a->ctx, tpa, sizeof(*h)) : NULL;
        if (!h || memcmp(h->signature, sig, 4))
            continue;
        /* matches are counted even when corrupt, so an index always names the same table */
        if (index--)
            continue;
        h = valid_table_at(a, tpa, sig);
        if (!h)
            return -EINVAL;
        *table = h;
        if (pa)
            *pa = tpa;
        return 0;
    }
    return -ENOENT;
}

int acpi_parse_mcfg(const struct acpi *a, struct mcfg_entry *out, size_t max, size_t *n)
{
    const struct acpi_header *h;
    *n = 0;
    int rc = acpi_find_table(a, "MCFG", 0, &h, NULL);
    if (rc)
        return rc;
    if (h->length < sizeof(struct acpi_mcfg))
        return -EINVAL;
    size_t count = (h->length - sizeof(struct acpi_mcfg)) / sizeof(struct acpi_mcfg_alloc);
    if (count > max)
        return -E2BIG;
    const struct acpi_mcfg_alloc *e =
        (const struct acpi_mcfg_alloc *)((const uint8_t *)h + sizeof(struct acpi_mcfg));
    for (size_t i = 0; i < count; i++) {
        /* each bus has 1 MiB of ECAM (PCIe base 6.0, 7.2.2), so the base is MiB-aligned */
        if (e[i].start_bus > e[i].end_bus || (e[i].base & 0xFFFFFu))
            return -EINVAL;
        out[i] = (struct mcfg_entry){ e[i].base, e[i].segment, e[i].start_bus, e[i].end_bus };
    }
    *n = count;
    return 0;
}

int acpi_find_ioapic(const struct acpi *a, uint32_t gsi, uint64_t *address, uint32_t *gsi_base)
{
    const struct acpi_header *h;
    int rc = acpi_find_table(a, "APIC", 0, &h, NULL);
    if (rc)
        return rc;
    if (h->length < sizeof(struct acpi_madt))
        return -EINVAL;
    const uint8_t *p = (const uint8_t *)h + sizeof(struct acpi_madt);
    const uint8_t *end = (const uint8_t *)h + h->length;
    bool found = false;
    for (; p < end; p += p[1]) {
        /* every entry starts with its type and length; a length under 2 would never end */
        if (end - p < 2 || p[1] < 2 || p[1] > end - p)
            return -EINVAL;
        if (p[0] != ACPI_MADT_IOAPIC)
            continue;
        if (p[1] < sizeof(struct acpi_madt_ioapic))
            return -EINVAL;
        struct acpi_madt_ioapic e;
        memcpy(&e, p, sizeof(e));
        if (e.gsi_base > gsi || (found && e.gsi_base <= *gsi_base))
            continue;
        *address = e.address;
        *gsi_base = e.gsi_base;
        found = true;
    }
    return found ? 0 : -ENOENT;
}
