/* ELI applied to an x86 vCPU, for both backends: eli_plan()'s decisions carried out at each
 * entry (the shadow IDT's window, direct mode, the EOI's interception, injection, the
 * watchdog's probation) and the exits that belong to ELI (#NP bounces, LIDT, writes to the
 * guest's IDT). What differs between SVM and VMX is only how a control is written or a
 * piece of guest state read: struct eli_cpu_ops, one per backend (svm_eli.c, vmx_eli.c). */
#ifndef ELI_ARCH_X86_ELI_CPU_H
#define ELI_ARCH_X86_ELI_CPU_H
#include "eli/shadow_idt.h"
#include <stdbool.h>
#include <stdint.h>

struct guest;

struct eli_cpu_ops {
    /* the guest's state as the last exit left it */
    uint64_t (*rip)(void *be);
    uint64_t (*rflags)(void *be);
    bool (*long_mode)(void *be);
    bool (*interrupt_shadow)(void *be); /* after STI or MOV SS: no interrupt yet */
    int (*read_guest)(void *be, uint64_t gva, void *dst, unsigned len, bool fetch);
    int (*translate)(void *be, uint64_t gva, uint64_t *gpa);
    /* the nested page tables or EPT */
    int (*map_page)(void *be, uint64_t gpa, uint64_t hpa, bool writable);
    /* the controls direct mode changes */
    void (*set_idtr)(void *be, uint64_t base, uint32_t limit);
    void (*set_direct)(void *be, bool direct); /* physical interrupts and HLT not intercepted */
    void (*set_eoi_intercept)(void *be, bool intercept);
    void (*set_window)(void *be, bool on); /* an exit once the guest can take an interrupt */
    void (*sync_tpr)(void *be, uint8_t tpr); /* may be NULL */
    /* events at the next entry */
    void (*inject_interrupt)(void *be, uint8_t vector);
    void (*cancel_event)(void *be);
    /* the exception whose delivery the exit interrupted, or -1 */
    int (*delivering_exception)(void *be);
    void (*inject_exception)(void *be, uint8_t vector, bool has_error, uint32_t error);
    /* the watchdog: its period, and the next strike sooner (in us) for a guest on probation */
    uint32_t (*watchdog_period_us)(void);
    void (*start_probation)(void *be, uint64_t now, uint32_t us);
    __attribute__((noreturn)) void (*end_halted_cli)(uint64_t hlt_rip);
};

/* What applying ELI keeps per vCPU; each backend's vCPU embeds one. */
struct eli_cpu {
    const struct eli_cpu_ops *ops;
    void *be;                     /* the backend's vCPU, handed to the ops */
    struct guest *guest;

    /* the IDTR as the guest loaded it (the control structure's limit differs in direct mode) */
    uint64_t idtr_base;
    uint32_t idtr_limit;

    bool direct;
    bool eoi_passthrough;
    bool shadow_mapped;           /* the shadow pages replace the guest's under its IDT */
    struct shadow_window window;  /* where the shadow is (or would be) mapped */
    uint64_t shadow_hpa;          /* two pages */
    uint64_t idt_write_tsc;       /* for telling a guest that keeps writing the IDT page */
    unsigned idt_write_streak;

    bool reinject;                /* the next entry delivers an event the last exit interrupted */
};

void eli_cpu_init(struct eli_cpu *c, const struct eli_cpu_ops *ops, void *be, struct guest *g);
/* The guest loaded its IDTR (idtr_base and idtr_limit hold it). */
void eli_cpu_lidt(struct eli_cpu *c);
/* Before each entry; watchdog: eli's tick is overdue (the NMI or the preemption timer). */
void eli_cpu_before_entry(struct eli_cpu *c, bool watchdog);
/* After each exit; reinject: the backend set the interrupted event to be delivered again. */
void eli_cpu_after_exit(struct eli_cpu *c, bool reinject);
/* #NP with error code err. */
void eli_cpu_handle_np(struct eli_cpu *c, uint32_t err);
/* A nested page fault writing gpa: whether it was the guest's IDT under the shadow
 * (handled: the write is the caller's to emulate). */
bool eli_cpu_idt_write(struct eli_cpu *c, uint64_t gpa);

#endif
