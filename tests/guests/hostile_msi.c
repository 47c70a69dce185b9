/*
 * hostile_msi: MSI forgery through configuration space (ports 0xcf8/0xcfc, or ECAM with
 * ecam=). Needs QEMU's edu device (-device edu). Its MSI first goes to this CPU on vector 0x41
 * (edu_irq_setup); then, with MSI left enabled, the capability's address and data are rewritten
 * to each forged message below and the device raised once. Every vector 0x20-0xfe has a handler
 * that counts it, acks the device and EOIs; NMIs are counted too.
 *
 * A forged message may only ever reach this CPU as an ordinary interrupt on the vector it names
 * (a hypervisor may carry it that way, or refuse it: then nothing arrives). Never anything else:
 * no NMI, no other vector (in particular not 0x41, the last accepted message), and a message
 * aimed at guest memory must not write it. Before each forgery the good message is restored and
 * checked (one raise, one interrupt on 0x41). At the end 100 raises must each be handled once.
 * No bare twin: on bare metal an NMI-mode message is an NMI, and a memory address is a DMA write.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "pci.h"
#include "pit.h"
#include "x2apic.h"

#define GOOD_VECTOR		0x41
#define NMI_VECTOR		2
#define WAIT_CYCLES		25000000ul	/* ~10 ms for a forged message to show up */
#define ARRIVE_CYCLES		5000000000ul
#define MSI_RH			(1u << 3)	/* address: redirection hint */
#define MSI_DM_LOGICAL		(1u << 2)	/* address: logical destination mode */
#define MSI_DATA_LEVEL		(1u << 15)
#define MSI_DATA_ASSERT		(1u << 14)
#define DELIVERY(m)		((uint32_t)(m) << 8)
#define CANARY			0x5a5a5a5a5a5a5a5aull
#define NONE			(-1)

static struct edu_dev edu;
static volatile uint64_t hits[256];
static unsigned cap, data_off;
static bool is64;
static volatile uint64_t canary[512] __attribute__((aligned(4096)));

static void count_handler(struct int_frame *f)
{
	unsigned v = (unsigned)f->vector;

	hits[v]++;
	edu_ack(&edu, 0xffffffffu);
	if (x2apic_isr_test((uint8_t)v))
		x2apic_eoi();
}

static void nmi_handler(struct int_frame *f)
{
	(void)f;
	hits[NMI_VECTOR]++;
}

static void reset_counts(void)
{
	for (unsigned v = 0; v < 256; v++)
		hits[v] = 0;
}

static uint64_t total(void)
{
	uint64_t n = hits[NMI_VECTOR];

	for (unsigned v = 0x20; v < 0x100; v++)
		n += hits[v];
	return n;
}

/* Rewrites the message of the (enabled) capability, as config-space writes only. */
static void program(uint64_t addr, uint32_t data)
{
	pci_write32(edu.bdf, cap + PCI_MSI_ADDRESS_LO, (uint32_t)addr);
	if (is64)
		pci_write32(edu.bdf, cap + PCI_MSI_ADDRESS_HI, (uint32_t)(addr >> 32));
	pci_write16(edu.bdf, cap + data_off, (uint16_t)data);
}

static void raise_and_wait(uint64_t cycles)
{
	sti();
	edu_raise(&edu, EDU_IRQ_BIT);
	tsc_spin(cycles);
	cli();
	edu_ack(&edu, 0xffffffffu);
}

struct forgery {
	const char *what;
	uint64_t addr;		/* 0: this CPU's address */
	uint32_t data;
	int vector;		/* the one vector that may arrive, or NONE */
};

int main(void)
{
	idt_set_handler(NMI_VECTOR, nmi_handler);
	if (!edu_irq_setup(&edu, GOOD_VECTOR))
		return report_summary();
	for (unsigned v = 0x20; v < 0x100; v++)	/* 0xff too: a message may carry it */
		idt_set_handler(v, count_handler);
	cap = pci_find_cap(edu.bdf, PCI_CAP_ID_MSI);
	is64 = pci_read16(edu.bdf, cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_64BIT;
	data_off = is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;

	uint32_t self = x2apic_id();
	uint64_t good = MSI_ADDR_X86(self);
	uint64_t dma = (uintptr_t)&canary[0];
	const struct forgery forged[] = {
		{ "vector 0xf0", good, 0xf0, 0xf0 },
		{ "vector 0xff", good, 0xff, 0xff },
		{ "vector 0xfe", good, 0xfe, 0xfe },
		{ "APIC ID 5 (another CPU)", MSI_ADDR_X86(5), 0x42, 0x42 },
		{ "destination 0xff (broadcast)", MSI_ADDR_X86(0xff), 0x43, 0x43 },
		{ "logical destination 0xff with redirection hint", MSI_ADDR_X86(0xff) | MSI_RH |
		  MSI_DM_LOGICAL, 0x44, 0x44 },
		{ "lowest-priority delivery", good, DELIVERY(1) | 0x45, 0x45 },
		{ "level-triggered, asserted", good, MSI_DATA_LEVEL | MSI_DATA_ASSERT | 0x46, 0x46 },
		{ "junk in address bits 11:4", good | 0xff0, 0x4e, 0x4e },
		{ "address above 4 GiB (0x1_fee0_0000)", good | (1ull << 32), 0x4d, 0x4d },
		{ "NMI delivery", good, DELIVERY(4) | 0x47, NONE },
		{ "NMI delivery to broadcast", MSI_ADDR_X86(0xff), DELIVERY(4), NONE },
		{ "SMI delivery", good, DELIVERY(2) | 0x48, NONE },
		{ "INIT delivery", good, DELIVERY(5), NONE },
		{ "INIT delivery to APIC ID 5", MSI_ADDR_X86(5), DELIVERY(5), NONE },
		{ "ExtINT delivery", good, DELIVERY(7) | 0x49, NONE },
		{ "reserved delivery mode 011b", good, DELIVERY(3) | 0x4a, NONE },
		{ "reserved delivery mode 110b (SIPI-like)", good, DELIVERY(6) | 0x4b, NONE },
		{ "illegal vector 0x05", good, 0x05, NONE },
		{ "a guest RAM address (a DMA write, not an interrupt)", dma, 0x4c, NONE },
		{ "address 0 (a DMA write to memory 0)", 0, 0x4f, NONE },
	};
	unsigned bad = 0;

	printf("hostile_msi: capability at %#x, %s; good message %#lx/%#x\n", cap,
	       is64 ? "64-bit" : "32-bit", good, GOOD_VECTOR);
	for (unsigned i = 0; i < ARRAY_SIZE(forged); i++) {
		const struct forgery *f = &forged[i];

		program(good, GOOD_VECTOR);
		reset_counts();
		sti();
		edu_raise(&edu, EDU_IRQ_BIT);
		for (uint64_t t0 = rdtsc(); !hits[GOOD_VECTOR] && rdtsc() - t0 < ARRIVE_CYCLES;)
			pause();
		tsc_spin(WAIT_CYCLES / 10);
		cli();
		bool good_ok = hits[GOOD_VECTOR] == 1 && total() == 1;

		for (unsigned j = 0; j < ARRAY_SIZE(canary); j++)
			canary[j] = CANARY;
		program(f->addr, f->data);
		reset_counts();
		raise_and_wait(WAIT_CYCLES);
		unsigned overwritten = 0;
		for (unsigned j = 0; j < ARRAY_SIZE(canary); j++)
			overwritten += canary[j] != CANARY;

		uint64_t on_own = f->vector == NONE ? 0 : hits[f->vector];
		uint64_t others = total() - on_own;
		bool ok = good_ok && on_own <= 1 && others == 0 && !overwritten;
		bad += !ok;
		report(ok, "forged %s (address %#lx data %#x): %s; %lu other interrupts (%lu on the "
		       "last good vector %#x), %lu NMIs%s%s", f->what, f->addr, f->data,
		       f->vector == NONE ? "must not arrive" :
		       on_own ? "carried on its vector" : "refused", others, hits[GOOD_VECTOR],
		       GOOD_VECTOR, hits[NMI_VECTOR], overwritten ? "; GUEST MEMORY WRITTEN" : "",
		       good_ok ? "" : "; the good message before it did not arrive once");
	}

	program(good, GOOD_VECTOR);
	reset_counts();
	sti();
	uint64_t got = 0;
	for (unsigned i = 0; i < 100; i++) {
		uint64_t before = hits[GOOD_VECTOR], t0 = rdtsc();

		edu_raise(&edu, EDU_IRQ_BIT);
		while (hits[GOOD_VECTOR] == before && rdtsc() - t0 < ARRIVE_CYCLES)
			pause();
		if (hits[GOOD_VECTOR] == before)
			break;
		got++;
	}
	tsc_spin(WAIT_CYCLES / 10);
	cli();
	report(got == 100 && hits[GOOD_VECTOR] == 100 && total() == 100,
	       "the good message again: 100 raises, each handled once on %#x (%lu)", GOOD_VECTOR,
	       hits[GOOD_VECTOR]);
	printf("msi-result {\"forgeries\":%zu,\"bad\":%u}\n", ARRAY_SIZE(forged), bad);
	edu_msi_disable(&edu);
	return report_summary();
}
