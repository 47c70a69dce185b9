#include "arch/x86/x2apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/hpet.h"
#include "arch/x86/timer.h"
#include "arch/x86/trap.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/stats.h"

#define CPUID_1_ECX_X2APIC (1u << 21)
#define TIMER_DIVIDE_BY_1 0xB

int x2apic_init(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (!(r[2] & CPUID_1_ECX_X2APIC))
        return -ENODEV;
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    /* xAPIC must be enabled before x2APIC (SDM vol. 3, 11.12.1) */
    wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN);
    wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
    wrmsr(X2APIC_TPR, 0);
    wrmsr(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
    wrmsr(X2APIC_LVT_LINT1, APIC_LVT_MASKED);
    wrmsr(X2APIC_LVT_ERROR, VEC_ELI_ERROR);
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

/* The host clock: one one-shot APIC timer serves both eli's periodic tick and the
 * guest's next virtual-timer deadline, whichever comes first. */
static uint64_t tick_period_tsc, next_tick_tsc, guest_deadline_tsc;

static void timer_program(uint64_t now)
{
    uint64_t deadline = next_tick_tsc;
    if (guest_deadline_tsc && guest_deadline_tsc < deadline)
        deadline = guest_deadline_tsc;
    uint64_t delta = deadline > now ? deadline - now : 1;
    uint64_t count = delta * timing.apic_hz / timing.tsc_hz;
    wrmsr(X2APIC_TIMER_ICR, count ? (count > 0xffffffffu ? 0xffffffffu : count) : 1);
}

/* Counts one serviced tick per interrupt that finds a tick due; ticks that could
 * not be serviced in time (interrupts held off) count as missed, and the worst
 * lateness is kept: both show whether eli kept control. */
static void on_tick(uint8_t vector)
{
    (void)vector;
    uint64_t now = rdtsc();
    if (now >= next_tick_tsc) {
        uint64_t late = now - next_tick_tsc;
        hpet_watchdog_kick();
        stats.ticks++;
        stats.ticks_missed += late / tick_period_tsc;
        if (late > stats.tick_late_max)
            stats.tick_late_max = late;
        next_tick_tsc += (late / tick_period_tsc + 1) * tick_period_tsc;
    }
    if (guest_deadline_tsc && guest_deadline_tsc <= now)
        guest_deadline_tsc = 0; /* due: the exit this interrupt causes delivers it */
    timer_program(now);
    x2apic_eoi();
}

void hostclock_set_guest_deadline(uint64_t tsc)
{
    uint64_t flags = read_rflags();
    irq_disable();
    bool sooner = tsc && (!guest_deadline_tsc || tsc < guest_deadline_tsc) && tsc < next_tick_tsc;
    guest_deadline_tsc = tsc;
    if (sooner)
        timer_program(rdtsc());
    if (flags & RFLAGS_IF)
        irq_enable();
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

void x2apic_timer_start(uint32_t hz)
{
    trap_set_irq_handler(VEC_ELI_TIMER, on_tick);
    trap_set_irq_handler(VEC_ELI_SPURIOUS, on_spurious);
    trap_set_irq_handler(VEC_ELI_ERROR, on_apic_error);
    wrmsr(X2APIC_TIMER_DCR, TIMER_DIVIDE_BY_1);
    wrmsr(X2APIC_LVT_TIMER, APIC_LVT_MASKED);
    wrmsr(X2APIC_TIMER_ICR, 0xffffffffu);
    uint64_t start = rdmsr(X2APIC_TIMER_CCR);
    pit_wait_us(CALIBRATION_US);
    uint64_t elapsed = start - rdmsr(X2APIC_TIMER_CCR);
    timing.apic_hz = elapsed * (1000000 / CALIBRATION_US);
    timing.tick_hz = hz;
    wrmsr(X2APIC_TIMER_ICR, 0);
    tick_period_tsc = timing.tsc_hz / hz;
    next_tick_tsc = rdtsc() + tick_period_tsc;
    wrmsr(X2APIC_LVT_TIMER, VEC_ELI_TIMER); /* one-shot */
    timer_program(rdtsc());
}
