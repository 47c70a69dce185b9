/* Host unit tests of hv/core/mbguest.c: the multiboot information eli builds in a
 * guest's RAM (an 8 MiB malloc'd buffer here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/errno.h"
#include "core/mbguest.h"
#include "core/multiboot.h"

#define MiB(n) ((uint64_t)(n) << 20)
#define RAM_SIZE MiB(8)
#define FILL 0xcc
#define BASE 0x110000ull /* page-aligned, "above the image" */

static uint8_t *ram;
static struct gmem g;
static struct mbguest mb;
static uint64_t info_gpa, end;
static char err[160];

static uint8_t mod_small[13] = "hello module";
static uint8_t mod_big[5000];

static int setup(void **state)
{
    (void)state;
    ram = malloc(RAM_SIZE);
    if (!ram)
        return -1;
    memset(ram, FILL, RAM_SIZE);
    g = (struct gmem){ ram, RAM_SIZE };
    for (size_t i = 0; i < sizeof(mod_big); i++)
        mod_big[i] = (uint8_t)(i * 13 + 1);
    memset(&mb, 0, sizeof(mb));
    mb.cmdline = "a=1 b=two";
    mb.nmods = 2;
    mb.mods[0] = (struct mbguest_module){ mod_small, sizeof(mod_small), "tests/guests/data.txt x" };
    mb.mods[1] = (struct mbguest_module){ mod_big, sizeof(mod_big), "big.bin" };
    info_gpa = end = 0x5a5a5a5a;
    memset(err, 0, sizeof(err));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    ram = NULL;
    return 0;
}

/* a fresh RAM and default request, in the middle of a test */
static void reset(void)
{
    teardown(NULL);
    setup(NULL);
    assert_non_null(ram);
}

static int build(uint64_t base)
{
    return mbguest_build(&g, base, &mb, &info_gpa, &end, err, sizeof(err));
}

static struct mb_info get_info(void)
{
    struct mb_info i;
    assert_true(info_gpa + sizeof(i) <= g.size);
    memcpy(&i, ram + info_gpa, sizeof(i));
    return i;
}

/* the NUL-terminated string at gpa, checked to lie inside [BASE, end) */
static const char *str_at(uint32_t gpa)
{
    assert_true(gpa >= BASE && gpa < end);
    const char *s = (const char *)ram + gpa;
    assert_true(gpa + strlen(s) < end);
    return s;
}

static bool ram_is(uint64_t gpa, uint64_t len, uint8_t v)
{
    for (uint64_t i = 0; i < len; i++)
        if (ram[gpa + i] != v)
            return false;
    return true;
}

static void check_mmap(const struct mb_info *i, uint64_t reserved_top)
{
    assert_int_equal(i->mmap_length % sizeof(struct mb_mmap_entry), 0);
    size_t n = i->mmap_length / sizeof(struct mb_mmap_entry);
    assert_int_equal(n, reserved_top ? 4 : 3);
    struct mb_mmap_entry e[4];
    memcpy(e, ram + i->mmap_addr, n * sizeof(e[0]));
    struct { uint64_t base, len; uint32_t type; } want[4] = {
        { 0, 0xa0000, MB_MMAP_AVAILABLE },
        { 0xa0000, 0x60000, MB_MMAP_RESERVED },
        { 0x100000, RAM_SIZE - reserved_top - 0x100000, MB_MMAP_AVAILABLE },
        { RAM_SIZE - reserved_top, reserved_top, MB_MMAP_RESERVED },
    };
    uint64_t covered = 0;
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(e[k].size, 20);
        assert_int_equal(e[k].base_addr, want[k].base);
        assert_int_equal(e[k].length, want[k].len);
        assert_int_equal(e[k].type, want[k].type);
        assert_int_equal(e[k].base_addr, covered); /* contiguous, in order */
        covered += e[k].length;
    }
    assert_int_equal(covered, RAM_SIZE); /* the whole RAM, nothing beyond */
}

static void test_info_fields(void **state)
{
    (void)state;
    assert_int_equal(build(BASE), 0);
    assert_int_equal(info_gpa, BASE);
    struct mb_info i = get_info();
    assert_int_equal(i.flags, MB_IF_MEMORY | MB_IF_CMDLINE | MB_IF_MODS | MB_IF_MMAP |
                              MB_IF_LOADER_NAME); /* bits 0, 2, 3, 6, 9 */
    assert_int_equal(i.flags, 0x24d);
    assert_int_equal(i.mem_lower, 640);
    assert_int_equal(i.mem_upper, (RAM_SIZE - MiB(1)) / 1024);
    assert_string_equal(str_at(i.cmdline), "a=1 b=two");
    assert_string_equal(str_at(i.boot_loader_name), "eli");
    check_mmap(&i, 0);
    /* nothing announced that was not written */
    assert_int_equal(i.drives_length, 0);
    assert_int_equal(i.boot_device, 0);
    assert_int_equal(i.config_table, 0);
    assert_int_equal(i.syms[0] | i.syms[1] | i.syms[2] | i.syms[3], 0);
    assert_true(end <= RAM_SIZE);
    assert_true(end > BASE);
}

/* The PVH start info: magic, version 1, the RSDP, the memory map with the ECAM hole
 * reserved, the command line and the modules with their own strings. */
static void test_pvh_start_info(void **state)
{
    (void)state;
    assert_int_equal(mbguest_build_pvh(&g, BASE, &mb, 0xE0000, 0xB0000000ull, MiB(1), &info_gpa,
                                       &end, err, sizeof(err)), 0);
    struct hvm_start_info si;
    memcpy(&si, ram + info_gpa, sizeof(si));
    assert_int_equal(si.magic, HVM_START_MAGIC);
    assert_int_equal(si.version, 1);
    assert_int_equal(si.rsdp_paddr, 0xE0000);
    assert_string_equal(str_at(si.cmdline_paddr), "a=1 b=two");
    assert_int_equal(si.memmap_entries, 4); /* low RAM, the hole below 1 MiB, RAM, ECAM */
    struct hvm_memmap_table_entry m[4];
    memcpy(m, ram + si.memmap_paddr, sizeof(m));
    assert_int_equal(m[0].addr, 0);
    assert_int_equal(m[0].size, 0xA0000);
    assert_int_equal(m[0].type, 1);
    assert_int_equal(m[1].type, 2);
    assert_int_equal(m[2].addr, MiB(1));
    assert_int_equal(m[2].size, RAM_SIZE - MiB(1));
    assert_int_equal(m[2].type, 1);
    assert_int_equal(m[3].addr, 0xB0000000ull);
    assert_int_equal(m[3].size, MiB(1));
    assert_int_equal(m[3].type, 2);
    assert_int_equal(si.nr_modules, 2);
    struct hvm_modlist_entry mod[2];
    memcpy(mod, ram + si.modlist_paddr, sizeof(mod));
    assert_int_equal(mod[0].size, sizeof(mod_small));
    assert_memory_equal(ram + mod[0].paddr, mod_small, sizeof(mod_small));
    assert_int_equal(mod[0].paddr % 4096, 0);
    assert_string_equal(str_at(mod[0].cmdline_paddr), "tests/guests/data.txt x");
    assert_memory_equal(ram + mod[1].paddr, mod_big, sizeof(mod_big));
    assert_true(end <= RAM_SIZE && end >= mod[1].paddr + sizeof(mod_big));
}

static void test_reserved_top(void **state)
{
    (void)state;
    mb.reserved_top = 0x10000;
    assert_int_equal(build(BASE), 0);
    struct mb_info i = get_info();
    assert_int_equal(i.mem_upper, (RAM_SIZE - 0x10000 - MiB(1)) / 1024);
    check_mmap(&i, 0x10000);
    assert_true(end <= RAM_SIZE - 0x10000);
    assert_true(ram_is(RAM_SIZE - 0x10000, 0x10000, FILL)); /* the reserved top untouched */
}

static void test_modules(void **state)
{
    (void)state;
    assert_int_equal(build(BASE), 0);
    struct mb_info i = get_info();
    assert_int_equal(i.mods_count, 2);
    assert_int_equal(i.mods_addr % 16, 0);
    assert_true(i.mods_addr >= BASE && i.mods_addr + 2 * sizeof(struct mb_module) <= end);
    struct mb_module m[2];
    memcpy(m, ram + i.mods_addr, sizeof(m));
    const struct mbguest_module *src = mb.mods;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(m[k].mod_start % 4096, 0); /* page-aligned */
        assert_int_equal(m[k].mod_end - m[k].mod_start, src[k].size);
        assert_true(m[k].mod_end <= end);
        assert_memory_equal(ram + m[k].mod_start, src[k].data, src[k].size);
        assert_string_equal(str_at(m[k].string), src[k].string);
        assert_int_equal(m[k].reserved, 0);
    }
    /* the modules overlap neither each other nor the info, map, strings or array */
    assert_true(m[0].mod_end <= m[1].mod_start);
    uint64_t meta_end = i.mods_addr + 2 * sizeof(struct mb_module);
    uint32_t addrs[] = { (uint32_t)info_gpa, i.mmap_addr, i.cmdline, i.boot_loader_name,
                         m[0].string, m[1].string, i.mods_addr };
    for (size_t k = 0; k < sizeof(addrs) / sizeof(addrs[0]); k++) {
        assert_true(addrs[k] < m[0].mod_start);
        if (addrs[k] + 1 > meta_end)
            meta_end = addrs[k] + 1;
    }
    assert_true(meta_end <= m[0].mod_start);
    assert_true(info_gpa + sizeof(struct mb_info) <= i.mmap_addr ||
                i.mmap_addr + i.mmap_length <= info_gpa);
    assert_int_equal(end, m[1].mod_end);
}

/* eli writes nothing below base nor from end on */
static void test_writes_only_base_to_end(void **state)
{
    (void)state;
    assert_int_equal(build(BASE), 0);
    assert_true(ram_is(0, BASE, FILL));
    assert_true(ram_is(end, RAM_SIZE - end, FILL));
}

static void test_no_modules_and_null_strings(void **state)
{
    (void)state;
    mb.nmods = 0;
    mb.cmdline = NULL;
    assert_int_equal(build(BASE), 0);
    struct mb_info i = get_info();
    assert_int_equal(i.mods_count, 0);
    assert_true(i.flags & MB_IF_MODS);
    assert_string_equal(str_at(i.cmdline), "");
    assert_string_equal(str_at(i.boot_loader_name), "eli");

    reset();
    mb.mods[1].string = NULL;
    assert_int_equal(build(BASE), 0);
    i = get_info();
    struct mb_module m[2];
    memcpy(m, ram + i.mods_addr, sizeof(m));
    assert_string_equal(str_at(m[1].string), "");
}

static void test_empty_module(void **state)
{
    (void)state;
    static const uint8_t nothing[1] = { 0 };
    mb.mods[0] = (struct mbguest_module){ nothing, 0, "empty" };
    assert_int_equal(build(BASE), 0);
    struct mb_info i = get_info();
    struct mb_module m[2];
    memcpy(m, ram + i.mods_addr, sizeof(m));
    assert_int_not_equal(m[0].mod_start, 0);
    assert_int_equal(m[0].mod_start % 4096, 0);
    assert_int_equal(m[0].mod_end, m[0].mod_start);
    assert_memory_equal(ram + m[1].mod_start, mod_big, sizeof(mod_big));
}

static void test_max_modules(void **state)
{
    (void)state;
    mb.nmods = MBGUEST_MAX_MODS;
    static char names[MBGUEST_MAX_MODS][16];
    for (int k = 0; k < MBGUEST_MAX_MODS; k++) {
        names[k][0] = (char)('a' + k);
        memcpy(names[k] + 1, ".mod", 5);
        mb.mods[k] = (struct mbguest_module){ mod_big + k, 100 + (uint64_t)k, names[k] };
    }
    assert_int_equal(build(BASE), 0);
    struct mb_info i = get_info();
    assert_int_equal(i.mods_count, MBGUEST_MAX_MODS);
    struct mb_module m[MBGUEST_MAX_MODS];
    memcpy(m, ram + i.mods_addr, sizeof(m));
    for (int k = 0; k < MBGUEST_MAX_MODS; k++) {
        assert_int_equal(m[k].mod_start % 4096, 0);
        assert_int_equal(m[k].mod_end - m[k].mod_start, 100 + k);
        assert_memory_equal(ram + m[k].mod_start, mod_big + k, 100 + (size_t)k);
        assert_string_equal(str_at(m[k].string), names[k]);
        if (k)
            assert_true(m[k - 1].mod_end <= m[k].mod_start);
    }
    mb.nmods = MBGUEST_MAX_MODS + 1;
    assert_int_equal(build(BASE), -EINVAL);
}

static void test_too_small(void **state)
{
    (void)state;
    g.size = MiB(1);
    assert_int_equal(build(0x80000), -EINVAL);
    assert_non_null(strstr(err, "too small"));
    g.size = MiB(1) + 2 * 4096 - 1;
    assert_int_equal(build(MiB(1)), -EINVAL);
    g.size = RAM_SIZE;
    mb.reserved_top = RAM_SIZE - MiB(1) + 4096; /* reaches below 1 MiB */
    assert_int_equal(build(BASE), -EINVAL);
    assert_true(ram_is(0, RAM_SIZE, FILL));
}

static void test_base_unaligned(void **state)
{
    (void)state;
    assert_int_equal(build(BASE + 8), -EINVAL);
    assert_true(ram_is(0, RAM_SIZE, FILL));
}

static void test_no_room(void **state)
{
    (void)state;
    /* a module larger than what is left above base */
    static uint8_t huge[1];
    mb.mods[1] = (struct mbguest_module){ huge, RAM_SIZE - BASE, "huge" };
    assert_int_equal(build(BASE), -ENOSPC);
    assert_non_null(strstr(err, "too small for its command line and modules"));

    /* a module that fits only if the reserved top were used */
    reset();
    uint64_t room = RAM_SIZE - BASE - 0x3000; /* info etc. take the first page, mod 0 one */
    mb.mods[1] = (struct mbguest_module){ mod_big, room, "fits" };
    mb.mods[1].data = malloc(room);
    assert_non_null(mb.mods[1].data);
    memset((void *)mb.mods[1].data, 0x77, room);
    int rc_fits = build(BASE);
    uint64_t end_fits = end;
    mb.reserved_top = 0x2000;
    memset(err, 0, sizeof(err));
    int rc_reserved = build(BASE);
    free((void *)mb.mods[1].data);
    assert_int_equal(rc_fits, 0);
    assert_true(end_fits <= RAM_SIZE);
    assert_int_equal(rc_reserved, -ENOSPC);

    /* base at or above the end of RAM */
    reset();
    assert_int_equal(build(RAM_SIZE), -ENOSPC);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_info_fields),
        T(test_reserved_top),
        T(test_pvh_start_info),
        T(test_modules),
        T(test_writes_only_base_to_end),
        T(test_no_modules_and_null_strings),
        T(test_empty_module),
        T(test_max_modules),
        T(test_too_small),
        T(test_base_unaligned),
        T(test_no_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
