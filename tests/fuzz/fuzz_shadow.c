/* libFuzzer target: hv/eli/vecmap.c and hv/eli/shadow_idt.c: the vector map, and
 * the shadow IDT built from the guest's (untrusted) IDT pages.
 *
 * Input: [host sel][host vectors...][nops] nops x [ctl][g] (map, or unmap when
 * ctl bit 0), [page][offset:2][limit sel][limit...], then the guest's IDT page(s):
 * input bytes first, then a pattern whose every gate is present.
 *   host sel < 0xE0: eli's three vectors (F0, FE, FF) and (sel % 6) more from the
 *   input; else (sel % 9) vectors from the input only.
 * Checks: the vector map stays a bijection between mapped guest vectors and free
 * physical vectors (never eli's, never below 32); the shadow has no present gate
 * at a host-owned vector, is byte-identical to the guest's pages outside the IDT
 * region, holds at every slot what shadow_idt.h says (the guest's gate, the gate
 * of the guest vector remapped there, or an absent gate), and the count returned
 * is that of the present external gates. Pages are exact heap blocks. */
#include "fuzz.h"

#include "core/errno.h"
#include "eli/shadow_idt.h"
#include "eli/vecmap.h"

#define PAGE 4096u

/* A priority class holding one of eli's vectors: a guest vector there, in service
 * and never completed, would hold eli's vector off (vecmap.c, SDM vol. 3, 11.8.3). */
static bool host_class(const struct vecmap *m, unsigned p)
{
    for (unsigned v = p & 0xF0u; v < (p & 0xF0u) + 16; v++)
        if (vecmap_host_owned(m, (uint8_t)v))
            return true;
    return false;
}

static void check_vecmap(const struct vecmap *m)
{
    for (unsigned g = 0; g < 256; g++) {
        int p = vecmap_phys(m, (uint8_t)g);
        if (p < 0)
            continue;
        FUZZ_CHECK(g >= VEC_FIRST_EXTERNAL, "guest vector %u mapped", g);
        FUZZ_CHECK(p >= VEC_FIRST_EXTERNAL && p < 256, "guest %u -> %d", g, p);
        FUZZ_CHECK(!vecmap_host_owned(m, (uint8_t)p), "guest %u -> host vector %d", g, p);
        FUZZ_CHECK(!host_class(m, (unsigned)p), "guest %u -> %d, in the priority class of a host vector", g, p);
        FUZZ_CHECK(vecmap_guest(m, (uint8_t)p) == (int)g, "p2g[%d] = %d, not %u", p, vecmap_guest(m, (uint8_t)p), g);
    }
    for (unsigned p = 0; p < 256; p++) {
        int g = vecmap_guest(m, (uint8_t)p);
        if (g >= 0)
            FUZZ_CHECK(vecmap_phys(m, (uint8_t)g) == (int)p, "p2g[%u] = %d, g2p = %d", p, g,
                       vecmap_phys(m, (uint8_t)g));
    }
}

/* What vecmap may hand out: an external vector outside eli's classes, unused. */
static bool is_free(const struct vecmap *m, unsigned p)
{
    return p >= VEC_FIRST_EXTERNAL && p < 256 && !host_class(m, p) && vecmap_guest(m, (uint8_t)p) < 0;
}

/* a free vector in [first, first + n) */
static bool any_free(const struct vecmap *m, unsigned first, unsigned n)
{
    for (unsigned p = first; p < first + n; p++)
        if (is_free(m, p))
            return true;
    return false;
}

static void map_op(struct vecmap *m, uint8_t ctl, uint8_t g)
{
    if (ctl & 1) {
        vecmap_unmap(m, g);
        FUZZ_CHECK(vecmap_phys(m, g) == -1);
        return;
    }
    int before = vecmap_phys(m, g);
    int p = vecmap_map(m, g);
    if (g < VEC_FIRST_EXTERNAL) {
        FUZZ_CHECK(p == -EINVAL, "map(%u) = %d", g, p);
        return;
    }
    if (before >= 0) {
        FUZZ_CHECK(p == before, "remapping %u: %d, was %d", g, p, before);
        return;
    }
    if (p < 0) {
        FUZZ_CHECK(p == -ENOSPC && !any_free(m, 0, 256), "map(%u) = %d with a free vector", g, p);
        return;
    }
    FUZZ_CHECK(p >= VEC_FIRST_EXTERNAL && vecmap_phys(m, g) == p && vecmap_guest(m, (uint8_t)p) == g,
               "map(%u) = %d", g, p);
    /* vecmap.h: p = g when g is free, else a free vector of g's priority class
     * before any other (what is still free now was free before) */
    FUZZ_CHECK(p == g || !is_free(m, g), "map(%u) = %d though %u was free", g, p, g);
    FUZZ_CHECK((p & 0xF0) == (g & 0xF0) || !any_free(m, g & 0xF0u, 16), "map(%u) = %d though its class had room",
               g, p);
}

static const uint8_t absent_gate[IDT_GATE64_SIZE] = { [5] = IDT_TYPE_INTERRUPT64 };

static void check_shadow(const struct shadow_window *w, const uint8_t *guest, uint32_t limit,
                         const struct vecmap *m, const uint8_t *shadow, unsigned count)
{
    size_t total = (size_t)w->npages * PAGE;
    /* outside the IDT region: the guest's bytes */
    FUZZ_CHECK(memcmp(shadow, guest, w->offset) == 0, "bytes before the IDT differ");
    size_t end = (size_t)w->offset + IDT_FULL_LIMIT + 1;
    FUZZ_CHECK(memcmp(shadow + end, guest + end, total - end) == 0, "bytes after the IDT differ");

    unsigned present = 0;
    for (unsigned v = 0; v < 256; v++) {
        const uint8_t *gate = shadow + w->offset + v * IDT_GATE64_SIZE;
        if (vecmap_host_owned(m, (uint8_t)v))
            FUZZ_CHECK(!idt_gate_present(gate), "present gate at host vector 0x%x", v);
        int g = vecmap_guest(m, (uint8_t)v);
        if (g < 0) {
            int p = vecmap_phys(m, (uint8_t)v);
            g = p >= 0 && p != (int)v ? -1 : (int)v;
        }
        bool absent = vecmap_host_owned(m, (uint8_t)v) || g < 0 ||
                      (uint64_t)g * IDT_GATE64_SIZE + IDT_GATE64_SIZE - 1 > limit;
        const uint8_t *want = absent ? absent_gate : guest + w->offset + (unsigned)g * IDT_GATE64_SIZE;
        FUZZ_CHECK(memcmp(gate, want, IDT_GATE64_SIZE) == 0, "slot 0x%x: expected %s", v,
                   absent ? "an absent gate" : "the guest's gate");
        present += v >= VEC_FIRST_EXTERNAL && idt_gate_present(gate);
    }
    FUZZ_CHECK(count == present, "returned %u present gates, shadow has %u", count, present);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = fin_make(data, size);
    uint8_t host[16];
    unsigned nhost = 0;
    uint8_t hsel = fin_u8(&f);
    if (hsel < 0xE0) {
        host[nhost++] = 0xF0;
        host[nhost++] = 0xFE;
        host[nhost++] = 0xFF;
    }
    for (unsigned i = 0, n = hsel < 0xE0 ? hsel % 6 : hsel % 9; i < n; i++)
        host[nhost++] = fin_u8(&f);

    struct vecmap m;
    vecmap_init(&m, host, nhost);
    for (unsigned i = 0; i < nhost; i++)
        FUZZ_CHECK(vecmap_host_owned(&m, host[i]));
    check_vecmap(&m);
    unsigned nops = fin_u8(&f);
    for (unsigned i = 0; i < nops && fin_left(&f); i++) {
        uint8_t ctl = fin_u8(&f);
        map_op(&m, ctl, fin_u8(&f));
        if (ctl & 0x80)
            check_vecmap(&m);
    }
    check_vecmap(&m);

    uint64_t base = (uint64_t)fin_u8(&f) << 12 | (fin_u16(&f) & 0xFFF);
    static const uint32_t limits[] = { IDT_FULL_LIMIT, 0x1FF, 0x0, 0x1FE, 0x200, 0x20F, 0x7FF, 0xEFF,
                                       0xF0F, 0xFEF, 0xFFE, 0xFFFF, 0x1000 };
    uint32_t limit = fin_pick32(&f, limits, sizeof(limits) / sizeof(limits[0]));

    struct shadow_window w;
    shadow_window_of(base, &w);
    FUZZ_CHECK(w.first_page_gpa == (base & ~0xFFFull) && w.offset == (base & 0xFFF));
    FUZZ_CHECK(w.npages == (w.offset ? 2u : 1u), "npages %u at offset 0x%x", w.npages, w.offset);

    size_t total = (size_t)w.npages * PAGE;
    uint8_t *guest = malloc(total);
    uint8_t *shadow = malloc(total);
    FUZZ_CHECK(guest && shadow);
    size_t k = fin_left(&f) < total ? fin_left(&f) : total;
    fin_bytes(&f, guest, k);
    for (size_t i = k; i < total; i++)
        guest[i] = (uint8_t)(((i - w.offset) % IDT_GATE64_SIZE == 5) ? 0x8E : i * 7 + 3);
    memset(shadow, 0xCC, total);

    unsigned count = shadow_idt_build(&w, guest, limit, &m, shadow);
    check_shadow(&w, guest, limit, &m, shadow, count);
    free(shadow);
    free(guest);
    return 0;
}
