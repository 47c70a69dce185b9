/* libFuzzer target: hv/eli/eli.c, the ELI state machine, with the real virtual
 * LAPIC (hv/dev/vlapic.c) and vector map, and a fake physical x2APIC.
 *
 * The fake physical APIC has an IRR and an ISR and delivers as the SDM says: the
 * highest requested vector, only when its priority class is above that of the
 * highest in-service one (eli's TPR is 0). Who takes a delivered vector follows
 * the last plan, as on SVM: in direct mode an assigned vector goes straight to the
 * guest (nothing in eli runs) and one of eli's vectors bounces out as #NP; in
 * injection mode eli's IDT takes it (eli_on_host_irq). eli's own vectors are EOIed
 * by eli's handler at once. The guest EOIs through the physical APIC when the plan
 * passes the EOI MSR through (x2APIC mode), else through its virtual LAPIC, whose
 * eoi_hook is eli_on_guest_eoi.
 *
 * Input: [mode][cfg] then operations until the input ends (see step()).
 *   cfg bit 0: start with the guest's LAPIC in x2APIC mode and software-enabled;
 *   cfg bit 1: start with a valid 64-bit IDT loaded.
 *
 * Invariants (the brief's, then those of docs/eli.md and ../shared/design/eli.md):
 *   baseline is never direct, never passes the EOI through;
 *   plan.inject is -1 or the vector the virtual LAPIC has pending, IRR bit set;
 *   eli never writes the physical EOI without a physical in-service bit (the fake
 *   eoi() checks it);
 *   "host-flow": eli's own interrupts keep flowing whatever the guest does (design
 *   5: "never EOIs -> keep host interrupts flowing"): a pending host vector is
 *   always deliverable, i.e. no vector the guest controls is in service in a
 *   priority class at or above eli's vectors';
 *   "stuck-isr": every assigned vector in service in the physical APIC is one the
 *   guest can still end: delivered directly (its EOI reaches it), or taken by eli
 *   and still in the virtual IRR or ISR;
 *   "eoi-view" (docs/eli.md, combined EOI): an intercepted guest EOI ends the
 *   guest's highest-priority in-service interrupt as its ISR registers show it;
 *   "owed-eoi": a physical EOI eli defers (e->ended) while a higher vector is in
 *   service still has such a vector to go out after;
 *   "direct-backed": no direct mode while an assigned interrupt eli took (and owes
 *   the guest as a virtual one) is outstanding: the guest's EOI would reach the
 *   physical APIC directly.
 * A named check ([phys-eoi] is the physical-EOI one) can be switched off while a
 * known bug waits for its fix, to look for others:
 *   ELI_FUZZ_ALLOW=host-flow,stuck-isr,eoi-view,phys-eoi,owed-eoi,direct-backed */
#include "fuzz.h"

#include "core/errno.h"
#include "dev/vlapic.h"
#include "eli/eli.h"

static const uint8_t host_vectors[] = { VEC_ELI_TIMER, VEC_ELI_ERROR, VEC_ELI_SPURIOUS };

struct phys_apic {
    uint32_t irr[8], isr[8];
    uint64_t eli_eois, guest_eois;
};

static struct {
    struct phys_apic apic;
    struct vlapic lapic;
    struct eli e;
    uint64_t tsc;
    struct eli_plan plan;
    uint8_t assigned[256]; /* guest vectors given to eli_assign_vector */
    unsigned nassigned;
} w;

static bool allow_host_flow, allow_stuck_isr, allow_eoi_view, allow_phys_eoi, allow_owed_eoi, allow_direct_backed;

/* ---- the fake physical x2APIC ------------------------------------------- */

static bool bit(const uint32_t *r, unsigned v) { return r[v / 32] >> (v % 32) & 1; }
static void set(uint32_t *r, unsigned v) { r[v / 32] |= 1u << (v % 32); }
static void clr(uint32_t *r, unsigned v) { r[v / 32] &= ~(1u << (v % 32)); }

static int highest(const uint32_t *r)
{
    for (int i = 7; i >= 0; i--)
        if (r[i])
            return i * 32 + 31 - __builtin_clz(r[i]);
    return -1;
}

static bool host_vector(unsigned v)
{
    return memchr(host_vectors, (int)v, sizeof(host_vectors)) != NULL;
}

static bool phys_in_service(uint8_t v)
{
    return bit(w.apic.isr, v);
}

/* EOI ends the highest in-service vector (SDM 11.8.5) */
static void apic_eoi(void)
{
    int v = highest(w.apic.isr);
    if (v >= 0)
        clr(w.apic.isr, (unsigned)v);
}

static void phys_eoi(void)
{
    int v = highest(w.apic.isr);
    if (!allow_phys_eoi)
        FUZZ_CHECK(v >= 0, "[phys-eoi] eli wrote the physical EOI with nothing in service");
    FUZZ_CHECK(v < 0 || !host_vector((unsigned)v), "eli's physical EOI for the guest ends host vector 0x%x", v);
    w.apic.eli_eois++;
    apic_eoi();
}

static uint32_t phys_isr_word(unsigned word)
{
    return w.apic.isr[word & 7];
}

/* The physical timer lent to the guest's: what eli loaded, and what it has left. */
static int hw_timer_vector;
static uint64_t hw_timer_left;

static void phys_timer_load(uint8_t p, bool periodic, uint64_t delta_tsc)
{
    (void)periodic;
    (void)delta_tsc;
    FUZZ_CHECK(!p || !host_vector(p), "eli lent the guest's timer host vector 0x%x", p);
    hw_timer_vector = p;
}

static uint64_t phys_timer_unload(void)
{
    hw_timer_vector = 0;
    return hw_timer_left;
}

static const struct eli_phys_ops phys_ops = { phys_in_service, phys_isr_word, phys_eoi, NULL,
                                              phys_timer_load, phys_timer_unload };

/* The vector the APIC would deliver now, or -1 (11.8.3/11.8.4 with TPR 0). */
static int deliverable(void)
{
    int v = highest(w.apic.irr), s = highest(w.apic.isr);
    if (v < 0 || (s >= 0 && (v >> 4) <= (s >> 4)))
        return -1;
    return v;
}

/* Delivers one vector, to whoever takes it now. Returns it, or -1. */
static int deliver_one(void)
{
    int v = deliverable();
    if (v < 0)
        return -1;
    clr(w.apic.irr, (unsigned)v);
    set(w.apic.isr, (unsigned)v);
    if (host_vector((unsigned)v)) {
        /* in direct mode it bounces out as #NP: eli must recognise it */
        if (w.plan.direct)
            FUZZ_CHECK(eli_is_host_bounce(&w.e, (uint8_t)v), "host vector 0x%x not seen as a bounce", v);
        apic_eoi(); /* eli's handler EOIs its own vector */
        return v;
    }
    if (!w.plan.direct)
        eli_on_host_irq(&w.e, (uint8_t)v);
    /* else the guest took it through the shadow IDT: only the physical ISR knows */
    return v;
}

/* ---- the guest's side ----------------------------------------------------- */

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return w.tsc;
}

static bool x2apic(void)
{
    return vlapic_x2apic_mode(&w.lapic);
}

/* A register write through whichever interface the guest's LAPIC decodes. */
static void lapic_write(uint32_t msr, uint64_t val)
{
    if (x2apic() || msr < 0x800 || msr > 0x8FF)
        vlapic_msr_write(&w.lapic, msr, val);
    else
        vlapic_mmio_write(&w.lapic, (msr - 0x800) << 4, 4, (uint32_t)val);
}

/* The highest vector of the guest's ISR view (its in-service registers), or -1. */
static int guest_isr_top(void)
{
    for (int i = 7; i >= 0; i--) {
        uint32_t word = eli_guest_isr_word(&w.e, (unsigned)i);
        if (word)
            return i * 32 + 31 - __builtin_clz(word);
    }
    return -1;
}

static void guest_eoi(void)
{
    if (w.plan.eoi_passthrough && x2apic()) {
        w.apic.guest_eois++;
        apic_eoi(); /* WRMSR 0x80B reaches the physical APIC; with nothing in service it is ignored */
        return;
    }
    /* docs/eli.md, combined EOI: an intercepted EOI ends the guest's highest-priority
     * in-service interrupt, wherever it is */
    int top = guest_isr_top();
    bool decoded = x2apic() || vlapic_mmio_base(&w.lapic) != 0;
    lapic_write(X2APIC_EOI, 0);
    if (decoded && top >= 0 && !allow_eoi_view)
        FUZZ_CHECK(!(eli_guest_isr_word(&w.e, (unsigned)top / 32) >> (top % 32) & 1),
                   "[eoi-view] the guest's EOI left its highest in-service vector 0x%x in service (physical ISR "
                   "top now 0x%x)",
                   top, highest(w.apic.isr));
}

static int phys_of(uint8_t g)
{
    return vecmap_phys(&w.e.vecs, g);
}

/* ---- invariants ---------------------------------------------------------- */

static bool backed(uint8_t g)
{
    return w.e.phys_backed[g / 64] >> (g % 64) & 1;
}

static void check_plan(const struct eli_plan *p, bool can_inject)
{
    enum eli_mode mode = w.e.mode;
    int pending = vlapic_pending(&w.lapic);
    if (mode == ELI_MODE_BASELINE)
        FUZZ_CHECK(!p->direct && !p->eoi_passthrough && !p->shadow, "baseline: direct %d eoi %d shadow %d",
                   p->direct, p->eoi_passthrough, p->shadow);
    FUZZ_CHECK(!p->eoi_passthrough || (p->direct && mode == ELI_MODE_FULL));
    FUZZ_CHECK(!p->shadow || w.e.guest_idt_valid);
    if (p->direct) {
        FUZZ_CHECK(p->shadow && w.e.guest_idt_valid && mode != ELI_MODE_BASELINE);
        /* an assigned interrupt eli took is a virtual one until the guest completes it */
        if (!allow_direct_backed)
            FUZZ_CHECK(!(w.e.phys_backed[0] | w.e.phys_backed[1] | w.e.phys_backed[2] | w.e.phys_backed[3]),
                       "[direct-backed] direct mode (EOI passed through: %d) while an assigned interrupt eli took "
                       "is outstanding (virtual IRR/ISR of a %s APIC)",
                       p->eoi_passthrough, (w.lapic.svr & APIC_SVR_ENABLE) ? "software-enabled" : "software-disabled");
        FUZZ_CHECK(pending < 0 && vlapic_highest_isr(&w.lapic) < 0 && w.lapic.tpr < 0x20,
                   "direct with a virtual interrupt pending (%d) or in service (%d), tpr 0x%x", pending,
                   vlapic_highest_isr(&w.lapic), w.lapic.tpr);
    }
    FUZZ_CHECK(p->inject == -1 || (p->inject >= 16 && p->inject < 256 && bit(w.lapic.irr, (unsigned)p->inject) &&
                                   p->inject == pending),
               "inject %d, pending %d", p->inject, pending);
    FUZZ_CHECK(p->inject < 0 || (can_inject && !p->direct));
    FUZZ_CHECK(!p->window || (!can_inject && p->inject < 0 && !p->direct));
    if (!p->direct && pending >= 0) {
        /* it waits only for a directly delivered one of its class or above */
        bool blocked = false;
        for (unsigned g = 32; g < 256 && w.nassigned; g++) {
            int pv = phys_of((uint8_t)g);
            if (pv >= 0 && !backed((uint8_t)g) && bit(w.apic.isr, (unsigned)pv) && (pending >> 4) <= (int)(g >> 4))
                blocked = true;
        }
        if (!blocked)
            FUZZ_CHECK(can_inject ? p->inject == pending : p->window, "vector %d pending but neither injected nor waited for",
                       pending);
    }
    FUZZ_CHECK(w.e.direct == p->direct);
}

static void check_state(void)
{
    for (unsigned i = 0; i < sizeof(host_vectors); i++)
        FUZZ_CHECK(!bit(w.apic.isr, host_vectors[i]), "host vector 0x%x left in service", host_vectors[i]);
    int top = highest(w.apic.isr);
    /* eli's vectors stay deliverable: nothing the guest holds in service blocks them */
    if (!allow_host_flow)
        FUZZ_CHECK(top < 0 || (top >> 4) < (VEC_ELI_TIMER >> 4),
                   "[host-flow] physical vector 0x%x in service blocks eli's timer 0x%x (guest vector %d)", top,
                   VEC_ELI_TIMER, vecmap_guest(&w.e.vecs, (uint8_t)top));
    for (unsigned word = 0; word < 4; word++) {
        for (uint64_t m = w.e.phys_backed[word]; m; m &= m - 1) {
            unsigned g = word * 64 + (unsigned)__builtin_ctzll(m);
            int p = phys_of((uint8_t)g);
            FUZZ_CHECK(p >= 0, "phys_backed guest vector 0x%x is not mapped", g);
            if (!allow_stuck_isr && bit(w.apic.isr, (unsigned)p))
                FUZZ_CHECK(bit(w.lapic.irr, g) || bit(w.lapic.isr, g),
                           "[stuck-isr] physical 0x%x (guest 0x%x) in service, taken by eli, but the virtual "
                           "LAPIC no longer holds it: nothing will EOI it",
                           p, g);
        }
    }
    /* A physical EOI eli owes (the guest completed p while a higher vector was in
     * service) goes out after that higher one's: one must still be in service. */
    for (unsigned word = 0; word < 4 && !allow_owed_eoi; word++) {
        for (uint64_t m = w.e.ended[word]; m; m &= m - 1) {
            unsigned p = word * 64 + (unsigned)__builtin_ctzll(m);
            if (bit(w.apic.isr, p))
                FUZZ_CHECK(top > (int)p, "[owed-eoi] physical 0x%x completed by the guest, its EOI owed, but nothing "
                           "higher is in service to release it (top 0x%x)", p, top);
        }
    }
    /* the guest's ISR view: its virtual ISR plus directly delivered vectors in service */
    for (unsigned i = 0; i < 8; i++) {
        uint32_t view = eli_guest_isr_word(&w.e, i);
        FUZZ_CHECK((view & w.lapic.isr[i]) == w.lapic.isr[i]);
        for (uint32_t extra = view & ~w.lapic.isr[i]; extra; extra &= extra - 1) {
            unsigned g = i * 32 + (unsigned)__builtin_ctz(extra);
            int p = phys_of((uint8_t)g);
            FUZZ_CHECK(p >= 0 && bit(w.apic.isr, (unsigned)p) && !backed((uint8_t)g));
        }
    }
}

/* ---- operations ----------------------------------------------------------- */

static const uint32_t lapic_msrs[] = {
    X2APIC_SVR, X2APIC_TPR, VLAPIC_MSR_APIC_BASE, X2APIC_SELF_IPI, X2APIC_LVT_TIMER, X2APIC_TIMER_ICR,
    X2APIC_TIMER_DCR, X2APIC_ESR, X2APIC_ICR, X2APIC_LVT_ERROR, X2APIC_EOI, VLAPIC_MSR_TSC_DEADLINE,
};

static const uint32_t lapic_values[] = {
    0x1FF, 0xFF, 0x100, 0, 0x20, 0x40, 0x80, 0xE0, 0xF0, 0x31, 0x50, 0xEF, 0xF5,
    0xFEE00D00, 0xFEE00900, 0xFEE00100, 0xFEE00C00, 0x20030, 0x30, 0x10030, 1000, 100000, 0xB, 0x40031,
};

static void plan_step(bool can_inject)
{
    struct eli_plan p = eli_plan(&w.e, can_inject, w.tsc);
    check_plan(&p, can_inject);
    FUZZ_CHECK(!p.direct || w.tsc >= w.e.penalty_until, "direct during a watchdog penalty");
    /* the backend's part (svm_eli_before_entry) */
    if (p.shadow && !w.e.shadow_valid)
        eli_on_shadow_built(&w.e);
    if (p.inject >= 0) {
        eli_on_injected(&w.e, (uint8_t)p.inject);
        FUZZ_CHECK(bit(w.lapic.isr, (unsigned)p.inject) && !bit(w.lapic.irr, (unsigned)p.inject));
    }
    w.plan = p;
}

static void step(struct fin *f)
{
    uint8_t op = fin_u8(f);
    switch (op % 16) {
    case 0: { /* the guest programs an MSI vector */
        uint8_t g = fin_u8(f);
        int p = eli_assign_vector(&w.e, g);
        if (g < VEC_FIRST_EXTERNAL) {
            FUZZ_CHECK(p == -EINVAL);
            break;
        }
        FUZZ_CHECK(p == -ENOSPC || (p >= VEC_FIRST_EXTERNAL && p < 256 && !host_vector((unsigned)p)), "p %d", p);
        if (p >= 0 && !memchr(w.assigned, g, w.nassigned))
            w.assigned[w.nassigned++] = g;
        break;
    }
    case 1: /* the device raises one of its vectors */
    case 2:
        if (w.nassigned) {
            int p = phys_of(w.assigned[fin_u8(f) % w.nassigned]);
            if (p >= 0)
                set(w.apic.irr, (unsigned)p);
        }
        break;
    case 3: /* interrupts open: the APIC delivers what it can */
        for (unsigned n = fin_u8(f) % 4 + 1; n && deliver_one() >= 0; n--)
            ;
        break;
    case 4: /* eli's tick */
        set(w.apic.irr, VEC_ELI_TIMER);
        while (deliver_one() >= 0)
            ;
        if (!allow_host_flow)
            FUZZ_CHECK(!bit(w.apic.irr, VEC_ELI_TIMER), "[host-flow] eli's timer cannot be delivered: 0x%x in service",
                       highest(w.apic.isr));
        clr(w.apic.irr, VEC_ELI_TIMER);
        break;
    case 5: /* the guest EOIs */
        guest_eoi();
        break;
    case 6: /* a guest entry */
    case 7:
        plan_step(fin_u8(f) & 1);
        break;
    case 8: { /* LIDT */
        uint8_t sel = fin_u8(f);
        uint64_t base = sel & 1 ? ~0ull : (uint64_t)fin_u32(f);
        uint32_t limit = sel & 2 ? fin_u16(f) : 0xFFF;
        eli_on_lidt(&w.e, base, limit, !(sel & 4));
        FUZZ_CHECK(!w.e.shadow_valid);
        break;
    }
    case 9: /* a write to the guest's IDT page */
        eli_on_idt_write(&w.e);
        break;
    case 10: { /* a LAPIC register write, or CR8 */
        uint32_t msr = fin_pick32(f, lapic_msrs, sizeof(lapic_msrs) / sizeof(lapic_msrs[0]));
        uint64_t val = fin_pick32(f, lapic_values, sizeof(lapic_values) / sizeof(lapic_values[0]));
        if (msr == X2APIC_EOI) {
            vlapic_cr8_write(&w.lapic, val & 0x1F);
            break;
        }
        lapic_write(msr, val);
        break;
    }
    case 11: /* time passes; the exit's timer poll */
        w.tsc += fin_u32(f);
        vlapic_timer_poll(&w.lapic);
        break;
    case 12: /* the watchdog with interrupts held off (as svm_eli.c: a second strike
              * within 100 ms costs 10 ms, at most 1 s, at 1 GHz), or the guest seen
              * interruptible */
        if (fin_u8(f) & 1) {
            uint64_t before = w.e.penalty, until = w.e.penalty_until;
            if (!eli_on_watchdog(&w.e, w.tsc, 100000000, 10000000, 1000000000)) {
                FUZZ_CHECK(w.e.penalty == before && w.e.penalty_until == until);
                break;
            }
            FUZZ_CHECK(w.e.penalty >= 10000000 && w.e.penalty <= 1000000000 &&
                           (w.e.penalty == 10000000 || w.e.penalty == 1000000000 || w.e.penalty == 2 * before),
                       "penalty %llu after %llu", (unsigned long long)w.e.penalty, (unsigned long long)before);
            FUZZ_CHECK(w.e.penalty_until == w.tsc + w.e.penalty);
        } else {
            eli_on_guest_interruptible(&w.e);
            FUZZ_CHECK(w.e.penalty == 0 && w.e.penalty_until == 0);
        }
        break;
    case 13: { /* the guest programs many vectors at once (MSI-X) */
        unsigned g0 = fin_u8(f), n = fin_u8(f) % 48;
        for (unsigned g = g0; g < g0 + n && g < 256; g++) {
            int p = eli_assign_vector(&w.e, (uint8_t)g);
            if (p >= 0 && !memchr(w.assigned, (int)g, w.nassigned))
                w.assigned[w.nassigned++] = (uint8_t)g;
        }
        break;
    }
    case 14: { /* direct mode: the physical timer lent to the guest's, or taken back */
        bool lend = (fin_u8(f) & 1) && eli_timer_lendable(&w.e);
        hw_timer_left = fin_u32(f);
        eli_timer_follow(&w.e, lend);
        FUZZ_CHECK(w.lapic.timer_lent == lend || !lend, "lent %d after follow(%d)", w.lapic.timer_lent, lend);
        if (lend)
            FUZZ_CHECK(!vlapic_timer_poll(&w.lapic), "a lent timer gave eli's host clock a deadline");
        else
            FUZZ_CHECK(!w.lapic.timer_lent && !hw_timer_vector, "taken back, still lent");
        break;
    }
    default: { /* a virtual interrupt (the UART, a self-IPI) and a few queries */
        vlapic_accept(&w.lapic, fin_u8(f));
        uint8_t v = fin_u8(f);
        if (eli_is_host_bounce(&w.e, v))
            FUZZ_CHECK(host_vector(v) && bit(w.apic.isr, v));
        break;
    }
    }
}

static void read_allow(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    const char *a = getenv("ELI_FUZZ_ALLOW");
    allow_host_flow = a && strstr(a, "host-flow");
    allow_stuck_isr = a && strstr(a, "stuck-isr");
    allow_eoi_view = a && strstr(a, "eoi-view");
    allow_phys_eoi = a && strstr(a, "phys-eoi");
    allow_owed_eoi = a && strstr(a, "owed-eoi");
    allow_direct_backed = a && strstr(a, "direct-backed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_allow();
    struct fin f = fin_make(data, size);
    memset(&w, 0, sizeof(w));
    hw_timer_vector = 0;
    w.tsc = 1000000;
    w.plan.inject = -1;
    enum eli_mode mode = (enum eli_mode)(fin_u8(&f) % ELI_MODE_COUNT);
    uint8_t cfg = fin_u8(&f);
    vlapic_init(&w.lapic, 0, 1000000000ull, fake_now, NULL);
    eli_init(&w.e, mode, &w.lapic, &phys_ops, host_vectors, sizeof(host_vectors));
    if (cfg & 1) {
        FUZZ_CHECK(vlapic_msr_write(&w.lapic, VLAPIC_MSR_APIC_BASE, 0xFEE00D00) == 0);
        FUZZ_CHECK(vlapic_msr_write(&w.lapic, X2APIC_SVR, 0x1FF) == 0);
    }
    if (cfg & 2)
        eli_on_lidt(&w.e, 0x10000, 0xFFF, true);
    for (unsigned n = 0; fin_left(&f) && n < 1024; n++) {
        step(&f);
        check_state();
    }
    return 0;
}
