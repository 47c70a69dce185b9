#include "eli/eli.h"
#include "core/errno.h"
#include <string.h>

/* The lowest TPR that masks a vector an interrupt can use (class 2, vectors 32-47). */
#define TPR_GATES_INTERRUPTS 0x20

static bool bit_test(const uint64_t *map, uint8_t v)
{
    return map[v / 64] >> (v % 64) & 1;
}

static void bit_set(uint64_t *map, uint8_t v, bool on)
{
    if (on)
        map[v / 64] |= 1ull << (v % 64);
    else
        map[v / 64] &= ~(1ull << (v % 64));
}

static void apic_disabled_hook(void *ctx);

static void eoi_hook(void *ctx)
{
    eli_on_guest_eoi(ctx);
}

/* The guest's own LAPIC timer fired: in the direct modes it is raised on the physical
 * APIC on a vector mapped like an assigned device's, so that it reaches the guest in
 * direct mode with no injection and its EOI completes it physically (exitless in eli
 * mode); in injection mode it exits and is injected like an assigned interrupt. */
static int timer_vector(struct eli *e, uint8_t g)
{
    int p = vecmap_phys(&e->vecs, g);
    return p >= 0 ? p : eli_assign_vector(e, g);
}

static bool timer_hook(void *ctx, uint8_t g)
{
    struct eli *e = ctx;
    int p = timer_vector(e, g);
    if (p < 0)
        return false;
    e->phys->raise((uint8_t)p);
    return true;
}

/* An expiry of the guest's timer that the lent physical timer did not deliver: as the
 * virtual timer would (raised physically where eli can, else virtual). */
static void deliver_owed_timer(struct eli *e, uint8_t g)
{
    struct vlapic *l = e->lapic;
    if (!l->timer_hook || !l->timer_hook(e, g))
        vlapic_accept(l, g);
}

/* Leaving direct mode: the virtual timer goes on from where the physical one was. */
static void timer_take_back(struct eli *e)
{
    bool ran = e->timer_hw;
    uint64_t left = ran ? e->phys->timer_unload() : 0;
    e->timer_hw = false;
    if (vlapic_timer_reclaim(e->lapic, ran, left)) {
        /* passed in the model while the physical one, a little late, had not fired */
        deliver_owed_timer(e, (uint8_t)(e->lapic->lvt[VLAPIC_LVT_TIMER_IDX] & 0xff));
    }
}

/* A vector eli remapped has no gate of the guest's in the shadow at its physical slot:
 * a timer on it stays on eli's host clock, raised and injected (decision 6). */
bool eli_timer_lendable(const struct eli *e)
{
    uint8_t g = (uint8_t)(e->lapic->lvt[VLAPIC_LVT_TIMER_IDX] & 0xff);
    int p = vecmap_phys(&e->vecs, g);
    return e->phys->timer_load && !vecmap_host_owned(&e->vecs, g) && (p < 0 || p == g);
}

void eli_timer_follow(struct eli *e, bool lend)
{
    struct vlapic *l = e->lapic;
    if (!e->phys->timer_load || (!lend && !l->timer_lent))
        return;
    if (!lend) {
        timer_take_back(e);
        return;
    }
    if (l->timer_lent) {
        if (l->timer_gen == e->timer_gen)
            return;
        /* the guest changed its timer: the model has it, the physical one is stale. A
         * one-shot the model passed before the change but the physical timer (loaded a
         * little later) had not fired yet is owed, on the vector it was loaded with. */
        uint64_t left = e->timer_hw ? e->phys->timer_unload() : 0;
        bool owed = e->timer_hw && e->timer_hw_oneshot && left && l->timer_lent_passed;
        vlapic_timer_reclaim(l, false, 0);
        if (owed)
            deliver_owed_timer(e, e->timer_hw_vector);
    }
    struct vlapic_timer_hw hw;
    int p = vlapic_timer_lend(l, &hw) ? timer_vector(e, hw.vector) : 0;
    bool run = p > 0 && p == hw.vector;
    e->phys->timer_load(run ? (uint8_t)p : 0, hw.periodic, hw.delta_tsc);
    e->timer_hw = run;
    e->timer_hw_oneshot = !hw.periodic;
    e->timer_hw_vector = hw.vector;
    e->timer_gen = l->timer_gen;
}

void eli_init(struct eli *e, enum eli_mode mode, struct vlapic *lapic, const struct eli_phys_ops *phys,
              const uint8_t *host_vectors, unsigned nhost)
{
    memset(e, 0, sizeof(*e));
    e->mode = mode;
    e->lapic = lapic;
    e->phys = phys;
    vecmap_init(&e->vecs, host_vectors, nhost);
    lapic->eoi_hook = eoi_hook;
    lapic->disable_hook = apic_disabled_hook;
    lapic->timer_hook = phys->raise && mode != ELI_MODE_BASELINE ? timer_hook : NULL;
    lapic->hook_ctx = e;
    e->no_direct_reason = mode == ELI_MODE_BASELINE ? "baseline mode" : "the guest has loaded no IDT";
}

int eli_assign_vector(struct eli *e, uint8_t g)
{
    int p = vecmap_map(&e->vecs, g);
    if (p >= 0)
        e->shadow_valid = false; /* the new vector needs its gate */
    return p;
}

void eli_on_host_irq(struct eli *e, uint8_t p)
{
    int g = vecmap_guest(&e->vecs, p);
    /* A guest whose APIC is off drops the interrupt: complete it here, or the
     * physical in-service bit would block its priority class for good. */
    if (g < 0 || !(e->lapic->svr & (1u << 8))) {
        e->phys->eoi();
        return;
    }
    bit_set(e->phys_backed, (uint8_t)g, true);
    vlapic_accept(e->lapic, (uint8_t)g);
}

/* The highest vector in service in the physical APIC, or -1. */
static int phys_highest(const struct eli *e)
{
    for (int w = 7; w >= 1; w--) {
        uint32_t bits = e->phys->isr_word((unsigned)w);
        if (bits)
            return w * 32 + 31 - __builtin_clz(bits);
    }
    return -1;
}

/* Guest vector g was delivered directly and is still in service physically: not an
 * interrupt eli took and injected, nor one whose EOI the guest gave already. */
static bool direct_in_service(const struct eli *e, unsigned g)
{
    int p = vecmap_phys(&e->vecs, (uint8_t)g);
    return p >= 0 && !bit_test(e->phys_backed, (uint8_t)g) && !bit_test(e->ended, (uint8_t)p) &&
           e->phys->in_service((uint8_t)p);
}

/* The highest guest vector delivered directly and still in service, or -1. */
static int highest_direct_in_service(const struct eli *e)
{
    for (int g = 255; g >= VEC_FIRST_EXTERNAL; g--)
        if (direct_in_service(e, (unsigned)g))
            return g;
    return -1;
}

/* Ends physical vector p. A physical EOI ends the highest vector in service, so
 * while a higher one is (an assigned interrupt eli took and has not injected or
 * seen completed yet), p's EOI waits and goes out right after that one's. */
static void phys_complete(struct eli *e, uint8_t p)
{
    if (phys_highest(e) != p) {
        bit_set(e->ended, p, true);
        return;
    }
    e->phys->eoi();
    for (int h = phys_highest(e); h >= 0 && bit_test(e->ended, (uint8_t)h); h = phys_highest(e)) {
        bit_set(e->ended, (uint8_t)h, false);
        e->phys->eoi();
    }
}

/* The guest's EOI ends its highest-priority in-service interrupt, whichever APIC
 * holds it: a directly delivered one is in the physical ISR only, a virtual one in
 * the virtual ISR only, an injected assigned one in both (SDM vol. 3, 11.8.5). */
void eli_on_guest_eoi(struct eli *e)
{
    int direct = highest_direct_in_service(e);
    int virt = vlapic_highest_isr(e->lapic);
    e->n.eoi_exits++;
    if (direct > virt) {
        phys_complete(e, (uint8_t)vecmap_phys(&e->vecs, (uint8_t)direct));
        return;
    }
    if (virt < 0)
        return; /* nothing in service: an APIC ignores the write */
    vlapic_eoi(e->lapic);
    if (bit_test(e->phys_backed, (uint8_t)virt)) {
        bit_set(e->phys_backed, (uint8_t)virt, false);
        phys_complete(e, (uint8_t)vecmap_phys(&e->vecs, (uint8_t)virt));
    }
}

void eli_on_lidt(struct eli *e, uint64_t base_gpa, uint32_t limit, bool long_mode)
{
    /* the shadow's limit is the full table: with a guest limit short of the
     * exception vectors, faults would no longer escalate as the guest expects */
    bool covers_exceptions = limit >= VEC_FIRST_EXTERNAL * IDT_GATE64_SIZE - 1;
    e->shadow_valid = false;
    e->guest_idt_valid = long_mode && base_gpa != ~0ull && covers_exceptions;
    e->idt_base_gpa = base_gpa;
    e->idt_limit = limit;
    if (!long_mode)
        e->no_direct_reason = "the guest's IDT is not a 64-bit one";
    else if (base_gpa == ~0ull)
        e->no_direct_reason = "the guest's IDT is not mapped in its page tables";
    else if (!covers_exceptions)
        e->no_direct_reason = "the guest's IDT does not cover the exception vectors";
}

void eli_on_idt_write(struct eli *e)
{
    e->shadow_valid = false;
    e->hold_injection = true;
    e->n.idt_writes++;
}

void eli_on_injected(struct eli *e, uint8_t vector)
{
    vlapic_ack(e->lapic, vector);
    e->n.injected++;
    if (bit_test(e->phys_backed, vector))
        e->n.injected_assigned++;
}

void eli_on_shadow_built(struct eli *e)
{
    e->shadow_valid = true;
    e->n.shadow_builds++;
}

uint32_t eli_guest_isr_word(const struct eli *e, unsigned word)
{
    uint32_t v = e->lapic->isr[word & 7];
    for (unsigned bit = 0; bit < 32; bit++)
        if (direct_in_service(e, (word & 7) * 32 + bit))
            v |= 1u << bit;
    return v;
}

bool eli_is_host_bounce(const struct eli *e, uint8_t vector)
{
    return vecmap_host_owned(&e->vecs, vector) && e->phys->in_service(vector);
}

/* Whether the shadow's gate slot v differs from the guest's gate v: eli's own
 * vectors, and the slots of remapped vectors. */
static bool slot_differs(const struct eli *e, uint8_t v)
{
    int g = vecmap_guest(&e->vecs, v), p = vecmap_phys(&e->vecs, v);
    return vecmap_host_owned(&e->vecs, v) || (g >= 0 && g != v) || (p >= 0 && p != v);
}

void eli_on_starved(struct eli *e, uint64_t now, uint64_t base, uint64_t max)
{
    /* starving again soon after the last penalty ended: a longer one */
    bool repeat = now < e->penalty_until + 8 * e->penalty;
    e->penalty = repeat && e->penalty ? e->penalty * 2 : base;
    if (e->penalty > max)
        e->penalty = max;
    e->penalty_until = now + e->penalty;
    e->n.starved++;
}

bool eli_on_watchdog(struct eli *e, uint64_t now, uint64_t window, uint64_t base, uint64_t max)
{
    bool again = e->strike_tsc && now - e->strike_tsc < window &&
                 e->n.bounces == e->strike_bounces;
    e->strike_tsc = now;
    e->strike_bounces = e->n.bounces;
    if (!again) {
        e->n.warned++;
        return false;
    }
    eli_on_starved(e, now, base, max);
    return true;
}

void eli_on_guest_interruptible(struct eli *e)
{
    e->penalty_until = 0;
    e->penalty = 0;
}

/* A guest that turned its APIC off (or reset it) drops what was pending or in service
 * there; the physical EOIs eli owes for assigned interrupts it took, or that the guest
 * completed while a higher one was in service, are paid now, or their priority class
 * would stay blocked in the physical APIC. */
static void settle_owed_eois(struct eli *e)
{
    for (int g = 255; g >= VEC_FIRST_EXTERNAL; g--) {
        if (!bit_test(e->phys_backed, (uint8_t)g))
            continue;
        bit_set(e->phys_backed, (uint8_t)g, false);
        int p = vecmap_phys(&e->vecs, (uint8_t)g);
        if (p >= 0 && e->phys->in_service((uint8_t)p))
            phys_complete(e, (uint8_t)p);
    }
}

static bool lapic_on(const struct vlapic *l)
{
    return (l->apic_base & (1ull << 11)) && (l->svr & (1u << 8));
}

static void apic_disabled_hook(void *ctx)
{
    settle_owed_eois(ctx);
}

struct eli_plan eli_plan(struct eli *e, bool can_inject, uint64_t now)
{
    if (!lapic_on(e->lapic))
        settle_owed_eois(e);
    int pending = vlapic_pending(e->lapic);
    /* A raised task priority also keeps the guest out of direct mode: there the
     * physical TPR (eli's, 0) would be what gates the device's interrupts, and what
     * QEMU's MOV from CR8 reads (it does not intercept that read). Priority class 1
     * gates only vectors 16-31, which no interrupt uses: Linux sets TPR 0x10 for good. */
    bool virt_busy = pending >= 0 || vlapic_highest_isr(e->lapic) >= 0 ||
                     e->lapic->tpr >= TPR_GATES_INTERRUPTS;
    struct eli_plan p = { false, false, false, -1, false };
    /* after a write to the guest's IDT, one entry on its own IDT lets the write
     * complete; the shadow is rebuilt at the next */
    bool hold = e->hold_injection;
    e->hold_injection = false;
    bool shadow_ok = e->mode != ELI_MODE_BASELINE && e->guest_idt_valid && !hold;
    p.direct = shadow_ok && !virt_busy && now >= e->penalty_until;
    p.eoi_passthrough = p.direct && e->mode == ELI_MODE_FULL;
    /* a virtual interrupt waits for the EOI of a higher-priority one the guest
     * took directly (that EOI is intercepted outside direct mode) */
    if (pending >= 0) {
        int d = highest_direct_in_service(e);
        if (d >= 0 && (pending & 0xf0) <= (d & 0xf0))
            pending = -1;
    }
    if (!p.direct && pending >= 0) {
        if (can_inject)
            p.inject = pending;
        else
            p.window = true;
    }
    /* injection mode keeps the shadow too (no nested-paging change, no TLB flush)
     * unless the vector to inject has another gate there */
    p.shadow = shadow_ok && !(p.inject >= 0 && slot_differs(e, (uint8_t)p.inject));
    if (p.direct != e->direct) {
        if (p.direct)
            e->n.to_direct++;
        else
            e->n.to_injection++;
        e->direct = p.direct;
    }
    return p;
}
