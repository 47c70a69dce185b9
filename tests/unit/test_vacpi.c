/* Host unit tests of hv/dev/vacpi.c: the ACPI tables a Linux guest boots with, read
 * back through eli's own ACPI parser (hv/arch/x86/acpi.c) as firmware tables would be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/errno.h"
#include "dev/vacpi.h"

#define RAM (1u << 20)
#define TABLES 0xE0000u
#define ECAM 0xB0000000ull

static uint8_t *ram;
static struct gmem g;

static const void *reader(void *ctx, uint64_t pa, uint64_t len)
{
    (void)ctx;
    return gmem_ptr(&g, pa, len);
}

static int setup(void **state)
{
    (void)state;
    ram = calloc(1, RAM);
    g = (struct gmem){ ram, RAM };
    return ram ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

/* The RSDP is found where a PC BIOS puts it, and every table's checksum holds. */
static void test_tables_parse(void **state)
{
    (void)state;
    assert_int_equal(vacpi_build(&g, TABLES, ECAM, 0x100000), TABLES);
    struct acpi a;
    assert_int_equal(acpi_init(&a, reader, NULL), 0);
    assert_int_equal(a.rsdp_pa, TABLES);
    assert_int_equal(a.revision, 2);
    assert_int_equal(a.entry_size, 8);
    assert_int_equal(a.nentries, 3);
    const char *sigs[] = { "FACP", "APIC", "MCFG" };
    for (unsigned i = 0; i < 3; i++) {
        const struct acpi_header *t;
        assert_int_equal(acpi_find_table(&a, sigs[i], 0, &t, NULL), 0);
    }
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m))
            return true;
    return false;
}

/* The table `sig` of freshly built tables, found through the RSDP as a guest would. */
static const struct acpi_header *built_table(const char *sig)
{
    vacpi_build(&g, TABLES, ECAM, 0x100000);
    struct acpi a;
    const struct acpi_header *t;
    assert_int_equal(acpi_init(&a, reader, NULL), 0);
    assert_int_equal(acpi_find_table(&a, sig, 0, &t, NULL), 0);
    return t;
}

/* Hardware-reduced, MSI not said absent, and a DSDT whose checksum holds. */
static void test_fadt(void **state)
{
    (void)state;
    const struct acpi_fadt *f = (const void *)built_table("FACP");
    assert_int_equal(f->h.length, 276);
    assert_int_equal(f->h.revision, 6);
    assert_true(f->flags & FADT_HW_REDUCED_ACPI);
    assert_int_equal(f->iapc_boot_arch, 0);
    const struct acpi_header *dsdt = gmem_ptr(&g, f->x_dsdt, sizeof(*dsdt));
    assert_non_null(dsdt);
    assert_memory_equal(dsdt->signature, "DSDT", 4);
    assert_int_equal(acpi_checksum(dsdt, dsdt->length), 0);
    /* its one device: the UART, EISA ID PNP0501, ports 0x3f8-0x3ff and no interrupt */
    const uint8_t *aml = (const uint8_t *)gmem_ptr(&g, f->x_dsdt, dsdt->length) + sizeof(*dsdt);
    size_t aml_len = dsdt->length - sizeof(*dsdt);
    static const uint8_t hid[] = { '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x05, 0x01 };
    static const uint8_t io[] = { 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, 0x79, 0x00 };
    assert_true(contains(aml, aml_len, hid, sizeof(hid)));
    assert_true(contains(aml, aml_len, io, sizeof(io)));
    assert_int_equal(aml[0], 0x10);          /* ScopeOp */
    assert_int_equal(aml[1] + 1u, aml_len);  /* its length */
}

/* One enabled local APIC, ID 0, at the architectural address; no 8259s. */
static void test_madt(void **state)
{
    (void)state;
    const struct vacpi_madt *m = (const void *)built_table("APIC");
    assert_int_equal(m->m.lapic_address, 0xFEE00000u);
    assert_int_equal(m->m.flags, 0);
    assert_int_equal(m->lapic.type, 0);
    assert_int_equal(m->lapic.length, 8);
    assert_int_equal(m->lapic.apic_id, 0);
    assert_int_equal(m->lapic.flags, 1);
    assert_int_equal(m->m.h.length, sizeof(*m));
}

/* MCFG names eli's ECAM window: segment 0, one bus per MiB. */
static void test_mcfg(void **state)
{
    (void)state;
    vacpi_build(&g, TABLES, ECAM, 0x100000);
    struct acpi a;
    struct mcfg_entry e[2];
    size_t n;
    assert_int_equal(acpi_init(&a, reader, NULL), 0);
    assert_int_equal(acpi_parse_mcfg(&a, e, 2, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].base, ECAM);
    assert_int_equal(e[0].segment, 0);
    assert_int_equal(e[0].start_bus, 0);
    assert_int_equal(e[0].end_bus, 0);
}

/* Tables that would not fit, or a misaligned place, are refused. */
static void test_no_room(void **state)
{
    (void)state;
    assert_int_equal(vacpi_build(&g, RAM - VACPI_BYTES + 16, ECAM, 0x100000), 0);
    assert_int_equal(vacpi_build(&g, TABLES + 8, ECAM, 0x100000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tables_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fadt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_madt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcfg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
