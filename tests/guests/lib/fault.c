/* Catching exceptions on purpose: the C side of expect_fault (isr.S) and the safe MSR accessors. */
#include "idt.h"
#include "internal.h"
#include "processor.h"

/* Set by expect_fault (isr.S) while its callback runs: the stack to resume on, else 0. */
uint64_t fault_recovery_rsp;
/* The vector that ended the callback, read back by expect_fault_resume. */
int fault_recovery_vector;

extern const char expect_fault_resume[];

bool fault_recover(struct int_frame *f)
{
	if (!fault_recovery_rsp)
		return false;
	fault_recovery_vector = (int)f->vector;
	f->rip = (uintptr_t)expect_fault_resume;
	f->rsp = fault_recovery_rsp;
	return true;
}

struct msr_access {
	uint32_t index;
	uint64_t value;
};

static void do_rdmsr(void *arg)
{
	struct msr_access *a = arg;

	a->value = rdmsr(a->index);
}

static void do_wrmsr(void *arg)
{
	const struct msr_access *a = arg;

	wrmsr(a->index, a->value);
}

int rdmsr_safe(uint32_t index, uint64_t *value)
{
	struct msr_access a = { .index = index };
	int vector = expect_fault(do_rdmsr, &a);

	if (vector == NO_FAULT)
		*value = a.value;
	return vector;
}

int wrmsr_safe(uint32_t index, uint64_t value)
{
	struct msr_access a = { .index = index, .value = value };

	return expect_fault(do_wrmsr, &a);
}
