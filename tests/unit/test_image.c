/* Host unit tests of hv/core/image.c: loading ELF64, ELF32-multiboot and a.out-kludge
 * images into a malloc'd guest RAM. Test images are built by hand with the host's
 * <elf.h>; the real guest images are loaded too when they have been built. */
#define _POSIX_C_SOURCE 200809L
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/errno.h"
#include "core/image.h"
#include "core/multiboot.h"

#define MiB(n) ((uint64_t)(n) << 20)
#define RAM_SIZE MiB(4)
#define RAM_FILL 0xaa
#define IMG_CAP 0x4000

static uint8_t *ram;
static struct gmem g;
static uint8_t img[IMG_CAP];
static struct image im;
static char err[200];

static int setup(void **state)
{
    (void)state;
    ram = malloc(RAM_SIZE);
    if (!ram)
        return -1;
    memset(ram, RAM_FILL, RAM_SIZE);
    g = (struct gmem){ ram, RAM_SIZE };
    for (size_t i = 0; i < IMG_CAP; i++)
        img[i] = (uint8_t)(i * 7 + 3 + (i >> 8)); /* recognisable, never all-zero */
    memset(&im, 0x5a, sizeof(im));
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

static int load(size_t size, uint64_t limit)
{
    return image_load(&g, limit, img, size, &im, err, sizeof(err));
}

static void expect_fail(size_t size, uint64_t limit, int want, const char *needle)
{
    int rc = load(size, limit);
    if (rc != want)
        fail_msg("image_load = %d, want %d (err '%s')", rc, want, err);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
}

static bool ram_is(uint64_t gpa, uint64_t len, uint8_t v)
{
    for (uint64_t i = 0; i < len; i++)
        if (ram[gpa + i] != v)
            return false;
    return true;
}

/* ---- image builders ---- */

struct seg {
    uint32_t type;
    uint64_t off, vaddr, paddr, filesz, memsz;
};

static void elf64(uint16_t type, uint16_t machine, uint64_t entry, const struct seg *s, int n)
{
    Elf64_Ehdr eh = { 0 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = type;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    eh.e_entry = entry;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = (uint16_t)n;
    memcpy(img, &eh, sizeof(eh));
    for (int i = 0; i < n; i++) {
        Elf64_Phdr ph = { .p_type = s[i].type, .p_flags = PF_R | PF_X, .p_offset = s[i].off,
                          .p_vaddr = s[i].vaddr, .p_paddr = s[i].paddr, .p_filesz = s[i].filesz,
                          .p_memsz = s[i].memsz, .p_align = 0x1000 };
        memcpy(img + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
    }
}

static void elf32(uint16_t machine, uint32_t entry, const struct seg *s, int n)
{
    Elf32_Ehdr eh = { 0 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    eh.e_entry = entry;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf32_Phdr);
    eh.e_phnum = (uint16_t)n;
    memcpy(img, &eh, sizeof(eh));
    for (int i = 0; i < n; i++) {
        Elf32_Phdr ph = { .p_type = s[i].type, .p_offset = (uint32_t)s[i].off,
                          .p_vaddr = (uint32_t)s[i].vaddr, .p_paddr = (uint32_t)s[i].paddr,
                          .p_filesz = (uint32_t)s[i].filesz, .p_memsz = (uint32_t)s[i].memsz,
                          .p_flags = PF_R | PF_X, .p_align = 0x1000 };
        memcpy(img + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
    }
}

/* a multiboot header (the 12 required bytes, plus the a.out-kludge fields) at off */
static void mb_header(size_t off, uint32_t flags, uint32_t header_addr, uint32_t load_addr,
                      uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
    struct mb_header h = { MB_HEADER_MAGIC, flags, (uint32_t)-(MB_HEADER_MAGIC + flags),
                           header_addr, load_addr, load_end, bss_end, entry, 0, 0, 0, 0 };
    memcpy(img + off, &h, sizeof(h));
}

#define MB_FLAGS (MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO)
#define KLUDGE (MB_FLAGS | MB_HF_AOUT_KLUDGE)

/* ---- ELF64 ---- */

static void test_elf64_loads_at_paddr(void **state)
{
    (void)state;
    /* vaddr differs from paddr: bytes go to p_paddr */
    struct seg s = { PT_LOAD, 0x100, 0xffffffff80100000ull, 0x100000, 0x40, 0x100 };
    elf64(ET_EXEC, EM_X86_64, 0x100010, &s, 1);
    assert_int_equal(load(0x140, RAM_SIZE), 0);
    assert_int_equal(im.kind, IMAGE_ELF64);
    assert_int_equal(im.entry, 0x100010);
    assert_int_equal(im.load_start, 0x100000);
    assert_int_equal(im.load_end, 0x100100);
    assert_memory_equal(ram + 0x100000, img + 0x100, 0x40);
    assert_true(ram_is(0x100040, 0xc0, 0));         /* bss zeroed */
    assert_true(ram_is(0x100100, 0x1000, RAM_FILL)); /* nothing past memsz */
    assert_true(ram_is(0xff000, 0x1000, RAM_FILL));  /* nothing before */
}

static void test_elf64_two_segments_and_others(void **state)
{
    (void)state;
    struct seg s[] = {
        { PT_NOTE, 0x200, 0x3f000000, 0x3f000000, 0x10, 0x10 }, /* ignored: outside RAM */
        { PT_LOAD, 0x200, 0x200000, 0x200000, 0x100, 0x100 },
        { PT_GNU_STACK, 0, 0, 0, 0, 0 },
        { PT_LOAD, 0x300, 0x100000, 0x100000, 0x80, 0x2000 },
    };
    elf64(ET_EXEC, EM_X86_64, 0x200000, s, 4);
    assert_int_equal(load(0x400, RAM_SIZE), 0);
    assert_int_equal(im.load_start, 0x100000);
    assert_int_equal(im.load_end, 0x200100);
    assert_int_equal(im.entry, 0x200000);
    assert_memory_equal(ram + 0x200000, img + 0x200, 0x100);
    assert_memory_equal(ram + 0x100000, img + 0x300, 0x80);
    assert_true(ram_is(0x100080, 0x2000 - 0x80, 0));
    assert_true(ram_is(0x102000, 0x1000, RAM_FILL));
}

/* A PT_NOTE with Xen's PHYS32_ENTRY note (as Linux's vmlinux has) makes a PVH image
 * starting at the note's address; other notes before it are skipped. */
static void test_elf64_pvh_note(void **state)
{
    (void)state;
    struct seg s[] = {
        { PT_NOTE, 0x200, 0, 0, 0x38, 0x38 },
        { PT_LOAD, 0x300, 0xffffffff81000000ull, 0x100000, 0x100, 0x100 },
    };
    elf64(ET_EXEC, EM_X86_64, 0x100000, s, 2);
    uint32_t gnu[] = { 4, 4, 3 }, xen[] = { 4, 8, 18 };
    uint64_t entry = 0x100080;
    memcpy(img + 0x200, gnu, 12);
    memcpy(img + 0x20c, "GNU", 4);
    memcpy(img + 0x214, xen, 12);
    memcpy(img + 0x220, "Xen", 4);
    memcpy(img + 0x224, &entry, 8);
    assert_int_equal(load(0x400, RAM_SIZE), 0);
    assert_int_equal(im.kind, IMAGE_PVH);
    assert_int_equal(im.entry, 0x100080);

    /* a truncated note is no PVH entry: an ordinary ELF64 image */
    memset(ram, RAM_FILL, RAM_SIZE);
    s[0].filesz = s[0].memsz = 0x20;
    elf64(ET_EXEC, EM_X86_64, 0x100000, s, 2);
    assert_int_equal(load(0x400, RAM_SIZE), 0);
    assert_int_equal(im.kind, IMAGE_ELF64);
    assert_int_equal(im.entry, 0x100000);
}

static void test_elf64_bad_headers(void **state)
{
    (void)state;
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40 };
    elf64(ET_EXEC, EM_386, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "ELF64");
    elf64(ET_DYN, EM_X86_64, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "ELF64");
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    ((Elf64_Ehdr *)(void *)img)->e_phentsize = 32;
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "ELF64");
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    ((Elf64_Ehdr *)(void *)img)->e_phoff = 0x130; /* the header table runs past the file */
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "ELF64");
    ((Elf64_Ehdr *)(void *)img)->e_phoff = 0x10000;
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "ELF64");
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    ((Elf64_Ehdr *)(void *)img)->e_phnum = 300;
    expect_fail(IMG_CAP, RAM_SIZE, -ENOEXEC, "ELF64");
    assert_true(ram_is(0x100000, 0x40, RAM_FILL));
    /* big-endian ELF64 is not ELF64 to eli: no multiboot header either */
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    img[EI_DATA] = ELFDATA2MSB;
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "neither ELF64 nor a multiboot kernel");
}

static void test_segment_outside_ram(void **state)
{
    (void)state;
    struct seg s = { PT_LOAD, 0x100, 0, RAM_SIZE - 0x80, 0x40, 0x100 }; /* straddles the end */
    elf64(ET_EXEC, EM_X86_64, RAM_SIZE - 0x80, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOSPC, "does not fit in guest RAM");
    s.paddr = 0x40000000;
    elf64(ET_EXEC, EM_X86_64, 0x40000000, &s, 1);
    expect_fail(0x140, UINT64_MAX, -ENOSPC, "does not fit");
    s.paddr = 0xfffffffffffff000ull; /* paddr + memsz wraps */
    s.memsz = 0x2000;
    elf64(ET_EXEC, EM_X86_64, 0xfffffffffffff000ull, &s, 1);
    expect_fail(0x140, UINT64_MAX, -ENOSPC, "does not fit");
    /* ending exactly at the end of RAM is fine */
    s.paddr = RAM_SIZE - 0x100;
    s.memsz = 0x100;
    elf64(ET_EXEC, EM_X86_64, RAM_SIZE - 0x100, &s, 1);
    assert_int_equal(load(0x140, RAM_SIZE), 0);
    assert_int_equal(im.load_end, RAM_SIZE);
}

static void test_segment_above_limit(void **state)
{
    (void)state;
    uint64_t limit = MiB(2);
    struct seg s = { PT_LOAD, 0x100, 0, limit - 0x100, 0x40, 0x100 }; /* ends at the limit */
    elf64(ET_EXEC, EM_X86_64, limit - 0x100, &s, 1);
    assert_int_equal(load(0x140, limit), 0);
    memset(ram, RAM_FILL, RAM_SIZE);
    s.memsz = 0x101; /* one byte above it */
    elf64(ET_EXEC, EM_X86_64, limit - 0x100, &s, 1);
    expect_fail(0x140, limit, -ENOSPC, "below 0x200000");
    assert_true(ram_is(limit - 0x100, 0x200, RAM_FILL)); /* nothing written */
}

static void test_truncated_segments(void **state)
{
    (void)state;
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0x41, 0x100 }; /* one byte short */
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "truncated");
    s.off = 0x141; /* offset past the end */
    s.filesz = 0;
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "truncated");
    s.off = 0x100; /* filesz > memsz */
    s.filesz = 0x40;
    s.memsz = 0x20;
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "truncated");
    s.filesz = 0xffffffffffffff00ull; /* huge: no wrap-around in the check */
    s.memsz = 0xffffffffffffff00ull;
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "truncated");
    s.off = 0x140; /* a segment ending exactly at the end of the file is whole */
    s.filesz = 0;
    s.memsz = 0x10;
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    assert_int_equal(load(0x140, RAM_SIZE), 0);
}

static void test_entry_outside(void **state)
{
    (void)state;
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x100 };
    elf64(ET_EXEC, EM_X86_64, 0x100100, &s, 1); /* = load_end */
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "entry 0x100100 lies outside");
    elf64(ET_EXEC, EM_X86_64, 0xfffff, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "outside");
    elf64(ET_EXEC, EM_X86_64, 0, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "outside");
    elf64(ET_EXEC, EM_X86_64, 0x1000ff, &s, 1); /* the last loaded byte is inside */
    assert_int_equal(load(0x140, RAM_SIZE), 0);
    assert_int_equal(im.entry, 0x1000ff);
}

static void test_nothing_to_load(void **state)
{
    (void)state;
    elf64(ET_EXEC, EM_X86_64, 0x100000, NULL, 0);
    expect_fail(0x40, RAM_SIZE, -ENOEXEC, "nothing to load");
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0, 0 };
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "nothing to load");
}

/* ---- ELF32 / multiboot ---- */

static void test_elf32_without_multiboot_header(void **state)
{
    (void)state;
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x80 };
    elf32(EM_386, 0x100000, &s, 1);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "neither ELF64 nor a multiboot kernel");
    assert_true(ram_is(0x100000, 0x80, RAM_FILL));
}

static void test_elf32_multiboot(void **state)
{
    (void)state;
    struct seg s[] = {
        { PT_LOAD, 0x100, 0xc0100000, 0x100000, 0x200, 0x200 },
        { PT_LOAD, 0x300, 0xc0101000, 0x101000, 0x20, 0x1000 },
    };
    elf32(EM_386, 0x10000c, s, 2);
    mb_header(0x100, MB_FLAGS, 0, 0, 0, 0, 0); /* at the start of the text, as guests have it */
    assert_int_equal(load(0x320, RAM_SIZE), 0);
    assert_int_equal(im.kind, IMAGE_MULTIBOOT);
    assert_int_equal(im.entry, 0x10000c);
    assert_int_equal(im.load_start, 0x100000);
    assert_int_equal(im.load_end, 0x102000);
    assert_memory_equal(ram + 0x100000, img + 0x100, 0x200);
    assert_true(ram_is(0x100200, 0xe00, RAM_FILL)); /* the gap is left alone */
    assert_memory_equal(ram + 0x101000, img + 0x300, 0x20);
    assert_true(ram_is(0x101020, 0x1000 - 0x20, 0));
    assert_true(ram_is(0x102000, 0x100, RAM_FILL));
}

static void test_elf32_bad(void **state)
{
    (void)state;
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40 };
    elf32(EM_X86_64, 0x100000, &s, 1);
    mb_header(0x100, MB_FLAGS, 0, 0, 0, 0, 0);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "i386");
    elf32(EM_386, 0x100000, &s, 1);
    ((Elf32_Ehdr *)(void *)img)->e_phoff = 0x13f;
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "i386");
    /* a multiboot header but neither ELF32 nor a.out kludge: nowhere to load from */
    memset(img, 0, 0x100);
    mb_header(0x100, MB_FLAGS, 0, 0, 0, 0, 0);
    expect_fail(0x140, RAM_SIZE, -ENOEXEC, "no a.out-kludge");
}

static void test_mb_unsupported_flags(void **state)
{
    (void)state;
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40 };
    uint32_t bad[] = { 1u << 3, 1u << 4, 1u << 15, MB_FLAGS | (1u << 3) };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        elf32(EM_386, 0x100000, &s, 1);
        mb_header(0x100, bad[i], 0, 0, 0, 0, 0);
        memset(err, 0, sizeof(err));
        int rc = load(0x140, RAM_SIZE);
        if (rc != -EOPNOTSUPP)
            fail_msg("multiboot flags 0x%x: image_load = %d, want -EOPNOTSUPP", bad[i], rc);
        assert_non_null(strstr(err, "requires features eli lacks"));
    }
    assert_true(ram_is(0x100000, 0x40, RAM_FILL));
    /* bits 16-31 are optional features: an unknown one is no reason to refuse */
    elf32(EM_386, 0x100000, &s, 1);
    mb_header(0x100, MB_FLAGS | (1u << 20), 0, 0, 0, 0, 0);
    assert_int_equal(load(0x140, RAM_SIZE), 0);
}

static void test_find_mb_header(void **state)
{
    (void)state;
    static uint8_t buf[MB_SEARCH_BYTES + 64];
    size_t off = 99;
    memset(buf, 0, sizeof(buf));
    assert_null(image_find_mb_header(buf, sizeof(buf), &off));
    assert_int_equal(off, 99);

    uint32_t h[3] = { MB_HEADER_MAGIC, MB_FLAGS, (uint32_t)-(MB_HEADER_MAGIC + MB_FLAGS) };
    memcpy(buf + 0x40, h, sizeof(h));
    assert_ptr_equal(image_find_mb_header(buf, sizeof(buf), &off), buf + 0x40);
    assert_int_equal(off, 0x40);
    assert_ptr_equal(image_find_mb_header(buf, sizeof(buf), NULL), buf + 0x40);
    assert_null(image_find_mb_header(buf, 0x4b, &off)); /* the buffer ends inside it */
    assert_non_null(image_find_mb_header(buf, 0x4c, &off));

    memset(buf, 0, sizeof(buf));
    memcpy(buf + 0x42, h, sizeof(h)); /* not 4-aligned */
    assert_null(image_find_mb_header(buf, sizeof(buf), &off));

    memset(buf, 0, sizeof(buf));
    uint32_t wrong[3] = { MB_HEADER_MAGIC, MB_FLAGS, 0 }; /* bad checksum */
    memcpy(buf + 0x40, wrong, sizeof(wrong));
    assert_null(image_find_mb_header(buf, sizeof(buf), &off));

    memset(buf, 0, sizeof(buf));
    memcpy(buf + MB_SEARCH_BYTES - 12, h, sizeof(h)); /* the last place it fits in 8 KiB */
    assert_ptr_equal(image_find_mb_header(buf, sizeof(buf), &off), buf + MB_SEARCH_BYTES - 12);
    memset(buf, 0, sizeof(buf));
    memcpy(buf + MB_SEARCH_BYTES - 8, h, sizeof(h)); /* runs past the first 8 KiB */
    assert_null(image_find_mb_header(buf, sizeof(buf), &off));
    memset(buf, 0, sizeof(buf));
    memcpy(buf + MB_SEARCH_BYTES, h, sizeof(h));
    assert_null(image_find_mb_header(buf, sizeof(buf), &off));

    /* the first of two headers wins */
    memcpy(buf + 0x100, h, sizeof(h));
    memcpy(buf + 0x20, h, sizeof(h));
    assert_ptr_equal(image_find_mb_header(buf, sizeof(buf), &off), buf + 0x20);
}

/* ---- a.out kludge ---- */

static void test_aout_kludge(void **state)
{
    (void)state;
    /* a flat binary: header at file offset 0x20, text loaded at 2 MiB */
    uint32_t la = 0x200000;
    mb_header(0x20, KLUDGE, la + 0x20, la, la + 0x600, la + 0x1000, la + 0x100);
    assert_int_equal(load(0x800, RAM_SIZE), 0);
    assert_int_equal(im.kind, IMAGE_MULTIBOOT);
    assert_int_equal(im.entry, la + 0x100);
    assert_int_equal(im.load_start, la);
    assert_int_equal(im.load_end, la + 0x1000);
    assert_memory_equal(ram + la, img, 0x600); /* the file from its start, header included */
    assert_true(ram_is(la + 0x600, 0xa00, 0)); /* bss */
    assert_true(ram_is(la + 0x1000, 0x100, RAM_FILL));
    assert_true(ram_is(la - 0x100, 0x100, RAM_FILL));
}

static void test_aout_kludge_defaults(void **state)
{
    (void)state;
    /* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss */
    uint32_t la = 0x300000;
    mb_header(0x40, KLUDGE, la + 0x40, la, 0, 0, la);
    assert_int_equal(load(0x500, RAM_SIZE), 0);
    assert_int_equal(im.load_start, la);
    assert_int_equal(im.load_end, la + 0x500);
    assert_memory_equal(ram + la, img, 0x500);
    assert_true(ram_is(la + 0x500, 0x100, RAM_FILL));
}

static void test_aout_kludge_text_after_prefix(void **state)
{
    (void)state;
    /* the header at file offset 0x80 says it is 0x20 bytes into the text: the text
     * starts at file offset 0x60 */
    uint32_t la = 0x180000;
    mb_header(0x80, KLUDGE, la + 0x20, la, la + 0x200, la + 0x200, la + 0x20);
    assert_int_equal(load(0x400, RAM_SIZE), 0);
    assert_memory_equal(ram + la, img + 0x60, 0x200);
    assert_int_equal(im.load_end, la + 0x200);
    assert_true(ram_is(la - 0x60, 0x60, RAM_FILL));
}

static void test_aout_kludge_inconsistent(void **state)
{
    (void)state;
    uint32_t la = 0x200000;
    mb_header(0x20, KLUDGE, la - 0x10, la, la + 0x100, 0, la); /* header below load */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "inconsistent");
    mb_header(0x20, KLUDGE, la + 0x40, la, la + 0x100, 0, la); /* text before file start */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "inconsistent");
    mb_header(0x20, KLUDGE, la + 0x20, la, la - 1, 0, la); /* load_end below load */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "inconsistent");
    mb_header(0x20, KLUDGE, la + 0x20, la, la + 0x100, la + 0xff, la); /* bss < text */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "inconsistent");
    mb_header(0x20, KLUDGE, la + 0x20, la, 0, la - 1, la); /* bss below load */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "inconsistent");
    /* the header's fields cut off by the end of the file */
    mb_header(0x20, KLUDGE, la + 0x20, la, 0, 0, la);
    expect_fail(0x20 + 20, RAM_SIZE, -ENOEXEC, "inconsistent");
    assert_true(ram_is(la, 0x800, RAM_FILL));
}

static void test_aout_kludge_truncated_or_outside(void **state)
{
    (void)state;
    uint32_t la = 0x200000;
    mb_header(0x20, KLUDGE, la + 0x20, la, la + 0x900, 0, la); /* text past the file */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "truncated");
    mb_header(0x20, KLUDGE, la + 0x20, la, 0, la + 0x800 - 1, la); /* bss < file text */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "truncated");
    la = (uint32_t)RAM_SIZE - 0x400;
    mb_header(0x20, KLUDGE, la + 0x20, la, 0, 0, la); /* past the end of RAM */
    expect_fail(0x800, RAM_SIZE, -ENOSPC, "does not fit");
    la = 0x200000;
    mb_header(0x20, KLUDGE, la + 0x20, la, 0, la + 0x2000, la);
    expect_fail(0x800, la + 0x1000, -ENOSPC, "does not fit"); /* bss above the limit */
    mb_header(0x20, KLUDGE, la + 0x20, la, 0, la + 0x1000, la + 0x1000); /* entry */
    expect_fail(0x800, RAM_SIZE, -ENOEXEC, "outside");
}

static void test_not_an_image(void **state)
{
    (void)state;
    expect_fail(0, RAM_SIZE, -ENOEXEC, "neither");
    expect_fail(3, RAM_SIZE, -ENOEXEC, "neither");
    expect_fail(IMG_CAP, RAM_SIZE, -ENOEXEC, "neither");
    /* an ELF64 ident on a file too short for the header */
    struct seg s = { PT_LOAD, 0x100, 0x100000, 0x100000, 0x40, 0x40 };
    elf64(ET_EXEC, EM_X86_64, 0x100000, &s, 1);
    expect_fail(63, RAM_SIZE, -ENOEXEC, "neither");
    assert_true(ram_is(0, RAM_SIZE, RAM_FILL));
}

/* ---- the real guest images ---- */

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            }
            *size = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

/* $(BUILD)/guests/NAME next to this executable ($(BUILD)/unit/test_image), else build/guests */
static uint8_t *read_guest(const char *name, size_t *size, char *path, size_t pathlen)
{
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(path, pathlen, "%s/../guests/%s", exe, name);
            uint8_t *b = read_file(path, size);
            if (b)
                return b;
        }
    }
    snprintf(path, pathlen, "build/guests/%s", name);
    return read_file(path, size);
}

/* The entry point as readelf reports it, or UINT64_MAX when readelf cannot be run. */
static uint64_t readelf_entry(const char *path)
{
    char cmd[700], line[256];
    snprintf(cmd, sizeof(cmd), "readelf -h '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    uint64_t entry = UINT64_MAX;
    if (!p)
        return entry;
    while (fgets(line, sizeof(line), p)) {
        const char *k = strstr(line, "Entry point address:");
        if (k)
            entry = strtoull(k + strlen("Entry point address:"), NULL, 16);
    }
    pclose(p);
    return entry;
}

static void check_real_image(const char *name, enum image_kind kind)
{
    char path[600];
    size_t size = 0;
    uint8_t *data = read_guest(name, &size, path, sizeof(path));
    if (!data) {
        print_message("%s not built: skipped\n", name);
        skip();
    }
    int rc = image_load(&g, RAM_SIZE, data, size, &im, err, sizeof(err));
    if (rc) {
        free(data);
        fail_msg("%s: image_load = %d: %s", path, rc, err);
    }
    assert_int_equal(im.kind, kind);

    /* the ELF header and PT_LOADs, read independently with the host's <elf.h> */
    uint64_t entry, lo = UINT64_MAX, hi = 0;
    bool same = true;
    if (data[EI_CLASS] == ELFCLASS64) {
        Elf64_Ehdr eh;
        memcpy(&eh, data, sizeof(eh));
        entry = eh.e_entry;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
            if (ph.p_type != PT_LOAD || !ph.p_memsz)
                continue;
            same = same && !memcmp(ram + ph.p_paddr, data + ph.p_offset, ph.p_filesz) &&
                   ram_is(ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz, 0);
            lo = ph.p_paddr < lo ? ph.p_paddr : lo;
            hi = ph.p_paddr + ph.p_memsz > hi ? ph.p_paddr + ph.p_memsz : hi;
        }
    } else {
        Elf32_Ehdr eh;
        memcpy(&eh, data, sizeof(eh));
        entry = eh.e_entry;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf32_Phdr ph;
            memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
            if (ph.p_type != PT_LOAD || !ph.p_memsz)
                continue;
            same = same && !memcmp(ram + ph.p_paddr, data + ph.p_offset, ph.p_filesz) &&
                   ram_is(ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz, 0);
            lo = ph.p_paddr < lo ? ph.p_paddr : lo;
            hi = (uint64_t)ph.p_paddr + ph.p_memsz > hi ? (uint64_t)ph.p_paddr + ph.p_memsz : hi;
        }
    }
    free(data);
    assert_true(same);
    assert_int_equal(im.entry, entry);
    assert_int_equal(im.load_start, lo);
    assert_int_equal(im.load_end, hi);
    uint64_t re = readelf_entry(path);
    if (re != UINT64_MAX)
        assert_int_equal(im.entry, re);
    else
        print_message("readelf not available: entry checked against the ELF header only\n");
}

static void test_real_boot_exit_elf64(void **state)
{
    (void)state;
    check_real_image("boot_exit.elf", IMAGE_ELF64);
}

static void test_real_boot_exit_multiboot(void **state)
{
    (void)state;
    check_real_image("boot_exit.mb.elf", IMAGE_MULTIBOOT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_elf64_loads_at_paddr),
        T(test_elf64_two_segments_and_others),
        T(test_elf64_pvh_note),
        T(test_elf64_bad_headers),
        T(test_segment_outside_ram),
        T(test_segment_above_limit),
        T(test_truncated_segments),
        T(test_entry_outside),
        T(test_nothing_to_load),
        T(test_elf32_without_multiboot_header),
        T(test_elf32_multiboot),
        T(test_elf32_bad),
        T(test_mb_unsupported_flags),
        T(test_find_mb_header),
        T(test_aout_kludge),
        T(test_aout_kludge_defaults),
        T(test_aout_kludge_text_after_prefix),
        T(test_aout_kludge_inconsistent),
        T(test_aout_kludge_truncated_or_outside),
        T(test_not_an_image),
        T(test_real_boot_exit_elf64),
        T(test_real_boot_exit_multiboot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
