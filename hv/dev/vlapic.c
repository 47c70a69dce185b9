/* The guest's virtual local APIC: see vlapic.h. Section numbers are those of the Intel
 * SDM vol. 3, chapter 11 (chapter 10 in editions before 2023). */
#include "dev/vlapic.h"
#include "core/errno.h"
#include <stddef.h>
#include <string.h>

/* IA32_APIC_BASE (11.4.4, 11.12.1) */
#define BASE_ADDR_MASK 0xFFFFFFFFFFFFF000ull
#define BASE_RESERVED_LOW 0x2FFull /* bits 7:0 and 9 */

/* Bits a register holds; the others are reserved. In x2APIC mode a non-zero write to a
 * reserved bit is #GP (11.12.1.3); in xAPIC mode such bits are simply not stored. */
#define TPR_BITS 0xFFu
#define SVR_BITS 0x3FFu          /* vector, software enable, focus-check disable */
#define SVR_VECTOR 0xFFu
#define LDR_XAPIC_BITS 0xFF000000u
#define DFR_MODEL 0xF0000000u    /* bits 27:0 read as 1s (11.6.2.2) */
#define DCR_BITS 0xBu            /* divide value in bits 3, 1:0 (11.5.4) */
#define SELF_IPI_BITS 0xFFu

#define LVT_VECTOR 0xFFu
#define LVT_DELIVERY_STATUS (1u << 12) /* read-only; always idle here */
#define LVT_REMOTE_IRR (1u << 14)      /* read-only; LINT0/1 only */
#define LVT_TIMER_MODE_SHIFT 17
#define LVT_TIMER_MODE (3u << LVT_TIMER_MODE_SHIFT)

/* ICR low dword (11.6.1); bit 12 (delivery status) is read-only, and ignored on a
 * write in x2APIC mode (11.12.9), so it is never stored: every IPI completes at once. */
#define ICR_VECTOR 0xFFu
#define ICR_MODE_SHIFT 8
#define ICR_LOGICAL (1u << 11)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_LO_BITS 0x000CCFFFu
#define ICR_LO_DEFINED (ICR_LO_BITS | (1u << 12))
#define ICR_XAPIC_DEST 0xFF000000u

enum { DM_FIXED = 0, DM_LOWEST = 1 };
enum { SH_NONE, SH_SELF, SH_ALL_INCL, SH_ALL_EXCL };

#define FIRST_LEGAL_VECTOR 16 /* 0-15 are illegal for interrupts (11.5.3) */

/* Bits each LVT entry stores (11.5.1, figure "Local Vector Table"). */
static const uint32_t lvt_bits[VLAPIC_NR_LVT] = {
    [VLAPIC_LVT_TIMER_IDX] = LVT_VECTOR | APIC_LVT_MASKED | LVT_TIMER_MODE,
    [VLAPIC_LVT_THERMAL_IDX] = 0x7FFu | APIC_LVT_MASKED,  /* vector, delivery mode */
    [VLAPIC_LVT_PERF_IDX] = 0x7FFu | APIC_LVT_MASKED,
    [VLAPIC_LVT_LINT0_IDX] = 0xA7FFu | APIC_LVT_MASKED,   /* + polarity, trigger */
    [VLAPIC_LVT_LINT1_IDX] = 0xA7FFu | APIC_LVT_MASKED,
    [VLAPIC_LVT_ERROR_IDX] = LVT_VECTOR | APIC_LVT_MASKED,
};

/* ---- small helpers ---------------------------------------------------------------- */

static uint64_t now(const struct vlapic *v)
{
    return v->now(v->ctx);
}

bool vlapic_x2apic_mode(const struct vlapic *v)
{
    return (v->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}

static bool hw_enabled(const struct vlapic *v)
{
    return v->apic_base & APIC_BASE_EN;
}

/* Globally enabled (IA32_APIC_BASE) and software-enabled (SVR bit 8, 11.4.3). */
static bool sw_enabled(const struct vlapic *v)
{
    return hw_enabled(v) && (v->svr & APIC_SVR_ENABLE);
}

static void vec_set(uint32_t *r, unsigned vec)
{
    r[vec / 32] |= 1u << (vec % 32);
}

static void vec_clear(uint32_t *r, unsigned vec)
{
    r[vec / 32] &= ~(1u << (vec % 32));
}

/* A higher vector has a higher priority (11.8.3), so the highest set bit wins. */
static int vec_highest(const uint32_t *r)
{
    for (int i = 7; i >= 0; i--)
        if (r[i])
            return i * 32 + 31 - __builtin_clz(r[i]);
    return -1;
}

static unsigned prio_class(int vec)
{
    return vec < 0 ? 0 : (unsigned)vec >> 4;
}

/* a * b / c, rounded down or up, without 128-bit division (which a freestanding build
 * has no library for). Exact while (c - 1) * (b + 1) fits in 64 bits, which
 * VLAPIC_TSC_HZ_MAX guarantees for the two conversions below; saturates on overflow. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c, bool round_up)
{
    uint64_t q = a / c, r = a % c;
    if (q && b > UINT64_MAX / q)
        return UINT64_MAX;
    uint64_t hi = q * b;
    uint64_t lo = (r * b + (round_up ? c - 1 : 0)) / c;
    return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- errors (11.5.3) ---------------------------------------------------------------- */

/* Errors are collected whatever the error LVT says; an interrupt is raised only through
 * an unmasked error LVT, and only for an error not already pending, so that a guest
 * repeating one mistake cannot flood itself. An illegal vector in the error LVT itself
 * is only logged: no error interrupt about the error interrupt. */
static void signal_error(struct vlapic *v, uint32_t bits)
{
    uint32_t fresh = bits & ~v->esr_pending;
    v->esr_pending |= bits;
    uint32_t lvt = v->lvt[VLAPIC_LVT_ERROR_IDX];
    uint32_t vector = lvt & LVT_VECTOR;
    if (!fresh || (lvt & APIC_LVT_MASKED) || !sw_enabled(v))
        return;
    if (vector < FIRST_LEGAL_VECTOR) {
        v->esr_pending |= VLAPIC_ESR_RECV_ILLEGAL;
        return;
    }
    vec_set(v->irr, vector);
    vec_clear(v->tmr, vector); /* edge-triggered (11.8.4) */
}

/* ---- reset and mode --------------------------------------------------------------- */

/* Register state after power-up, or after the APIC is globally disabled (11.4.7.1,
 * 11.4.3); the ID and the base MSR are the caller's. */
static void reset_registers(struct vlapic *v)
{
    v->tpr = 0;
    v->ldr = 0;
    v->dfr = 0xFFFFFFFFu;
    v->svr = 0xFFu;
    v->esr = v->esr_pending = 0;
    memset(v->isr, 0, sizeof(v->isr));
    memset(v->tmr, 0, sizeof(v->tmr));
    memset(v->irr, 0, sizeof(v->irr));
    for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
        v->lvt[i] = APIC_LVT_MASKED;
    v->icr = 0;
    v->timer_initial = 0;
    v->timer_dcr = 0;
    v->timer_running = false;
    v->timer_start = 0;
    v->timer_count0 = 0;
    v->tsc_deadline = 0;
    v->timer_gen++;
}

void vlapic_init(struct vlapic *v, uint32_t apic_id, uint64_t tsc_hz,
                 uint64_t (*now_fn)(void *ctx), void *ctx)
{
    memset(v, 0, sizeof(*v));
    v->id = apic_id;
    v->version = VLAPIC_VERSION;
    v->apic_base = VLAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP;
    v->phys_bits = VLAPIC_PHYS_BITS;
    if (tsc_hz == 0)
        tsc_hz = 1;
    v->tsc_hz = tsc_hz > VLAPIC_TSC_HZ_MAX ? VLAPIC_TSC_HZ_MAX : tsc_hz;
    v->now = now_fn;
    v->ctx = ctx;
    reset_registers(v);
}

/* The x2APIC logical ID: cluster in bits 31:16, one bit per member below (11.12.10.2). */
static uint32_t x2apic_ldr(uint32_t id)
{
    return ((id >> 4) << 16) | (1u << (id & 0xF));
}

static uint64_t base_reserved(const struct vlapic *v)
{
    unsigned bits = v->phys_bits < 12 || v->phys_bits > 63 ? 52 : v->phys_bits;
    return BASE_RESERVED_LOW | ~((1ull << bits) - 1);
}

/* WRMSR IA32_APIC_BASE: the transitions of 11.12.5. EN = 0 with EXTD = 1 is invalid;
 * x2APIC -> xAPIC and disabled -> x2APIC must go through the other state. */
static int write_apic_base(struct vlapic *v, uint64_t val)
{
    if (val & base_reserved(v))
        return -EINVAL;
    bool en = val & APIC_BASE_EN, extd = val & APIC_BASE_EXTD;
    bool was_en = hw_enabled(v), was_x2 = vlapic_x2apic_mode(v);
    if (extd && !en)
        return -EINVAL;
    if (was_x2 && en && !extd)
        return -EINVAL;
    if (!was_en && extd)
        return -EINVAL;
    if (was_en && !en) {
        reset_registers(v); /* 11.4.3: disabling loses the APIC's state */
        if (v->disable_hook)
            v->disable_hook(v->hook_ctx);
    }
    if (extd && !was_x2)
        v->ldr = x2apic_ldr(v->id); /* set by hardware on entry (11.12.5.1) */
    v->apic_base = val;
    return 0;
}

uint64_t vlapic_mmio_base(const struct vlapic *v)
{
    if (!hw_enabled(v) || vlapic_x2apic_mode(v))
        return 0;
    return v->apic_base & BASE_ADDR_MASK & ~base_reserved(v);
}

/* ---- priorities, acceptance, EOI (11.8) ------------------------------------------- */

int vlapic_highest_isr(const struct vlapic *v)
{
    return vec_highest(v->isr);
}

int vlapic_highest_irr(const struct vlapic *v)
{
    return vec_highest(v->irr);
}

/* 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] with PPR[3:0] = 0. */
uint32_t vlapic_ppr(const struct vlapic *v)
{
    unsigned isr_class = prio_class(vlapic_highest_isr(v));
    if ((v->tpr >> 4) >= isr_class)
        return v->tpr;
    return isr_class << 4;
}

/* Arbitration priority (xAPIC only, 11.8.3.1 note / 11.6.2.4): TPR while it dominates
 * both the highest in-service and the highest requested class, else the highest of the
 * three classes. */
static uint32_t apr(const struct vlapic *v)
{
    unsigned tpr_class = v->tpr >> 4;
    unsigned isr_class = prio_class(vlapic_highest_isr(v));
    unsigned irr_class = prio_class(vlapic_highest_irr(v));
    if (tpr_class >= irr_class && tpr_class > isr_class)
        return v->tpr;
    unsigned c = tpr_class;
    if (isr_class > c)
        c = isr_class;
    if (irr_class > c)
        c = irr_class;
    return c << 4;
}

void vlapic_accept(struct vlapic *v, uint8_t vector)
{
    /* 11.4.7.2: a software-disabled APIC takes no fixed interrupts */
    if (!sw_enabled(v))
        return;
    if (vector < FIRST_LEGAL_VECTOR) {
        signal_error(v, VLAPIC_ESR_RECV_ILLEGAL); /* no IRR bit is set (11.5.3) */
        return;
    }
    vec_set(v->irr, vector);
    vec_clear(v->tmr, vector);
}

/* 11.8.4: a requested vector is dispatched when its class is above PPR[7:4]. */
int vlapic_pending(const struct vlapic *v)
{
    if (!sw_enabled(v))
        return -1;
    int vec = vlapic_highest_irr(v);
    if (vec < 0 || prio_class(vec) <= vlapic_ppr(v) >> 4)
        return -1;
    return vec;
}

void vlapic_ack(struct vlapic *v, uint8_t vector)
{
    vec_clear(v->irr, vector);
    vec_set(v->isr, vector);
}

/* 11.8.5: EOI ends the highest-priority in-service interrupt. Level-triggered EOIs
 * would be broadcast to I/O APICs; eli's guests have none. */
int vlapic_eoi(struct vlapic *v)
{
    int vec = vlapic_highest_isr(v);
    if (vec >= 0)
        vec_clear(v->isr, (unsigned)vec);
    return vec;
}

static void do_eoi(struct vlapic *v)
{
    if (v->eoi_hook)
        v->eoi_hook(v->hook_ctx);
    else
        vlapic_eoi(v);
}

int vlapic_cr8_write(struct vlapic *v, uint64_t cr8)
{
    if (cr8 & ~0xFull)
        return -EINVAL;
    v->tpr = (uint32_t)cr8 << 4; /* TPR[3:0] = 0 (11.8.6.1) */
    return 0;
}

uint64_t vlapic_cr8_read(const struct vlapic *v)
{
    return v->tpr >> 4;
}

/* ---- timer (11.5.4) ------------------------------------------------------------- */

static unsigned timer_mode(const struct vlapic *v)
{
    return (v->lvt[VLAPIC_LVT_TIMER_IDX] & LVT_TIMER_MODE) >> LVT_TIMER_MODE_SHIFT;
}

/* DCR bits 3, 1:0 = 000 -> /2, 001 -> /4, ..., 110 -> /128, 111 -> /1 (11.5.4). */
static unsigned timer_shift(const struct vlapic *v)
{
    unsigned code = ((v->timer_dcr >> 1) & 4) | (v->timer_dcr & 3);
    return (code + 1) & 7;
}

/* Counter decrements in dt TSC cycles, rounded down. */
static uint64_t tsc_to_counts(const struct vlapic *v, uint64_t dt)
{
    return muldiv(dt, VLAPIC_BUS_HZ, v->tsc_hz, false) >> timer_shift(v);
}

/* TSC cycles for n decrements, rounded up, so that by then tsc_to_counts() >= n. */
static uint64_t counts_to_tsc(const struct vlapic *v, uint64_t n)
{
    unsigned s = timer_shift(v);
    uint64_t bus = n > (UINT64_MAX >> s) ? UINT64_MAX : n << s;
    return muldiv(bus, v->tsc_hz, VLAPIC_BUS_HZ, true);
}

static uint64_t counts_since_start(const struct vlapic *v, uint64_t t)
{
    return t > v->timer_start ? tsc_to_counts(v, t - v->timer_start) : 0;
}

/* The current-count register. Zero when stopped, after a one-shot expiry and always in
 * TSC-deadline mode (11.5.4.1); a periodic counter reloads from the initial count. */
static uint32_t timer_ccr(const struct vlapic *v)
{
    if (!v->timer_running || timer_mode(v) == VLAPIC_TIMER_TSC_DEADLINE)
        return 0;
    uint64_t c = counts_since_start(v, now(v));
    if (c < v->timer_count0)
        return (uint32_t)(v->timer_count0 - c);
    if (timer_mode(v) != VLAPIC_TIMER_PERIODIC)
        return 0;
    return v->timer_initial - (uint32_t)((c - v->timer_count0) % v->timer_initial);
}

uint64_t vlapic_timer_deadline(const struct vlapic *v)
{
    if (timer_mode(v) == VLAPIC_TIMER_TSC_DEADLINE)
        return v->tsc_deadline;
    if (!v->timer_running)
        return 0;
    return sat_add(v->timer_start, counts_to_tsc(v, v->timer_count0));
}

/* The timer interrupt: fixed delivery through the LVT unless masked (11.5.4). */
static void timer_fire(struct vlapic *v)
{
    uint32_t lvt = v->lvt[VLAPIC_LVT_TIMER_IDX];
    uint32_t vector = lvt & LVT_VECTOR;
    if ((lvt & APIC_LVT_MASKED) || !sw_enabled(v))
        return;
    if (vector >= FIRST_LEGAL_VECTOR)
        v->timer_fires++;
    if (v->timer_lent) {
        v->timer_lent_passed = timer_mode(v) != VLAPIC_TIMER_PERIODIC;
        return; /* the physical timer delivers it */
    }
    if (vector >= FIRST_LEGAL_VECTOR && v->timer_hook && v->timer_hook(v->hook_ctx, (uint8_t)vector))
        return;
    vlapic_accept(v, (uint8_t)vector); /* an illegal vector is an error (11.5.3) */
}

/* A periodic counter that reached zero starts again from the last reload at or
 * before t: missed periods are coalesced into the one interrupt just raised. */
static void timer_reload(struct vlapic *v, uint64_t t)
{
    uint64_t c = counts_since_start(v, t);
    uint64_t periods = (c - v->timer_count0) / v->timer_initial;
    uint64_t n = v->timer_count0 + periods * v->timer_initial;
    if (v->timer_lent)
        v->timer_fires += periods; /* the physical timer fired each one */
    v->timer_start = sat_add(v->timer_start, counts_to_tsc(v, n));
    v->timer_count0 = v->timer_initial;
}

static uint64_t timer_poll(struct vlapic *v);

uint64_t vlapic_timer_poll(struct vlapic *v)
{
    uint64_t next = timer_poll(v);
    return v->timer_lent ? 0 : next; /* lent: no deadline for eli's host clock */
}

static uint64_t timer_poll(struct vlapic *v)
{
    uint64_t t = now(v);
    if (timer_mode(v) == VLAPIC_TIMER_TSC_DEADLINE) {
        /* 11.5.4.1: at TSC >= deadline the timer fires, disarms and clears the MSR */
        if (v->tsc_deadline && t >= v->tsc_deadline) {
            v->tsc_deadline = 0;
            timer_fire(v);
        }
        return v->tsc_deadline;
    }
    if (!v->timer_running)
        return 0;
    if (counts_since_start(v, t) < v->timer_count0)
        return vlapic_timer_deadline(v);
    timer_fire(v);
    if (timer_mode(v) != VLAPIC_TIMER_PERIODIC) {
        v->timer_running = false;
        return 0;
    }
    timer_reload(v, t);
    return vlapic_timer_deadline(v);
}

bool vlapic_timer_lend(struct vlapic *v, struct vlapic_timer_hw *hw)
{
    vlapic_timer_poll(v); /* what is due is delivered the usual way first */
    v->timer_lent = true;
    v->timer_lent_passed = false;
    uint32_t lvt = v->lvt[VLAPIC_LVT_TIMER_IDX];
    uint64_t t = now(v), d;
    *hw = (struct vlapic_timer_hw){ (uint8_t)(lvt & LVT_VECTOR), false, 0 };
    if ((lvt & APIC_LVT_MASKED) || !sw_enabled(v) || hw->vector < FIRST_LEGAL_VECTOR)
        return false;
    if (timer_mode(v) == VLAPIC_TIMER_TSC_DEADLINE) {
        d = v->tsc_deadline;
        if (!d)
            return false;
    } else if (!v->timer_running) {
        return false;
    } else if (timer_mode(v) == VLAPIC_TIMER_PERIODIC) {
        v->timer_start = t;
        v->timer_count0 = v->timer_initial;
        hw->periodic = true;
        hw->delta_tsc = counts_to_tsc(v, v->timer_initial);
        return true;
    } else {
        d = vlapic_timer_deadline(v);
    }
    hw->delta_tsc = d > t ? d - t : 0;
    return true;
}

bool vlapic_timer_reclaim(struct vlapic *v, bool hw_ran, uint64_t hw_left)
{
    vlapic_timer_poll(v); /* lent: passes expiries, delivers nothing */
    uint64_t model_next = vlapic_timer_deadline(v);
    v->timer_lent = false;
    if (!hw_ran)
        return false;
    uint64_t t = now(v);
    if (timer_mode(v) == VLAPIC_TIMER_PERIODIC && v->timer_running) {
        /* the next expiry where the physical counter would have had it */
        uint64_t c = tsc_to_counts(v, hw_left);
        v->timer_start = t;
        v->timer_count0 = c ? (c < v->timer_initial ? (uint32_t)c : v->timer_initial) : 1;
        return false;
    }
    if (model_next && !hw_left) {
        /* the physical one-shot fired a little before the model's time */
        if (timer_mode(v) == VLAPIC_TIMER_TSC_DEADLINE)
            v->tsc_deadline = 0;
        else
            v->timer_running = false;
        return false;
    }
    return !model_next && hw_left; /* passed in the model, stopped before it fired */
}

static void timer_start(struct vlapic *v, uint32_t count)
{
    v->timer_running = count != 0; /* writing 0 stops the timer (11.5.4) */
    v->timer_start = now(v);
    v->timer_count0 = count;
}

static void write_initial_count(struct vlapic *v, uint32_t val)
{
    /* 11.5.4.1: ignored in TSC-deadline mode */
    if (timer_mode(v) == VLAPIC_TIMER_TSC_DEADLINE)
        return;
    vlapic_timer_poll(v); /* an expiry already due is not lost by the restart */
    v->timer_gen++;
    v->timer_initial = val;
    timer_start(v, val);
}

/* A new divider applies from now on: the count reached so far is kept. */
static void write_dcr(struct vlapic *v, uint32_t val)
{
    vlapic_timer_poll(v);
    v->timer_gen++;
    uint32_t ccr = timer_ccr(v);
    v->timer_dcr = val & DCR_BITS;
    if (v->timer_running && timer_mode(v) != VLAPIC_TIMER_TSC_DEADLINE)
        timer_start(v, ccr);
}

/* 11.5.4.1: a change into or out of TSC-deadline mode disarms the timer. A change
 * between one-shot and periodic does not: the count goes on, and the new mode decides
 * what happens when it reaches zero. The reserved mode 3 leaves the mode unchanged. */
static void write_lvt_timer(struct vlapic *v, uint32_t val)
{
    uint32_t *lvt = &v->lvt[VLAPIC_LVT_TIMER_IDX];
    unsigned old = timer_mode(v);
    unsigned mode = (val & LVT_TIMER_MODE) >> LVT_TIMER_MODE_SHIFT;
    if (mode == 3)
        mode = old;
    vlapic_timer_poll(v);
    v->timer_gen++;
    *lvt = (val & (LVT_VECTOR | APIC_LVT_MASKED)) | (mode << LVT_TIMER_MODE_SHIFT);
    if (old != mode && (old == VLAPIC_TIMER_TSC_DEADLINE || mode == VLAPIC_TIMER_TSC_DEADLINE)) {
        v->timer_running = false;
        v->tsc_deadline = 0;
    }
}

/* 11.5.4.1: outside TSC-deadline mode the MSR reads 0 and ignores writes; writing 0
 * disarms; a deadline already past fires at the next poll. */
static void write_tsc_deadline(struct vlapic *v, uint64_t val)
{
    if (timer_mode(v) != VLAPIC_TIMER_TSC_DEADLINE)
        return;
    vlapic_timer_poll(v);
    v->timer_gen++;
    v->tsc_deadline = val;
}

/* ---- other register writes ------------------------------------------------------- */

static void write_lvt(struct vlapic *v, unsigned idx, uint32_t val)
{
    if (idx == VLAPIC_LVT_TIMER_IDX)
        write_lvt_timer(v, val);
    else
        v->lvt[idx] = val & lvt_bits[idx];
    /* 11.4.7.2: while software-disabled the mask bits stay set */
    if (!sw_enabled(v))
        v->lvt[idx] |= APIC_LVT_MASKED;
}

static void write_svr(struct vlapic *v, uint32_t val)
{
    vlapic_timer_poll(v); /* a timer due before the disable still fires */
    v->timer_gen++;
    v->svr = val & SVR_BITS;
    if (!(v->svr & APIC_SVR_ENABLE))
        for (unsigned i = 0; i < VLAPIC_NR_LVT; i++)
            v->lvt[i] |= APIC_LVT_MASKED; /* 11.4.7.2 */
}

/* 11.5.3: a write latches the errors seen since the previous write and starts a new
 * collection; reads return the latched value. */
static void write_esr(struct vlapic *v)
{
    v->esr = v->esr_pending;
    v->esr_pending = 0;
}

/* ---- IPIs (11.6) ----------------------------------------------------------------- */

struct ipi_targets {
    bool self;   /* this vCPU is a destination */
    bool others; /* so is some other CPU, which eli never reaches */
};

/* Logical destination (11.6.2.2; x2APIC 11.12.10.2). */
static struct ipi_targets logical_targets(const struct vlapic *v, uint32_t dest, bool x2)
{
    struct ipi_targets t = { false, false };
    uint32_t cluster_shift = x2 ? 16 : 4, member_mask = x2 ? 0xFFFF : 0xF;
    uint32_t ldr = x2 ? v->ldr : v->ldr >> 24;
    bool flat = !x2 && (v->dfr & DFR_MODEL) == DFR_MODEL;
    if (dest == (x2 ? 0xFFFFFFFFu : 0xFFu)) {
        t.self = t.others = true; /* broadcast */
    } else if (flat) {
        t.self = dest & ldr;
        t.others = dest & ~ldr;
    } else if (dest >> cluster_shift == ldr >> cluster_shift) {
        t.self = dest & ldr & member_mask;
        t.others = dest & ~ldr & member_mask;
    } else {
        t.others = dest & member_mask;
    }
    return t;
}

static struct ipi_targets ipi_targets(const struct vlapic *v, uint64_t icr, bool x2)
{
    struct ipi_targets t = { false, false };
    uint32_t dest = x2 ? (uint32_t)(icr >> 32) : (uint32_t)(icr >> 56);
    uint32_t broadcast = x2 ? 0xFFFFFFFFu : 0xFFu;
    uint32_t self_id = x2 ? v->id : (v->id & 0xFF);
    switch ((icr >> ICR_SHORTHAND_SHIFT) & 3) {
    case SH_SELF:
        t.self = true;
        return t;
    case SH_ALL_INCL:
        t.self = t.others = true;
        return t;
    case SH_ALL_EXCL:
        t.others = true;
        return t;
    default:
        break;
    }
    if (icr & ICR_LOGICAL)
        return logical_targets(v, dest, x2);
    t.self = dest == self_id || dest == broadcast;
    t.others = dest != self_id;
    return t;
}

static void drop_ipi(struct vlapic *v, uint64_t icr)
{
    v->dropped_ipis++;
    v->last_dropped_icr = icr;
}

/* Sends the IPI in v->icr. Only a fixed (or lowest-priority) interrupt to this vCPU is
 * delivered; whatever else it names is dropped and counted for the caller to log. */
static void send_ipi(struct vlapic *v, bool x2)
{
    uint64_t icr = v->icr;
    uint32_t vector = icr & ICR_VECTOR;
    unsigned mode = (icr >> ICR_MODE_SHIFT) & 7;
    unsigned shorthand = (icr >> ICR_SHORTHAND_SHIFT) & 3;
    struct ipi_targets t = ipi_targets(v, icr, x2);
    bool vectored = mode == DM_FIXED || mode == DM_LOWEST;

    if (vectored && vector < FIRST_LEGAL_VECTOR) {
        signal_error(v, VLAPIC_ESR_SEND_ILLEGAL); /* not sent at all (11.5.3) */
        return;
    }
    if (mode == DM_LOWEST && (x2 || shorthand != SH_NONE)) {
        /* unsupported in x2APIC mode, invalid with a shorthand: the redirectable-IPI
         * error, nothing sent (11.5.3, 11.6.1 table of valid ICR combinations) */
        signal_error(v, VLAPIC_ESR_REDIRECTABLE_IPI);
        drop_ipi(v, icr);
        return;
    }
    if (!vectored) {
        drop_ipi(v, icr); /* NMI, INIT, SIPI, SMI, reserved modes never leave */
        return;
    }
    if (t.self)
        vlapic_accept(v, (uint8_t)vector);
    /* Lowest priority picks one destination: with this vCPU among them it may be it. */
    if (t.others && !(mode == DM_LOWEST && t.self))
        drop_ipi(v, icr);
}

/* SELF_IPI (x2APIC only, 11.12.11): a fixed, edge-triggered interrupt to this vCPU. */
static void self_ipi(struct vlapic *v, uint32_t vector)
{
    if (vector < FIRST_LEGAL_VECTOR)
        signal_error(v, VLAPIC_ESR_SEND_ILLEGAL);
    else
        vlapic_accept(v, (uint8_t)vector);
}

/* ---- register file -------------------------------------------------------------- */

/* Return codes of reg_read/reg_write: 0; -ENOENT, no register at that address in this
 * mode; -EINVAL, an access the register refuses (wrong direction, reserved bits). The
 * x2APIC interface turns both into #GP, the xAPIC one ignores the second. */

static bool in_bank(uint32_t reg, uint32_t first)
{
    return reg >= first && reg < first + 8;
}

static int reg_read(struct vlapic *v, uint32_t reg, bool x2, uint64_t *val)
{
    uint32_t r = 0;
    switch (reg) {
    case X2APIC_ID: r = x2 ? v->id : (v->id & 0xFF) << 24; break;
    case X2APIC_VERSION: r = v->version; break;
    case X2APIC_TPR: r = v->tpr; break;
    case VLAPIC_PPR: r = vlapic_ppr(v); break;
    case X2APIC_LDR: r = v->ldr; break;
    case X2APIC_SVR: r = v->svr; break;
    case X2APIC_ESR: r = v->esr; break;
    case X2APIC_TIMER_ICR: r = v->timer_initial; break;
    case X2APIC_TIMER_CCR: r = timer_ccr(v); break;
    case X2APIC_TIMER_DCR: r = v->timer_dcr; break;
    case X2APIC_ICR:
        *val = x2 ? v->icr : (uint32_t)v->icr;
        return 0;
    case VLAPIC_APR: if (x2) return -ENOENT; r = apr(v); break;
    case VLAPIC_RRD: if (x2) return -ENOENT; break; /* no remote reads: always 0 */
    case VLAPIC_DFR: if (x2) return -ENOENT; r = v->dfr; break;
    case VLAPIC_ICR_HI: if (x2) return -ENOENT; r = (uint32_t)(v->icr >> 32); break;
    case X2APIC_EOI: if (x2) return -EINVAL; break; /* write-only; xAPIC reads 0 */
    case X2APIC_SELF_IPI: return x2 ? -EINVAL : -ENOENT;
    default:
        if (reg >= X2APIC_LVT_TIMER && reg < X2APIC_LVT_TIMER + VLAPIC_NR_LVT)
            r = v->lvt[reg - X2APIC_LVT_TIMER];
        else if (in_bank(reg, X2APIC_ISR0))
            r = v->isr[reg - X2APIC_ISR0];
        else if (in_bank(reg, X2APIC_TMR0))
            r = v->tmr[reg - X2APIC_TMR0];
        else if (in_bank(reg, X2APIC_IRR0))
            r = v->irr[reg - X2APIC_IRR0];
        else
            return -ENOENT;
    }
    *val = r;
    return 0;
}

static bool read_only(uint32_t reg)
{
    return reg == X2APIC_ID || reg == X2APIC_VERSION || reg == VLAPIC_PPR ||
           reg == X2APIC_TIMER_CCR || in_bank(reg, X2APIC_ISR0) ||
           in_bank(reg, X2APIC_TMR0) || in_bank(reg, X2APIC_IRR0);
}

/* In x2APIC mode a 1 in a reserved bit is #GP (11.12.1.3). */
static int check_bits(bool x2, uint64_t val, uint64_t defined)
{
    return x2 && (val & ~defined) ? -EINVAL : 0;
}

static int write_icr(struct vlapic *v, bool x2, uint64_t val)
{
    if (check_bits(x2, val, 0xFFFFFFFF00000000ull | ICR_LO_DEFINED))
        return -EINVAL;
    uint64_t hi = x2 ? val & 0xFFFFFFFF00000000ull : v->icr & 0xFFFFFFFF00000000ull;
    v->icr = hi | (val & ICR_LO_BITS);
    send_ipi(v, x2); /* writing the low dword sends (11.6.1) */
    return 0;
}

static int write_lvt_reg(struct vlapic *v, bool x2, unsigned idx, uint32_t val)
{
    uint32_t ro = LVT_DELIVERY_STATUS |
                  (idx == VLAPIC_LVT_LINT0_IDX || idx == VLAPIC_LVT_LINT1_IDX ? LVT_REMOTE_IRR : 0);
    if (check_bits(x2, val, lvt_bits[idx] | ro))
        return -EINVAL;
    write_lvt(v, idx, val);
    return 0;
}

/* Registers whose value matters in both modes. */
static int reg_write_common(struct vlapic *v, uint32_t reg, bool x2, uint32_t val)
{
    switch (reg) {
    case X2APIC_TPR:
        if (check_bits(x2, val, TPR_BITS))
            return -EINVAL;
        v->tpr = val & TPR_BITS;
        return 0;
    case X2APIC_EOI:
        if (x2 && val) /* x2APIC table of MSRs: non-zero is #GP */
            return -EINVAL;
        do_eoi(v);
        return 0;
    case X2APIC_SVR:
        if (check_bits(x2, val, SVR_BITS))
            return -EINVAL;
        write_svr(v, val);
        return 0;
    case X2APIC_ESR:
        if (x2 && val) /* only 0 may be written in x2APIC mode (11.5.3) */
            return -EINVAL;
        write_esr(v);
        return 0;
    case X2APIC_TIMER_ICR:
        write_initial_count(v, val);
        return 0;
    case X2APIC_TIMER_DCR:
        if (check_bits(x2, val, DCR_BITS))
            return -EINVAL;
        write_dcr(v, val);
        return 0;
    default:
        if (reg >= X2APIC_LVT_TIMER && reg < X2APIC_LVT_TIMER + VLAPIC_NR_LVT)
            return write_lvt_reg(v, x2, reg - X2APIC_LVT_TIMER, val);
        return -ENOENT;
    }
}

static int reg_write_xapic(struct vlapic *v, uint32_t reg, uint32_t val)
{
    switch (reg) {
    case X2APIC_LDR:
        v->ldr = val & LDR_XAPIC_BITS;
        return 0;
    case VLAPIC_DFR:
        v->dfr = (val & DFR_MODEL) | ~DFR_MODEL;
        return 0;
    case X2APIC_ICR:
        return write_icr(v, false, val);
    case VLAPIC_ICR_HI:
        v->icr = (v->icr & 0xFFFFFFFFull) | ((uint64_t)(val & ICR_XAPIC_DEST) << 32);
        return 0;
    case VLAPIC_APR:
    case VLAPIC_RRD:
        return -EINVAL; /* read-only */
    default:
        /* read_only() includes the ID: writing the xAPIC ID is model specific (11.4.6),
         * eli keeps the ID it chose */
        if (read_only(reg))
            return -EINVAL;
        return reg_write_common(v, reg, false, val);
    }
}

static int reg_write_x2apic(struct vlapic *v, uint32_t reg, uint64_t val)
{
    if (reg == X2APIC_ICR)
        return write_icr(v, true, val);
    /* bits 63:32 of every other x2APIC MSR are reserved (11.12.1.2) */
    if (val >> 32)
        return -EINVAL;
    if (reg == X2APIC_LDR || read_only(reg))
        return -EINVAL;
    if (reg == X2APIC_SELF_IPI) {
        if (check_bits(true, val, SELF_IPI_BITS))
            return -EINVAL;
        self_ipi(v, (uint32_t)val);
        return 0;
    }
    return reg_write_common(v, reg, true, (uint32_t)val);
}

/* ---- the two interfaces -------------------------------------------------------- */

static bool x2apic_msr(uint32_t msr)
{
    return msr >= VLAPIC_MSR_FIRST && msr <= VLAPIC_MSR_LAST;
}

int vlapic_msr_read(struct vlapic *v, uint32_t msr, uint64_t *val)
{
    if (msr == VLAPIC_MSR_APIC_BASE) {
        *val = v->apic_base;
        return 0;
    }
    if (msr == VLAPIC_MSR_TSC_DEADLINE) {
        vlapic_timer_poll(v); /* a deadline that has passed reads 0 */
        *val = timer_mode(v) == VLAPIC_TIMER_TSC_DEADLINE ? v->tsc_deadline : 0;
        return 0;
    }
    if (!x2apic_msr(msr))
        return -ENOENT;
    /* 11.12.2: the MSR interface exists only in x2APIC mode */
    if (!vlapic_x2apic_mode(v))
        return -EINVAL;
    return reg_read(v, msr, true, val) ? -EINVAL : 0;
}

int vlapic_msr_write(struct vlapic *v, uint32_t msr, uint64_t val)
{
    if (msr == VLAPIC_MSR_APIC_BASE)
        return write_apic_base(v, val);
    if (msr == VLAPIC_MSR_TSC_DEADLINE) {
        write_tsc_deadline(v, val);
        return 0;
    }
    if (!x2apic_msr(msr))
        return -ENOENT;
    if (!vlapic_x2apic_mode(v))
        return -EINVAL;
    return reg_write_x2apic(v, msr, val) ? -EINVAL : 0;
}

/* The register whose 16-byte slot starts at the dword holding offset, or 0 when the
 * dword is padding between registers. */
static uint32_t mmio_reg(uint32_t offset)
{
    return offset & 0xC ? 0 : X2APIC_MSR(offset & 0xFF0);
}

static int mmio_check(const struct vlapic *v, uint32_t offset, unsigned size)
{
    if (vlapic_mmio_base(v) == 0 || offset >= VLAPIC_MMIO_SIZE)
        return -EINVAL;
    if (size != 1 && size != 2 && size != 4)
        return -EINVAL;
    return 0;
}

/* 11.4.1: registers are meant to be read as aligned dwords; a narrower or misaligned
 * read returns the bytes of the aligned dword it starts in (0 beyond it). An address
 * with no register reads 0 and logs "illegal register address" (11.5.3). */
int vlapic_mmio_read(struct vlapic *v, uint32_t offset, unsigned size, uint32_t *val)
{
    int err = mmio_check(v, offset, size);
    if (err)
        return err;
    uint32_t reg = mmio_reg(offset);
    uint64_t dword = 0;
    if (!reg || reg_read(v, reg, false, &dword) == -ENOENT) {
        signal_error(v, VLAPIC_ESR_ILLEGAL_REG);
        dword = 0;
    }
    unsigned shift = (offset & 3) * 8;
    uint64_t bytes = (uint32_t)dword >> shift;
    *val = (uint32_t)(bytes & (size == 4 ? 0xFFFFFFFFull : (1ull << (size * 8)) - 1));
    return 0;
}

/* Only an aligned dword write reaches a register; others are ignored. */
int vlapic_mmio_write(struct vlapic *v, uint32_t offset, unsigned size, uint32_t val)
{
    int err = mmio_check(v, offset, size);
    if (err)
        return err;
    uint32_t reg = mmio_reg(offset);
    uint64_t dummy;
    if (!reg || reg_read(v, reg, false, &dummy) == -ENOENT) {
        signal_error(v, VLAPIC_ESR_ILLEGAL_REG);
        return 0;
    }
    if (size == 4 && !(offset & 3))
        reg_write_xapic(v, reg, val);
    return 0;
}
