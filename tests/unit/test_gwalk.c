/* Host unit tests of hv/arch/x86/gwalk.c: the guest page-table walker. Each test
 * builds a guest's page tables in a malloc'd "guest RAM" for one paging mode and
 * checks translations, large pages, not-present entries, write protection, NX,
 * tables outside RAM and cross-page reads. The walker must never write guest
 * memory: every test ends by comparing RAM with a snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/gwalk.h"
#include "core/errno.h"

#define RAM_SIZE (16ull << 20)
#define TABLES_START 0x100000ull /* tables are allocated upward from 1 MiB */

#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)
#define CR0_PE (1ull << 0)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define P (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define PS (1ull << 7)
#define PAT_LARGE (1ull << 12)
#define NX (1ull << 63)

struct guest {
    uint8_t *ram;
    uint8_t *snapshot;
    uint64_t next_table;
    uint64_t largest_read; /* the biggest len the walker asked read_gpa for */
    struct gwalk_ctx ctx;
};

static const void *ram_read(void *opaque, uint64_t gpa, uint64_t len)
{
    struct guest *g = opaque;
    if (len > g->largest_read)
        g->largest_read = len;
    if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
        return NULL;
    return g->ram + gpa;
}

static int setup(void **state)
{
    struct guest *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->ram = calloc(1, RAM_SIZE);
    g->snapshot = malloc(RAM_SIZE);
    assert_non_null(g->ram);
    assert_non_null(g->snapshot);
    g->next_table = TABLES_START;
    g->ctx.read_gpa = ram_read;
    g->ctx.opaque = g;
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    struct guest *g = *state;
    free(g->snapshot);
    free(g->ram);
    free(g);
    return 0;
}

static uint64_t new_table(struct guest *g)
{
    uint64_t pa = g->next_table;
    g->next_table += 0x1000;
    assert_true(g->next_table <= RAM_SIZE / 2);
    return pa;
}

static uint64_t *entry64(struct guest *g, uint64_t gpa)
{
    assert_true(gpa + 8 <= RAM_SIZE);
    return (uint64_t *)(g->ram + gpa);
}

static uint32_t *entry32(struct guest *g, uint64_t gpa)
{
    assert_true(gpa + 4 <= RAM_SIZE);
    return (uint32_t *)(g->ram + gpa);
}

/* Remembers RAM after the tables are built ... */
static void take_snapshot(struct guest *g)
{
    memcpy(g->snapshot, g->ram, RAM_SIZE);
}

/* ... and checks the walker left it alone (no accessed/dirty bits). */
static void assert_ram_untouched(struct guest *g)
{
    assert_memory_equal(g->snapshot, g->ram, RAM_SIZE);
    assert_true(g->largest_read <= 0x1000);
}

static int translate(struct guest *g, uint64_t gva, bool write, bool fetch, bool user,
                     uint64_t *gpa)
{
    *gpa = 0xdeadbeef;
    return gwalk_translate(&g->ctx, gva, write, fetch, user, gpa);
}

/* Translates a supervisor read and returns the address; fails the test on error. */
static uint64_t gpa_of(struct guest *g, uint64_t gva)
{
    uint64_t gpa;
    assert_int_equal(translate(g, gva, false, false, false, &gpa), 0);
    return gpa;
}

static int rc_of(struct guest *g, uint64_t gva, bool write, bool fetch, bool user)
{
    uint64_t gpa;
    return translate(g, gva, write, fetch, user, &gpa);
}

/* ---- 4-level paging: a test-side builder with full rights on the path ---- */

static unsigned idx9(uint64_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * level)) & 0x1ff;
}

/* The entry for va at `level` (3 = PML4E ... 0 = PTE), creating the tables
 * above it with P|RW|US. */
static uint64_t *long_entry(struct guest *g, uint64_t root, uint64_t va, int level)
{
    uint64_t table = root;
    for (int l = 3; l > level; l--) {
        uint64_t *e = entry64(g, table + 8 * idx9(va, l));
        if (!(*e & P))
            *e = new_table(g) | P | RW | US;
        table = *e & 0x000ffffffffff000ull;
    }
    return entry64(g, table + 8 * idx9(va, level));
}

static void long_map(struct guest *g, uint64_t root, uint64_t va, uint64_t pa, int level,
                     uint64_t flags)
{
    *long_entry(g, root, va, level) = pa | flags | P | (level ? PS : 0);
}

static uint64_t long_mode_guest(struct guest *g)
{
    uint64_t root = new_table(g);
    g->ctx.cr0 = CR0_PE | CR0_PG | CR0_WP;
    g->ctx.cr3 = root;
    g->ctx.cr4 = CR4_PAE;
    g->ctx.efer = EFER_LME | EFER_LMA | EFER_NXE;
    return root;
}

static void test_paging_off(void **state)
{
    struct guest *g = *state;
    g->ctx.cr0 = CR0_PE;
    take_snapshot(g);
    assert_int_equal(gpa_of(g, 0x12345678), 0x12345678);
    assert_int_equal(gpa_of(g, 0xfee000b0), 0xfee000b0);
    /* linear addresses are 32 bits outside long mode */
    assert_int_equal(gpa_of(g, 0x100001000ull), 0x1000);
    uint64_t gpa;
    assert_int_equal(translate(g, 0x5000, true, false, true, &gpa), 0);
    assert_int_equal(gpa, 0x5000);
    assert_ram_untouched(g);
}

static void test_long_mode_4k(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x400000, 0x123000, 0, RW);
    long_map(g, root, 0xffff800000001000ull, 0xabc000, 0, RW);
    long_map(g, root, 0x00007ffffffff000ull, 0x5000, 0, 0);
    take_snapshot(g);
    assert_int_equal(gpa_of(g, 0x400000), 0x123000);
    assert_int_equal(gpa_of(g, 0x400abc), 0x123abc);
    assert_int_equal(gpa_of(g, 0x400fff), 0x123fff);
    assert_int_equal(gpa_of(g, 0xffff800000001234ull), 0xabc234);
    assert_int_equal(gpa_of(g, 0x00007fffffffffffull), 0x5fff);
    /* neighbours are not mapped */
    assert_int_equal(rc_of(g, 0x401000, false, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x3ff000, false, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0xffff800000002000ull, false, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x80000000, false, false, false), -EFAULT); /* empty PDPTE */
    assert_ram_untouched(g);
}

static void test_long_mode_large_pages(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x40000000, 0x200000, 1, RW);                  /* 2 MiB */
    long_map(g, root, 0x80000000, 0x7c0000000ull, 2, RW);            /* 1 GiB at 31 GiB */
    long_map(g, root, 0xffffffff80000000ull, 0x600000, 1, PAT_LARGE); /* PAT is not address */
    take_snapshot(g);
    assert_int_equal(gpa_of(g, 0x40000000), 0x200000);
    assert_int_equal(gpa_of(g, 0x401fffff), 0x3fffff);
    assert_int_equal(gpa_of(g, 0x40123456), 0x323456);
    assert_int_equal(rc_of(g, 0x40200000, false, false, false), -EFAULT);
    assert_int_equal(gpa_of(g, 0x80000000), 0x7c0000000ull);
    assert_int_equal(gpa_of(g, 0xbfffffff), 0x7ffffffffull);
    assert_int_equal(gpa_of(g, 0x9abcdef0), 0x7dabcdef0ull);
    assert_int_equal(gpa_of(g, 0xffffffff80001234ull), 0x601234);
    assert_ram_untouched(g);
}

static void test_long_mode_non_canonical(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x1000, 0x1000, 0, RW);
    take_snapshot(g);
    assert_int_equal(rc_of(g, 0x0000800000000000ull, false, false, false), -EINVAL);
    assert_int_equal(rc_of(g, 0xffff7fffffffffffull, false, false, false), -EINVAL);
    assert_int_equal(rc_of(g, 0x0001000000001000ull, false, false, false), -EINVAL);
    /* 5-level paging is not walked */
    g->ctx.cr4 |= CR4_LA57;
    assert_int_equal(rc_of(g, 0x1000, false, false, false), -EOPNOTSUPP);
    assert_ram_untouched(g);
}

static void test_long_mode_permissions(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x10000, 0x10000, 0, RW | US);      /* user data */
    long_map(g, root, 0x11000, 0x11000, 0, US);           /* user read-only */
    long_map(g, root, 0x12000, 0x12000, 0, RW);           /* supervisor only */
    long_map(g, root, 0x13000, 0x13000, 0, RW | US | NX); /* no execute */
    take_snapshot(g);

    /* user, writable */
    assert_int_equal(rc_of(g, 0x10000, true, false, true), 0);
    assert_int_equal(rc_of(g, 0x10000, false, true, true), 0);
    /* read-only: reads fine; user writes fault; supervisor writes fault with WP */
    assert_int_equal(rc_of(g, 0x11000, false, false, true), 0);
    assert_int_equal(rc_of(g, 0x11000, true, false, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x11000, true, false, false), -EFAULT);
    g->ctx.cr0 &= ~CR0_WP;
    assert_int_equal(rc_of(g, 0x11000, true, false, false), 0);
    assert_int_equal(rc_of(g, 0x11000, true, false, true), -EFAULT);
    g->ctx.cr0 |= CR0_WP;
    /* supervisor page */
    assert_int_equal(rc_of(g, 0x12000, true, false, false), 0);
    assert_int_equal(rc_of(g, 0x12000, false, false, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x12000, false, true, true), -EFAULT);
    /* NX: data fine, fetches fault */
    assert_int_equal(rc_of(g, 0x13000, false, false, false), 0);
    assert_int_equal(rc_of(g, 0x13000, true, false, true), 0);
    assert_int_equal(rc_of(g, 0x13000, false, true, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x13000, false, true, true), -EFAULT);
    /* a fetch is never a write: "write" is ignored with "fetch" */
    assert_int_equal(rc_of(g, 0x11000, true, true, true), 0);
    assert_ram_untouched(g);
}

/* Rights combine over the path: a restrictive upper level wins. */
static void test_long_mode_upper_level_rights(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x200000000ull, 0x20000, 0, RW | US); /* PML4E 0, PDPTE 8 */
    long_map(g, root, 0x8000000000ull, 0x21000, 0, RW | US); /* PML4E 1 */
    long_map(g, root, 0x10000000000ull, 0x22000, 0, RW | US); /* PML4E 2 */
    take_snapshot(g);
    assert_int_equal(rc_of(g, 0x200000000ull, true, false, true), 0);
    assert_int_equal(rc_of(g, 0x8000000000ull, true, false, true), 0);
    assert_int_equal(rc_of(g, 0x10000000000ull, false, true, true), 0);

    *long_entry(g, root, 0x200000000ull, 2) &= ~US; /* PDPTE: supervisor only */
    *long_entry(g, root, 0x8000000000ull, 3) &= ~RW; /* PML4E: read-only */
    *long_entry(g, root, 0x10000000000ull, 1) |= NX; /* PDE: no execute */
    take_snapshot(g);
    assert_int_equal(rc_of(g, 0x200000000ull, false, false, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x200000000ull, true, false, false), 0);
    assert_int_equal(rc_of(g, 0x8000000000ull, true, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x8000000000ull, false, false, true), 0);
    assert_int_equal(rc_of(g, 0x10000000000ull, false, true, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x10000000000ull, true, false, true), 0);
    assert_ram_untouched(g);
}

static void test_long_mode_reserved_bits(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x30000, 0x30000, 0, RW | NX);
    take_snapshot(g);
    /* bit 63 is reserved without EFER.NXE: every access faults */
    g->ctx.efer &= ~EFER_NXE;
    assert_int_equal(rc_of(g, 0x30000, false, false, false), -EFAULT);
    g->ctx.efer |= EFER_NXE;
    assert_int_equal(rc_of(g, 0x30000, false, false, false), 0);
    /* PS is reserved in a PML4E */
    *entry64(g, root + 8 * 5) = 0x40000000ull | P | RW | PS;
    take_snapshot(g);
    assert_int_equal(rc_of(g, 5ull << 39, false, false, false), -EFAULT);
    assert_ram_untouched(g);
}

static void test_long_mode_pcid_bits_in_cr3(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x1000, 0x9000, 0, RW);
    take_snapshot(g);
    g->ctx.cr3 = root | 0x123; /* PCID (or PWT/PCD) in the low bits */
    assert_int_equal(gpa_of(g, 0x1008), 0x9008);
    assert_ram_untouched(g);
}

static void test_tables_outside_ram(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x1000, 0x1000, 0, RW);
    /* a PDE pointing past the end of RAM */
    *long_entry(g, root, 0x40000000, 1) = 0x40000000ull | P | RW;
    take_snapshot(g);
    assert_int_equal(rc_of(g, 0x40000000, false, false, false), -EIO);
    /* CR3 outside RAM */
    g->ctx.cr3 = 0x100000000ull;
    assert_int_equal(rc_of(g, 0x1000, false, false, false), -EIO);
    /* 32-bit paging with CR3 past RAM */
    g->ctx.efer = 0;
    g->ctx.cr4 = 0;
    g->ctx.cr3 = 0xfffff000;
    assert_int_equal(rc_of(g, 0x1000, false, false, false), -EIO);
    /* PAE with the PDPT in the last 32 bytes of a 4 GiB space */
    g->ctx.cr4 = CR4_PAE;
    g->ctx.cr3 = 0xffffffe0;
    assert_int_equal(rc_of(g, 0x1000, false, false, false), -EIO);
    assert_ram_untouched(g);
}

/* ---- 32-bit paging ---- */

static uint64_t bit32_guest(struct guest *g, bool pse)
{
    uint64_t pd = new_table(g);
    g->ctx.cr0 = CR0_PE | CR0_PG | CR0_WP;
    g->ctx.cr3 = pd;
    g->ctx.cr4 = pse ? CR4_PSE : 0;
    g->ctx.efer = 0;
    return pd;
}

static void bit32_map_4k(struct guest *g, uint64_t pd, uint32_t va, uint32_t pa, uint32_t flags)
{
    uint32_t *pde = entry32(g, pd + 4 * (va >> 22));
    if (!(*pde & P))
        *pde = (uint32_t)new_table(g) | P | RW | US;
    *entry32(g, (*pde & 0xfffff000u) + 4 * ((va >> 12) & 0x3ff)) = pa | flags | P;
}

static void test_32bit_4k(void **state)
{
    struct guest *g = *state;
    uint64_t pd = bit32_guest(g, false);
    bit32_map_4k(g, pd, 0x00401000, 0x00123000, RW);
    bit32_map_4k(g, pd, 0xfffff000, 0x00007000, RW);
    bit32_map_4k(g, pd, 0xc0000000, 0xfee00000, RW);
    take_snapshot(g);
    assert_int_equal(gpa_of(g, 0x00401234), 0x123234);
    assert_int_equal(gpa_of(g, 0xffffffff), 0x7fff);
    assert_int_equal(gpa_of(g, 0xc00000b0), 0xfee000b0);
    /* only the low 32 bits of a linear address count */
    assert_int_equal(gpa_of(g, 0xabcd00401010ull), 0x123010);
    assert_int_equal(rc_of(g, 0x00402000, false, false, false), -EFAULT); /* PTE */
    assert_int_equal(rc_of(g, 0x00800000, false, false, false), -EFAULT); /* PDE */
    assert_ram_untouched(g);
}

static void test_32bit_4m_pages(void **state)
{
    struct guest *g = *state;
    uint64_t pd = bit32_guest(g, true);
    *entry32(g, pd + 4 * (0x80000000u >> 22)) = 0x00c00000u | P | RW | PS;
    /* PSE-36: PDE bits 20:13 are physical bits 39:32 */
    *entry32(g, pd + 4 * (0x80400000u >> 22)) = 0x00400000u | (0x12u << 13) | P | RW | PS;
    take_snapshot(g);
    assert_int_equal(gpa_of(g, 0x80000000), 0xc00000);
    assert_int_equal(gpa_of(g, 0x80123456), 0xd23456);
    assert_int_equal(gpa_of(g, 0x803fffff), 0xffffff);
    assert_int_equal(gpa_of(g, 0x80412345), 0x1200412345ull);

    /* without CR4.PSE the PS bit is ignored: the PDE points to a page table */
    g->ctx.cr4 = 0;
    uint64_t pt = 0x00c00000; /* the "4 MiB frame" now holds the page table */
    *entry32(g, pt + 4 * 0x123) = 0x00055000u | P;
    take_snapshot(g);
    assert_int_equal(gpa_of(g, 0x80123456), 0x55456);
    assert_int_equal(rc_of(g, 0x80124000, false, false, false), -EFAULT);
    assert_ram_untouched(g);
}

static void test_32bit_permissions(void **state)
{
    struct guest *g = *state;
    uint64_t pd = bit32_guest(g, true);
    bit32_map_4k(g, pd, 0x1000, 0x1000, US);      /* user read-only */
    bit32_map_4k(g, pd, 0x2000, 0x2000, RW);      /* supervisor */
    bit32_map_4k(g, pd, 0x3000, 0x3000, RW | US); /* user data */
    /* a 4 MiB read-only supervisor page */
    *entry32(g, pd + 4 * 1) = 0x00400000u | P | PS;
    take_snapshot(g);
    assert_int_equal(rc_of(g, 0x1000, false, false, true), 0);
    assert_int_equal(rc_of(g, 0x1000, true, false, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x1000, true, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x2000, false, false, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x2000, true, false, false), 0);
    assert_int_equal(rc_of(g, 0x3000, true, false, true), 0);
    assert_int_equal(rc_of(g, 0x400000, true, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x400000, false, false, true), -EFAULT);
    /* no NX in 32-bit paging, whatever EFER.NXE says */
    g->ctx.efer = EFER_NXE;
    assert_int_equal(rc_of(g, 0x3000, false, true, true), 0);
    /* CR0.WP=0: supervisor writes to read-only pages succeed */
    g->ctx.cr0 &= ~CR0_WP;
    assert_int_equal(rc_of(g, 0x1000, true, false, false), 0);
    assert_int_equal(rc_of(g, 0x400000, true, false, false), 0);
    assert_int_equal(rc_of(g, 0x1000, true, false, true), -EFAULT);
    /* a restrictive PDE: U/S=0 above a user PTE */
    *entry32(g, pd) &= ~US;
    take_snapshot(g);
    assert_int_equal(rc_of(g, 0x3000, false, false, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x3000, false, false, false), 0);
    assert_ram_untouched(g);
}

/* ---- PAE paging ---- */

/* CR3 points to 4 PDPTEs, 32-byte aligned (not page aligned here on purpose). */
static uint64_t pae_guest(struct guest *g)
{
    uint64_t pdpt = new_table(g) + 0x20;
    g->ctx.cr0 = CR0_PE | CR0_PG | CR0_WP;
    g->ctx.cr3 = pdpt;
    g->ctx.cr4 = CR4_PAE;
    g->ctx.efer = EFER_NXE;
    return pdpt;
}

static uint64_t *pae_pde(struct guest *g, uint64_t pdpt, uint32_t va)
{
    uint64_t *pdpte = entry64(g, pdpt + 8 * (va >> 30));
    if (!(*pdpte & P))
        *pdpte = new_table(g) | P;
    return entry64(g, (*pdpte & 0x000ffffffffff000ull) + 8 * ((va >> 21) & 0x1ff));
}

static void pae_map_4k(struct guest *g, uint64_t pdpt, uint32_t va, uint64_t pa, uint64_t flags)
{
    uint64_t *pde = pae_pde(g, pdpt, va);
    if (!(*pde & P))
        *pde = new_table(g) | P | RW | US;
    *entry64(g, (*pde & 0x000ffffffffff000ull) + 8 * ((va >> 12) & 0x1ff)) = pa | flags | P;
}

static void test_pae(void **state)
{
    struct guest *g = *state;
    uint64_t pdpt = pae_guest(g);
    pae_map_4k(g, pdpt, 0x80201000, 0x321000, RW);
    pae_map_4k(g, pdpt, 0x00001000, 0x123456000ull, RW); /* above 4 GiB */
    *pae_pde(g, pdpt, 0xc0400000) = 0x00e00000 | P | RW | PS; /* 2 MiB */
    take_snapshot(g);
    assert_int_equal(gpa_of(g, 0x80201abc), 0x321abc);
    assert_int_equal(gpa_of(g, 0x00001008), 0x123456008ull);
    assert_int_equal(gpa_of(g, 0xc0400000), 0xe00000);
    assert_int_equal(gpa_of(g, 0xc05fffff), 0xffffff);
    assert_int_equal(rc_of(g, 0xc0600000, false, false, false), -EFAULT); /* PDE */
    assert_int_equal(rc_of(g, 0x80202000, false, false, false), -EFAULT); /* PTE */
    assert_int_equal(rc_of(g, 0x40000000, false, false, false), -EFAULT); /* PDPTE */
    /* a 32-bit linear address: the upper half of gva is dropped */
    assert_int_equal(gpa_of(g, 0x7700000080201abcull), 0x321abc);
    assert_ram_untouched(g);
}

static void test_pae_permissions(void **state)
{
    struct guest *g = *state;
    uint64_t pdpt = pae_guest(g);
    pae_map_4k(g, pdpt, 0x1000, 0x1000, RW | US | NX);
    pae_map_4k(g, pdpt, 0x2000, 0x2000, US);
    *pae_pde(g, pdpt, 0x400000) = 0x400000 | P | RW | PS | NX; /* 2 MiB, NX, supervisor */
    take_snapshot(g);
    assert_int_equal(rc_of(g, 0x1000, true, false, true), 0);
    assert_int_equal(rc_of(g, 0x1000, false, true, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x2000, false, true, true), 0);
    assert_int_equal(rc_of(g, 0x2000, true, false, true), -EFAULT);
    assert_int_equal(rc_of(g, 0x2000, true, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x400000, true, false, false), 0);
    assert_int_equal(rc_of(g, 0x400000, false, true, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x400000, false, false, true), -EFAULT);
    /* without EFER.NXE, XD is a reserved bit */
    g->ctx.efer = 0;
    assert_int_equal(rc_of(g, 0x1000, false, false, false), -EFAULT);
    assert_int_equal(rc_of(g, 0x2000, false, true, false), 0);
    assert_ram_untouched(g);
}

/* ---- gwalk_read ---- */

static void fill(struct guest *g, uint64_t gpa, uint8_t first, size_t len)
{
    for (size_t i = 0; i < len; i++)
        g->ram[gpa + i] = (uint8_t)(first + i);
}

static void test_read_crosses_pages(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    /* three consecutive virtual pages on scattered physical pages */
    long_map(g, root, 0x7000000, 0x900000, 0, RW);
    long_map(g, root, 0x7001000, 0x800000, 0, RW);
    long_map(g, root, 0x7002000, 0xa00000, 0, RW | NX);
    fill(g, 0x900ff8, 0x10, 8);
    fill(g, 0x800000, 0x18, 0x1000);
    fill(g, 0xa00000, 0x40, 8);
    take_snapshot(g);

    uint8_t buf[0x1010];
    memset(buf, 0xcc, sizeof buf);
    assert_int_equal(gwalk_read(&g->ctx, 0x7000ff8, buf, 16, false), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(buf[i], 0x10 + i);
    assert_int_equal(buf[16], 0xcc);

    /* a whole page and more: across all three */
    assert_int_equal(gwalk_read(&g->ctx, 0x7000ffc, buf, 0x1008, false), 0);
    assert_memory_equal(buf, g->ram + 0x900ffc, 4);
    assert_memory_equal(buf + 4, g->ram + 0x800000, 0x1000);
    assert_memory_equal(buf + 0x1004, g->ram + 0xa00000, 4);

    /* an instruction fetch running into the NX page faults, a read does not */
    assert_int_equal(gwalk_read(&g->ctx, 0x7001ff8, buf, 15, true), -EFAULT);
    assert_int_equal(gwalk_read(&g->ctx, 0x7001ff8, buf, 15, false), 0);
    assert_int_equal(gwalk_read(&g->ctx, 0x7001ff8, buf, 8, true), 0);

    /* the page after is not mapped */
    assert_int_equal(gwalk_read(&g->ctx, 0x7002ffc, buf, 8, false), -EFAULT);
    assert_int_equal(gwalk_read(&g->ctx, 0x7002ffc, buf, 4, false), 0);
    assert_int_equal(gwalk_read(&g->ctx, 0x7002ffc, buf, 0, false), 0);
    assert_ram_untouched(g);
}

/* A store across two pages lands on both physical pages; one that crosses into a
 * read-only, unmapped or outside-RAM page writes nothing at all. */
static void test_write_crosses_pages(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x7000000, 0x900000, 0, RW);
    long_map(g, root, 0x7001000, 0x800000, 0, RW);
    long_map(g, root, 0x7002000, 0xa00000, 0, 0);          /* read-only */
    long_map(g, root, 0x7004000, RAM_SIZE - 0x1000, 0, RW); /* the last page of RAM */
    long_map(g, root, 0x7005000, RAM_SIZE, 0, RW);          /* just past it */
    struct gmem mem = { g->ram, RAM_SIZE };
    const uint8_t src[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_int_equal(gwalk_write(&g->ctx, &mem, 0x7000ffc, src, 8), 0);
    assert_memory_equal(g->ram + 0x900ffc, src, 4);
    assert_memory_equal(g->ram + 0x800000, src + 4, 4);
    take_snapshot(g);
    assert_int_equal(gwalk_write(&g->ctx, &mem, 0x7001ffc, src, 8), -EFAULT);
    assert_int_equal(gwalk_write(&g->ctx, &mem, 0x7002ffc, src, 8), -EFAULT);  /* unmapped */
    assert_int_equal(gwalk_write(&g->ctx, &mem, 0x7004ffc, src, 8), -EIO);
    assert_ram_untouched(g);
}

static void test_read_outside_ram(void **state)
{
    struct guest *g = *state;
    uint64_t root = long_mode_guest(g);
    long_map(g, root, 0x1000, 0xfff000, 0, RW);       /* the last page of RAM */
    long_map(g, root, 0x2000, RAM_SIZE, 0, RW);       /* just past it */
    long_map(g, root, 0x3000, 0xfee00000ull, 0, RW);  /* the APIC page: MMIO */
    take_snapshot(g);
    uint8_t buf[16];
    assert_int_equal(gwalk_read(&g->ctx, 0x1ff0, buf, 16, false), 0);
    assert_int_equal(gwalk_read(&g->ctx, 0x1ff8, buf, 16, false), -EIO);
    assert_int_equal(gwalk_read(&g->ctx, 0x3000, buf, 4, false), -EIO);
    /* translation still works for MMIO */
    assert_int_equal(gpa_of(g, 0x30b0), 0xfee000b0);
    assert_ram_untouched(g);
}

static void test_read_32bit_modes(void **state)
{
    struct guest *g = *state;
    /* paging off: physical = linear, 32 bits wide */
    g->ctx.cr0 = CR0_PE;
    fill(g, 0, 0x80, 4);
    g->ram[RAM_SIZE - 1] = 0x7f;
    take_snapshot(g);
    uint8_t buf[8];
    assert_int_equal(gwalk_read(&g->ctx, 0x100000000ull, buf, 4, false), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(buf[i], 0x80 + i);
    assert_int_equal(gwalk_read(&g->ctx, RAM_SIZE - 1, buf, 1, true), 0);
    assert_int_equal(buf[0], 0x7f);
    assert_int_equal(gwalk_read(&g->ctx, RAM_SIZE - 1, buf, 2, false), -EIO);
    assert_int_equal(gwalk_read(&g->ctx, 0xfffffffe, buf, 4, false), -EIO);
    /* 32-bit paging, wrapping from 0xfffff000 to 0 */
    uint64_t pd = bit32_guest(g, false);
    bit32_map_4k(g, pd, 0xfffff000, 0x600000, RW);
    bit32_map_4k(g, pd, 0x00000000, 0x601000, RW);
    fill(g, 0x600ffe, 0x20, 4);
    take_snapshot(g);
    assert_int_equal(gwalk_read(&g->ctx, 0xfffffffe, buf, 4, false), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(buf[i], 0x20 + i);
    /* PAE */
    uint64_t pdpt = pae_guest(g);
    pae_map_4k(g, pdpt, 0x10000, 0x700000, RW);
    pae_map_4k(g, pdpt, 0x11000, 0x680000, RW);
    fill(g, 0x700ffd, 0x30, 3);
    fill(g, 0x680000, 0x33, 3);
    take_snapshot(g);
    assert_int_equal(gwalk_read(&g->ctx, 0x10ffd, buf, 6, true), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(buf[i], 0x30 + i);
    assert_ram_untouched(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_mode_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_mode_large_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_mode_non_canonical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_mode_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_mode_upper_level_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_mode_reserved_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_mode_pcid_bits_in_cr3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_32bit_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_32bit_4m_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_32bit_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pae, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pae_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_crosses_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_crosses_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_32bit_modes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
