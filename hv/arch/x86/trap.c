#include "arch/x86/trap.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x2apic.h"
#include "core/console.h"
#include "core/panic.h"
#include "core/stats.h"

static irq_handler_fn irq_handlers[256];
volatile bool watchdog_fired;

/* The watchdog's NMI: it comes only when eli's tick has not run for a watchdog
 * period; the exit path reacts (eli_cpu.c). */
static void watchdog_nmi(void)
{
    stats.watchdog_nmis++;
    watchdog_fired = true;
}

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS",
    "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22", "23", "24", "25", "26",
    "27", "28", "#HV", "#VC", "#SX",
};

void trap_set_irq_handler(uint8_t vector, irq_handler_fn fn)
{
    irq_handlers[vector] = fn;
}

static uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

__attribute__((noreturn)) static void host_exception(const struct trap_frame *f)
{
    log_line("host exception %s (vector %llu) error 0x%llx at rip 0x%llx rsp 0x%llx cr2 0x%llx",
             exception_names[f->vector & 31], (unsigned long long)f->vector,
             (unsigned long long)f->error, (unsigned long long)f->rip,
             (unsigned long long)f->rsp, (unsigned long long)read_cr2());
    log_line("rax %llx rbx %llx rcx %llx rdx %llx rsi %llx rdi %llx",
             (unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
             (unsigned long long)f->rdx, (unsigned long long)f->rsi, (unsigned long long)f->rdi);
    panic("unexpected exception in eli");
}

void trap_dispatch(struct trap_frame *f)
{
    uint8_t v = (uint8_t)f->vector;
    if (v == 2) {
        stats.host_nmis++;
        watchdog_nmi();
        return;
    }
    if (v < 32)
        host_exception(f);
    trap_run_irq(v);
}

void trap_run_irq(uint8_t v)
{
    stats.host_irqs++;
    if (irq_handlers[v]) {
        irq_handlers[v](v);
        return;
    }
    log_line("unexpected interrupt vector %u", v);
    x2apic_eoi();
}
