/* The 82574L (QEMU e1000e) driver: setup, MSI-X/MSI, the three interrupt handlers, rings. */
#include "e1000e.h"
#include "idt.h"
#include "libguest.h"
#include "pci.h"
#include "processor.h"
#include "x2apic.h"

#define PIC1_DATA		0x21	/* 8259 interrupt mask registers */
#define PIC2_DATA		0xa1

#define E1000E_BARS		6
#define E1000E_RESET_SPINS	1000000	/* bounded wait for CTRL.RST to clear */
#define ETH_ZLEN		60	/* minimum frame without FCS */

/* MSI-X capability and table layout (PCI spec). */
#define MSIX_FLAGS		0x02
#define MSIX_TABLE		0x04	/* BIR in bits 2:0, offset in the rest */
#define MSIX_FLAGS_QSIZE	0x07ffu
#define MSIX_FLAGS_MASKALL	(1u << 14)
#define MSIX_FLAGS_ENABLE	(1u << 15)
#define MSIX_BIR_MASK		0x7u
#define MSIX_ENTRY_DWORDS	4	/* address low, address high, data, vector control */
#define MSIX_ENTRY_CTRL_MASKBIT	1u

/* Causes each mode enables. */
#define IMS_MSIX_RX		E1000_ICR_RXQ0
#define IMS_MSIX_TX		E1000_ICR_TXQ0
#define IMS_MSIX_OTHER		(E1000_ICR_OTHER | E1000_ICR_LSC)
#define IMS_MSI			(E1000_ICR_RXT0 | E1000_ICR_RXO | E1000_ICR_TXDW | E1000_ICR_LSC)

/* The handlers reach the device through this: one NIC per guest. */
static struct e1000e_dev *nic;

volatile uint64_t e1000e_apic_spurious;

static void apic_spurious_handler(struct int_frame *frame)
{
	(void)frame;
	e1000e_apic_spurious++;	/* no ISR bit is set for it: no EOI */
}

bool e1000e_apic_setup(void)
{
	if (!x2apic_supported()) {
		report(false, "CPUID.1:ECX.x2APIC[21] is set (QEMU needs -cpu ...,+x2apic)");
		return false;
	}
	idt_set_handler(E1000E_APIC_SPURIOUS_VECTOR, apic_spurious_handler);
	/*
	 * The firmware left the 8259s routed through LINT0 (ExtINT) with the PIT's IRQ 0 on
	 * vector 8: an OS that uses the local APIC and MSIs masks every 8259 input, and LINT0.
	 */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	x2apic_enable();
	x2apic_write(X2APIC_LVT_LINT0, APIC_LVT_MASKED);
	x2apic_sw_enable(E1000E_APIC_SPURIOUS_VECTOR);
	x2apic_write(X2APIC_TPR, 0);
	return true;
}

void e1000e_format_mac(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

/* ---- receive and transmit ---- */

/* The bus address of guest memory at p, as the device must be given it. */
static uint64_t dma_addr(const struct e1000e_dev *d, const volatile void *p)
{
	return (uint64_t)(uintptr_t)p + d->cfg.dma_offset;
}

/* Hands every completed receive descriptor's frame to the callback (at most a ring's worth). */
static unsigned rx_drain(struct e1000e_dev *d)
{
	struct e1000e_rings *r = d->rings;
	unsigned n = 0, last = E1000E_RING_SIZE;

	while (n < E1000E_RING_SIZE) {
		volatile struct e1000e_rx_desc *desc = &r->rx[d->rx_next];
		uint8_t status = desc->status;

		if (!(status & E1000_RXD_STAT_DD))
			break;
		/* The device wrote the descriptor before setting DD: read the rest after. */
		__asm__ volatile("" : : : "memory");
		unsigned len = desc->length;
		if ((status & E1000_RXD_STAT_EOP) && !desc->errors && len <= E1000E_BUF_SIZE) {
			d->stats.rx_packets++;
			d->stats.rx_bytes += len;
			if (d->cfg.rx)
				d->cfg.rx(r->rx_buf[d->rx_next], len);
		} else {
			d->stats.rx_errors++;
		}
		desc->status = 0;
		desc->errors = 0;
		desc->length = 0;
		last = d->rx_next;
		d->rx_next = (d->rx_next + 1) % E1000E_RING_SIZE;
		n++;
	}
	if (n) {
		/* Everything up to and including last belongs to the device again. */
		__asm__ volatile("" : : : "memory");
		e1000e_write(d, E1000_RDT, last);
	}
	return n;
}

unsigned e1000e_tx_reclaim(struct e1000e_dev *d)
{
	struct e1000e_rings *r = d->rings;
	unsigned n = 0;

	while (d->tx_clean != d->tx_tail) {
		volatile struct e1000e_tx_desc *desc = &r->tx[d->tx_clean];

		if (!(desc->status & E1000_TXD_STAT_DD))
			break;
		desc->status = 0;
		d->tx_clean = (d->tx_clean + 1) % E1000E_RING_SIZE;
		n++;
	}
	d->stats.tx_reclaimed += n;
	return n;
}

unsigned e1000e_tx_in_flight(const struct e1000e_dev *d)
{
	return (d->tx_tail + E1000E_RING_SIZE - d->tx_clean) % E1000E_RING_SIZE;
}

bool e1000e_transmit(struct e1000e_dev *d, const void *frame, unsigned len)
{
	struct e1000e_rings *r = d->rings;
	unsigned next = (d->tx_tail + 1) % E1000E_RING_SIZE;

	if (len > E1000E_FRAME_MAX) {
		d->stats.tx_full++;
		return false;
	}
	if (next == d->tx_clean) {
		e1000e_tx_reclaim(d);
		if (next == d->tx_clean) {
			d->stats.tx_full++;
			return false;
		}
	}
	uint8_t *buf = r->tx_buf[d->tx_tail];
	memcpy(buf, frame, len);
	if (len < ETH_ZLEN) {
		memset(buf + len, 0, ETH_ZLEN - len);
		len = ETH_ZLEN;
	}
	volatile struct e1000e_tx_desc *desc = &r->tx[d->tx_tail];
	desc->addr = dma_addr(d, buf);
	desc->length = (uint16_t)len;
	desc->cso = 0;
	desc->css = 0;
	desc->special = 0;
	desc->status = 0;
	desc->cmd = E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS;
	d->tx_tail = next;
	__asm__ volatile("" : : : "memory");
	uint64_t t0 = rdtsc();
	e1000e_write(d, E1000_TDT, next);
	d->stats.tdt_cycles += rdtsc() - t0;
	d->stats.tx_packets++;
	d->stats.tx_bytes += len;
	return true;
}

/* ---- interrupt handlers ---- */

static void note_link(struct e1000e_dev *d)
{
	bool up = e1000e_read(d, E1000_STATUS) & E1000_STATUS_LU;

	d->stats.link_changes++;
	if (up != d->link_up)
		printf("e1000e: link %s\n", up ? "up" : "down");
	d->link_up = up;
}

/* The causes other than the queues: log link changes, count overruns. */
static void other_causes(struct e1000e_dev *d, uint32_t icr)
{
	if (icr & E1000_ICR_LSC)
		note_link(d);
	if (icr & E1000_ICR_RXO)
		d->stats.rx_overruns++;
}

/*
 * MSI-X entry 0, RxQ0. EIAC cleared the cause and masked it in IMS as the message went out.
 * Frames that came in since (while it was masked, or throttled by EITR) set it again: clear
 * it before draining the ring, since the drain serves them. Then give the descriptors back
 * (RDT), re-arm the cause, EOI. A frame that arrived after the clear leaves RxQ0 set, so the
 * IMS write raises the next message at once: nothing is left behind.
 */
static void msix_rx_handler(struct int_frame *frame)
{
	struct e1000e_dev *d = nic;
	uint64_t t0 = rdtsc();

	(void)frame;
	d->stats.irq_rx++;
	e1000e_write(d, E1000_ICR, E1000_ICR_RXQ0);
	if (!rx_drain(d))
		d->stats.irq_rx_empty++;
	e1000e_write(d, E1000_IMS, IMS_MSIX_RX);
	x2apic_eoi();
	d->stats.rx_handler_cycles += rdtsc() - t0;
}

/* MSI-X entry 1, TxQ0: clear the cause, reclaim written-back descriptors, re-arm, EOI. */
static void msix_tx_handler(struct int_frame *frame)
{
	struct e1000e_dev *d = nic;

	(void)frame;
	d->stats.irq_tx++;
	e1000e_write(d, E1000_ICR, E1000_ICR_TXQ0);	/* as for RxQ0 */
	if (!e1000e_tx_reclaim(d))
		d->stats.irq_tx_empty++;
	e1000e_write(d, E1000_IMS, IMS_MSIX_TX);
	x2apic_eoi();
}

/* MSI-X entry 2, other causes: read which, clear them (write 1s), re-arm, EOI. */
static void msix_other_handler(struct int_frame *frame)
{
	struct e1000e_dev *d = nic;

	(void)frame;
	d->stats.irq_other++;
	uint32_t icr = e1000e_read(d, E1000_ICR);
	e1000e_write(d, E1000_ICR, icr & ~(E1000_ICR_QUEUES | E1000_ICR_ASSERTED));
	other_causes(d, icr);
	e1000e_write(d, E1000_IMS, IMS_MSIX_OTHER);
	x2apic_eoi();
}

/* MSI: one vector for everything. Clear the causes first, then serve them. */
static void msi_handler(struct int_frame *frame)
{
	struct e1000e_dev *d = nic;
	uint64_t t0 = rdtsc();

	(void)frame;
	d->stats.irq_rx++;
	uint32_t icr = e1000e_read(d, E1000_ICR);
	e1000e_write(d, E1000_ICR, icr);
	unsigned n = rx_drain(d);
	unsigned t = e1000e_tx_reclaim(d);
	if (!n && !t && !(icr & (E1000_ICR_LSC | E1000_ICR_RXO)))
		d->stats.irq_rx_empty++;
	other_causes(d, icr);
	x2apic_eoi();
	d->stats.rx_handler_cycles += rdtsc() - t0;
}

/* ---- setup ---- */

/* Places every unassigned memory BAR (BAR0 at nic_bar= if given); false if one cannot be. */
static bool place_bars(struct e1000e_dev *d)
{
	uint64_t next = E1000E_DEFAULT_BAR;

	for (unsigned n = 0; n < E1000E_BARS; n++) {
		uint64_t base, size;
		enum pci_bar_kind kind = pci_bar(d->bdf, n, &base, &size);

		if (kind == PCI_BAR_NONE || kind == PCI_BAR_KIND_IO)
			continue;
		uint64_t want = base;
		if (n == 0)
			want = cmdline_get_u64("nic_bar", base);
		if (!want) {
			want = (next + size - 1) & ~(size - 1);
			next = want + size;
		}
		if (want != base) {
			if (want & (size - 1)) {
				report(false, "e1000e BAR%u %#lx is aligned to its size %#lx", n, want,
				       size);
				return false;
			}
			uint16_t cmd = pci_command_clear(d->bdf, PCI_COMMAND_MEMORY);
			pci_bar_set(d->bdf, n, want);
			pci_write16(d->bdf, PCI_COMMAND, cmd);
			pci_bar(d->bdf, n, &base, &size);
			printf("e1000e: BAR%u placed at %#lx (size %#lx)\n", n, base, size);
			if (base != want) {
				report(false, "e1000e BAR%u reads back %#lx after placing it at %#lx",
				       n, base, want);
				return false;
			}
		}
		if (base + size > (4ull << 30)) {
			report(false, "e1000e BAR%u %#lx lies below 4 GiB (what the page tables map)",
			       n, base);
			return false;
		}
		if (n == 0) {
			d->bar0 = base;
			d->bar0_size = size;
		}
		if (kind == PCI_BAR_KIND_MEM64)
			n++;
	}
	return true;
}

static void reset(struct e1000e_dev *d)
{
	e1000e_write(d, E1000_IMC, 0xffffffffu);
	e1000e_write(d, E1000_RCTL, 0);
	e1000e_write(d, E1000_TCTL, 0);
	e1000e_write(d, E1000_CTRL, e1000e_read(d, E1000_CTRL) | E1000_CTRL_RST);
	for (unsigned i = 0; i < E1000E_RESET_SPINS; i++) {
		if (!(e1000e_read(d, E1000_CTRL) & E1000_CTRL_RST))
			break;
		pause();
	}
	/* Nothing enabled, nothing pending. */
	e1000e_write(d, E1000_IMC, 0xffffffffu);
	(void)e1000e_read(d, E1000_ICR);
	e1000e_write(d, E1000_ICR, 0xffffffffu);
}

static void rings_setup(struct e1000e_dev *d)
{
	struct e1000e_rings *r = d->rings;
	uint64_t rx = dma_addr(d, r->rx), tx = dma_addr(d, r->tx);

	memset(r->rx, 0, sizeof(r->rx));
	memset(r->tx, 0, sizeof(r->tx));
	for (unsigned i = 0; i < E1000E_RING_SIZE; i++)
		r->rx[i].addr = dma_addr(d, r->rx_buf[i]);
	d->rx_next = 0;
	d->tx_tail = d->tx_clean = 0;

	/* Receive: all descriptors but one to the device (RDH == RDT means empty). */
	e1000e_write(d, E1000_RDBAL, (uint32_t)rx);
	e1000e_write(d, E1000_RDBAH, (uint32_t)(rx >> 32));
	e1000e_write(d, E1000_RDLEN, sizeof(r->rx));
	e1000e_write(d, E1000_RDH, 0);
	e1000e_write(d, E1000_RDT, E1000E_RING_SIZE - 1);
	e1000e_write(d, E1000_RDTR, 0);
	e1000e_write(d, E1000_RADV, 0);
	e1000e_write(d, E1000_RFCTL, e1000e_read(d, E1000_RFCTL) | E1000_RFCTL_ACK_DIS);

	/* Transmit: empty. */
	e1000e_write(d, E1000_TDBAL, (uint32_t)tx);
	e1000e_write(d, E1000_TDBAH, (uint32_t)(tx >> 32));
	e1000e_write(d, E1000_TDLEN, sizeof(r->tx));
	e1000e_write(d, E1000_TDH, 0);
	e1000e_write(d, E1000_TDT, 0);
	e1000e_write(d, E1000_TIDV, 0);
	e1000e_write(d, E1000_TADV, 0);
	e1000e_write(d, E1000_TIPG, E1000_TIPG_DEFAULT);
}

/* Programs MSI-X table entry i (x2APIC physical destination, fixed, edge) and unmasks it. */
static void msix_entry(struct e1000e_dev *d, unsigned i, uint8_t vector)
{
	volatile uint32_t *e = d->msix_table + i * MSIX_ENTRY_DWORDS;

	e[3] = MSIX_ENTRY_CTRL_MASKBIT;
	e[0] = MSI_ADDR_X86(d->apic_dest);
	e[1] = 0;
	e[2] = MSI_DATA_X86(vector);
	e[3] = 0;
}

/* Finds the MSI-X table (BAR and offset from the capability). False if none or too small. */
static bool msix_find(struct e1000e_dev *d)
{
	d->msix_cap = pci_find_cap(d->bdf, PCI_CAP_ID_MSIX);
	if (!d->msix_cap)
		return false;
	uint16_t flags = pci_read16(d->bdf, d->msix_cap + MSIX_FLAGS);
	uint32_t table = pci_read32(d->bdf, d->msix_cap + MSIX_TABLE);
	uint64_t base, size;

	d->msix_entries = (flags & MSIX_FLAGS_QSIZE) + 1;
	enum pci_bar_kind kind = pci_bar(d->bdf, table & MSIX_BIR_MASK, &base, &size);
	printf("e1000e: MSI-X capability at %#x: %u entries, table in BAR%u at offset %#x "
	       "(BAR %#lx)\n", d->msix_cap, d->msix_entries, table & MSIX_BIR_MASK,
	       table & ~MSIX_BIR_MASK, base);
	if ((kind != PCI_BAR_KIND_MEM32 && kind != PCI_BAR_KIND_MEM64) || !base ||
	    d->msix_entries < E1000E_MSIX_USED)
		return false;
	d->msix_table = (volatile uint32_t *)(uintptr_t)(base + (table & ~MSIX_BIR_MASK));
	return true;
}

static void msix_setup(struct e1000e_dev *d)
{
	const struct e1000e_config *c = &d->cfg;
	unsigned cap = d->msix_cap;
	uint16_t flags = pci_read16(d->bdf, cap + MSIX_FLAGS);

	/* Function masked while the table is written; enabled; then unmasked. */
	pci_write16(d->bdf, cap + MSIX_FLAGS, flags | MSIX_FLAGS_MASKALL | MSIX_FLAGS_ENABLE);
	for (unsigned i = 0; i < d->msix_entries; i++)
		d->msix_table[i * MSIX_ENTRY_DWORDS + 3] = MSIX_ENTRY_CTRL_MASKBIT;
	msix_entry(d, E1000E_MSIX_RX, c->vector_rx);
	msix_entry(d, E1000E_MSIX_TX, c->vector_tx);
	msix_entry(d, E1000E_MSIX_OTHER, c->vector_other);
	pci_command_set(d->bdf, PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	pci_write16(d->bdf, cap + MSIX_FLAGS,
		    (flags & ~MSIX_FLAGS_MASKALL) | MSIX_FLAGS_ENABLE);

	/* Causes to table entries. */
	e1000e_write(d, E1000_IVAR,
		     ((E1000_IVAR_VALID | E1000E_MSIX_RX) << E1000_IVAR_RXQ0_SHIFT) |
		     ((E1000_IVAR_VALID | E1000E_MSIX_TX) << E1000_IVAR_TXQ0_SHIFT) |
		     ((E1000_IVAR_VALID | E1000E_MSIX_OTHER) << E1000_IVAR_OTHER_SHIFT));
	/*
	 * Auto-clear: a vector's cause leaves ICR as its message is sent (so the next event
	 * raises a new one), and with IAME clear it is also masked in IMS until the handler
	 * re-arms it. PBA_CLR: that IMS write also clears the vector's pending bit.
	 */
	uint32_t ext = e1000e_read(d, E1000_CTRL_EXT);
	ext &= ~E1000_CTRL_EXT_IAME;
	ext |= E1000_CTRL_EXT_PBA_CLR | E1000_CTRL_EXT_EIAME;
	e1000e_write(d, E1000_CTRL_EXT, ext);
	e1000e_write(d, E1000_EIAC, IMS_MSIX_RX | IMS_MSIX_TX | E1000_ICR_OTHER);
	e1000e_write(d, E1000_IAM, 0);
	for (unsigned i = 0; i < E1000E_MSIX_USED; i++)
		e1000e_write(d, E1000_EITR(i), c->itr);
	e1000e_write(d, E1000_ITR, c->itr);

	idt_set_handler(c->vector_rx, msix_rx_handler);
	idt_set_handler(c->vector_tx, msix_tx_handler);
	idt_set_handler(c->vector_other, msix_other_handler);
}

static bool msi_setup(struct e1000e_dev *d)
{
	const struct e1000e_config *c = &d->cfg;

	if (!pci_enable_msi(d->bdf, MSI_ADDR_X86(d->apic_dest), MSI_DATA_X86(c->vector_rx)))
		return false;
	e1000e_write(d, E1000_CTRL_EXT, e1000e_read(d, E1000_CTRL_EXT) & ~E1000_CTRL_EXT_IAME);
	e1000e_write(d, E1000_ITR, c->itr);
	idt_set_handler(c->vector_rx, msi_handler);
	return true;
}

bool e1000e_setup(struct e1000e_dev *d, const struct e1000e_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->rings = cfg->rings;
	d->apic_dest = x2apic_id();
	nic = d;

	pci_init();
	if (pci_ecam_base())
		printf("pci: configuration space through ECAM at %#lx\n", pci_ecam_base());
	if (!pci_find(E1000E_VENDOR, E1000E_DEVICE, &d->bdf)) {
		report(false, "e1000e %04x:%04x found on bus 0 (QEMU needs -device e1000e)",
		       E1000E_VENDOR, E1000E_DEVICE);
		return false;
	}
	printf("e1000e: at %02x:%02x.%x, command %#x\n", PCI_BUS(d->bdf), PCI_DEV(d->bdf),
	       PCI_FN(d->bdf), pci_read16(d->bdf, PCI_COMMAND));
	if (!place_bars(d))
		return false;
	if (!d->bar0) {
		report(false, "e1000e BAR0 is a memory BAR");
		return false;
	}
	d->regs = (volatile uint8_t *)(uintptr_t)d->bar0;
	pci_command_set(d->bdf, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	printf("e1000e: BAR0 %#lx size %#lx\n", d->bar0, d->bar0_size);

	reset(d);
	uint32_t ral = e1000e_read(d, E1000_RAL0), rah = e1000e_read(d, E1000_RAH0);
	for (unsigned i = 0; i < 4; i++)
		d->mac[i] = (uint8_t)(ral >> (8 * i));
	d->mac[4] = (uint8_t)rah;
	d->mac[5] = (uint8_t)(rah >> 8);
	char mac[18];
	e1000e_format_mac(d->mac, mac);
	bool mac_ok = (rah & E1000_RAH_AV) && !(d->mac[0] & 1) && (ral || (rah & 0xffff));
	report(mac_ok, "e1000e MAC address %s from RAL0/RAH0 (RAH0 %#x)", mac, rah);
	if (!mac_ok)
		return false;

	/* Link up, speed and duplex from autonegotiation. */
	uint32_t ctrl = e1000e_read(d, E1000_CTRL);
	ctrl |= E1000_CTRL_SLU;
	ctrl &= ~(E1000_CTRL_FRCSPD | E1000_CTRL_FRCDPX);
	e1000e_write(d, E1000_CTRL, ctrl);
	for (unsigned i = 0; i < 128; i++)
		e1000e_write(d, E1000_MTA + 4 * i, 0);

	bool use_msix = !cfg->no_msix && msix_find(d);
	if (use_msix) {
		msix_setup(d);
		d->msix = true;
	} else if (!msi_setup(d)) {
		report(false, "e1000e has an MSI-X or MSI capability");
		return false;
	}

	rings_setup(d);
	e1000e_write(d, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT(15) |
		     E1000_TCTL_COLD(63) | E1000_TCTL_RTLC);
	e1000e_write(d, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SZ_2048 |
		     E1000_RCTL_SECRC);

	d->link_up = e1000e_read(d, E1000_STATUS) & E1000_STATUS_LU;
	e1000e_write(d, E1000_IMS, d->msix ? IMS_MSIX_RX | IMS_MSIX_TX | IMS_MSIX_OTHER : IMS_MSI);
	if (d->msix)
		printf("e1000e: MSI-X to x2APIC ID %u: rx vector %#x, tx %#x, other %#x; IVAR %#x, "
		       "EIAC %#x, CTRL_EXT %#x, IMS %#x, ITR/EITR %u\n", d->apic_dest,
		       cfg->vector_rx, cfg->vector_tx, cfg->vector_other,
		       e1000e_read(d, E1000_IVAR), e1000e_read(d, E1000_EIAC),
		       e1000e_read(d, E1000_CTRL_EXT), e1000e_read(d, E1000_IMS), cfg->itr);
	else
		printf("e1000e: MSI to x2APIC ID %u, vector %#x; IMS %#x, ITR %u\n", d->apic_dest,
		       cfg->vector_rx, e1000e_read(d, E1000_IMS), cfg->itr);
	printf("e1000e: link %s, status %#x\n", d->link_up ? "up" : "down",
	       e1000e_read(d, E1000_STATUS));
	return true;
}

/* Completed receive descriptors not yet taken. */
static unsigned rx_pending(const struct e1000e_dev *d)
{
	unsigned n = 0;

	while (n < E1000E_RING_SIZE &&
	       (d->rings->rx[(d->rx_next + n) % E1000E_RING_SIZE].status & E1000_RXD_STAT_DD))
		n++;
	return n;
}

void e1000e_stop(struct e1000e_dev *d)
{
	e1000e_write(d, E1000_IMC, 0xffffffffu);
	e1000e_write(d, E1000_RCTL, 0);
	/* what the device received against what the driver took: the difference is the
	 * guest's loss; a frame the device never received was lost before it */
	d->stats.rx_left = rx_pending(d);
	d->stats.nic_rx_good = e1000e_read(d, E1000_GPRC);
	d->stats.nic_rx_missed = e1000e_read(d, E1000_MPC);
	if (d->msix) {
		uint16_t flags = pci_read16(d->bdf, d->msix_cap + MSIX_FLAGS);
		pci_write16(d->bdf, d->msix_cap + MSIX_FLAGS, flags & ~MSIX_FLAGS_ENABLE);
	} else {
		pci_disable_msi(d->bdf);
	}
}
