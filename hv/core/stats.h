/* What eli counts: exits by arch-neutral reason, guest time, host ticks.
 * The reason names are the keys of the result line (docs/results.md): keep them stable. */
#ifndef ELI_CORE_STATS_H
#define ELI_CORE_STATS_H
#include <stddef.h>
#include <stdint.h>

enum exit_reason {
    EXIT_R_CPUID,
    EXIT_R_MSR,
    EXIT_R_IO,
    EXIT_R_HLT,
    EXIT_R_INTR,      /* physical interrupt intercepted */
    EXIT_R_NMI,
    EXIT_R_NPF,       /* nested page fault / EPT violation */
    EXIT_R_SHUTDOWN,  /* triple fault */
    EXIT_R_EXCEPTION, /* intercepted guest exception */
    EXIT_R_VM_INSN,   /* a virtualization instruction the guest may not use */
    EXIT_R_CR,
    EXIT_R_DTR,       /* LIDT, SIDT, ... */
    EXIT_R_VINTR,     /* interrupt window */
    EXIT_R_OTHER,
    EXIT_R_COUNT
};

extern const char *const exit_reason_names[EXIT_R_COUNT];

struct stats {
    uint64_t exits[EXIT_R_COUNT];
    uint64_t exits_total;
    uint64_t guest_cycles;   /* sum of (TSC at exit - TSC at entry) */
    uint64_t run_start_tsc;  /* TSC at the first guest entry */
    uint64_t ticks;          /* host timer interrupts serviced */
    uint64_t host_irqs;
    uint64_t host_nmis;
};
extern struct stats stats;

struct result_meta {
    const char *end;         /* why the run ended */
    uint32_t guest_status;   /* what the guest wrote to the debug-exit port, or eli's code */
    uint64_t now_tsc;
    uint64_t tsc_hz;
    uint32_t tick_hz;
    const char *backend;
    const char *guest;
};

/* The JSON object of the result line (pure, host-testable). Returns its length. */
size_t stats_result_json(const struct stats *s, const struct result_meta *m, char *buf, size_t len);

#endif
