/*
 * edu_dma: DMA with QEMU's edu device, as a driver would: a 4 KiB buffer inside the device
 * (device address 0x40000), filled from RAM and written back to RAM by the device's DMA
 * engine (src 0x80, dst 0x88, count 0x90, command 0x98: bit 0 start, bit 1 device -> RAM,
 * bit 2 interrupt when done; the engine takes about 100 ms per transfer and never reports
 * a failed transfer). The guest knows nothing of an IOMMU.
 *
 * Always: a round trip. A pattern goes from RAM into the device (completion polled), then
 * from the device into another buffer (completion by MSI), and must arrive intact.
 *
 * target=ADDR: the device writes a pattern to guest-physical ADDR, the device buffer is
 * overwritten, then the device reads ADDR back into it and writes that into RAM. The guest
 * reports whether the pattern came back ("reached") or not ("blocked"). Expected: reached
 * when ADDR lies in RAM (the multiboot memory map's available ranges, and reserved ranges
 * touching them), blocked otherwise; expect=reached|blocked overrides.
 *
 * forge=DATA: the device DMA-writes the 4 bytes DATA to 0xfee00000, the MSI window: a
 * forged message to x2APIC ID 0 (delivery mode in bits 10:8, vector in 7:0; 0x4xx is an
 * NMI). The guest has a handler on that vector (vector 2 for an NMI) that counts, and
 * waits; it expects forge_expect=N runs (default 0). Then its own edu interrupt must
 * still arrive. On QEMU the device needs dma_mask=0xffffffff to reach 0xfee00000 (edu's
 * default mask is 28 bits).
 *
 * vector=V (0x41): the device's MSI vector.
 */
#include "edu.h"
#include "idt.h"
#include "libguest.h"
#include "multiboot.h"
#include "pci.h"
#include "x2apic.h"

#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_RAM		0x2	/* device buffer -> RAM; 0: RAM -> device buffer */
#define EDU_DMA_IRQ		0x4
#define EDU_DMA_IRQ_STATUS	0x100	/* the interrupt status bit of a finished transfer */
#define EDU_DMA_BUF		0x40000ul
#define EDU_DMA_BUF_SIZE	4096u

#define MSI_WINDOW		0xfee00000ul
#define MSI_DELIVERY_NMI	4u
#define NMI_VECTOR		2

#define DEFAULT_VECTOR		0x41
#define WAIT_CYCLES		20000000000ull	/* a transfer that takes longer is lost */
#define SETTLE_CYCLES		300000000ull	/* time for a forged message to arrive */

/*
 * The DMA buffers sit in .data, right after the page tables, so they lie low in the image
 * (about 1 MiB + 56 KiB): where, under a hypervisor that gave the device host-physical
 * addresses, they would be the hypervisor's own memory.
 */
#define DMA_BUFFER __attribute__((aligned(4096), section(".data.dma")))
static struct edu_dev edu;
static uint8_t buf_a[EDU_DMA_BUF_SIZE] DMA_BUFFER;
static uint8_t buf_b[EDU_DMA_BUF_SIZE] DMA_BUFFER;
static uint8_t buf_c[EDU_DMA_BUF_SIZE] DMA_BUFFER;

static volatile uint64_t dma_irqs, raise_irqs, spurious;
static volatile uint64_t forged_runs;
static unsigned edu_vector = DEFAULT_VECTOR;

static void edu_handler(struct int_frame *frame)
{
	uint32_t status = edu_irq_status(&edu);

	(void)frame;
	if (status & EDU_DMA_IRQ_STATUS)
		dma_irqs++;
	if (status & EDU_IRQ_BIT)
		raise_irqs++;
	if (!(status & (EDU_DMA_IRQ_STATUS | EDU_IRQ_BIT)))
		spurious++;
	edu_ack(&edu, status);
	x2apic_eoi();
}

static void forged_handler(struct int_frame *frame)
{
	forged_runs++;
	if (frame->vector != NMI_VECTOR)
		x2apic_eoi();
}

static void dma_write64(unsigned reg, uint64_t v)
{
	*(volatile uint64_t *)((volatile uint8_t *)edu.regs + reg) = v;
}

static uint64_t dma_read64(unsigned reg)
{
	return *(volatile uint64_t *)((volatile uint8_t *)edu.regs + reg);
}

static void fill(uint8_t *p, uint32_t seed)
{
	for (unsigned i = 0; i < EDU_DMA_BUF_SIZE; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/*
 * One transfer of count bytes; waits for the engine to finish by polling its command
 * register, or by its interrupt when irq. Returns false if it never finished.
 */
static bool dma(uint64_t src, uint64_t dst, uint64_t count, bool to_ram, bool irq)
{
	uint64_t irqs = dma_irqs;

	dma_write64(EDU_DMA_SRC, src);
	dma_write64(EDU_DMA_DST, dst);
	dma_write64(EDU_DMA_COUNT, count);
	dma_write64(EDU_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0) | (irq ? EDU_DMA_IRQ : 0));
	uint64_t t0 = rdtsc();
	for (;;) {
		bool done = irq ? dma_irqs != irqs : !(dma_read64(EDU_DMA_CMD) & EDU_DMA_RUN);
		if (done)
			return true;
		if (rdtsc() - t0 > WAIT_CYCLES) {
			printf("edu_dma: transfer %#lx -> %#lx (%lu bytes) did not finish\n", src, dst,
			       count);
			return false;
		}
		pause();
	}
}

static uint64_t pa(const void *p)
{
	return (uint64_t)(uintptr_t)p;	/* the library identity-maps the first 4 GiB */
}

static bool in_ram(uint64_t addr)
{
	for (const struct multiboot_mmap_entry *e = mb_mmap_first(); e; e = mb_mmap_next(e)) {
		if (addr < e->addr || addr - e->addr >= e->len)
			continue;
		if (e->type == MB_MMAP_AVAILABLE)
			return true;
		/* reserved RAM at the edges of available RAM (the EBDA, a loader's tables) */
		for (const struct multiboot_mmap_entry *r = mb_mmap_first(); r; r = mb_mmap_next(r))
			if (r->type == MB_MMAP_AVAILABLE &&
			    (r->addr + r->len == e->addr || e->addr + e->len == r->addr))
				return true;
	}
	return false;
}

static void round_trip(void)
{
	fill(buf_a, 0x1234);
	memset(buf_b, 0, sizeof(buf_b));
	printf("edu_dma: round trip through the device: %#lx -> device -> %#lx\n", pa(buf_a),
	       pa(buf_b));
	bool ok = dma(pa(buf_a), EDU_DMA_BUF, EDU_DMA_BUF_SIZE, false, false);
	report(ok, "DMA RAM %#lx -> device finished (polled)", pa(buf_a));
	ok = ok && dma(EDU_DMA_BUF, pa(buf_b), EDU_DMA_BUF_SIZE, true, true);
	report(ok, "DMA device -> RAM %#lx finished (MSI)", pa(buf_b));
	report(ok && !memcmp(buf_a, buf_b, EDU_DMA_BUF_SIZE), "4096 bytes came back intact");
}

static void dma_to_target(uint64_t target)
{
	bool ram = in_ram(target);
	const char *want = cmdline_get("expect");
	bool want_reached = want ? !strcmp(want, "reached") : ram;

	if (want && strcmp(want, "reached") && strcmp(want, "blocked")) {
		report(false, "expect=%s is reached or blocked", want);
		return;
	}
	if (target & 3 || target + EDU_DMA_BUF_SIZE > (1ull << 32)) {
		report(false, "target=%#lx is dword aligned and below 4 GiB - 4 KiB", target);
		return;
	}
	fill(buf_a, (uint32_t)target ^ 0xa5a5);
	memset(buf_b, 0x5a, sizeof(buf_b));
	memset(buf_c, 0, sizeof(buf_c));
	printf("edu_dma: target %#lx (%s my RAM): the device writes a pattern there, then reads "
	       "it back\n", target, ram ? "in" : "outside");
	bool ok = dma(pa(buf_a), EDU_DMA_BUF, EDU_DMA_BUF_SIZE, false, false) &&
		  dma(EDU_DMA_BUF, target, EDU_DMA_BUF_SIZE, true, false);
	report(ok, "DMA device -> target %#lx finished", target);
	/* the device's buffer no longer holds the pattern: only the target can give it back */
	ok = ok && dma(pa(buf_b), EDU_DMA_BUF, EDU_DMA_BUF_SIZE, false, false) &&
	     dma(target, EDU_DMA_BUF, EDU_DMA_BUF_SIZE, false, false) &&
	     dma(EDU_DMA_BUF, pa(buf_c), EDU_DMA_BUF_SIZE, true, false);
	report(ok, "DMA target %#lx -> device -> RAM %#lx finished", target, pa(buf_c));
	bool reached = !memcmp(buf_a, buf_c, EDU_DMA_BUF_SIZE);
	printf("edu_dma: target %#lx: the pattern %s\n", target,
	       reached ? "came back: the DMA reached it" : "did not come back: the DMA was blocked");
	report(ok && reached == want_reached, "DMA to %#lx %s, as expected", target,
	       reached ? "reached it" : "was blocked");
	if (ram && reached)
		report(!memcmp((const void *)(uintptr_t)target, buf_a, EDU_DMA_BUF_SIZE),
		       "the pattern is in my RAM at %#lx", target);
}

static void forge(uint32_t data, uint64_t expect)
{
	bool nmi = (data >> 8 & 7) == MSI_DELIVERY_NMI;
	unsigned vector = nmi ? NMI_VECTOR : (data & 0xff);

	if (!nmi && (vector < 0x20 || vector == edu_vector || vector == EDU_APIC_SPURIOUS_VECTOR)) {
		report(false, "forge=%#x names a vector 0x20-0xfe other than the device's, or an NMI",
		       data);
		return;
	}
	idt_set_handler(vector, forged_handler);
	memcpy(buf_a, &data, sizeof(data));
	printf("edu_dma: forging an MSI: the device writes %#x to %#lx (%s)\n", data, MSI_WINDOW,
	       nmi ? "NMI" : "fixed");
	bool ok = dma(pa(buf_a), EDU_DMA_BUF, sizeof(data), false, false) &&
		  dma(EDU_DMA_BUF, MSI_WINDOW, sizeof(data), true, false);
	report(ok, "DMA device -> %#lx (4 bytes) finished", MSI_WINDOW);
	uint64_t t0 = rdtsc();
	while (rdtsc() - t0 < SETTLE_CYCLES && forged_runs == 0)
		pause();
	printf("edu_dma: forged message %#x: handler for vector %u ran %lu time(s)\n", data,
	       vector, forged_runs);
	report(forged_runs == expect, "forged message %#x arrived %lu time(s), expected %lu",
	       data, forged_runs, expect);

	/* the device's own interrupt still works */
	uint64_t before = raise_irqs;
	edu_raise(&edu, EDU_IRQ_BIT);
	t0 = rdtsc();
	while (raise_irqs == before && rdtsc() - t0 < WAIT_CYCLES)
		pause();
	report(raise_irqs == before + 1, "the device's own interrupt (vector %#x) still arrives",
	       edu_vector);
}

int main(void)
{
	uint64_t vector = cmdline_get_u64("vector", DEFAULT_VECTOR);

	if (!edu_irq_setup(&edu, vector))
		return report_summary();
	edu_vector = (unsigned)vector;
	idt_set_handler(edu_vector, edu_handler);
	pci_command_set(edu.bdf, PCI_COMMAND_MASTER);
	sti();

	round_trip();
	if (cmdline_get("target"))
		dma_to_target(cmdline_get_u64("target", 0));
	if (cmdline_get("forge"))
		forge((uint32_t)cmdline_get_u64("forge", 0), cmdline_get_u64("forge_expect", 0));

	cli();
	edu_msi_disable(&edu);
	printf("edu_dma: %lu DMA interrupts, %lu raised, %lu spurious\n", dma_irqs, raise_irqs,
	       spurious);
	report(spurious == 0, "no spurious edu interrupt");
	return report_summary();
}
