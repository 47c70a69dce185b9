/* libFuzzer target: hv/dev/vlapic.c, the guest's virtual local APIC (every
 * register value and access comes from the guest).
 *
 * Input: [apic_id:4][tsc_hz:8][cfg] then operations until the input ends, each an
 * opcode byte and its arguments (see the switch below): MSR read/write, xAPIC
 * MMIO read/write at any offset and size, accept/ack/EOI, CR8, and timer polls on
 * a fake TSC that the input advances. MSRs, offsets and values are picked from
 * tables of the interesting ones or taken raw (fin_pick32).
 *   cfg bit 0: install an eoi_hook (as eli does) and count its calls.
 * After every operation the invariants of vlapic.h and the SDM are checked. */
#include "fuzz.h"

#include "core/errno.h"
#include "dev/vlapic.h"

/* The fake TSC runs for at most 2^33 seconds (272 years) of virtual time, and never
 * past 2^62: beyond 2^64 bus ticks (584 years at 1 GHz) the timer arithmetic
 * saturates by design, and no TSC runs that long. */
#define CLOCK_LIMIT (1ull << 62)
static uint64_t clock_max;

static const uint32_t msrs[] = {
    0x1B, 0x6E0, 0x802, 0x803, 0x808, 0x809, 0x80A, 0x80B, 0x80C, 0x80D, 0x80E, 0x80F,
    0x810, 0x811, 0x817, 0x818, 0x81F, 0x820, 0x827, 0x828, 0x82F, 0x830, 0x831, 0x832,
    0x833, 0x834, 0x835, 0x836, 0x837, 0x838, 0x839, 0x83A, 0x83E, 0x83F, 0x800, 0x8FF, 0x900,
};

/* register values worth trying: enables, modes, vectors, masks, IPIs */
static const uint32_t values[] = {
    0, 1, 0xFF, 0x100, 0x1FF, 0x10F, 0x20, 0x30, 0x40, 0xEF, 0xF0, 0x0F, 0x10,
    0x10020, 0x20030, 0x40040, 0x60050, 0x00031, 0x40031, 0x80031, 0xC0031,
    0x400, 0x500, 0x800, 0x4031, 0x8031, 0x1000, 0x4000, 0xB, 0x8, 0x3,
    0xFEE00800, 0xFEE00900, 0xFEE00C00, 0xFEE00D00, 0xFEE00100, 0xFED00900, 0x0F000000,
    0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 100, 1000, 100000,
};

struct world {
    struct vlapic v;
    uint64_t tsc;
    unsigned hook_calls;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct world *)ctx)->tsc;
}

static void fake_hook(void *ctx)
{
    struct world *w = ctx;
    w->hook_calls++;
    vlapic_eoi(&w->v);
}

static bool bit(const uint32_t *r, unsigned vec)
{
    return r[vec / 32] >> (vec % 32) & 1;
}

static void check_invariants(struct world *w)
{
    struct vlapic *v = &w->v;
    /* vectors 0-15 never enter the IRR, ISR or TMR (11.5.3) */
    FUZZ_CHECK((v->irr[0] & 0xFFFF) == 0, "irr[0] 0x%x", v->irr[0]);
    FUZZ_CHECK((v->isr[0] & 0xFFFF) == 0, "isr[0] 0x%x", v->isr[0]);
    FUZZ_CHECK((v->tmr[0] & 0xFFFF) == 0);
    int p = vlapic_pending(v);
    FUZZ_CHECK(p == -1 || (p >= 16 && p < 256 && bit(v->irr, (unsigned)p)), "pending %d", p);
    if (p >= 0) {
        FUZZ_CHECK(p == vlapic_highest_irr(v));
        FUZZ_CHECK((unsigned)p >> 4 > vlapic_ppr(v) >> 4, "pending %d ppr 0x%x", p, vlapic_ppr(v));
    }
    int hi = vlapic_highest_isr(v), hr = vlapic_highest_irr(v);
    FUZZ_CHECK(hi == -1 || (hi >= 16 && bit(v->isr, (unsigned)hi)));
    FUZZ_CHECK(hr == -1 || (hr >= 16 && bit(v->irr, (unsigned)hr)));
    FUZZ_CHECK(vlapic_ppr(v) <= 0xFF);
    FUZZ_CHECK(v->tpr <= 0xFF);
    FUZZ_CHECK(vlapic_cr8_read(v) == v->tpr >> 4);
    FUZZ_CHECK((v->esr & ~0xF0u) == 0 && (v->esr_pending & ~0xF0u) == 0, "esr 0x%x/0x%x", v->esr,
               v->esr_pending);
    FUZZ_CHECK((v->timer_dcr & ~0xBu) == 0);
    FUZZ_CHECK((v->svr & ~0x3FFu) == 0);
    /* 11.4.7.2: a software-disabled APIC keeps every LVT entry masked */
    bool sw = (v->apic_base & APIC_BASE_EN) && (v->svr & APIC_SVR_ENABLE);
    for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
        FUZZ_CHECK(sw || (v->lvt[i] & APIC_LVT_MASKED), "lvt %u = 0x%x while disabled", i, v->lvt[i]);
    FUZZ_CHECK(((v->lvt[VLAPIC_LVT_TIMER_IDX] >> 17) & 3) != 3, "reserved timer mode stored");
    /* EXTD without EN is invalid (11.12.5): never reached */
    FUZZ_CHECK(!(v->apic_base & APIC_BASE_EXTD) || (v->apic_base & APIC_BASE_EN));
    uint64_t base = vlapic_mmio_base(v);
    FUZZ_CHECK((base & 0xFFF) == 0 && base < (1ull << VLAPIC_PHYS_BITS));
    if (vlapic_x2apic_mode(v) || !(v->apic_base & APIC_BASE_EN))
        FUZZ_CHECK(base == 0);
    FUZZ_CHECK(!v->timer_running || v->timer_count0 != 0);
    FUZZ_CHECK(!v->timer_running || v->timer_initial != 0,
               "running timer with initial count 0 (count0 %u)", v->timer_count0);
}

static uint32_t pick_msr(struct fin *f)
{
    return fin_pick32(f, msrs, sizeof(msrs) / sizeof(msrs[0]));
}

static uint64_t pick_value(struct fin *f)
{
    uint8_t sel = fin_u8(f);
    if (sel < 0xC0)
        return values[sel % (sizeof(values) / sizeof(values[0]))];
    if (sel < 0xE0)
        return fin_u32(f);
    return fin_u64(f);
}

/* an xAPIC offset: a register's, a register's with a byte offset, or raw */
static uint32_t pick_offset(struct fin *f)
{
    uint8_t sel = fin_u8(f);
    if (sel < 0x80)
        return (msrs[sel % (sizeof(msrs) / sizeof(msrs[0]))] - 0x800u) << 4;
    if (sel < 0xC0)
        return ((msrs[sel % (sizeof(msrs) / sizeof(msrs[0]))] - 0x800u) << 4) + (sel & 0xF);
    if (sel < 0xF0)
        return fin_u16(f) & 0xFFF;
    return fin_u32(f);
}

static unsigned pick_size(struct fin *f)
{
    uint8_t s = fin_u8(f);
    static const unsigned sizes[4] = { 4, 1, 2, 4 };
    return s < 0xF0 ? sizes[s & 3] : s & 0xF;
}

static uint64_t poll(struct world *w)
{
    uint64_t d = vlapic_timer_poll(&w->v);
    FUZZ_CHECK(d == 0 || d > w->tsc, "poll at %llu returned deadline %llu", (unsigned long long)w->tsc,
               (unsigned long long)d);
    FUZZ_CHECK(vlapic_timer_deadline(&w->v) == d);
    return d;
}

static void advance(struct world *w, uint64_t dt)
{
    w->tsc = dt > clock_max - w->tsc ? clock_max : w->tsc + dt;
}

static void step(struct world *w, struct fin *f)
{
    struct vlapic *v = &w->v;
    uint8_t op = fin_u8(f);
    switch (op % 12) {
    case 0: { /* RDMSR */
        uint32_t msr = pick_msr(f);
        uint64_t val = 0x5a5a;
        int rc = vlapic_msr_read(v, msr, &val);
        FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOENT, "rdmsr 0x%x: %d", msr, rc);
        if (rc == 0 && msr != VLAPIC_MSR_APIC_BASE && msr != VLAPIC_MSR_TSC_DEADLINE &&
            msr != X2APIC_ICR)
            FUZZ_CHECK(val >> 32 == 0, "rdmsr 0x%x = 0x%llx", msr, (unsigned long long)val);
        break;
    }
    case 1: { /* WRMSR */
        uint32_t msr = pick_msr(f);
        uint64_t val = pick_value(f);
        if (fin_u8(f) & 1)
            val |= (uint64_t)fin_u32(f) << 32;
        unsigned before = w->hook_calls;
        int rc = vlapic_msr_write(v, msr, val);
        FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOENT, "wrmsr 0x%x: %d", msr, rc);
        if (v->eoi_hook)
            FUZZ_CHECK(w->hook_calls == before + (msr == X2APIC_EOI && rc == 0),
                       "EOI hook calls %u -> %u", before, w->hook_calls);
        if (rc == 0 && msr == VLAPIC_MSR_APIC_BASE)
            FUZZ_CHECK(v->apic_base == val);
        break;
    }
    case 2: { /* MMIO read */
        uint32_t off = pick_offset(f);
        unsigned size = pick_size(f);
        uint32_t val = 0x5a5a5a5a;
        int rc = vlapic_mmio_read(v, off, size, &val);
        FUZZ_CHECK(rc == 0 || rc == -EINVAL);
        if (rc == 0 && size < 4)
            FUZZ_CHECK(val >> (8 * size) == 0, "mmio read 0x%x/%u = 0x%x", off, size, val);
        if (rc == 0)
            FUZZ_CHECK(vlapic_mmio_base(v) != 0 && off < VLAPIC_MMIO_SIZE);
        break;
    }
    case 3: { /* MMIO write */
        uint32_t off = pick_offset(f);
        unsigned size = pick_size(f);
        uint32_t val = (uint32_t)pick_value(f);
        unsigned before = w->hook_calls;
        int rc = vlapic_mmio_write(v, off, size, val);
        FUZZ_CHECK(rc == 0 || rc == -EINVAL);
        if (v->eoi_hook && !(rc == 0 && off == 0xB0 && size == 4))
            FUZZ_CHECK(w->hook_calls == before);
        break;
    }
    case 4: /* a fixed interrupt arrives */
        vlapic_accept(v, fin_u8(f));
        break;
    case 5: { /* the CPU takes the pending vector */
        int p = vlapic_pending(v);
        if (p >= 0) {
            vlapic_ack(v, (uint8_t)p);
            FUZZ_CHECK(bit(v->isr, (unsigned)p) && !bit(v->irr, (unsigned)p));
        }
        break;
    }
    case 6: { /* EOI through the API */
        int hi = vlapic_highest_isr(v);
        int e = vlapic_eoi(v);
        FUZZ_CHECK(e == hi);
        FUZZ_CHECK(e < 0 || !bit(v->isr, (unsigned)e));
        break;
    }
    case 7: /* time passes, then a poll (an exit or a tick) */
        advance(w, fin_u8(f) & 0x80 ? fin_u64(f) >> (fin_u8(f) & 63) : fin_u16(f));
        poll(w);
        break;
    case 8: /* time passes without a poll */
        advance(w, fin_u32(f));
        break;
    case 9: { /* MOV to CR8 */
        uint64_t cr8 = fin_u8(f) & 0x80 ? fin_u64(f) : fin_u8(f) & 0xF;
        int rc = vlapic_cr8_write(v, cr8);
        FUZZ_CHECK(rc == (cr8 > 0xF ? -EINVAL : 0));
        if (rc == 0)
            FUZZ_CHECK(vlapic_cr8_read(v) == cr8);
        break;
    }
    case 10: { /* run to the next deadline */
        uint64_t d = vlapic_timer_deadline(v);
        if (d && d <= clock_max) {
            if (d > w->tsc)
                w->tsc = d;
            uint64_t fires = v->timer_fires;
            bool armed_fixed = !(v->lvt[VLAPIC_LVT_TIMER_IDX] & APIC_LVT_MASKED) &&
                               (v->lvt[VLAPIC_LVT_TIMER_IDX] & 0xFF) >= 16 && (v->apic_base & APIC_BASE_EN) &&
                               (v->svr & APIC_SVR_ENABLE);
            poll(w);
            /* at its deadline an unmasked timer with a legal vector has fired */
            if (armed_fixed)
                FUZZ_CHECK(v->timer_fires == fires + 1, "no timer interrupt at the deadline %llu",
                           (unsigned long long)d);
        }
        break;
    }
    default: { /* a burst: accept then take what is pending */
        vlapic_accept(v, fin_u8(f));
        int p = vlapic_pending(v);
        if (p >= 0)
            vlapic_ack(v, (uint8_t)p);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = fin_make(data, size);
    static struct world w;
    memset(&w, 0, sizeof(w));
    uint32_t id = fin_u32(&f);
    uint64_t hz = fin_u64(&f);
    uint8_t cfg = fin_u8(&f);
    w.tsc = 1000000;
    vlapic_init(&w.v, id, hz, fake_now, &w);
    FUZZ_CHECK(w.v.tsc_hz >= 1 && w.v.tsc_hz <= VLAPIC_TSC_HZ_MAX);
    clock_max = w.v.tsc_hz < (CLOCK_LIMIT >> 33) ? w.v.tsc_hz << 33 : CLOCK_LIMIT;
    if (clock_max < w.tsc)
        clock_max = w.tsc;
    if (cfg & 1) {
        w.v.eoi_hook = fake_hook;
        w.v.hook_ctx = &w;
    }
    check_invariants(&w);
    for (unsigned n = 0; fin_left(&f) && n < 4096; n++) {
        step(&w, &f);
        check_invariants(&w);
    }
    return 0;
}
