/* The ELI state machine (docs/eli.md), arch-neutral.
 *
 * Direct mode: physical interrupts are not intercepted; the CPU reads the shadow
 * IDT, so the assigned device's vectors reach the guest's handlers with no exit and
 * eli's own vectors bounce out as #NP. In `eli` mode the guest's EOI is not
 * intercepted either. Injection mode: the guest runs on its own IDT with physical
 * interrupts and its EOI intercepted, as in traditional assignment, so eli can
 * inject virtual interrupts; it goes back to direct mode once no virtual interrupt
 * is pending or in service. `baseline` never leaves injection mode.
 *
 * The backend asks eli_plan() before every guest entry and applies the result; it
 * reports what happened through the eli_on_* calls. */
#ifndef ELI_ELI_ELI_H
#define ELI_ELI_ELI_H
#include "dev/vlapic.h"
#include "eli/mode.h"
#include "eli/shadow_idt.h"
#include "eli/vecmap.h"
#include <stdbool.h>
#include <stdint.h>

/* What the platform offers eli: the physical x2APIC, read and completed. */
struct eli_phys_ops {
    bool (*in_service)(uint8_t vector);  /* physical ISR bit */
    uint32_t (*isr_word)(unsigned word); /* physical ISR, vectors 32*word .. +31 */
    void (*eoi)(void);                   /* physical EOI */
    /* raises physical vector p on this CPU (a self-IPI) so that it reaches the guest
     * as an assigned interrupt does; NULL: the guest's timer stays a virtual one */
    void (*raise)(uint8_t p);
    /* the physical timer lent to the guest's (eli_timer_follow); NULL: never lent.
     * timer_load runs vector p (0: stops it), periodic or one-shot, delta_tsc from now;
     * timer_unload stops it and returns the TSC cycles it had left (0: it fired) */
    void (*timer_load)(uint8_t p, bool periodic, uint64_t delta_tsc);
    uint64_t (*timer_unload)(void);
};

struct eli_counters {
    uint64_t injected;        /* virtual interrupts eli injected */
    uint64_t injected_assigned; /* of which assigned ones that arrived while eli ran */
    uint64_t eoi_exits;       /* guest EOIs eli completed */
    uint64_t bounces;         /* host interrupts that bounced out of guest mode as #NP */
    uint64_t to_direct;       /* switches injection -> direct */
    uint64_t to_injection;    /* switches direct -> injection */
    uint64_t shadow_builds;
    uint64_t idt_writes;      /* guest writes to its write-protected IDT */
    uint64_t starved;         /* watchdog NMIs that cost the guest direct mode */
    uint64_t warned;          /* watchdog NMIs forgiven as a first strike */
};

struct eli {
    enum eli_mode mode;
    struct vlapic *lapic;
    struct vecmap vecs;
    const struct eli_phys_ops *phys;
    bool direct;              /* the mode the guest last entered in */
    bool guest_idt_valid;     /* the guest has loaded a 64-bit IDT we can shadow */
    bool shadow_valid;        /* the shadow matches the guest's IDT */
    bool hold_injection;      /* stay on the guest's own IDT for one entry */
    uint64_t idt_base_gpa;    /* guest-physical address of the guest's IDT base */
    uint32_t idt_limit;
    uint64_t phys_backed[4];  /* guest vectors whose in-service instance is physical */
    uint64_t ended[4];        /* physical vectors the guest completed, EOI still owed */
    const char *no_direct_reason; /* why direct mode is unavailable, for the log */
    uint64_t penalty_until;   /* TSC before which the guest stays out of direct mode */
    uint64_t penalty;         /* its current length in TSC cycles (doubles on repeat) */
    uint64_t strike_tsc;      /* when the watchdog last found interrupts held off */
    uint64_t strike_bounces;  /* n.bounces then */
    bool timer_hw;            /* the lent physical timer runs the guest's timer */
    bool timer_hw_oneshot;    /* ... as a one-shot (a TSC deadline too) */
    uint8_t timer_hw_vector;  /* ... on this guest vector */
    uint32_t timer_gen;       /* the guest timer's timer_gen it was loaded with */
    struct eli_counters n;
};

/* What the backend must set up for the next guest entry. */
struct eli_plan {
    bool direct;          /* physical interrupts not intercepted (needs shadow) */
    bool shadow;          /* the CPU reads the shadow IDT rather than the guest's pages */
    bool eoi_passthrough; /* the EOI MSR not intercepted */
    int inject;           /* a vector to inject now (>= 0), or -1 */
    bool window;          /* a vector waits: exit as soon as the guest can take it */
};

void eli_init(struct eli *e, enum eli_mode mode, struct vlapic *lapic, const struct eli_phys_ops *phys,
              const uint8_t *host_vectors, unsigned nhost);

/* The physical timer is (lend) or is no longer the guest's: while lent it runs what the
 * guest's timer holds, reloaded after each guest write that changes it; taken back, the
 * virtual timer goes on where the physical one was (docs/eli.md, decision 11). */
void eli_timer_follow(struct eli *e, bool lend);
/* Whether the guest's timer can be lent the physical one (its vector is not remapped). */
bool eli_timer_lendable(const struct eli *e);

/* The guest's device uses guest vector g: returns the physical vector to program. */
int eli_assign_vector(struct eli *e, uint8_t g);

/* An assigned physical vector p was taken by eli's own IDT (in host mode, or after
 * an intercepted interrupt exit). eli must not EOI it: the guest's EOI will. */
void eli_on_host_irq(struct eli *e, uint8_t p);

/* The guest wrote its EOI register and the write was intercepted. */
void eli_on_guest_eoi(struct eli *e);

/* The guest loaded its IDT; base_gpa is where the base lies in guest-physical
 * memory, or ~0 when its page is not mapped (long_mode false: not a 64-bit IDT). */
void eli_on_lidt(struct eli *e, uint64_t base_gpa, uint32_t limit, bool long_mode);

/* The guest wrote into a page of its IDT: the shadow is stale. */
void eli_on_idt_write(struct eli *e);

/* A vector the backend injected was delivered (the CPU took it). */
void eli_on_injected(struct eli *e, uint8_t vector);

/* The shadow was rebuilt from the guest's IDT. */
void eli_on_shadow_built(struct eli *e);

/* The watchdog found eli's tick overdue while the guest ran in direct mode (it keeps
 * IF = 0, or never lets an interrupt in): the guest loses direct mode for a penalty
 * that starts at `base` TSC cycles and doubles on each repeat within it, up to
 * `max`, then comes back. now: the TSC. */
void eli_on_starved(struct eli *e, uint64_t now, uint64_t base, uint64_t max);

/* The watchdog found the guest in direct mode with interrupts off. One such NMI can
 * be the platform's doing (QEMU TCG runs its timers late when its vCPU is busy: the
 * same happens in baseline mode, where no guest can hold the tick off), so the first
 * is forgiven: the backend runs eli's overdue interrupts and the guest goes on. A
 * second within `window` TSC cycles, with no host interrupt let through (bounced) in
 * between, is the guest's: eli_on_starved. Returns whether the guest was penalised. */
bool eli_on_watchdog(struct eli *e, uint64_t now, uint64_t window, uint64_t base, uint64_t max);

/* The guest was seen with interrupts enabled (at an exit outside direct mode): it is
 * not holding eli out, so a penalty ends and the next starts short again. */
void eli_on_guest_interruptible(struct eli *e);

/* Decides the next entry. `can_inject`: the guest can take an interrupt now (IF set,
 * no interrupt shadow, no event already pending). now: the TSC. */
struct eli_plan eli_plan(struct eli *e, bool can_inject, uint64_t now);

/* The guest's view of in-service register word `word` (vectors 32*word..+31): its
 * virtual ISR and the assigned interrupts delivered directly and still in service in
 * the physical APIC. */
uint32_t eli_guest_isr_word(const struct eli *e, unsigned word);

/* Whether the #NP for vector v, in direct mode, was one of eli's own interrupts. */
bool eli_is_host_bounce(const struct eli *e, uint8_t vector);

#endif
