/* Host unit tests of hv/arch/x86/amd_iommu_tables.c: device table and interrupt
 * remapping entries, commands, the I/O page-table builder and walker (over a fake
 * physical memory), IVRS parsing and event decoding. Field positions are checked the
 * way QEMU 10's AMD IOMMU model reads them (hw/i386/amd_iommu.c), besides the spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/amd_iommu.h"
#include "core/errno.h"

#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)

/* QEMU's reserved device-table-entry bits (an entry with any set is refused) */
#define QEMU_DTE_Q0_RESERVED 0x80300000000000fcull
#define QEMU_DTE_Q1_RESERVED 0x0000000000000100ull
#define QEMU_DTE_Q2_RESERVED 0x08f0000000000000ull

static uint64_t bits(uint64_t v, unsigned lo, unsigned n)
{
    return (v >> lo) & (n == 64 ? ~0ull : (1ull << n) - 1);
}

static uint64_t qword(const uint32_t *d, unsigned i)
{
    return (uint64_t)d[2 * i + 1] << 32 | d[2 * i];
}

/* ---- device table entries ---------------------------------------------------- */

static void test_dte_passthrough(void **state)
{
    (void)state;
    struct amd_iommu_dte d;
    memset(&d, 0xee, sizeof(d));
    amd_iommu_dte_passthrough(&d);
    assert_true(d.data[0] & AMD_IOMMU_DTE_V);
    assert_true(d.data[0] & AMD_IOMMU_DTE_TV);
    assert_int_equal(bits(d.data[0], AMD_IOMMU_DTE_MODE_SHIFT, 3), 0);
    assert_true(d.data[0] & AMD_IOMMU_DTE_IR);
    assert_true(d.data[0] & AMD_IOMMU_DTE_IW);
    assert_int_equal(d.data[2] & AMD_IOMMU_DTE_IV, 0);
    assert_int_equal(d.data[1], 0);
    assert_int_equal(d.data[3], 0);
}

static void test_dte_blocked(void **state)
{
    (void)state;
    struct amd_iommu_dte d;
    amd_iommu_dte_blocked(&d);
    assert_int_equal(d.data[0], AMD_IOMMU_DTE_V | AMD_IOMMU_DTE_TV); /* Mode 0, no IR/IW */
    assert_int_equal(d.data[2], AMD_IOMMU_DTE_IV);                   /* IntCtl 00b: abort */
    assert_int_equal(d.data[2] & (AMD_IOMMU_DTE_NMI_PASS | AMD_IOMMU_DTE_INIT_PASS |
                                  AMD_IOMMU_DTE_EINT_PASS | AMD_IOMMU_DTE_LINT0_PASS |
                                  AMD_IOMMU_DTE_LINT1_PASS), 0);
}

static void test_dte_confined(void **state)
{
    (void)state;
    struct amd_iommu_dte d;
    amd_iommu_dte_confined(&d, 0x1234, 0x12345678000ull, 3, 0xabcdef40ull, 11);
    assert_int_equal(d.data[0] & 3, 3);                            /* V, TV */
    assert_int_equal(bits(d.data[0], 9, 3), 3);                    /* Mode */
    assert_int_equal(d.data[0] & 0xffffffffff000ull, 0x12345678000ull);
    assert_int_equal(bits(d.data[0], 61, 2), 3);                   /* IR, IW */
    assert_int_equal(d.data[1] & 0xffff, 0x1234);
    assert_int_equal(d.data[2] & 1, 1);                            /* IV */
    assert_int_equal(bits(d.data[2], 1, 4), 11);                   /* IntTabLen */
    assert_int_equal(d.data[2] & (((1ull << 45) - 1) << 6), 0xabcdef40ull); /* QEMU's mask */
    assert_int_equal(bits(d.data[2], 60, 2), 2);                   /* IntCtl: remap */
    /* NMIPass, INITPass, EIntPass, Lint0Pass, Lint1Pass all 0 */
    assert_int_equal(bits(d.data[2], 56, 3), 0);
    assert_int_equal(bits(d.data[2], 62, 2), 0);
    /* nothing QEMU takes for reserved */
    assert_int_equal(d.data[0] & QEMU_DTE_Q0_RESERVED, 0);
    assert_int_equal(d.data[1] & QEMU_DTE_Q1_RESERVED, 0);
    assert_int_equal(d.data[2] & QEMU_DTE_Q2_RESERVED, 0);
    assert_int_equal(d.data[3], 0);
}

/* ---- interrupt remapping entries ----------------------------------------------- */

static void test_irte128(void **state)
{
    (void)state;
    struct amd_iommu_irte128 e;
    amd_iommu_irte128_remap(&e, 0x41, 0x12345678);
    assert_int_equal(e.lo & 1, 1);                  /* RemapEn */
    assert_int_equal(bits(e.lo, 1, 1), 0);          /* SupIOPF */
    assert_int_equal(bits(e.lo, 2, 3), 0);          /* IntType fixed */
    assert_int_equal(bits(e.lo, 6, 1), 0);          /* DM physical */
    assert_int_equal(bits(e.lo, 7, 1), 0);          /* GuestMode 0 */
    assert_int_equal(bits(e.lo, 8, 24), 0x345678);  /* Destination[23:0] */
    assert_int_equal(bits(e.lo, 32, 32), 0);
    assert_int_equal(bits(e.hi, 0, 8), 0x41);       /* Vector */
    assert_int_equal(bits(e.hi, 8, 48), 0);
    assert_int_equal(bits(e.hi, 56, 8), 0x12);      /* Destination[31:24] */
}

static void test_irte32(void **state)
{
    (void)state;
    amd_iommu_irte32_t e = 0;
    assert_int_equal(amd_iommu_irte32_remap(&e, 0xf1, 0x07), 0);
    assert_int_equal(e, 1u | 0x07u << 8 | 0xf1u << 16);
    assert_int_equal(amd_iommu_irte32_remap(&e, 0x41, 0x100), -ERANGE);
}

/* ---- commands ------------------------------------------------------------------- */

static void test_cmd_completion_wait(void **state)
{
    (void)state;
    struct amd_iommu_cmd c;
    uint64_t store = 0x000fedcba9876548ull;
    amd_iommu_cmd_completion_wait(&c, store, 0x1122334455667788ull);
    uint64_t q0 = qword(c.data, 0), q1 = qword(c.data, 1);
    assert_int_equal(bits(q0, 60, 4), AMD_IOMMU_CMD_COMPLETION_WAIT);
    assert_int_equal(q0 & 1, 1);                       /* S */
    assert_int_equal(bits(q0, 1, 2), 0);               /* no interrupt, no flush */
    assert_int_equal(bits(q0, 3, 49) << 3, store);     /* as QEMU extracts it */
    assert_int_equal(bits(q0, 52, 8), 0);
    assert_int_equal(q1, 0x1122334455667788ull);
}

static void test_cmd_invalidations(void **state)
{
    (void)state;
    struct amd_iommu_cmd c;
    amd_iommu_cmd_inval_devtab_entry(&c, 0x0020);
    assert_int_equal(qword(c.data, 0), 0x2ull << 60 | 0x20);
    assert_int_equal(qword(c.data, 1), 0);

    amd_iommu_cmd_inval_interrupt_table(&c, 0xa0);
    assert_int_equal(qword(c.data, 0), 0x5ull << 60 | 0xa0);
    assert_int_equal(qword(c.data, 1), 0);

    amd_iommu_cmd_inval_pages_all(&c, 7);
    uint64_t q0 = qword(c.data, 0), q1 = qword(c.data, 1);
    assert_int_equal(bits(q0, 60, 4), AMD_IOMMU_CMD_INVALIDATE_IOMMU_PAGES);
    assert_int_equal(bits(q0, 32, 16), 7);             /* DomainID */
    assert_int_equal(bits(q0, 0, 20), 0);              /* PASID */
    assert_int_equal(bits(q0, 20, 12) | bits(q0, 48, 12), 0);
    assert_int_equal(q1 & 1, 1);                       /* S */
    assert_int_equal(bits(q1, 1, 1), 1);               /* PDE */
    assert_int_equal(bits(q1, 2, 1), 0);               /* GN */
    assert_int_equal(bits(q1, 3, 9), 0);
    assert_int_equal(q1 & ~0xfffull, 0x7ffffffffffff000ull); /* everything */
}

/* ---- I/O page tables --------------------------------------------------------------- */

#define ARENA_PAGES 64

struct arena {
    amd_iommu_pte_t *mem;
    unsigned used, limit;
};

static struct arena arena;

/* "physical" addresses are the host pointers themselves: page aligned, below 2^52 */
static uint64_t fake_alloc(void *ctx)
{
    struct arena *a = ctx;
    if (a->used >= a->limit)
        return 0;
    amd_iommu_pte_t *t = a->mem + (size_t)a->used * AMD_IOMMU_PT_ENTRIES;
    memset(t, 0, 4096);
    a->used++;
    return (uint64_t)(uintptr_t)t;
}

static pte_t *fake_ptr(void *ctx, uint64_t pa)
{
    struct arena *a = ctx;
    uint64_t base = (uint64_t)(uintptr_t)a->mem;
    assert_true(pa >= base && pa < base + (uint64_t)a->used * 4096 && !(pa & 0xfff));
    return (pte_t *)(uintptr_t)pa;
}

static const struct pt_ops ops = { fake_alloc, fake_ptr, &arena };

static int setup(void **state)
{
    (void)state;
    arena.mem = aligned_alloc(4096, ARENA_PAGES * 4096);
    assert_non_null(arena.mem);
    memset(arena.mem, 0xee, ARENA_PAGES * 4096);
    arena.used = 0;
    arena.limit = ARENA_PAGES;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(arena.mem);
    return 0;
}

static uint64_t new_root(void) { return fake_alloc(&arena); }

static void expect_map(uint64_t root, uint64_t iova, uint64_t pa, uint64_t page)
{
    uint64_t got, perms, size;
    assert_int_equal(amd_iommu_pt_walk(&ops, root, 3, iova, &got, &perms, &size), 0);
    assert_int_equal(got, pa);
    assert_int_equal(perms, AMD_IOMMU_PTE_IR | AMD_IOMMU_PTE_IW);
    assert_int_equal(size, page);
}

static void expect_unmapped(uint64_t root, uint64_t iova)
{
    uint64_t got, perms, size;
    assert_int_equal(amd_iommu_pt_walk(&ops, root, 3, iova, &got, &perms, &size), -ENOENT);
}

static void test_map_guest_ram_2m(void **state)
{
    (void)state;
    uint64_t root = new_root();
    const uint64_t hpa = 0x200000, size = MiB(64);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, hpa, size,
                                      AMD_IOMMU_PTE_IR | AMD_IOMMU_PTE_IW, true), 0);
    assert_int_equal(arena.used, 2); /* the root and one level-2 table: 32 2 MiB leaves */
    expect_map(root, 0, hpa, MiB(2));
    expect_map(root, 0x123456, hpa + 0x123456, MiB(2));
    expect_map(root, size - 1, hpa + size - 1, MiB(2));
    expect_unmapped(root, size);
    expect_unmapped(root, 0xfee00000);
    expect_unmapped(root, GiB(1));

    /* the root's directory entry: PR, NextLevel 2, IR | IW */
    amd_iommu_pte_t e = fake_ptr(&arena, root)[0];
    assert_true(e & AMD_IOMMU_PTE_PR);
    assert_int_equal(bits(e, 9, 3), 2);
    assert_int_equal(e & AMD_IOMMU_PTE_PERMS, AMD_IOMMU_PTE_PERMS);
    /* QEMU 10.0 ignores a leaf's present bit: every slot past RAM must be all zero */
    amd_iommu_pte_t *l2 = fake_ptr(&arena, e & AMD_IOMMU_PTE_ADDR_MASK);
    for (unsigned i = 32; i < AMD_IOMMU_PT_ENTRIES; i++)
        assert_int_equal(l2[i], 0);
    for (unsigned i = 1; i < AMD_IOMMU_PT_ENTRIES; i++)
        assert_int_equal(fake_ptr(&arena, root)[i], 0);
    /* a leaf: NextLevel 0, the page, IR | IW, PR */
    assert_int_equal(l2[1], (hpa + MiB(2)) | AMD_IOMMU_PTE_PERMS | AMD_IOMMU_PTE_PR);
}

static void test_map_tail_4k(void **state)
{
    (void)state;
    uint64_t root = new_root();
    const uint64_t hpa = 0x40000000, size = MiB(5) + 0x3000;
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, hpa, size, AMD_IOMMU_PTE_PERMS, true), 0);
    assert_int_equal(arena.used, 3); /* root, level 2, level 1 for the last 1 MiB + 12 KiB */
    expect_map(root, MiB(2), hpa + MiB(2), MiB(2));
    expect_map(root, MiB(4), hpa + MiB(4), 4096);
    expect_map(root, size - 4096, hpa + size - 4096, 4096);
    expect_unmapped(root, size);
}

static void test_map_unaligned_hpa_uses_4k(void **state)
{
    (void)state;
    uint64_t root = new_root();
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0x201000, MiB(2), AMD_IOMMU_PTE_PERMS,
                                      true), 0);
    expect_map(root, 0, 0x201000, 4096);
    expect_map(root, MiB(2) - 4096, 0x201000 + MiB(2) - 4096, 4096);
    expect_unmapped(root, MiB(2));
}

static void test_map_read_only_and_levels(void **state)
{
    (void)state;
    uint64_t root = new_root(), pa, perms, size;
    assert_int_equal(amd_iommu_pt_map(&ops, root, 4, GiB(600), 0x5000, 4096, AMD_IOMMU_PTE_IR,
                                      false), 0);
    assert_int_equal(amd_iommu_pt_walk(&ops, root, 4, GiB(600) + 8, &pa, &perms, &size), 0);
    assert_int_equal(pa, 0x5008);
    assert_int_equal(perms, AMD_IOMMU_PTE_IR);
    assert_int_equal(size, 4096);
    /* three levels cannot reach 600 GiB */
    assert_int_equal(amd_iommu_pt_walk(&ops, root, 3, GiB(600), &pa, &perms, &size), -EINVAL);
}

static void test_map_errors(void **state)
{
    (void)state;
    uint64_t root = new_root();
    const uint64_t rw = AMD_IOMMU_PTE_PERMS;
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0x800, 0, 4096, rw, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0x10, 4096, rw, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0, 100, rw, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0, 4096, 0, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0, 4096, rw | 1, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 0, 0, 0, 4096, rw, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 7, 0, 0, 4096, rw, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, GiB(512) - 4096, 0, 8192, rw, true), -EINVAL);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 1ull << 52, 4096, rw, true), -EINVAL);
    /* mapped twice, a page over a table, a table over a 2 MiB page */
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0, 4096, rw, true), 0);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0, 4096, rw, true), -EEXIST);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0, MiB(2), rw, true), -EEXIST);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, MiB(2), 0, MiB(2), rw, true), 0);
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, MiB(2) + 4096, 0, 4096, rw, true), -EEXIST);
    /* out of memory */
    arena.limit = arena.used;
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, GiB(3), 0, 4096, rw, true), -ENOMEM);
}

static void test_walk_zero_leaf_is_unmapped(void **state)
{
    (void)state;
    uint64_t root = new_root(), pa, perms, size;
    assert_int_equal(amd_iommu_pt_map(&ops, root, 3, 0, 0x9000, 4096, AMD_IOMMU_PTE_PERMS, true),
                     0);
    amd_iommu_pte_t *l2 = fake_ptr(&arena, fake_ptr(&arena, root)[0] & AMD_IOMMU_PTE_ADDR_MASK);
    amd_iommu_pte_t *l1 = fake_ptr(&arena, l2[0] & AMD_IOMMU_PTE_ADDR_MASK);
    /* a leaf that is present but has no permission maps nothing */
    l1[0] &= ~AMD_IOMMU_PTE_PERMS;
    assert_int_equal(amd_iommu_pt_walk(&ops, root, 3, 0, &pa, &perms, &size), -ENOENT);
    assert_int_equal(amd_iommu_pt_walk(&ops, root, 3, 4096, &pa, &perms, &size), -ENOENT);
    /* a directory entry that skips a level is refused */
    l2[0] = (l2[0] & ~(7ull << 9)) | 3ull << 9;
    assert_int_equal(amd_iommu_pt_walk(&ops, root, 3, 0, &pa, &perms, &size), -EINVAL);
    assert_int_equal(amd_iommu_mode_span(3), GiB(512));
    assert_int_equal(amd_iommu_mode_span(1), MiB(2));
}

/* ---- IVRS ----------------------------------------------------------------------------- */

struct table {
    uint8_t b[512];
    size_t len;
};

static void put(struct table *t, const void *p, size_t n)
{
    assert_true(t->len + n <= sizeof(t->b));
    if (n)
        memcpy(t->b + t->len, p, n);
    t->len += n;
}

static void put_le(struct table *t, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t byte = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
        put(t, &byte, 1);
    }
}

static void ivrs_header(struct table *t)
{
    memset(t, 0, sizeof(*t));
    put(t, "IVRS", 4);
    put_le(t, 0, 32);            /* rest of the ACPI header: length filled in by the caller */
    put_le(t, 0x00203040, 4);    /* IVinfo */
    put_le(t, 0, 8);
}

/* An IVHD of `type` for IOMMU 00:01.0 at base, with device entries `dev` */
static void ivhd(struct table *t, uint8_t type, uint64_t base, const uint8_t *dev, size_t ndev)
{
    size_t hlen = type == 0x10 ? 24 : 40;
    put_le(t, type, 1);
    put_le(t, 0xb0, 1);
    put_le(t, hlen + ndev, 2);
    put_le(t, 0x0008, 2);        /* 00:01.0 */
    put_le(t, 0x40, 2);
    put_le(t, base, 8);
    put_le(t, 0, 2);             /* segment */
    put_le(t, 0, 2);
    put_le(t, 0x12345, 4);
    if (hlen == 40) {
        put_le(t, 0x29d7, 8);    /* EFR image */
        put_le(t, 0, 8);
    }
    put(t, dev, ndev);
}

static const uint8_t qemu_dev_entries[] = {
    0x03, 0x08, 0x00, 0x00,                         /* start of range 00:01.0 */
    0x04, 0xff, 0xff, 0x00,                         /* end of range */
    0x42, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, /* alias range (8 bytes) */
    0x48, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x01, /* special: IOAPIC 0, DeviceID 00:14.0 */
    0x48, 0x00, 0x00, 0x00, 0x00, 0xa8, 0x00, 0x02, /* special: HPET (not an IOAPIC) */
};

static void test_ivrs_qemu_like(void **state)
{
    (void)state;
    struct table t;
    struct amd_iommu_ivrs_info info;
    ivrs_header(&t);
    ivhd(&t, 0x10, 0xfed80000, qemu_dev_entries, sizeof(qemu_dev_entries));
    ivhd(&t, 0x11, 0xfed80000, qemu_dev_entries, 8);
    put(&t, (const uint8_t[]){ 0x20, 0x00, 0x20, 0x00 }, 4); /* IVMD, 32 bytes */
    put_le(&t, 0, 28);
    assert_int_equal(amd_iommu_ivrs_parse(t.b, t.len, &info), 0);
    assert_int_equal(info.nivhd, 2);
    assert_int_equal(info.type, 0x10);
    assert_int_equal(info.device_id, 0x0008);
    assert_int_equal(info.cap_offset, 0x40);
    assert_int_equal(info.base, 0xfed80000);
    assert_int_equal(info.segment, 0);
    assert_int_equal(info.efr, 0);
    assert_int_equal(info.ivinfo, 0x00203040);
    assert_int_equal(info.nioapic, 1);
    assert_int_equal(info.ioapic_devid[0], 0xa0);
}

static void test_ivrs_type_11_first(void **state)
{
    (void)state;
    struct table t;
    struct amd_iommu_ivrs_info info;
    ivrs_header(&t);
    ivhd(&t, 0x11, 0x1fed80000ull, NULL, 0);
    assert_int_equal(amd_iommu_ivrs_parse(t.b, t.len, &info), 0);
    assert_int_equal(info.type, 0x11);
    assert_int_equal(info.base, 0x1fed80000ull);
    assert_int_equal(info.efr, 0x29d7);
    assert_int_equal(info.nioapic, 0);
}

static void test_ivrs_errors(void **state)
{
    (void)state;
    struct table t;
    struct amd_iommu_ivrs_info info;
    ivrs_header(&t);
    assert_int_equal(amd_iommu_ivrs_parse(t.b, t.len, &info), -ENOENT);
    assert_int_equal(amd_iommu_ivrs_parse(t.b, 40, &info), -EINVAL);
    /* a block longer than the table */
    ivhd(&t, 0x10, 0xfed80000, NULL, 0);
    assert_int_equal(amd_iommu_ivrs_parse(t.b, t.len - 1, &info), -EINVAL);
    /* a type 11h block with a 24-byte length */
    ivrs_header(&t);
    ivhd(&t, 0x10, 0xfed80000, NULL, 0);
    t.b[48] = 0x11;
    assert_int_equal(amd_iommu_ivrs_parse(t.b, t.len, &info), -EINVAL);
    /* a device entry cut by the block's end (an 8-byte entry in 4 bytes) */
    ivrs_header(&t);
    ivhd(&t, 0x10, 0xfed80000, qemu_dev_entries + 16, 4);
    assert_int_equal(amd_iommu_ivrs_parse(t.b, t.len, &info), -EINVAL);
    /* a zero length would loop forever */
    ivrs_header(&t);
    put_le(&t, 0x10, 4);
    assert_int_equal(amd_iommu_ivrs_parse(t.b, t.len, &info), -EINVAL);
}

/* ---- events ------------------------------------------------------------------------- */

static void test_event_format(void **state)
{
    (void)state;
    struct amd_iommu_event e = { { 0x0020, 0x2u << 28 | 0x0a0u << 16 | 1, 0xfee00000u, 0 } };
    char buf[128];
    amd_iommu_event_format(&e, buf, sizeof(buf));
    assert_string_equal(buf, "IO_PAGE_FAULT (code 0x2) device 00:04.0 flags 0x0a0 "
                             "address 0xfee00000");
    assert_string_equal(amd_iommu_event_name(AMD_IOMMU_EVENT_ILLEGAL_COMMAND_ERROR),
                        "ILLEGAL_COMMAND_ERROR");
    assert_string_equal(amd_iommu_event_name(0), "UNKNOWN");
    assert_string_equal(amd_iommu_event_name(15), "UNKNOWN");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dte_passthrough),
        cmocka_unit_test(test_dte_blocked),
        cmocka_unit_test(test_dte_confined),
        cmocka_unit_test(test_irte128),
        cmocka_unit_test(test_irte32),
        cmocka_unit_test(test_cmd_completion_wait),
        cmocka_unit_test(test_cmd_invalidations),
        T(test_map_guest_ram_2m),
        T(test_map_tail_4k),
        T(test_map_unaligned_hpa_uses_4k),
        T(test_map_read_only_and_levels),
        T(test_map_errors),
        T(test_walk_zero_leaf_is_unmapped),
        cmocka_unit_test(test_ivrs_qemu_like),
        cmocka_unit_test(test_ivrs_type_11_first),
        cmocka_unit_test(test_ivrs_errors),
        cmocka_unit_test(test_event_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
