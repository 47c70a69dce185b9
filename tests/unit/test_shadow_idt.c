/* Host unit tests of hv/eli/shadow_idt.c: the shadow IDT the CPU reads in direct mode.
 * The guest's pages are filled with a byte pattern and a recognisable gate per vector;
 * the shadow must be their copy except at eli's vectors, the remapped slots, slots whose
 * guest vector moved elsewhere and gates beyond the guest's limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eli/shadow_idt.h"
#include "eli/vecmap.h"

#define PAGE 4096u

static const uint8_t host3[] = { 0xF0, 0xFE, 0xFF };

/* A present 64-bit interrupt gate for vector v whose every byte says which vector it
 * is for: handler 0xffffffff8100VV00 + v, selector 0x08 + v, IST v & 7. */
static void make_gate(uint8_t *gate, unsigned v, bool present)
{
    uint64_t handler = 0xffffffff81000000ull | (uint64_t)v << 8 | v;
    gate[0] = (uint8_t)handler;
    gate[1] = (uint8_t)(handler >> 8);
    gate[2] = (uint8_t)(0x08 + v);
    gate[3] = (uint8_t)((0x08 + v) >> 8);
    gate[4] = (uint8_t)(v & 7);
    gate[5] = (uint8_t)((present ? 0x80 : 0) | IDT_TYPE_INTERRUPT64);
    gate[6] = (uint8_t)(handler >> 16);
    gate[7] = (uint8_t)(handler >> 24);
    for (int i = 0; i < 4; i++)
        gate[8 + i] = (uint8_t)(handler >> (32 + 8 * i));
    gate[12] = gate[13] = gate[14] = gate[15] = 0;
}

/* The guest's pages: a pattern that differs at every byte, then its IDT at `offset`
 * with `ngates` gates (present unless listed in `absent`). */
static uint8_t *guest_pages(unsigned npages, unsigned offset, unsigned ngates, const uint8_t *absent,
                            unsigned nabsent)
{
    uint8_t *g = malloc((size_t)npages * PAGE); /* exact size: ASan catches any overrun */
    assert_non_null(g);
    for (size_t i = 0; i < (size_t)npages * PAGE; i++)
        g[i] = (uint8_t)(i * 7 + 3 + (i >> 8));
    for (unsigned v = 0; v < ngates; v++)
        make_gate(g + offset + v * IDT_GATE64_SIZE, v, !nabsent || !memchr(absent, (int)v, nabsent));
    return g;
}

static uint8_t *new_shadow(unsigned npages)
{
    uint8_t *s = malloc((size_t)npages * PAGE);
    assert_non_null(s);
    memset(s, 0xCC, (size_t)npages * PAGE);
    return s;
}

/* An absent gate as eli writes it: zero except the type, a 64-bit interrupt gate, so
 * that the CPU raises #NP and not #GP (a zero descriptor has an invalid type). */
static void expect_absent(const uint8_t *gate, unsigned v)
{
    static const uint8_t want[IDT_GATE64_SIZE] = { [5] = IDT_TYPE_INTERRUPT64 };
    if (memcmp(gate, want, IDT_GATE64_SIZE))
        fail_msg("slot 0x%x: not an absent interrupt gate (byte 5 = 0x%02x)", v, gate[5]);
    assert_int_equal(gate[5] & 0x1F, 0x0E); /* S = 0, type 1110b */
    assert_int_equal(gate[5] & 0x80, 0);    /* P = 0 */
    assert_false(idt_gate_present(gate));
}

static void expect_copy(const uint8_t *sidt, const uint8_t *gidt, unsigned slot, unsigned g)
{
    if (memcmp(sidt + slot * IDT_GATE64_SIZE, gidt + g * IDT_GATE64_SIZE, IDT_GATE64_SIZE))
        fail_msg("slot 0x%x does not hold the guest's gate 0x%x", slot, g);
}

/* ---- the window ---------------------------------------------------------------- */

static void test_window_aligned(void **state)
{
    (void)state;
    struct shadow_window w;
    memset(&w, 0xEE, sizeof(w));
    shadow_window_of(0x5000, &w);
    assert_int_equal(w.first_page_gpa, 0x5000);
    assert_int_equal(w.offset, 0);
    assert_int_equal(w.npages, 1);
    shadow_window_of(0x123456789000ull, &w);
    assert_int_equal(w.first_page_gpa, 0x123456789000ull);
    assert_int_equal(w.offset, 0);
    assert_int_equal(w.npages, 1);
    shadow_window_of(0, &w);
    assert_int_equal(w.first_page_gpa, 0);
    assert_int_equal(w.npages, 1);
}

/* The window is the full 256-gate table: any base that is not page-aligned crosses. */
static void test_window_unaligned(void **state)
{
    (void)state;
    struct shadow_window w;
    shadow_window_of(0x5008, &w);
    assert_int_equal(w.first_page_gpa, 0x5000);
    assert_int_equal(w.offset, 8);
    assert_int_equal(w.npages, 2);
    shadow_window_of(0x5800, &w);
    assert_int_equal(w.first_page_gpa, 0x5000);
    assert_int_equal(w.offset, 0x800);
    assert_int_equal(w.npages, 2);
    shadow_window_of(0x5FF0, &w); /* only gate 0 on the first page */
    assert_int_equal(w.first_page_gpa, 0x5000);
    assert_int_equal(w.offset, 0xFF0);
    assert_int_equal(w.npages, 2);
    shadow_window_of(0x1FFFFFFFFF001ull, &w);
    assert_int_equal(w.first_page_gpa, 0x1FFFFFFFFF000ull);
    assert_int_equal(w.offset, 1);
    assert_int_equal(w.npages, 2);
}

/* ---- building ------------------------------------------------------------------- */

static void test_build_plain_copy(void **state)
{
    (void)state;
    struct vecmap m;
    vecmap_init(&m, NULL, 0); /* no host vector, nothing mapped */
    struct shadow_window w;
    shadow_window_of(0x7000, &w);
    uint8_t *g = guest_pages(1, 0, 256, NULL, 0);
    uint8_t *s = new_shadow(1);
    assert_int_equal(shadow_idt_build(&w, g, IDT_FULL_LIMIT, &m, s), 224);
    assert_memory_equal(s, g, PAGE);
    free(g);
    free(s);
}

static void test_build_host_and_remapped(void **state)
{
    (void)state;
    struct vecmap m;
    vecmap_init(&m, host3, sizeof(host3));
    assert_int_equal(vecmap_map(&m, 0x40), 0x40);
    /* collides with eli's timer: out of eli's class 0xF0, to the highest free vector */
    int p = vecmap_map(&m, 0xF0);
    assert_int_equal(p, 0xEF);
    /* guest vector p now collides with the remapped 0xF0: it moves to r */
    int r = vecmap_map(&m, (uint8_t)p);
    assert_int_equal(r, 0xEE);
    /* a free vector of eli's class is not identity-mapped either: guest 0xF5 at q */
    int q = vecmap_map(&m, 0xF5);
    assert_int_equal(q, 0xED);

    static const uint8_t guest_absent[] = { 0x33, 0x90 };
    struct shadow_window w;
    shadow_window_of(0x3000, &w);
    uint8_t *g = guest_pages(1, 0, 256, guest_absent, sizeof(guest_absent));
    uint8_t *s = new_shadow(1);
    unsigned n = shadow_idt_build(&w, g, IDT_FULL_LIMIT, &m, s);

    for (unsigned v = 0; v < 256; v++) {
        const uint8_t *gate = s + v * IDT_GATE64_SIZE;
        if (v == 0xF0 || v == 0xFE || v == 0xFF)
            expect_absent(gate, v);
        else if (v == (unsigned)p)
            expect_copy(s, g, v, 0xF0); /* slot p carries the guest's 0xF0 */
        else if (v == (unsigned)r)
            expect_copy(s, g, v, (unsigned)p);
        else if (v == (unsigned)q)
            expect_copy(s, g, v, 0xF5);
        else if (v == 0xF5)
            expect_absent(gate, v); /* its guest vector moved to q */
        else
            expect_copy(s, g, v, v); /* exceptions and everything else unchanged */
    }
    /* 224 external slots, less eli's 3, slot 0xF5 and the guest's own 2 absent gates */
    assert_int_equal(n, 224 - 3 - 1 - 2);
    assert_false(idt_gate_present(s + 0x33 * IDT_GATE64_SIZE));
    assert_true(idt_gate_present(s + 0x40 * IDT_GATE64_SIZE));
    free(g);
    free(s);
}

/* A slot whose guest vector was moved elsewhere and that carries no other guest vector
 * is absent: the guest's gate there must not be reachable at two vectors. */
static void test_build_moved_slot_absent(void **state)
{
    (void)state;
    struct vecmap m;
    vecmap_init(&m, host3, sizeof(host3));
    int p = vecmap_map(&m, 0xF0);
    int r = vecmap_map(&m, (uint8_t)p); /* guest p -> r */
    assert_int_equal(p, 0xEF);
    assert_int_equal(r, 0xEE);
    vecmap_unmap(&m, 0xF0);            /* slot p now carries nothing, guest p still at r */
    assert_int_equal(vecmap_guest(&m, (uint8_t)p), -1);
    assert_int_equal(vecmap_phys(&m, (uint8_t)p), r);

    struct shadow_window w;
    shadow_window_of(0x3000, &w);
    uint8_t *g = guest_pages(1, 0, 256, NULL, 0);
    uint8_t *s = new_shadow(1);
    unsigned n = shadow_idt_build(&w, g, IDT_FULL_LIMIT, &m, s);
    expect_absent(s + (unsigned)p * IDT_GATE64_SIZE, (unsigned)p);
    expect_copy(s, g, (unsigned)r, (unsigned)p);
    expect_absent(s + 0xF0 * IDT_GATE64_SIZE, 0xF0);
    assert_int_equal(n, 224 - 3 - 1);
    free(g);
    free(s);
}

static void test_build_limit(void **state)
{
    (void)state;
    /* eli owns the whole 0x40 class, so guest 0x45 goes to another class, a slot
     * beyond the guest's limit; guest 0xF5, in the class of eli's 0xFE and 0xFF, goes
     * to the next one down; guest 0xD5 keeps its own slot, beyond the limit too */
    uint8_t hv[18];
    for (unsigned i = 0; i < 16; i++)
        hv[i] = (uint8_t)(0x40 + i);
    hv[16] = 0xFE;
    hv[17] = 0xFF;
    struct vecmap m;
    vecmap_init(&m, hv, sizeof(hv));
    int p45 = vecmap_map(&m, 0x45);
    assert_int_equal(p45, 0xEF);
    assert_int_equal(vecmap_map(&m, 0xF5), 0xEE); /* its gate is beyond the limit */
    assert_int_equal(vecmap_map(&m, 0xD5), 0xD5);

    const uint32_t limit = 128 * IDT_GATE64_SIZE - 1; /* vectors 0-127 */
    struct shadow_window w;
    shadow_window_of(0x9000, &w);
    uint8_t *g = guest_pages(1, 0, 256, NULL, 0);
    uint8_t *s = new_shadow(1);
    unsigned n = shadow_idt_build(&w, g, limit, &m, s);
    for (unsigned v = 0; v < 256; v++) {
        const uint8_t *gate = s + v * IDT_GATE64_SIZE;
        if (v == (unsigned)p45)
            expect_copy(s, g, v, 0x45); /* its guest gate is within the limit */
        else if ((v >= 0x40 && v <= 0x4F) || v >= 128)
            expect_absent(gate, v); /* eli's, or beyond the limit */
        else
            expect_copy(s, g, v, v);
    }
    /* 32..127 less eli's 16, plus the remapped 0x45 */
    assert_int_equal(n, 96 - 16 + 1);

    /* a limit that ends inside gate 127 leaves it out too */
    n = shadow_idt_build(&w, g, limit - 1, &m, s);
    expect_absent(s + 127 * IDT_GATE64_SIZE, 127);
    expect_copy(s, g, 126, 126);
    assert_int_equal(n, 96 - 16 + 1 - 1);

    /* a limit covering gate 0 only */
    n = shadow_idt_build(&w, g, 15, &m, s);
    expect_copy(s, g, 0, 0);
    for (unsigned v = 1; v < 256; v++)
        expect_absent(s + v * IDT_GATE64_SIZE, v);
    assert_int_equal(n, 0);

    /* the other way round: eli owns 0x80-0xFF, guest 0x90 lands in slot 0x7F, within
     * the limit, but its own gate lies beyond it: that slot is absent */
    uint8_t high[128];
    for (unsigned i = 0; i < 128; i++)
        high[i] = (uint8_t)(0x80 + i);
    vecmap_init(&m, high, sizeof(high));
    assert_int_equal(vecmap_map(&m, 0x90), 0x7F);
    n = shadow_idt_build(&w, g, limit, &m, s);
    expect_absent(s + 0x7F * IDT_GATE64_SIZE, 0x7F);
    expect_copy(s, g, 0x7E, 0x7E);
    for (unsigned v = 128; v < 256; v++)
        expect_absent(s + v * IDT_GATE64_SIZE, v);
    assert_int_equal(n, 96 - 1);
    free(g);
    free(s);
}

/* An IDT that is not page-aligned spans two pages that it shares with other data: the
 * bytes before and after the 256-gate region are copied unchanged. */
static void test_build_two_pages(void **state)
{
    (void)state;
    static const unsigned offsets[] = { 0x8, 0x800, 0xFF0 };
    struct vecmap m;
    vecmap_init(&m, host3, sizeof(host3));
    int p = vecmap_map(&m, 0xF0);
    assert_int_equal(p, 0xEF);
    for (unsigned k = 0; k < 3; k++) {
        unsigned off = offsets[k];
        struct shadow_window w;
        shadow_window_of(0x200000 + off, &w);
        assert_int_equal(w.npages, 2);
        uint8_t *g = guest_pages(2, off, 256, NULL, 0);
        uint8_t *s = new_shadow(2);
        unsigned n = shadow_idt_build(&w, g, IDT_FULL_LIMIT, &m, s);
        assert_int_equal(n, 224 - 3);
        /* the bytes before and after the IDT mirror the guest's pages */
        assert_memory_equal(s, g, off);
        assert_memory_equal(s + off + 256 * IDT_GATE64_SIZE, g + off + 256 * IDT_GATE64_SIZE,
                            2 * PAGE - off - 256 * IDT_GATE64_SIZE);
        const uint8_t *sidt = s + off, *gidt = g + off;
        for (unsigned v = 0; v < 256; v++) {
            if (v == 0xF0 || v == 0xFE || v == 0xFF)
                expect_absent(sidt + v * IDT_GATE64_SIZE, v);
            else if (v == (unsigned)p)
                expect_copy(sidt, gidt, v, 0xF0);
            else
                expect_copy(sidt, gidt, v, v);
        }
        free(g);
        free(s);
    }
}

/* A one-page window never touches a second page of either buffer (exact-size buffers:
 * ASan reports any access beyond them), and a rebuild over a used shadow gives the
 * same result as over a fresh one. */
static void test_build_one_page_bounds_and_rebuild(void **state)
{
    (void)state;
    struct vecmap m;
    vecmap_init(&m, host3, sizeof(host3));
    assert_int_equal(vecmap_map(&m, 0xFE), 0xEF);
    struct shadow_window w;
    shadow_window_of(0x1000, &w);
    uint8_t *g = guest_pages(1, 0, 256, NULL, 0);
    uint8_t *s1 = new_shadow(1), *s2 = new_shadow(1);
    memset(s2, 0x00, PAGE);
    unsigned n1 = shadow_idt_build(&w, g, IDT_FULL_LIMIT, &m, s1);
    unsigned n2 = shadow_idt_build(&w, g, IDT_FULL_LIMIT, &m, s2);
    assert_int_equal(n1, n2);
    assert_memory_equal(s1, s2, PAGE);
    /* after the guest changes a gate, a rebuild picks it up */
    make_gate(g + 0x41 * IDT_GATE64_SIZE, 0x99, true);
    shadow_idt_build(&w, g, IDT_FULL_LIMIT, &m, s1);
    expect_copy(s1, g, 0x41, 0x41);
    assert_memory_not_equal(s1 + 0x41 * IDT_GATE64_SIZE, s2 + 0x41 * IDT_GATE64_SIZE, IDT_GATE64_SIZE);
    free(g);
    free(s1);
    free(s2);
}

static void test_gate_present(void **state)
{
    (void)state;
    uint8_t gate[IDT_GATE64_SIZE] = { 0 };
    assert_false(idt_gate_present(gate));
    gate[5] = 0x8E;
    assert_true(idt_gate_present(gate));
    gate[5] = 0x0E;
    assert_false(idt_gate_present(gate));
    gate[5] = 0x80;
    assert_true(idt_gate_present(gate));
    memset(gate, 0xFF, sizeof(gate));
    gate[5] = 0x7F;
    assert_false(idt_gate_present(gate));
}

/* A fake guest: virtual page n maps to the physical page page_of[n] (~0: unmapped). */
static uint64_t page_of[4];

static int fake_translate(void *ctx, uint64_t gva, uint64_t *gpa)
{
    assert_ptr_equal(ctx, page_of);
    uint64_t p = gva / 4096 < 4 ? page_of[gva / 4096] : ~0ull;
    if (p == ~0ull)
        return -1;
    *gpa = p * 4096 + gva % 4096;
    return 0;
}

static void test_locate_one_page(void **state)
{
    (void)state;
    struct gmem mem = { NULL, 16 * 4096 };
    page_of[0] = 3;
    struct shadow_window w;
    assert_int_equal(shadow_window_locate(0, &mem, fake_translate, page_of, &w), 3 * 4096);
    assert_int_equal(w.first_page_gpa, 3 * 4096);
    assert_int_equal(w.npages, 1);
}

/* An IDT across two pages needs them adjacent in guest-physical memory, and in RAM. */
static void test_locate_two_pages(void **state)
{
    (void)state;
    struct gmem mem = { NULL, 16 * 4096 };
    struct shadow_window w;
    page_of[1] = 5;
    page_of[2] = 6;
    assert_int_equal(shadow_window_locate(4096 + 0x800, &mem, fake_translate, page_of, &w),
                     5 * 4096 + 0x800);
    assert_int_equal(w.npages, 2);
    page_of[2] = 9;                     /* not adjacent */
    assert_int_equal(shadow_window_locate(4096 + 0x800, &mem, fake_translate, page_of, &w), ~0ull);
    page_of[2] = ~0ull;                 /* second page unmapped */
    assert_int_equal(shadow_window_locate(4096 + 0x800, &mem, fake_translate, page_of, &w), ~0ull);
    page_of[1] = 15;                    /* 15 and 16: the second is past RAM */
    page_of[2] = 16;
    assert_int_equal(shadow_window_locate(4096 + 0x800, &mem, fake_translate, page_of, &w), ~0ull);
    page_of[0] = ~0ull;                 /* first page unmapped */
    assert_int_equal(shadow_window_locate(0x10, &mem, fake_translate, page_of, &w), ~0ull);
}

static uint64_t mapped_gpa[4], mapped_hpa[4];
static bool mapped_rw[4];
static unsigned nmapped, fail_at = 99;

static int fake_map(void *ctx, uint64_t gpa, uint64_t hpa, bool writable)
{
    assert_null(ctx);
    if (nmapped == fail_at)
        return -5;
    mapped_gpa[nmapped] = gpa;
    mapped_hpa[nmapped] = hpa;
    mapped_rw[nmapped++] = writable;
    return 0;
}

static void test_window_map(void **state)
{
    (void)state;
    struct shadow_window w = { 0x5000, 2, 0x800 };
    uint64_t bad = 0;
    nmapped = 0;
    assert_int_equal(shadow_window_map(&w, true, 0x100000, 0x200000, fake_map, NULL, &bad), 0);
    assert_int_equal(nmapped, 2);
    assert_int_equal(mapped_gpa[1], 0x6000);
    assert_int_equal(mapped_hpa[0], 0x100000);   /* the shadow, read-only */
    assert_int_equal(mapped_hpa[1], 0x101000);
    assert_false(mapped_rw[0]);
    nmapped = 0;
    assert_int_equal(shadow_window_map(&w, false, 0x100000, 0x200000, fake_map, NULL, &bad), 0);
    assert_int_equal(mapped_hpa[1], 0x206000);   /* the guest's own RAM, writable */
    assert_true(mapped_rw[1]);
    nmapped = 0;
    fail_at = 1;
    assert_int_equal(shadow_window_map(&w, true, 0x100000, 0x200000, fake_map, NULL, &bad), -5);
    assert_int_equal(bad, 0x6000);
    fail_at = 99;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_aligned),
        cmocka_unit_test(test_window_unaligned),
        cmocka_unit_test(test_build_plain_copy),
        cmocka_unit_test(test_build_host_and_remapped),
        cmocka_unit_test(test_build_moved_slot_absent),
        cmocka_unit_test(test_build_limit),
        cmocka_unit_test(test_build_two_pages),
        cmocka_unit_test(test_build_one_page_bounds_and_rebuild),
        cmocka_unit_test(test_gate_present),
        cmocka_unit_test(test_locate_one_page),
        cmocka_unit_test(test_locate_two_pages),
        cmocka_unit_test(test_window_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
