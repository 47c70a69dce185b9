/* The IDT: all 256 vectors enter through isr.S and are dispatched here to C handlers. */
#include "idt.h"
#include "internal.h"
#include "libguest.h"
#include "processor.h"

#define ISR_STUB_SIZE		16	/* as in isr.S */
#define EXCEPTION_VECTORS	32


extern const char isr_stubs[];

/* a page of its own, as Linux keeps idt_table: nothing else shares its page */
static struct idt_gate idt[256] __attribute__((aligned(4096)));
static interrupt_handler handlers[256];

static uint16_t read_cs(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs;
}

struct idt_gate idt_gate_make(uint64_t entry)
{
	return (struct idt_gate){
		.offset_low = (uint16_t)entry,
		.selector = read_cs(),
		.type_attr = GATE_INTERRUPT64,
		.offset_mid = (uint16_t)(entry >> 16),
		.offset_high = (uint32_t)(entry >> 32),
	};
}

void idt_gate_write(struct idt_gate *table, unsigned vector, struct idt_gate g)
{
	*(volatile struct idt_gate *)&table[vector] = g;
}

static void set_gate(unsigned vector, uintptr_t entry)
{
	idt[vector] = idt_gate_make(entry);
}

void idt_init(void)
{
	for (unsigned v = 0; v < ARRAY_SIZE(idt); v++)
		set_gate(v, (uintptr_t)isr_stubs + v * ISR_STUB_SIZE);

	struct descriptor_ptr p = { .limit = sizeof(idt) - 1, .base = (uintptr_t)idt };
	lidt(&p);
}

void idt_set_handler(unsigned vector, interrupt_handler handler)
{
	if (vector < ARRAY_SIZE(handlers))
		handlers[vector] = handler;
}

const char *exception_name(unsigned vector)
{
	static const char *const names[EXCEPTION_VECTORS] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "", "",
		"", "", "", "", "#HV", "#VC", "#SX", "",
	};
	return vector < EXCEPTION_VECTORS ? names[vector] : "";
}

/* Nobody asked for this vector: a bug in the test or in whatever runs it. */
static _Noreturn void unhandled(const struct int_frame *f)
{
	if (f->vector < EXCEPTION_VECTORS)
		printf("unhandled exception %lu %s, error code %#lx, at RIP %#lx\n",
		       f->vector, exception_name(f->vector), f->error_code, f->rip);
	else
		printf("unexpected interrupt vector %lu at RIP %#lx\n", f->vector, f->rip);
	exit(1);
}

void idt_dispatch(struct int_frame *f)
{
	if (f->vector < EXCEPTION_VECTORS && fault_recover(f))
		return;
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	unhandled(f);
}

void idt_load(uint64_t base, uint16_t limit)
{
	struct descriptor_ptr p = { .limit = limit, .base = base };
	lidt(&p);
}

bool idt_sidt_is(uint64_t base, uint16_t limit, const char *what)
{
	struct descriptor_ptr p = sidt();
	bool ok = p.base == base && p.limit == limit;

	report(ok, "SIDT after LIDT of %s: base %#lx limit %#x (loaded %#lx %#x)", what,
	       (uint64_t)p.base, p.limit, base, limit);
	return ok;
}
