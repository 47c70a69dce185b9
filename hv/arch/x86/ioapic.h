/*
 * The I/O APIC (Intel 82093AA datasheet): its redirection table entry, and eli's access to
 * the physical one. The registers sit behind an index (IOREGSEL, offset 0x00) and a data
 * window (IOWIN, offset 0x10); entry n is registers 0x10 + 2n (low dword) and 0x11 + 2n.
 */
#ifndef ELI_ARCH_X86_IOAPIC_H
#define ELI_ARCH_X86_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_DEFAULT_BASE 0xFEC00000ull
#define IOAPIC_MMIO_SIZE 0x1000ull
#define IOAPIC_IOREGSEL 0x00u
#define IOAPIC_IOWIN 0x10u
#define IOAPIC_REG_ID 0x00u
#define IOAPIC_REG_VER 0x01u
#define IOAPIC_REG_ARB 0x02u
#define IOAPIC_REG_RTE0 0x10u
#define IOAPIC_VERSION 0x11u     /* the 82093AA's version register value */
#define IOAPIC_PINS 24u

#define IOAPIC_DELIVERY_FIXED 0u
#define IOAPIC_DELIVERY_LOWEST 1u

/* Redirection table entry (82093AA datasheet 3.2.4). Delivery status and Remote IRR are
 * read-only: the IOAPIC sets Remote IRR when a level-triggered interrupt is accepted and
 * clears it on the EOI message with the entry's vector (the local APIC broadcasts it for a
 * level-triggered vector unless SVR bit 12, suppress EOI broadcast, is set: SDM vol. 3
 * 10.8.5). */
union ioapic_rte {
    uint64_t raw;
    struct {
        uint64_t vector : 8;
        uint64_t delivery_mode : 3;
        uint64_t dest_mode : 1;       /* 0 physical, 1 logical */
        uint64_t delivery_status : 1; /* read-only */
        uint64_t polarity : 1;        /* 1: active low */
        uint64_t remote_irr : 1;      /* read-only */
        uint64_t trigger_mode : 1;    /* 1: level */
        uint64_t mask : 1;
        uint64_t reserved : 39;
        uint64_t destination : 8;
    };
};
_Static_assert(sizeof(union ioapic_rte) == 8, "an IOAPIC redirection entry is 64 bits");

#define IOAPIC_RTE_RO_BITS ((1ull << 12) | (1ull << 14))
#define IOAPIC_RTE_MASKED (1ull << 16)

#ifndef ELI_HOST_TEST
/* The physical IOAPIC at `base` (eli's identity map): number of pins, entry write. */
void ioapic_init(uint64_t base);
unsigned ioapic_pins(void);
void ioapic_write_rte(unsigned pin, union ioapic_rte rte);
union ioapic_rte ioapic_read_rte(unsigned pin);
#endif

#endif
