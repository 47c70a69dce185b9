/*
 * intx_nic: a steady stream of INTx interrupts from an Intel 82540EM (Bochs's `e1000`,
 * PCI 8086:100e) through an IOAPIC, as a plain PC operating system would take them.
 *
 * The card has no MSI: its INTA# line reaches IOAPIC pin N, N being the interrupt line
 * register the firmware set. The guest programs that IOAPIC redirection entry (fixed
 * delivery to its own x2APIC ID, level triggered, active low, vector V) and enables only
 * the receive-timer cause (RXT0). It then sends ARP requests for 192.168.10.1, the address
 * of Bochs's `vnet` packet mover, which answers each one: every answer is a received frame
 * and one level-triggered interrupt. The handler reads ICR (which clears the causes and
 * lowers the line), takes the received frames, sends the next request and ends the
 * interrupt with an x2APIC EOI: one request in flight at a time.
 *
 * Legacy descriptors, one 8-entry ring each way, 2 KiB receive buffers. DMA addresses are
 * the guest's physical addresses plus dma_offset= (0 if absent: a platform whose devices
 * see a bus-address offset passes it, as a boot loader would).
 *
 * Prints `intx-result {json}`, then PASS when `count` interrupts (each with a received
 * frame) were handled before `timeout` seconds. Options: count=N (2000), vector=V (0x60),
 * timeout=S (30), tsc_hz=N (without a PIT), ioapic=ADDR (0xfec00000), dma_offset=ADDR,
 * ecam=ADDR, delivery=M (the entry's delivery mode, 0 fixed; 4 asks for an NMI, which a
 * hypervisor should refuse).
 */
#include "idt.h"
#include "libguest.h"
#include "pci.h"
#include "pit.h"
#include "x2apic.h"

#define E1000_VENDOR		0x8086
#define E1000_82540EM		0x100e

#define REG_CTRL		0x0000
#define REG_STATUS		0x0008
#define REG_EERD		0x0014	/* EEPROM read: START bit 0, DONE bit 4, address 15:8 */
#define REG_ICR			0x00c0
#define REG_IMS			0x00d0
#define REG_IMC			0x00d8
#define REG_RCTL		0x0100
#define REG_TCTL		0x0400
#define REG_TIPG		0x0410
#define REG_RDBAL		0x2800
#define REG_RDBAH		0x2804
#define REG_RDLEN		0x2808
#define REG_RDH			0x2810
#define REG_RDT			0x2818
#define REG_TDBAL		0x3800
#define REG_TDBAH		0x3804
#define REG_TDLEN		0x3808
#define REG_TDH			0x3810
#define REG_TDT			0x3818
#define REG_RAL0		0x5400
#define REG_RAH0		0x5404

#define CTRL_SLU		(1u << 6)
#define CTRL_RST		(1u << 26)
#define ICR_RXT0		(1u << 7)	/* receive timer: a frame was stored */
#define RCTL_EN			(1u << 1)
#define RCTL_UPE		(1u << 3)
#define RCTL_MPE		(1u << 4)
#define RCTL_BAM		(1u << 15)
#define RCTL_SECRC		(1u << 26)
#define TCTL_EN			(1u << 1)
#define TCTL_PSP		(1u << 3)
#define TCTL_CT_SHIFT		4
#define TCTL_COLD_SHIFT		12
#define TXD_CMD_EOP		(1u << 0)
#define TXD_CMD_IFCS		(1u << 1)
#define TXD_CMD_RS		(1u << 3)
#define RXD_STAT_DD		(1u << 0)

/* IOAPIC (82093AA): index and data window, redirection entry n at registers 0x10 + 2n. */
#define IOAPIC_DEFAULT		0xfec00000u
#define IOREGSEL		0x00
#define IOWIN			0x10
#define IOAPIC_RTE(n)		(0x10u + 2u * (n))
#define RTE_ACTIVE_LOW		(1u << 13)
#define RTE_LEVEL		(1u << 15)
#define RTE_MASKED		(1u << 16)

#define PIC1_DATA		0x21
#define PIC2_DATA		0xa1
#define SPURIOUS_VECTOR		0xff
#define RING			8
#define BUF_SIZE		2048
#define FRAME_LEN		60	/* ARP in a minimum frame, without FCS */

struct rx_desc {
	uint64_t addr;
	uint16_t length, csum;
	uint8_t status, errors;
	uint16_t special;
};
struct tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso, cmd, status, css;
	uint16_t special;
};
_Static_assert(sizeof(struct rx_desc) == 16 && sizeof(struct tx_desc) == 16,
	       "legacy descriptors are 16 bytes");

static volatile struct rx_desc rx[RING] __attribute__((aligned(128)));
static volatile struct tx_desc tx[RING] __attribute__((aligned(128)));
static uint8_t rx_buf[RING][BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t tx_buf[RING][BUF_SIZE] __attribute__((aligned(4096)));

static volatile uint8_t *regs;
static volatile uint32_t *ioapic;
static uint64_t dma_offset, count;
static unsigned rx_next, tx_tail;
static uint8_t mac[6];
static volatile uint64_t handled, frames, sent, empty, arp_replies;

static uint32_t rd(unsigned reg)
{
	return *(volatile uint32_t *)(regs + reg);
}

static void wr(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(regs + reg) = v;
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	ioapic[IOREGSEL / 4] = reg;
	ioapic[IOWIN / 4] = v;
}

static uint32_t ioapic_read(unsigned reg)
{
	ioapic[IOREGSEL / 4] = reg;
	return ioapic[IOWIN / 4];
}

static uint64_t bus(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p + dma_offset;
}

/* An ARP request from us (192.168.10.2) for 192.168.10.1, broadcast. */
static void send_arp(void)
{
	static const uint8_t tail[] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
	uint8_t *f = tx_buf[tx_tail];
	memset(f, 0, FRAME_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	memcpy(f + 12, tail, sizeof(tail));
	memcpy(f + 22, mac, 6);
	f[28] = 192, f[29] = 168, f[30] = 10, f[31] = 2;
	f[38] = 192, f[39] = 168, f[40] = 10, f[41] = 1;
	volatile struct tx_desc *d = &tx[tx_tail];
	d->addr = bus(f);
	d->length = FRAME_LEN;
	d->cso = d->css = 0;
	d->special = 0;
	d->status = 0;
	d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	tx_tail = (tx_tail + 1) % RING;
	sent++;
	wr(REG_TDT, tx_tail);
}

static void nic_handler(struct int_frame *frame)
{
	(void)frame;
	uint32_t icr = rd(REG_ICR);	/* clears the causes: the line goes down */
	unsigned got = 0;
	while (rx[rx_next].status & RXD_STAT_DD) {
		const uint8_t *f = rx_buf[rx_next];
		if (f[12] == 0x08 && f[13] == 0x06 && f[21] == 2)
			arp_replies++;
		rx[rx_next].status = 0;
		wr(REG_RDT, rx_next);
		rx_next = (rx_next + 1) % RING;
		got++;
	}
	handled++;
	frames += got;
	if (!(icr & ICR_RXT0) || !got)
		empty++;
	if (sent < count)
		send_arp();
	x2apic_eoi();
}

static void spurious_handler(struct int_frame *frame)
{
	(void)frame;
}

static bool nic_setup(uint16_t bdf, unsigned *line)
{
	uint64_t base, size;
	if (pci_bar(bdf, 0, &base, &size) != PCI_BAR_KIND_MEM32 || !base) {
		report(false, "the 82540EM's BAR0 is a memory BAR the firmware placed");
		return false;
	}
	regs = (volatile uint8_t *)(uintptr_t)base;
	*line = pci_read8(bdf, PCI_INTERRUPT_LINE);
	pci_command_clear(bdf, PCI_COMMAND_INTX_DISABLE);
	pci_command_set(bdf, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	wr(REG_IMC, 0xffffffffu);
	wr(REG_CTRL, rd(REG_CTRL) | CTRL_RST);
	for (unsigned i = 0; i < 100000 && (rd(REG_CTRL) & CTRL_RST); i++)
		pause();
	wr(REG_IMC, 0xffffffffu);
	(void)rd(REG_ICR);
	wr(REG_CTRL, rd(REG_CTRL) | CTRL_SLU);

	/* the MAC address: EEPROM words 0-2 (receive address 0 may be clear after reset) */
	for (unsigned w = 0; w < 3; w++) {
		wr(REG_EERD, w << 8 | 1u);
		uint32_t v = 0;
		for (unsigned i = 0; i < 100000 && !((v = rd(REG_EERD)) & (1u << 4)); i++)
			pause();
		mac[2 * w] = (uint8_t)(v >> 16);
		mac[2 * w + 1] = (uint8_t)(v >> 24);
	}
	wr(REG_RAL0, (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 |
		     (uint32_t)mac[3] << 24);
	wr(REG_RAH0, (uint32_t)mac[4] | (uint32_t)mac[5] << 8 | 1u << 31);	/* address valid */

	for (unsigned i = 0; i < RING; i++) {
		rx[i].addr = bus(rx_buf[i]);
		rx[i].status = 0;
		tx[i].addr = 0;
		tx[i].status = 0;
	}
	wr(REG_RDBAL, (uint32_t)bus(rx));
	wr(REG_RDBAH, (uint32_t)(bus(rx) >> 32));
	wr(REG_RDLEN, sizeof(rx));
	wr(REG_RDH, 0);
	wr(REG_RDT, RING - 1);
	wr(REG_RCTL, RCTL_EN | RCTL_UPE | RCTL_MPE | RCTL_BAM | RCTL_SECRC);
	wr(REG_TDBAL, (uint32_t)bus(tx));
	wr(REG_TDBAH, (uint32_t)(bus(tx) >> 32));
	wr(REG_TDLEN, sizeof(tx));
	wr(REG_TDH, 0);
	wr(REG_TDT, 0);
	wr(REG_TIPG, 10 | 8u << 10 | 6u << 20);
	wr(REG_TCTL, TCTL_EN | TCTL_PSP | 0x10u << TCTL_CT_SHIFT | 0x40u << TCTL_COLD_SHIFT);
	return true;
}

int main(void)
{
	count = cmdline_get_u64("count", 2000);
	uint64_t vector = cmdline_get_u64("vector", 0x60);
	uint64_t timeout = cmdline_get_u64("timeout", 30);
	uint64_t delivery = cmdline_get_u64("delivery", 0) & 7;
	dma_offset = cmdline_get_u64("dma_offset", 0);
	ioapic = (volatile uint32_t *)(uintptr_t)cmdline_get_u64("ioapic", IOAPIC_DEFAULT);
	if (vector < 0x20 || vector >= SPURIOUS_VECTOR) {
		report(false, "vector %#lx lies in 0x20-0xfe", vector);
		return report_summary();
	}
	pci_init();
	uint16_t bdf;
	if (!pci_find(E1000_VENDOR, E1000_82540EM, &bdf)) {
		report(false, "an 82540EM (8086:100e) on PCI bus 0");
		return report_summary();
	}
	unsigned line;
	if (!nic_setup(bdf, &line))
		return report_summary();
	uint32_t ver = ioapic_read(0x01);
	unsigned pins = (ver >> 16 & 0xff) + 1;
	if (ver == 0xffffffffu || line >= pins) {
		report(false, "IOAPIC at %p (version %#x) has pin %u", (void *)ioapic, ver, line);
		return report_summary();
	}

	/* the 8259s masked: the OS takes the line through the IOAPIC */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	x2apic_enable();
	x2apic_write(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
	x2apic_sw_enable(SPURIOUS_VECTOR);
	x2apic_write(X2APIC_TPR, 0);
	idt_set_handler((unsigned)vector, nic_handler);
	idt_set_handler(SPURIOUS_VECTOR, spurious_handler);
	uint32_t dest = x2apic_id();
	ioapic_write(IOAPIC_RTE(line) + 1, dest << 24);
	ioapic_write(IOAPIC_RTE(line), (uint32_t)vector | (uint32_t)delivery << 8 | RTE_LEVEL |
		     RTE_ACTIVE_LOW);
	wr(REG_IMS, ICR_RXT0);
	printf("intx_nic: 82540EM at %02x:%02x.%x, mac %02x:%02x:%02x:%02x:%02x:%02x, INTA on "
	       "IOAPIC pin %u of %u -> vector %#lx, x2APIC ID %u, dma_offset %#lx\n", PCI_BUS(bdf),
	       PCI_DEV(bdf), PCI_FN(bdf), mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], line, pins,
	       vector, dest, dma_offset);

	uint64_t hz = tsc_hz();
	uint64_t bound = timeout * (hz ? hz : 50000000ull);
	printf("intx_nic: %lu ARP requests to 192.168.10.1, one in flight\n", count);
	sti();
	uint64_t start = rdtsc();
	cli();
	send_arp();
	sti();
	while (handled < count && rdtsc() - start < bound)
		pause();
	uint64_t cycles = rdtsc() - start;
	cli();
	/* first thing after the loop: the line that ends the measured stretch */
	printf("intx_nic: handled %lu interrupts, %lu frames (%lu ARP replies), %lu sent, %lu "
	       "without a frame\n", handled, frames, arp_replies, sent, empty);
	wr(REG_IMC, 0xffffffffu);
	ioapic_write(IOAPIC_RTE(line), RTE_MASKED);
	uint64_t rate = hz && cycles ? handled * hz / cycles : 0;
	printf("intx-result {\"interrupts\":%lu,\"frames\":%lu,\"arp_replies\":%lu,\"sent\":%lu,"
	       "\"empty\":%lu,\"cycles\":%lu,\"tsc_hz\":%lu,\"rate\":%lu,\"pin\":%u,\"vector\":%lu}\n",
	       handled, frames, arp_replies, sent, empty, cycles, hz, rate, line, vector);
	report(handled >= count, "handled %lu of %lu INTx interrupts within %lu s", handled, count,
	       timeout);
	report(arp_replies >= count, "%lu ARP replies from vnet received by DMA", arp_replies);
	return report_summary();
}
