/* What eli counts: exits by arch-neutral reason, guest time, host ticks.
 * The reason names are the keys of the result line (docs/results.md): keep them stable. */
#ifndef ELI_CORE_STATS_H
#define ELI_CORE_STATS_H
#include <stddef.h>
#include <stdint.h>

struct eli_counters;

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

/* The counters at the moment a guest console line ended: the harness measures a
 * window between two lines the guest prints (no guest needs to know eli). */
#define STATS_MARKS 64
struct stats_point {
    uint64_t tsc, exits, guest_cycles, ticks;
};

struct stats_mark {
    uint64_t line;            /* guest console lines so far, this one included */
    struct stats_point start; /* when its first byte was written */
    struct stats_point end;   /* when it ended */
};

struct stats {
    uint64_t exits[EXIT_R_COUNT];
    uint64_t exits_total;
    uint64_t guest_cycles;   /* sum of (TSC at exit - TSC at entry) */
    uint64_t run_start_tsc;  /* TSC at the first guest entry */
    uint64_t ticks;          /* host tick periods serviced (at the full rate, docs/results.md) */
    uint64_t tick_irqs;      /* timer interrupts that serviced them */
    uint64_t ticks_missed;   /* ticks that came too late to be serviced one by one */
    uint64_t tick_late_max;  /* worst lateness of a tick, TSC cycles */
    uint64_t host_irqs;
    uint64_t host_nmis;
    uint64_t watchdog_nmis;  /* watchdog expiries that found eli's tick overdue: NMIs on SVM, the
                              * preemption timer (or an overdue tick at an exit) on VMX */
    uint64_t guest_lines;
    struct stats_point line_start;
    struct stats_mark marks[STATS_MARKS]; /* a ring: the last STATS_MARKS lines */
};

/* A guest console line starts, or ends (and is recorded as a mark). */
void stats_line_start(struct stats *s, uint64_t tsc);
void stats_line_end(struct stats *s, uint64_t tsc);
extern struct stats stats;

struct result_meta {
    const char *end;         /* why the run ended */
    uint32_t guest_status;   /* what the guest wrote to the debug-exit port, or eli's code */
    uint64_t now_tsc;
    uint64_t tsc_hz;
    uint32_t tick_hz;
    const char *backend;
    const char *guest;
    const char *mode;
    const struct eli_counters *eli;
    uint64_t lapic_timer_fires;
    uint64_t lapic_dropped_ipis;
    int integrity;            /* eli's image: 0 not checked, 1 unchanged, 2 changed */
};

/* The JSON object of the result line (pure, host-testable). Returns its length. */
size_t stats_result_json(const struct stats *s, const struct result_meta *m, char *buf, size_t len);

#endif
