/*
 * Local APIC in x2APIC mode: every register is an MSR at 0x800 + (xAPIC MMIO offset >> 4).
 * Nothing here touches the MMIO page at 0xfee00000.
 */
#ifndef GUEST_X2APIC_H
#define GUEST_X2APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "processor.h"

#define APIC_BASE_BSP		(1ull << 8)
#define APIC_BASE_EXTD		(1ull << 10)	/* x2APIC mode */
#define APIC_BASE_EN		(1ull << 11)	/* APIC globally enabled */

#define X2APIC_ID		0x802
#define X2APIC_VERSION		0x803
#define X2APIC_TPR		0x808
#define X2APIC_PPR		0x80a
#define X2APIC_EOI		0x80b
#define X2APIC_LDR		0x80d
#define X2APIC_SVR		0x80f
#define X2APIC_ISR0		0x810	/* ISR0..7: 0x810-0x817 */
#define X2APIC_TMR0		0x818
#define X2APIC_IRR0		0x820
#define X2APIC_ESR		0x828
#define X2APIC_ICR		0x830	/* one 64-bit MSR: destination in bits 63:32 */
#define X2APIC_LVT_TIMER	0x832
#define X2APIC_LVT_THERMAL	0x833
#define X2APIC_LVT_PMC		0x834
#define X2APIC_LVT_LINT0	0x835
#define X2APIC_LVT_LINT1	0x836
#define X2APIC_LVT_ERROR	0x837
#define X2APIC_TIMER_INITIAL	0x838
#define X2APIC_TIMER_CURRENT	0x839
#define X2APIC_TIMER_DIVIDE	0x83e
#define X2APIC_SELF_IPI		0x83f

#define APIC_SVR_ENABLE		(1u << 8)
#define APIC_LVT_MASKED		(1u << 16)
#define APIC_LVT_TIMER_PERIODIC	(1u << 17)
#define APIC_TIMER_DIVIDE_1	0xb
#define APIC_ICR_FIXED		(0u << 8)
#define APIC_ICR_ASSERT		(1u << 14)
#define APIC_ICR_DEST_SELF	(1u << 18)

static inline bool x2apic_supported(void)
{
	return cpuid(1).c & (1u << 21);
}

/* xAPIC and x2APIC must be enabled in that order: disabled -> x2APIC directly is a #GP. */
static inline void x2apic_enable(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	if (!(base & APIC_BASE_EN)) {
		base |= APIC_BASE_EN;
		wrmsr(MSR_IA32_APIC_BASE, base);
	}
	wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EXTD);
}

static inline uint64_t x2apic_read(uint32_t msr)
{
	return rdmsr(msr);
}

static inline void x2apic_write(uint32_t msr, uint64_t value)
{
	wrmsr(msr, value);
}

static inline uint32_t x2apic_id(void)
{
	return (uint32_t)rdmsr(X2APIC_ID);
}

/* Software-enables the APIC; spurious interrupts arrive on spurious_vector. */
static inline void x2apic_sw_enable(uint8_t spurious_vector)
{
	wrmsr(X2APIC_SVR, APIC_SVR_ENABLE | spurious_vector);
}

static inline void x2apic_eoi(void)
{
	wrmsr(X2APIC_EOI, 0);
}

/* Whether vector's bit is set in the in-service (ISR) or request (IRR) register. */
static inline bool x2apic_isr_test(uint8_t vector)
{
	return (rdmsr(X2APIC_ISR0 + vector / 32) >> (vector % 32)) & 1;
}

static inline bool x2apic_irr_test(uint8_t vector)
{
	return (rdmsr(X2APIC_IRR0 + vector / 32) >> (vector % 32)) & 1;
}

static inline void x2apic_self_ipi(uint8_t vector)
{
	wrmsr(X2APIC_SELF_IPI, vector);
}

/* Fixed-delivery IPI through the ICR. */
static inline void x2apic_send_ipi(uint32_t dest, uint8_t vector)
{
	wrmsr(X2APIC_ICR, ((uint64_t)dest << 32) | APIC_ICR_ASSERT | APIC_ICR_FIXED | vector);
}

/* Starts the APIC timer counting down from count (divide by 1); one interrupt unless periodic. */
static inline void x2apic_timer_start(uint8_t vector, uint32_t count, bool periodic)
{
	wrmsr(X2APIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_1);
	wrmsr(X2APIC_LVT_TIMER, vector | (periodic ? APIC_LVT_TIMER_PERIODIC : 0));
	wrmsr(X2APIC_TIMER_INITIAL, count);
}

static inline void x2apic_timer_stop(void)
{
	wrmsr(X2APIC_LVT_TIMER, APIC_LVT_MASKED);
	wrmsr(X2APIC_TIMER_INITIAL, 0);
}

#endif
