#include "arch/x86/ioapic.h"

static volatile uint32_t *ioapic;

static uint32_t reg_read(unsigned reg)
{
    ioapic[IOAPIC_IOREGSEL / 4] = reg;
    return ioapic[IOAPIC_IOWIN / 4];
}

static void reg_write(unsigned reg, uint32_t val)
{
    ioapic[IOAPIC_IOREGSEL / 4] = reg;
    ioapic[IOAPIC_IOWIN / 4] = val;
}

void ioapic_init(uint64_t base)
{
    ioapic = (volatile uint32_t *)(uintptr_t)base;
}

unsigned ioapic_pins(void)
{
    return ioapic ? (reg_read(IOAPIC_REG_VER) >> 16 & 0xFFu) + 1 : 0;
}

/* Masks the entry first and writes the high dword before the low one, so that the
 * IOAPIC never sends with half an entry (the low dword holds the mask bit). */
void ioapic_write_rte(unsigned pin, union ioapic_rte rte)
{
    unsigned reg = IOAPIC_REG_RTE0 + 2 * pin;
    reg_write(reg, (uint32_t)IOAPIC_RTE_MASKED);
    reg_write(reg + 1, (uint32_t)(rte.raw >> 32));
    reg_write(reg, (uint32_t)rte.raw);
}

union ioapic_rte ioapic_read_rte(unsigned pin)
{
    unsigned reg = IOAPIC_REG_RTE0 + 2 * pin;
    union ioapic_rte r;
    r.raw = reg_read(reg) | (uint64_t)reg_read(reg + 1) << 32;
    return r;
}
