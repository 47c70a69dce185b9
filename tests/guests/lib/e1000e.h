/*
 * Intel 82574L gigabit controller (QEMU's -device e1000e, PCI 8086:10d3): a small
 * interrupt-driven driver, as an ordinary OS would write one.
 *
 * - BAR0 holds the registers (128 KiB), BAR3 the MSI-X table and PBA; a BAR the firmware left
 *   at 0 is placed by the driver.
 * - One receive and one transmit queue of legacy 16-byte descriptors, 2 KiB buffers.
 * - MSI-X with three vectors: IVAR routes RxQ0 to table entry 0, TxQ0 to entry 1 and the
 *   other causes (link change, receive overrun) to entry 2. EIAC auto-clears the cause of a
 *   vector as its message is sent and, with CTRL_EXT.IAME clear, also masks it in IMS; each
 *   handler re-arms its cause with an IMS write before its EOI (what Linux's e1000e does for
 *   the 82574). Without MSI-X (or with it refused) one MSI vector serves every cause and the
 *   handler reads and clears ICR.
 * - ITR and the per-vector EITR registers throttle interrupts (interval in 256 ns units).
 *
 * Received frames are handed to a callback from the receive interrupt handler; frames are
 * sent with e1000e_transmit, from a handler or with interrupts disabled (it is not reentrant).
 */
#ifndef GUEST_E1000E_H
#define GUEST_E1000E_H

#include <stdbool.h>
#include <stdint.h>

#define E1000E_VENDOR		0x8086
#define E1000E_DEVICE		0x10d3	/* 82574L */

/* Registers: byte offsets in BAR0. */
#define E1000_CTRL		0x00000
#define E1000_STATUS		0x00008
#define E1000_CTRL_EXT		0x00018
#define E1000_ICR		0x000c0	/* interrupt cause: read, write 1 to clear */
#define E1000_ITR		0x000c4	/* interrupt throttling, 256 ns units (MSI, INTx) */
#define E1000_ICS		0x000c8	/* interrupt cause set */
#define E1000_IMS		0x000d0	/* interrupt mask set (enable); reads the mask */
#define E1000_IMC		0x000d8	/* interrupt mask clear */
#define E1000_EIAC		0x000dc	/* extended interrupt auto clear (82574) */
#define E1000_IAM		0x000e0	/* interrupt acknowledge auto mask */
#define E1000_IVAR		0x000e4	/* interrupt vector allocation (MSI-X) */
#define E1000_EITR(n)		(0x000e8 + 4 * (n))	/* per MSI-X vector throttling, n < 5 */
#define E1000_RCTL		0x00100
#define E1000_TCTL		0x00400
#define E1000_TIPG		0x00410
#define E1000_RDBAL		0x02800
#define E1000_RDBAH		0x02804
#define E1000_RDLEN		0x02808
#define E1000_RDH		0x02810
#define E1000_RDT		0x02818
#define E1000_RDTR		0x02820	/* receive delay timer */
#define E1000_RADV		0x0282c	/* receive absolute delay */
#define E1000_TDBAL		0x03800
#define E1000_TDBAH		0x03804
#define E1000_TDLEN		0x03808
#define E1000_TDH		0x03810
#define E1000_TDT		0x03818
#define E1000_TIDV		0x03820
#define E1000_TADV		0x0382c
#define E1000_MPC		0x04010	/* missed packets (clear on read) */
#define E1000_GPRC		0x04074	/* good packets received (clear on read) */
#define E1000_GPTC		0x04080	/* good packets transmitted (clear on read) */
#define E1000_RFCTL		0x05008
#define E1000_MTA		0x05200	/* multicast table, 128 registers */
#define E1000_RAL0		0x05400
#define E1000_RAH0		0x05404

#define E1000_CTRL_SLU		(1u << 6)	/* set link up */
#define E1000_CTRL_FRCSPD	(1u << 11)
#define E1000_CTRL_FRCDPX	(1u << 12)
#define E1000_CTRL_RST		(1u << 26)	/* software reset, self-clearing */

#define E1000_STATUS_LU		(1u << 1)	/* link up */

#define E1000_CTRL_EXT_EIAME	(1u << 24)	/* EIAC also clears IAM bits */
#define E1000_CTRL_EXT_IAME	(1u << 27)	/* interrupt acknowledge auto-mask enable */
#define E1000_CTRL_EXT_PBA_CLR	(1u << 31)	/* an IMS write clears the vector's PBA bit */

/* Interrupt causes (ICR, ICS, IMS, IMC, EIAC). */
#define E1000_ICR_TXDW		(1u << 0)	/* transmit descriptor written back */
#define E1000_ICR_TXQE		(1u << 1)	/* transmit queue empty */
#define E1000_ICR_LSC		(1u << 2)	/* link status change */
#define E1000_ICR_RXDMT0	(1u << 4)	/* receive descriptor minimum threshold */
#define E1000_ICR_RXO		(1u << 6)	/* receive overrun (no free descriptor) */
#define E1000_ICR_RXT0		(1u << 7)	/* receiver timer: frames received (non MSI-X) */
#define E1000_ICR_MDAC		(1u << 9)
#define E1000_ICR_RXQ0		(1u << 20)	/* MSI-X: receive queue 0 */
#define E1000_ICR_RXQ1		(1u << 21)
#define E1000_ICR_TXQ0		(1u << 22)	/* MSI-X: transmit queue 0 */
#define E1000_ICR_TXQ1		(1u << 23)
#define E1000_ICR_OTHER		(1u << 24)	/* MSI-X: any of the other causes */
#define E1000_ICR_ASSERTED	(1u << 31)
#define E1000_ICR_QUEUES	(E1000_ICR_RXQ0 | E1000_ICR_RXQ1 | E1000_ICR_TXQ0 | E1000_ICR_TXQ1)

/* IVAR: a 4-bit field per cause, the vector in bits 2:0 and bit 3 valid. */
#define E1000_IVAR_VALID	0x8u
#define E1000_IVAR_RXQ0_SHIFT	0
#define E1000_IVAR_TXQ0_SHIFT	8
#define E1000_IVAR_OTHER_SHIFT	16

#define E1000_RCTL_EN		(1u << 1)
#define E1000_RCTL_UPE		(1u << 3)	/* unicast promiscuous */
#define E1000_RCTL_MPE		(1u << 4)	/* multicast promiscuous */
#define E1000_RCTL_BAM		(1u << 15)	/* accept broadcast */
#define E1000_RCTL_SZ_2048	(0u << 16)	/* BSIZE 00 with BSEX 0 */
#define E1000_RCTL_SECRC	(1u << 26)	/* strip the Ethernet CRC */

#define E1000_TCTL_EN		(1u << 1)
#define E1000_TCTL_PSP		(1u << 3)	/* pad short packets */
#define E1000_TCTL_CT(n)	((uint32_t)(n) << 4)	/* collision threshold */
#define E1000_TCTL_COLD(n)	((uint32_t)(n) << 12)	/* collision distance */
#define E1000_TCTL_RTLC		(1u << 24)

#define E1000_TIPG_DEFAULT	(8u | (8u << 10) | (6u << 20))	/* IPGT, IPGR1, IPGR2 (copper) */

#define E1000_RFCTL_ACK_DIS	(1u << 12)	/* no ACK-frame interrupts */

#define E1000_RAH_AV		(1u << 31)	/* address valid */

/* Legacy receive descriptor. */
struct e1000e_rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};
_Static_assert(sizeof(struct e1000e_rx_desc) == 16, "legacy receive descriptor");

#define E1000_RXD_STAT_DD	0x01	/* descriptor done */
#define E1000_RXD_STAT_EOP	0x02	/* end of packet */

/* Legacy transmit descriptor. */
struct e1000e_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};
_Static_assert(sizeof(struct e1000e_tx_desc) == 16, "legacy transmit descriptor");

#define E1000_TXD_CMD_EOP	0x01	/* end of packet */
#define E1000_TXD_CMD_IFCS	0x02	/* insert FCS */
#define E1000_TXD_CMD_RS	0x08	/* report status (DD write-back) */
#define E1000_TXD_STAT_DD	0x01

#define E1000E_RING_SIZE	256	/* descriptors per ring (RDLEN/TDLEN: a multiple of 8) */
#define E1000E_BUF_SIZE		2048
#define E1000E_FRAME_MAX	1514	/* without FCS */

/* Descriptor rings and buffers: the caller provides them (static memory, identity-mapped). */
struct e1000e_rings {
	struct e1000e_rx_desc rx[E1000E_RING_SIZE] __attribute__((aligned(4096)));
	struct e1000e_tx_desc tx[E1000E_RING_SIZE] __attribute__((aligned(4096)));
	uint8_t rx_buf[E1000E_RING_SIZE][E1000E_BUF_SIZE] __attribute__((aligned(4096)));
	uint8_t tx_buf[E1000E_RING_SIZE][E1000E_BUF_SIZE] __attribute__((aligned(4096)));
};

/* The BAR addresses used when the firmware left a memory BAR at 0 (each aligned up to its size). */
#define E1000E_DEFAULT_BAR	0xe0200000ull

/* MSI-X table entries and the x86 vectors they carry. */
#define E1000E_MSIX_RX		0
#define E1000E_MSIX_TX		1
#define E1000E_MSIX_OTHER	2
#define E1000E_MSIX_USED	3

struct e1000e_config {
	struct e1000e_rings *rings;
	uint8_t vector_rx;	/* MSI-X entry 0; the only vector with MSI */
	uint8_t vector_tx;	/* MSI-X entry 1 */
	uint8_t vector_other;	/* MSI-X entry 2 */
	uint32_t itr;		/* ITR and EITR0-2 interval, 256 ns units, 0 = no throttling */
	bool no_msix;		/* use MSI even if the device has MSI-X */
	/* Added to every address the device is given: 0 where an IOMMU maps the guest's RAM
	 * at its guest-physical addresses, the RAM's host address where nothing does. */
	uint64_t dma_offset;
	/* Called from the receive handler for each good frame (len without FCS). */
	void (*rx)(const uint8_t *frame, unsigned len);
};

struct e1000e_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_errors;		/* descriptors with errors or without EOP: dropped */
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_full;		/* frames dropped: transmit ring full */
	uint64_t tx_reclaimed;		/* descriptors the device had written back */
	uint64_t irq_rx, irq_tx, irq_other;	/* handler entries per vector (MSI: irq_rx) */
	uint64_t irq_rx_empty;		/* receive interrupts that found no frame */
	uint64_t irq_tx_empty;		/* transmit interrupts that reclaimed nothing */
	uint64_t link_changes;		/* LSC causes seen */
	uint64_t rx_overruns;		/* RXO causes seen */
	/* TSC cycles in the receive handler (draining, the services, their replies, EOI) and
	 * in the TDT writes (QEMU's e1000e transmits while the write is in progress). */
	uint64_t rx_handler_cycles, tdt_cycles;
	/* read when the device stops: */
	uint64_t rx_left;		/* frames in the ring the driver never took */
	uint64_t nic_rx_good;		/* the device's GPRC: good frames it received */
	uint64_t nic_rx_missed;		/* the device's MPC: frames it had no buffer for */
};

struct e1000e_dev {
	uint16_t bdf;
	uint64_t bar0, bar0_size;
	volatile uint8_t *regs;
	uint8_t mac[6];
	bool msix;			/* MSI-X in use (else MSI) */
	unsigned msix_cap;		/* capability offset, 0 if none */
	unsigned msix_entries;		/* table size */
	volatile uint32_t *msix_table;
	uint32_t apic_dest;		/* x2APIC ID the messages go to */
	struct e1000e_config cfg;
	struct e1000e_rings *rings;
	unsigned rx_next;		/* next receive descriptor to look at */
	unsigned tx_tail;		/* next transmit descriptor to fill (TDT) */
	unsigned tx_clean;		/* oldest transmit descriptor not yet reclaimed */
	bool link_up;
	struct e1000e_stats stats;
};

static inline uint32_t e1000e_read(const struct e1000e_dev *d, unsigned reg)
{
	return *(volatile uint32_t *)(d->regs + reg);
}

static inline void e1000e_write(const struct e1000e_dev *d, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(d->regs + reg) = v;
}

/*
 * What an interrupt-driven guest needs before any device: the 8259s and LVT LINT0 masked
 * (SeaBIOS leaves the PIT ticking through them), the x2APIC on (IA32_APIC_BASE EN then EXTD,
 * SVR enabled with spurious vector 0xff, counted in e1000e_apic_spurious; TPR 0).
 * Fails with a FAIL line if the CPU has no x2APIC. Interrupts stay disabled.
 */
#define E1000E_APIC_SPURIOUS_VECTOR 0xff
extern volatile uint64_t e1000e_apic_spurious;
bool e1000e_apic_setup(void);

/*
 * Finds the device on bus 0 (after pci_init: option ecam= applies), places unassigned memory
 * BARs (BAR0 at option nic_bar= if given), enables memory decoding and bus mastering, resets
 * it, reads the MAC address from RAL0/RAH0, sets up both rings, installs the handlers and
 * programs MSI-X (or MSI), IVAR, EIAC, ITR/EITR and IMS. Each step that can fail is reported
 * (PASS/FAIL); returns false if the device cannot be used. Interrupts (RFLAGS.IF) stay as
 * they are; the caller enables them. e1000e_apic_setup must have run.
 */
bool e1000e_setup(struct e1000e_dev *d, const struct e1000e_config *cfg);

/*
 * Queues one frame (copied into the ring's buffer; padded to 60 bytes) and tells the device.
 * Returns false if the ring is full even after reclaiming, or the frame is too long.
 * Call it from an interrupt handler or with interrupts disabled.
 */
bool e1000e_transmit(struct e1000e_dev *d, const void *frame, unsigned len);

/* Reclaims transmit descriptors the device has written back; returns how many. */
unsigned e1000e_tx_reclaim(struct e1000e_dev *d);

/* Transmit descriptors handed to the device and not yet reclaimed. */
unsigned e1000e_tx_in_flight(const struct e1000e_dev *d);

/* Masks every cause, stops the receiver, and disables MSI-X/MSI. Call with interrupts off. */
void e1000e_stop(struct e1000e_dev *d);

/* "52:54:00:12:34:56" into buf (at least 18 bytes). */
void e1000e_format_mac(const uint8_t mac[6], char *buf);

#endif
