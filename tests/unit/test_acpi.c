/* Host unit tests of hv/arch/x86/acpi.c: finding the RSDP, walking the RSDT or
 * XSDT, and parsing MCFG and the MADT's I/O APICs, over a fake physical memory: the first MiB (BIOS data
 * area, EBDA, BIOS area, tables) and a window above 4 GiB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "core/errno.h"

#define LOW_SIZE 0x100000ull
#define HIGH_BASE 0x100000000ull
#define HIGH_SIZE 0x10000ull

static uint8_t *low, *high;

static const void *reader(void *ctx, uint64_t pa, uint64_t len)
{
    assert_ptr_equal(ctx, &low);
    if (pa < LOW_SIZE && len <= LOW_SIZE - pa)
        return low + pa;
    if (pa >= HIGH_BASE && pa - HIGH_BASE < HIGH_SIZE && len <= HIGH_SIZE - (pa - HIGH_BASE))
        return high + (pa - HIGH_BASE);
    return NULL;
}

static uint8_t *at(uint64_t pa)
{
    return pa >= HIGH_BASE ? high + (pa - HIGH_BASE) : low + pa;
}

/* where the fake firmware puts things */
#define EBDA_SEG 0x9FC0u
#define EBDA_PA 0x9FC00ull
#define RSDP_PA 0xF5A10ull
#define RSDT_PA 0x80000ull
#define XSDT_PA (HIGH_BASE + 0x1000)
#define TABLES_PA 0x81000ull

static void set_ebda(uint16_t seg)
{
    low[ACPI_BDA_EBDA_SEGMENT] = (uint8_t)seg;
    low[ACPI_BDA_EBDA_SEGMENT + 1] = (uint8_t)(seg >> 8);
}

static void fix_checksum(uint8_t *p, size_t len, size_t at_off)
{
    p[at_off] = 0;
    p[at_off] = (uint8_t)(0x100 - acpi_checksum(p, len));
}

static void put_rsdp(uint64_t pa, uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
    struct acpi_rsdp r;
    memset(&r, 0, sizeof(r));
    memcpy(r.signature, "RSD PTR ", 8);
    memcpy(r.oem_id, "ELITST", 6);
    r.revision = revision;
    r.rsdt_address = rsdt;
    r.length = sizeof(r);
    r.xsdt_address = xsdt;
    fix_checksum((uint8_t *)&r, ACPI_RSDP_V1_LEN, offsetof(struct acpi_rsdp, checksum));
    fix_checksum((uint8_t *)&r, sizeof(r), offsetof(struct acpi_rsdp, ext_checksum));
    memcpy(at(pa), &r, revision >= 2 ? sizeof(r) : ACPI_RSDP_V1_LEN);
}

/* A table: header with `sig`, then `body`, checksum fixed. */
static void put_table(uint64_t pa, const char *sig, const void *body, size_t body_len)
{
    struct acpi_header h;
    memset(&h, 0, sizeof(h));
    memcpy(h.signature, sig, 4);
    h.length = (uint32_t)(sizeof(h) + body_len);
    h.revision = 1;
    memcpy(h.oem_id, "ELITST", 6);
    uint8_t *p = at(pa);
    memcpy(p, &h, sizeof(h));
    memcpy(p + sizeof(h), body, body_len);
    fix_checksum(p, h.length, offsetof(struct acpi_header, checksum));
}

static void put_rsdt(uint64_t pa, const uint32_t *entries, size_t n)
{
    put_table(pa, "RSDT", entries, n * 4);
}

/* XSDT entries are 8 bytes at offset 36: only 4-byte aligned */
static void put_xsdt(uint64_t pa, const uint64_t *entries, size_t n)
{
    uint8_t body[8 * 16];
    memcpy(body, entries, n * 8);
    put_table(pa, "XSDT", body, n * 8);
}

static void put_mcfg(uint64_t pa, const struct acpi_mcfg_alloc *allocs, size_t n)
{
    uint8_t body[8 + 16 * 8];
    memset(body, 0, 8);
    memcpy(body + 8, allocs, n * sizeof(*allocs));
    put_table(pa, "MCFG", body, 8 + n * sizeof(*allocs));
}

static const struct acpi_mcfg_alloc q35_alloc = { 0xB0000000ull, 0, 0, 255, 0 };

/* The usual QEMU layout: RSDP (ACPI 1.0) in the BIOS area, RSDT with FACP and MCFG */
static int setup(void **state)
{
    (void)state;
    low = calloc(1, LOW_SIZE);
    high = calloc(1, HIGH_SIZE);
    assert_non_null(low);
    assert_non_null(high);
    set_ebda(EBDA_SEG);
    uint8_t facp_body[64] = { 0 };
    put_table(TABLES_PA, "FACP", facp_body, sizeof(facp_body));
    put_mcfg(TABLES_PA + 0x100, &q35_alloc, 1);
    uint32_t entries[] = { TABLES_PA, TABLES_PA + 0x100 };
    put_rsdt(RSDT_PA, entries, 2);
    put_rsdp(RSDP_PA, 0, RSDT_PA, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(low);
    free(high);
    return 0;
}

static void test_checksum(void **state)
{
    (void)state;
    uint8_t b[4] = { 0x10, 0xF0, 0x01, 0xFF };
    assert_int_equal(acpi_checksum(b, 4), 0);
    b[0]++;
    assert_int_equal(acpi_checksum(b, 4), 1);
    assert_int_equal(acpi_checksum(b, 0), 0);
}

static void test_rsdp_in_bios_area_uses_rsdt(void **state)
{
    (void)state;
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(a.rsdp_pa, RSDP_PA);
    assert_int_equal(a.revision, 0);
    assert_int_equal(a.root_pa, RSDT_PA);
    assert_int_equal(a.entry_size, 4);
    assert_int_equal(a.nentries, 2);
}

static void test_rsdp_in_ebda_comes_first(void **state)
{
    (void)state;
    put_rsdp(EBDA_PA + 0x20, 0, RSDT_PA, 0);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(a.rsdp_pa, EBDA_PA + 0x20);
}

/* Only the EBDA's first KiB is searched (ACPI 6.5, 5.2.5.1) */
static void test_rsdp_past_ebda_first_kib_not_found(void **state)
{
    (void)state;
    memset(at(RSDP_PA), 0, 8);
    put_rsdp(EBDA_PA + ACPI_EBDA_SEARCH_LEN, 0, RSDT_PA, 0);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), -ENOENT);
}

static void test_rsdp_without_ebda_pointer(void **state)
{
    (void)state;
    set_ebda(0);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(a.rsdp_pa, RSDP_PA);
}

static void test_rsdp_must_be_16_byte_aligned(void **state)
{
    (void)state;
    memset(at(RSDP_PA), 0, 8);
    put_rsdp(0xE0008, 0, RSDT_PA, 0);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), -ENOENT);
}

static void test_rsdp_bad_checksum_skipped(void **state)
{
    (void)state;
    put_rsdp(0xE0000, 0, RSDT_PA, 0);
    at(0xE0000)[offsetof(struct acpi_rsdp, checksum)] ^= 1;
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(a.rsdp_pa, RSDP_PA);
    /* and without the good one, nothing is found */
    memset(at(RSDP_PA), 0, 8);
    assert_int_equal(acpi_init(&a, reader, &low), -ENOENT);
}

static void test_rsdp_v2_bad_extended_checksum(void **state)
{
    (void)state;
    memset(at(RSDP_PA), 0, 8);
    put_rsdp(0xE0040, 2, RSDT_PA, XSDT_PA);
    at(0xE0040)[offsetof(struct acpi_rsdp, ext_checksum)] ^= 0x40;
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), -ENOENT);
}

static void test_v2_prefers_xsdt_above_4g(void **state)
{
    (void)state;
    uint8_t body[16] = { 0 };
    put_table(HIGH_BASE + 0x3000, "SSDT", body, sizeof(body));
    put_mcfg(HIGH_BASE + 0x2000, &q35_alloc, 1);
    uint64_t entries[] = { HIGH_BASE + 0x3000, HIGH_BASE + 0x2000 };
    put_xsdt(XSDT_PA, entries, 2);
    put_rsdp(RSDP_PA, 2, RSDT_PA, XSDT_PA);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(a.revision, 2);
    assert_int_equal(a.root_pa, XSDT_PA);
    assert_int_equal(a.entry_size, 8);
    assert_int_equal(a.nentries, 2);
    const struct acpi_header *t;
    uint64_t pa;
    assert_int_equal(acpi_find_table(&a, "MCFG", 0, &t, &pa), 0);
    assert_int_equal(pa, HIGH_BASE + 0x2000);
    assert_ptr_equal(t, at(HIGH_BASE + 0x2000));
    /* FACP is only in the RSDT, which an XSDT replaces */
    assert_int_equal(acpi_find_table(&a, "FACP", 0, &t, &pa), -ENOENT);
}

static void test_corrupt_xsdt_falls_back_to_rsdt(void **state)
{
    (void)state;
    uint64_t entries[] = { TABLES_PA };
    put_xsdt(XSDT_PA, entries, 1);
    at(XSDT_PA)[40] ^= 0xFF;
    put_rsdp(RSDP_PA, 2, RSDT_PA, XSDT_PA);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(a.root_pa, RSDT_PA);
    assert_int_equal(a.entry_size, 4);
}

static void test_corrupt_root_table(void **state)
{
    (void)state;
    at(RSDT_PA)[36] ^= 1;
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), -EINVAL);
    /* an RSDT address that is not readable memory */
    put_rsdp(RSDP_PA, 0, 0xFFF00000u, 0);
    assert_int_equal(acpi_init(&a, reader, &low), -EINVAL);
}

static void test_init_at_given_address(void **state)
{
    (void)state;
    struct acpi a;
    assert_int_equal(acpi_init_at(&a, reader, &low, RSDP_PA), 0);
    assert_int_equal(a.root_pa, RSDT_PA);
    assert_int_equal(acpi_init_at(&a, reader, &low, RSDP_PA + 16), -EINVAL);
}

static void test_find_table_by_index(void **state)
{
    (void)state;
    uint8_t a_body[8] = { 'a' }, b_body[12] = { 'b' };
    put_table(TABLES_PA + 0x200, "SSDT", a_body, sizeof(a_body));
    put_table(TABLES_PA + 0x300, "SSDT", b_body, sizeof(b_body));
    uint32_t entries[] = { TABLES_PA + 0x200, TABLES_PA, TABLES_PA + 0x300 };
    put_rsdt(RSDT_PA, entries, 3);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    const struct acpi_header *t;
    uint64_t pa;
    assert_int_equal(acpi_find_table(&a, "SSDT", 0, &t, &pa), 0);
    assert_int_equal(pa, TABLES_PA + 0x200);
    assert_int_equal(t->length, 36 + 8);
    assert_int_equal(acpi_find_table(&a, "SSDT", 1, &t, NULL), 0);
    assert_int_equal(t->length, 36 + 12);
    assert_int_equal(((const uint8_t *)t)[36], 'b');
    assert_int_equal(acpi_find_table(&a, "SSDT", 2, &t, &pa), -ENOENT);
    assert_int_equal(acpi_find_table(&a, "FACP", 0, &t, &pa), 0);
    assert_int_equal(pa, TABLES_PA);
    assert_int_equal(acpi_find_table(&a, "APIC", 0, &t, &pa), -ENOENT);
}

static void test_find_table_bad_checksum(void **state)
{
    (void)state;
    uint8_t body[8] = { 0 };
    put_table(TABLES_PA + 0x200, "SSDT", body, sizeof(body));
    put_table(TABLES_PA + 0x300, "SSDT", body, sizeof(body));
    at(TABLES_PA + 0x200)[40] = 0x55;
    uint32_t entries[] = { TABLES_PA + 0x200, TABLES_PA + 0x300 };
    put_rsdt(RSDT_PA, entries, 2);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    const struct acpi_header *t = NULL;
    assert_int_equal(acpi_find_table(&a, "SSDT", 0, &t, NULL), -EINVAL);
    assert_null(t);
    /* the corrupt one keeps its index: the good one is still number 1 */
    assert_int_equal(acpi_find_table(&a, "SSDT", 1, &t, NULL), 0);
    assert_ptr_equal(t, at(TABLES_PA + 0x300));
}

static void test_find_table_bad_length_or_unreadable(void **state)
{
    (void)state;
    uint8_t body[8] = { 0 };
    put_table(TABLES_PA + 0x200, "SSDT", body, sizeof(body));
    /* a length shorter than the header itself */
    memcpy(at(TABLES_PA + 0x200) + 4, &(uint32_t){ 20 }, 4);
    uint32_t entries[] = { 0xFFFFF000u, 0, TABLES_PA + 0x200, TABLES_PA };
    put_rsdt(RSDT_PA, entries, 4);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    const struct acpi_header *t;
    assert_int_equal(acpi_find_table(&a, "SSDT", 0, &t, NULL), -EINVAL);
    /* unreadable and null entries are passed over */
    uint64_t pa;
    assert_int_equal(acpi_find_table(&a, "FACP", 0, &t, &pa), 0);
    assert_int_equal(pa, TABLES_PA);
}

static void test_mcfg_q35(void **state)
{
    (void)state;
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    struct mcfg_entry e[4];
    size_t n = 99;
    assert_int_equal(acpi_parse_mcfg(&a, e, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].base, 0xB0000000ull);
    assert_int_equal(e[0].segment, 0);
    assert_int_equal(e[0].start_bus, 0);
    assert_int_equal(e[0].end_bus, 255);
}

static void test_mcfg_several_entries(void **state)
{
    (void)state;
    struct acpi_mcfg_alloc allocs[] = {
        { 0xE0000000ull, 0, 0, 63, 0 },
        { 0x4000000000ull, 1, 0x10, 0x1F, 0 },
    };
    put_mcfg(TABLES_PA + 0x100, allocs, 2);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    struct mcfg_entry e[2];
    size_t n;
    assert_int_equal(acpi_parse_mcfg(&a, e, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].base, 0xE0000000ull);
    assert_int_equal(e[0].end_bus, 63);
    assert_int_equal(e[1].base, 0x4000000000ull);
    assert_int_equal(e[1].segment, 1);
    assert_int_equal(e[1].start_bus, 0x10);
    assert_int_equal(e[1].end_bus, 0x1F);
    assert_int_equal(acpi_parse_mcfg(&a, e, 1, &n), -E2BIG);
    assert_int_equal(n, 0);
}

static void test_mcfg_bad_entries(void **state)
{
    (void)state;
    struct acpi a;
    struct mcfg_entry e[2];
    size_t n;
    struct acpi_mcfg_alloc backwards = { 0xB0000000ull, 0, 9, 8, 0 };
    put_mcfg(TABLES_PA + 0x100, &backwards, 1);
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(acpi_parse_mcfg(&a, e, 2, &n), -EINVAL);
    struct acpi_mcfg_alloc unaligned = { 0xB0000800ull, 0, 0, 255, 0 };
    put_mcfg(TABLES_PA + 0x100, &unaligned, 1);
    assert_int_equal(acpi_parse_mcfg(&a, e, 2, &n), -EINVAL);
    /* shorter than MCFG's fixed part */
    put_table(TABLES_PA + 0x100, "MCFG", "1234", 4);
    assert_int_equal(acpi_parse_mcfg(&a, e, 2, &n), -EINVAL);
}

static void test_mcfg_bad_checksum(void **state)
{
    (void)state;
    at(TABLES_PA + 0x100)[36] ^= 0x10;   /* a reserved byte: only the checksum tells */
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    struct mcfg_entry e[2];
    size_t n;
    assert_int_equal(acpi_parse_mcfg(&a, e, 2, &n), -EINVAL);
}

static void test_mcfg_absent(void **state)
{
    (void)state;
    uint32_t entries[] = { TABLES_PA };
    put_rsdt(RSDT_PA, entries, 1);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    struct mcfg_entry e[2];
    size_t n = 7;
    assert_int_equal(acpi_parse_mcfg(&a, e, 2, &n), -ENOENT);
    assert_int_equal(n, 0);
}

/* A MADT at TABLES_PA + 0x200 with the given entry bytes, listed in the RSDT after FACP
 * and MCFG. */
static void put_madt(const uint8_t *entries, size_t len)
{
    uint8_t body[8 + 64];
    memset(body, 0, 8);
    memcpy(body + 8, entries, len);
    put_table(TABLES_PA + 0x200, "APIC", body, 8 + len);
    uint32_t rsdt[] = { TABLES_PA, TABLES_PA + 0x100, TABLES_PA + 0x200 };
    put_rsdt(RSDT_PA, rsdt, 3);
}

#define LAPIC_ENTRY 0, 8, 0, 0, 1, 0, 0, 0
#define IOAPIC_ENTRY(id, addr, gsi)                                                           \
    1, 12, id, 0, (addr) & 0xFF, (addr) >> 8 & 0xFF, (addr) >> 16 & 0xFF, (addr) >> 24 & 0xFF, \
        (gsi) & 0xFF, (gsi) >> 8 & 0xFF, 0, 0

static void test_ioapic_found(void **state)
{
    (void)state;
    const uint8_t e[] = { LAPIC_ENTRY, IOAPIC_ENTRY(2, 0xFEC00000u, 0) };
    put_madt(e, sizeof(e));
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    uint64_t addr = 0;
    uint32_t base = 99;
    assert_int_equal(acpi_find_ioapic(&a, 11, &addr, &base), 0);
    assert_int_equal(addr, 0xFEC00000u);
    assert_int_equal(base, 0);
}

static void test_ioapic_the_one_holding_the_gsi(void **state)
{
    (void)state;
    /* the second one's GSIs start at 24; listed first, to show order does not matter */
    const uint8_t e[] = { IOAPIC_ENTRY(3, 0xFEC01000u, 24), LAPIC_ENTRY,
                          IOAPIC_ENTRY(2, 0xFEC00000u, 0) };
    put_madt(e, sizeof(e));
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    uint64_t addr;
    uint32_t base;
    assert_int_equal(acpi_find_ioapic(&a, 30, &addr, &base), 0);
    assert_int_equal(addr, 0xFEC01000u);
    assert_int_equal(base, 24);
    assert_int_equal(acpi_find_ioapic(&a, 5, &addr, &base), 0);
    assert_int_equal(addr, 0xFEC00000u);
    assert_int_equal(base, 0);
}

static void test_ioapic_absent(void **state)
{
    (void)state;
    struct acpi a;
    uint64_t addr;
    uint32_t base;
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(acpi_find_ioapic(&a, 0, &addr, &base), -ENOENT);   /* no MADT */
    const uint8_t lapic_only[] = { LAPIC_ENTRY };
    put_madt(lapic_only, sizeof(lapic_only));
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(acpi_find_ioapic(&a, 0, &addr, &base), -ENOENT);
    const uint8_t above[] = { IOAPIC_ENTRY(2, 0xFEC00000u, 24) };
    put_madt(above, sizeof(above));
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(acpi_find_ioapic(&a, 23, &addr, &base), -ENOENT);
}

static void test_ioapic_corrupt_entries(void **state)
{
    (void)state;
    struct acpi a;
    uint64_t addr;
    uint32_t base;
    const uint8_t zero_length[] = { 0, 0, 0, 0 };       /* would never end */
    put_madt(zero_length, sizeof(zero_length));
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(acpi_find_ioapic(&a, 0, &addr, &base), -EINVAL);
    const uint8_t past_end[] = { 1, 12, 2, 0, 0, 0 };   /* 12 bytes claimed, 6 there */
    put_madt(past_end, sizeof(past_end));
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(acpi_find_ioapic(&a, 0, &addr, &base), -EINVAL);
    const uint8_t short_ioapic[] = { 1, 8, 2, 0, 0, 0, 0xC0, 0xFE };
    put_madt(short_ioapic, sizeof(short_ioapic));
    assert_int_equal(acpi_init(&a, reader, &low), 0);
    assert_int_equal(acpi_find_ioapic(&a, 0, &addr, &base), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test_setup_teardown(test_rsdp_in_bios_area_uses_rsdt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_in_ebda_comes_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_past_ebda_first_kib_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_without_ebda_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_must_be_16_byte_aligned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_bad_checksum_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_v2_bad_extended_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_prefers_xsdt_above_4g, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_xsdt_falls_back_to_rsdt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_root_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_at_given_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_table_by_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_table_bad_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_table_bad_length_or_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcfg_q35, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcfg_several_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcfg_bad_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcfg_bad_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcfg_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioapic_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioapic_the_one_holding_the_gsi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioapic_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ioapic_corrupt_entries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
