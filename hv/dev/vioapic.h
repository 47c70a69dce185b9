/*
 * The guest's virtual IOAPIC: an 82093AA register file (IOREGSEL/IOWIN, ID, version,
 * arbitration, 24 redirection entries) emulated at its MMIO page. Pure logic: a write
 * that changes an entry calls `rte_changed`, which programs whatever stands behind the
 * pin (assign.c: the physical entry of an assigned device's line). Every entry starts
 * masked, as after reset (datasheet 3.2.4).
 */
#ifndef ELI_DEV_VIOAPIC_H
#define ELI_DEV_VIOAPIC_H

#include "arch/x86/ioapic.h"

struct vioapic {
    uint32_t ioregsel;
    uint32_t id;        /* bits 27:24 as the guest wrote them */
    union ioapic_rte rte[IOAPIC_PINS];
    void (*rte_changed)(void *ctx, unsigned pin, union ioapic_rte rte);
    void *ctx;
};

void vioapic_init(struct vioapic *v, void (*rte_changed)(void *, unsigned, union ioapic_rte),
                  void *ctx);
/* MMIO at offset `off` of the page: 32-bit accesses to IOREGSEL and IOWIN, others read
 * as 0 and are dropped. Return 0. */
int vioapic_read(struct vioapic *v, uint64_t off, unsigned size, uint64_t *val);
int vioapic_write(struct vioapic *v, uint64_t off, unsigned size, uint64_t val);

#endif
