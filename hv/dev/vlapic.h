/* The guest's virtual local APIC (Intel SDM vol. 3, chapter 11 "Advanced Programmable
 * Interrupt Controller"; chapter 10 in editions before 2023).
 *
 * Under ELI the guest shares the physical x2APIC with eli: only the EOI MSR is ever
 * passed through, and every other APIC access the guest makes lands here. This module is
 * pure logic (no hardware access; time comes from a callback), so it is host-testable.
 *
 * Registers are named by their x2APIC MSR number, 0x800 + (xAPIC offset >> 4), as in
 * arch/x86/x2apic.h; the xAPIC MMIO interface maps each offset to the same number.
 * Nothing here ever leaves the vCPU: IPIs to other CPUs, INIT, SIPI, NMI and SMI are
 * counted and recorded for the caller to log, never sent. */
#ifndef ELI_DEV_VLAPIC_H
#define ELI_DEV_VLAPIC_H
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/x2apic.h"

#define VLAPIC_BUS_HZ 1000000000ull  /* the virtual timer's clock, before the divider */
#define VLAPIC_TSC_HZ_MAX 16000000000ull /* keeps the 64-bit time arithmetic exact */
#define VLAPIC_VERSION 0x00050014u   /* version 0x14 (integrated APIC), max LVT index 5 */
#define VLAPIC_PHYS_BITS 40          /* MAXPHYADDR assumed for IA32_APIC_BASE checks */
#define VLAPIC_MMIO_SIZE 0x1000u     /* the xAPIC register page */
#define VLAPIC_DEFAULT_BASE 0xFEE00000ull

#define VLAPIC_MSR_APIC_BASE 0x1Bu   /* IA32_APIC_BASE */
#define VLAPIC_MSR_TSC_DEADLINE 0x6E0u
#define VLAPIC_MSR_FIRST 0x800u      /* x2APIC registers eli serves: 0x800-0x8FF */
#define VLAPIC_MSR_LAST 0x8FFu

/* Registers x2apic.h does not name (the host driver never touches them). */
#define VLAPIC_APR X2APIC_MSR(0x090)     /* arbitration priority: xAPIC only */
#define VLAPIC_PPR X2APIC_MSR(0x0A0)     /* processor priority */
#define VLAPIC_RRD X2APIC_MSR(0x0C0)     /* remote read: xAPIC only */
#define VLAPIC_DFR X2APIC_MSR(0x0E0)     /* destination format: xAPIC only */
#define VLAPIC_LVT_CMCI X2APIC_MSR(0x2F0) /* not implemented: max LVT is 5 */
#define VLAPIC_ICR_HI X2APIC_MSR(0x310)  /* xAPIC only; x2APIC has one 64-bit ICR */
#define VLAPIC_LVT_THERMAL X2APIC_MSR(0x330)
#define VLAPIC_LVT_PERF X2APIC_MSR(0x340)

/* Error status register bits (SDM 11.5.3). */
#define VLAPIC_ESR_REDIRECTABLE_IPI (1u << 4)
#define VLAPIC_ESR_SEND_ILLEGAL (1u << 5)
#define VLAPIC_ESR_RECV_ILLEGAL (1u << 6)
#define VLAPIC_ESR_ILLEGAL_REG (1u << 7)

/* The LVT, in register order (X2APIC_LVT_TIMER + index). */
enum vlapic_lvt {
    VLAPIC_LVT_TIMER_IDX,
    VLAPIC_LVT_THERMAL_IDX,
    VLAPIC_LVT_PERF_IDX,
    VLAPIC_LVT_LINT0_IDX,
    VLAPIC_LVT_LINT1_IDX,
    VLAPIC_LVT_ERROR_IDX,
    VLAPIC_NR_LVT
};

/* LVT timer bits 18:17 (SDM 11.5.4); 3 is reserved. */
enum vlapic_timer_mode {
    VLAPIC_TIMER_ONESHOT = 0,
    VLAPIC_TIMER_PERIODIC = 1,
    VLAPIC_TIMER_TSC_DEADLINE = 2,
};

struct vlapic {
    uint32_t id;              /* x2APIC ID; xAPIC mode shows bits 7:0 in ID[31:24] */
    uint32_t version;
    uint64_t apic_base;       /* IA32_APIC_BASE as the guest sees it */
    unsigned phys_bits;       /* MAXPHYADDR the guest's CPUID reports; may be changed */
    uint32_t tpr;
    uint32_t ldr;
    uint32_t dfr;
    uint32_t svr;
    uint32_t esr;             /* what a read returns: the errors latched by the last write */
    uint32_t esr_pending;     /* errors seen since the last ESR write */
    uint32_t isr[8], tmr[8], irr[8]; /* word i holds vectors 32*i .. 32*i+31 */
    uint32_t lvt[VLAPIC_NR_LVT];
    uint64_t icr;             /* x2APIC layout; in xAPIC mode bits 63:32 are ICR_HI */

    /* timer (SDM 11.5.4) */
    uint32_t timer_initial;
    uint32_t timer_dcr;
    bool timer_running;       /* one-shot or periodic countdown in progress */
    uint64_t timer_start;     /* TSC at which the counter held timer_count0 */
    uint32_t timer_count0;
    uint64_t tsc_deadline;    /* IA32_TSC_DEADLINE; 0 = disarmed */
    bool timer_lent;          /* the physical timer delivers it (eli.c, eli_timer_follow) */
    bool timer_lent_passed;   /* a one-shot or deadline expiry passed in the model while lent */
    uint32_t timer_gen;       /* changes with every write that changes the timer */

    uint64_t tsc_hz;
    uint64_t (*now)(void *ctx); /* the current TSC */
    void *ctx;

    /* An EOI write (either interface) calls eoi_hook when set, vlapic_eoi otherwise:
     * eli decides there whether the virtual or the physical in-service interrupt ends. */
    void (*eoi_hook)(void *hook_ctx);
    /* Called when the guest turns the APIC off (IA32_APIC_BASE.EN cleared), after its
     * IRR and ISR are lost: eli completes what it owes the physical APIC. */
    void (*disable_hook)(void *hook_ctx);
    /* Called when the timer fires (unmasked, legal vector); true when the hook delivers
     * the interrupt itself (eli raises it on the physical APIC), false to accept it here. */
    bool (*timer_hook)(void *hook_ctx, uint8_t vector);
    void *hook_ctx;

    /* counters for the result line */
    uint64_t timer_fires;     /* timer interrupts put into the IRR */
    uint64_t dropped_ipis;    /* ICR writes not (or not only) delivered to this vCPU */
    uint64_t last_dropped_icr; /* the last of them, in the layout of icr above */
};

/* Power-up state (SDM 11.4.7.1): xAPIC mode at 0xFEE00000, BSP, software-disabled.
 * tsc_hz is clamped to [1, VLAPIC_TSC_HZ_MAX]; now must not be NULL. */
void vlapic_init(struct vlapic *v, uint32_t apic_id, uint64_t tsc_hz,
                 uint64_t (*now)(void *ctx), void *ctx);

/* RDMSR/WRMSR of IA32_APIC_BASE, IA32_TSC_DEADLINE and 0x800-0x8FF. Returns 0, -EINVAL
 * when the guest must get #GP, or -ENOENT for an MSR this module does not serve. */
int vlapic_msr_read(struct vlapic *v, uint32_t msr, uint64_t *val);
int vlapic_msr_write(struct vlapic *v, uint32_t msr, uint64_t val);

/* A guest access at offset (0..0xFFF) of the xAPIC page, size 1, 2 or 4 bytes.
 * -EINVAL when the page is not decoded (APIC disabled or in x2APIC mode) or the
 * arguments are out of range; the caller then treats the access as it would any other. */
int vlapic_mmio_read(struct vlapic *v, uint32_t offset, unsigned size, uint32_t *val);
int vlapic_mmio_write(struct vlapic *v, uint32_t offset, unsigned size, uint32_t val);
/* Guest-physical base of the register page while xAPIC MMIO is decoded, else 0. */
uint64_t vlapic_mmio_base(const struct vlapic *v);
bool vlapic_x2apic_mode(const struct vlapic *v);

/* MOV to/from CR8, which mirrors TPR[7:4] (SDM 11.8.6). -EINVAL (#GP) for bits 63:4. */
int vlapic_cr8_write(struct vlapic *v, uint64_t cr8);
uint64_t vlapic_cr8_read(const struct vlapic *v);

/* Interrupt state. Vectors are returned as 0..255, -1 meaning none. */
int vlapic_highest_isr(const struct vlapic *v);
int vlapic_highest_irr(const struct vlapic *v);
uint32_t vlapic_ppr(const struct vlapic *v);
/* Clears the highest-priority in-service bit; returns its vector. */
int vlapic_eoi(struct vlapic *v);
/* An edge-triggered fixed interrupt arrives: sets its IRR bit. Dropped while the APIC is
 * disabled; vectors 0-15 set ESR "receive illegal vector" instead. */
void vlapic_accept(struct vlapic *v, uint8_t vector);
/* The vector the CPU would take now: highest IRR above PPR, APIC enabled; else -1. */
int vlapic_pending(const struct vlapic *v);
/* The CPU takes vector: IRR -> ISR. */
void vlapic_ack(struct vlapic *v, uint8_t vector);

/* What the physical timer is to run while lent: vector, periodic (reloading delta_tsc)
 * or one-shot (firing once after delta_tsc). */
struct vlapic_timer_hw {
    uint8_t vector;
    bool periodic;
    uint64_t delta_tsc;
};
/* Lends the timer to a physical one from now on: false when nothing is to run (stopped,
 * masked, disabled). A periodic timer starts a period now, as the physical one does.
 * While lent the model still follows the time (expiries pass, periodic counters
 * reload) but delivers nothing. */
bool vlapic_timer_lend(struct vlapic *v, struct vlapic_timer_hw *hw);
/* Takes it back from the physical timer, which had hw_left TSC cycles left (0: its
 * one-shot fired) if it ran at all. Returns whether an expiry the model had already
 * passed is still owed (the physical one was stopped before it fired): the caller
 * delivers it. */
bool vlapic_timer_reclaim(struct vlapic *v, bool hw_ran, uint64_t hw_left);
/* Delivers an expired timer; returns the TSC of the next expiry, 0 when none is armed
 * or the timer is lent.
 * Call at every exit and tick. */
uint64_t vlapic_timer_poll(struct vlapic *v);
/* The TSC of the next (or overdue) expiry, 0 when none is armed; no side effects. */
uint64_t vlapic_timer_deadline(const struct vlapic *v);

#endif
