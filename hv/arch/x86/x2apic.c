#include "arch/x86/x2apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/hpet.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/stats.h"
#include "dev/vlapic.h"

#define CPUID_1_ECX_X2APIC (1u << 21)
#define TIMER_DIVIDE_BY_1 0xB
#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1

int x2apic_init(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (!(r[2] & CPUID_1_ECX_X2APIC))
        return -ENODEV;
    /* Both 8259s masked: the BIOS left them on vectors 8-15 with the timer unmasked, and
     * not every platform routes them only through LINT0 (Bochs raises INTR directly) */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    /* xAPIC must be enabled before x2APIC (SDM vol. 3, 11.12.1) */
    wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN);
    wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
    wrmsr(X2APIC_TPR, 0);
    wrmsr(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
    wrmsr(X2APIC_LVT_LINT1, APIC_LVT_MASKED);
    wrmsr(X2APIC_LVT_ERROR, VEC_ELI_ERROR);
    /* SVR bit 12 (suppress EOI broadcast) stays clear: an EOI for a level-triggered vector
     * is broadcast to the IOAPICs and clears their Remote IRR (SDM vol. 3 10.8.5), which
     * completes an assigned device's INTx line (assign.c) */
    wrmsr(X2APIC_SVR, APIC_SVR_ENABLE | VEC_ELI_SPURIOUS);
    return 0;
}

void x2apic_eoi(void)
{
    wrmsr(X2APIC_EOI, 0);
}

uint32_t x2apic_id(void)
{
    return (uint32_t)rdmsr(X2APIC_ID);
}

int x2apic_in_service(uint8_t vector)
{
    return (int)(rdmsr(X2APIC_ISR0 + vector / 32) >> (vector % 32) & 1);
}

/* The host clock: one APIC timer serves both eli's periodic tick and the guest's
 * next virtual-timer deadline, whichever comes first. With no guest deadline before
 * the next tick it runs in periodic mode, so a tick reprograms nothing: under QEMU
 * TCG every timer write from the vCPU wakes QEMU's main loop and costs tens of
 * microseconds of each tick's exit (docs/eli.md, "The tick's cost"). A guest
 * deadline due sooner switches it to one-shot until the tick after that deadline.
 *
 * While the guest is in direct mode the tick slows to its direct rate: there it only
 * shows that eli can still get in (the guest's interrupts and timer need no tick), and
 * each one is an exit (docs/eli.md, decision 9). Ticks are accounted in periods of the
 * full rate, so one slow tick on time counts for all the periods it covers.
 *
 * In direct mode, where an HPET comparator can send eli a fixed interrupt, the tick
 * moves there and the APIC timer is lent to the guest's own timer (decision 11): its
 * expiries then reach the guest with no exit at all. */
static uint64_t fast_period_tsc, slow_period_tsc, tick_period_tsc;
static uint64_t next_tick_tsc, last_tick_tsc, accounted_tsc, guest_deadline_tsc;
static bool periodic, slow, lent;

/* A guest deadline is armed at least this far ahead (in microseconds): a guest whose
 * timer is always due (a periodic count of 1) would otherwise have eli's timer pending
 * at every entry, and neither the guest nor QEMU's main loop would get anywhere. */
#define GUEST_DEADLINE_MIN_US 50

/* a * b / c in two parts, so that no product overflows (b and c are rates below
 * 2^33, a any 64-bit delta); saturates at 2^64 - 1 */
static uint64_t scale(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t whole = a / c, rest = a % c;
    if (whole && b > UINT64_MAX / whole)
        return UINT64_MAX;
    return whole * b + rest * b / c;
}

static uint32_t apic_count(uint64_t tsc_delta)
{
    uint64_t count = scale(tsc_delta, timing.apic_hz, timing.tsc_hz);
    return count ? (count > 0xffffffffu ? 0xffffffffu : (uint32_t)count) : 1;
}

static uint32_t tsc_to_us(uint64_t tsc_delta)
{
    uint64_t us = scale(tsc_delta, 1000000, timing.tsc_hz);
    return us > 0xffffffffu ? 0xffffffffu : (uint32_t)us;
}

static void arm_oneshot(uint64_t deadline, uint64_t now)
{
    if (periodic)
        wrmsr(X2APIC_LVT_TIMER, VEC_ELI_TIMER); /* one-shot */
    periodic = false;
    wrmsr(X2APIC_TIMER_ICR, apic_count(deadline > now ? deadline - now : 1));
}

/* at_tick: a tick was just serviced, so a period can start now without moving the
 * tick's schedule. */
static void timer_program(uint64_t now, bool at_tick)
{
    if (lent) {
        /* the APIC timer is the guest's: only the HPET comparator is eli's */
        hpet_tick_in(tsc_to_us(next_tick_tsc > now ? next_tick_tsc - now : 0));
        return;
    }
    uint64_t soonest = now + timing.tsc_hz / 1000000 * GUEST_DEADLINE_MIN_US;
    if (guest_deadline_tsc && guest_deadline_tsc < next_tick_tsc)
        arm_oneshot(guest_deadline_tsc > soonest ? guest_deadline_tsc : soonest, now);
    else if (!periodic && !at_tick)
        arm_oneshot(next_tick_tsc, now);
    else if (!periodic) {
        /* the count first: an LVT switched to periodic while the initial count is
         * still a one-shot's (as little as 1) would make QEMU fire it back to back
         * until the count is written, holding its main loop for up to a second */
        periodic = true;
        wrmsr(X2APIC_TIMER_ICR, apic_count(tick_period_tsc));
        wrmsr(X2APIC_LVT_TIMER, VEC_ELI_TIMER | APIC_LVT_TIMER_PERIODIC);
    }
}

/* The watchdog's NMI comes when the next tick is overdue by its margin: the watchdog
 * period less one full-rate tick period (20 ms - 10 ms by default), at either rate. */
static void watchdog_follow(uint64_t now)
{
    uint32_t period = hpet_watchdog_period_us(), fast = tsc_to_us(fast_period_tsc);
    uint32_t margin = period > fast ? period - fast : period;
    hpet_watchdog_soon(tsc_to_us(next_tick_tsc > now ? next_tick_tsc - now : 0) + margin);
}

uint64_t hostclock_next_tick_tsc(void)
{
    return next_tick_tsc;
}

uint64_t hostclock_fast_period_tsc(void)
{
    return fast_period_tsc;
}

void hostclock_watchdog_kick(void)
{
    watchdog_follow(rdtsc());
}

/* Accounts n full-rate periods up to now: those eli was late for count as missed, the
 * rest as ticks. */
static void account(uint64_t now, uint64_t n)
{
    uint64_t late = now > next_tick_tsc ? now - next_tick_tsc : 0;
    uint64_t missed = late / fast_period_tsc < n ? late / fast_period_tsc : n;
    accounted_tsc += n * fast_period_tsc;
    stats.ticks += n - missed;
    stats.ticks_missed += missed;
    if (late > stats.tick_late_max)
        stats.tick_late_max = late;
}

/* A tick accounts at least one period (a periodic expiry may come a little early). */
static void account_tick(uint64_t now)
{
    uint64_t n = now > accounted_tsc ? (now - accounted_tsc + fast_period_tsc / 2) / fast_period_tsc : 0;
    uint64_t late_periods = now > next_tick_tsc ? (now - next_tick_tsc) / fast_period_tsc : 0;
    account(now, n > late_periods ? n : late_periods + 1);
    stats.tick_irqs++;
}

void hostclock_account(bool final)
{
    uint64_t flags = read_rflags();
    irq_disable();
    uint64_t now = rdtsc();
    /* an overdue tick counts its own lateness when it comes, unless none will */
    uint64_t until = final || now < next_tick_tsc ? now : next_tick_tsc;
    if (until > accounted_tsc + fast_period_tsc)
        account(until, (until - accounted_tsc) / fast_period_tsc);
    if (flags & RFLAGS_IF)
        irq_enable();
}

/* A tick is due when its time has come. A periodic expiry may come a little before
 * next_tick_tsc (the APIC's rate is calibrated, not exact): half a period of slack
 * there, and the schedule follows the expiries. */
static void on_tick(uint8_t vector)
{
    (void)vector;
    uint64_t now = rdtsc();
    bool due = periodic ? now + tick_period_tsc / 2 >= next_tick_tsc : now >= next_tick_tsc;
    if (due) {
        account_tick(now);
        last_tick_tsc = now;
        next_tick_tsc = now + tick_period_tsc;
        watchdog_follow(now);
    }
    if (guest_deadline_tsc && guest_deadline_tsc <= now)
        guest_deadline_tsc = 0; /* due: the exit this interrupt causes delivers it */
    timer_program(now, due); /* lent: the HPET again, also when it came early */
    x2apic_eoi();
}

void hostclock_set_guest_deadline(uint64_t tsc)
{
    uint64_t flags = read_rflags();
    irq_disable();
    if (lent)
        tsc = 0; /* the lent APIC timer runs the guest's timer itself */
    bool sooner = tsc && (!guest_deadline_tsc || tsc < guest_deadline_tsc) && tsc < next_tick_tsc;
    guest_deadline_tsc = tsc;
    if (sooner)
        timer_program(rdtsc(), false);
    if (flags & RFLAGS_IF)
        irq_enable();
}

/* Interrupts stay off from the check to HLT (STI holds them for one more instruction,
 * SDM vol. 2B, STI): one that comes meanwhile and raises the guest's IRR (an assigned
 * device's) ends the HLT instead of running just before it, which would leave the CPU
 * asleep until eli's next tick. */
void hostclock_idle_for_guest(struct vlapic *l)
{
    uint64_t flags = read_rflags();
    irq_disable();
    for (;;) {
        hostclock_set_guest_deadline(vlapic_timer_poll(l));
        if (vlapic_pending(l) >= 0)
            break;
        safe_halt();
        irq_disable();
    }
    if (flags & RFLAGS_IF)
        irq_enable();
}

void hostclock_set_direct(bool direct, bool lend)
{
    lend = direct && lend && hpet_tick_ready();
    if (direct == slow && lend == lent)
        return;
    uint64_t flags = read_rflags();
    irq_disable();
    uint64_t now = rdtsc();
    slow = direct;
    tick_period_tsc = slow ? slow_period_tsc : fast_period_tsc;
    /* the next tick one period of the new rate after the last (at once if that is past) */
    uint64_t next = last_tick_tsc + tick_period_tsc;
    next_tick_tsc = next > now ? next : now;
    periodic = false;
    if (lent)
        hpet_tick_stop(); /* the guest's timer was taken back from the APIC already */
    lent = lend;
    if (lent)
        guest_deadline_tsc = 0; /* from now on the guest's timer is the APIC timer's */
    wrmsr(X2APIC_TIMER_ICR, 0);
    wrmsr(X2APIC_LVT_TIMER, VEC_ELI_TIMER); /* one-shot, then periodic */
    if (lent)
        hpet_tick_in(tsc_to_us(next_tick_tsc - now));
    timer_program(now, false);
    watchdog_follow(now);
    if (flags & RFLAGS_IF)
        irq_enable();
}

bool hostclock_lent(void)
{
    return lent;
}

/* The guest's timer on the lent APIC timer. The count is written last: the LVT of a
 * periodic timer is set while the timer is stopped (see timer_program). A periodic
 * timer runs at least GUEST_DEADLINE_MIN_US apart, as a guest deadline does. */
void x2apic_guest_timer_load(uint8_t vector, bool periodic_mode, uint64_t delta_tsc)
{
    uint64_t min = timing.tsc_hz / 1000000 * GUEST_DEADLINE_MIN_US;
    wrmsr(X2APIC_TIMER_ICR, 0);
    if (!vector) {
        wrmsr(X2APIC_LVT_TIMER, APIC_LVT_MASKED);
        return;
    }
    wrmsr(X2APIC_LVT_TIMER, vector | (periodic_mode ? APIC_LVT_TIMER_PERIODIC : 0));
    wrmsr(X2APIC_TIMER_ICR, apic_count(periodic_mode && delta_tsc < min ? min : delta_tsc));
}

uint64_t x2apic_guest_timer_unload(void)
{
    uint64_t ccr = rdmsr(X2APIC_TIMER_CCR);
    wrmsr(X2APIC_TIMER_ICR, 0);
    return scale(ccr, timing.tsc_hz, timing.apic_hz);
}

void hostclock_start_accounting(void)
{
    accounted_tsc = rdtsc();
    stats.ticks = stats.ticks_missed = stats.tick_late_max = stats.tick_irqs = 0;
}

static void on_spurious(uint8_t vector)
{
    (void)vector; /* a spurious interrupt is not in service: no EOI (SDM 11.9) */
}

static void on_apic_error(uint8_t vector)
{
    (void)vector;
    wrmsr(X2APIC_ESR, 0);
    log_line("local APIC error, ESR 0x%llx", (unsigned long long)rdmsr(X2APIC_ESR));
    x2apic_eoi();
}

static uint64_t read_ccr(void)
{
    return rdmsr(X2APIC_TIMER_CCR);
}

void x2apic_timer_start(uint32_t hz, uint32_t direct_hz)
{
    trap_set_irq_handler(VEC_ELI_TIMER, on_tick);
    trap_set_irq_handler(VEC_ELI_SPURIOUS, on_spurious);
    trap_set_irq_handler(VEC_ELI_ERROR, on_apic_error);
    wrmsr(X2APIC_TIMER_DCR, TIMER_DIVIDE_BY_1);
    wrmsr(X2APIC_LVT_TIMER, APIC_LVT_MASKED);
    wrmsr(X2APIC_TIMER_ICR, 0xffffffffu);
    /* the APIC's rate against the TSC's: the PIT only sets the interval, so time
     * lost setting it up (a busy TCG host) cancels out */
    uint64_t t0 = 0, c0 = read_at_tsc(read_ccr, &t0);
    pit_wait_us(CALIBRATION_US);
    uint64_t t1 = 0, c1 = read_at_tsc(read_ccr, &t1);
    timing.apic_hz = (c0 - c1) * timing.tsc_hz / (t1 > t0 ? t1 - t0 : 1);
    timing.tick_hz = hz;
    wrmsr(X2APIC_TIMER_ICR, 0);
    fast_period_tsc = tick_period_tsc = timing.tsc_hz / hz;
    slow_period_tsc = timing.tsc_hz / (direct_hz && direct_hz < hz ? direct_hz : hz);
    periodic = slow = false;
    last_tick_tsc = accounted_tsc = rdtsc();
    next_tick_tsc = last_tick_tsc + tick_period_tsc;
    timer_program(rdtsc(), true);
}
