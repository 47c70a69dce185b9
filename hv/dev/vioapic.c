#include "dev/vioapic.h"
#include <string.h>

#define ID_MASK (0xFu << 24)

void vioapic_init(struct vioapic *v, void (*rte_changed)(void *, unsigned, union ioapic_rte),
                  void *ctx)
{
    memset(v, 0, sizeof(*v));
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        v->rte[i].raw = IOAPIC_RTE_MASKED;
    v->rte_changed = rte_changed;
    v->ctx = ctx;
}

static uint32_t reg_read(const struct vioapic *v, uint32_t reg)
{
    switch (reg) {
    case IOAPIC_REG_ID:
        return v->id;
    case IOAPIC_REG_VER:
        return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
    case IOAPIC_REG_ARB:
        return v->id;   /* the arbitration ID reads as the APIC ID after reset */
    default:
        break;
    }
    if (reg >= IOAPIC_REG_RTE0 && reg < IOAPIC_REG_RTE0 + 2 * IOAPIC_PINS) {
        uint64_t raw = v->rte[(reg - IOAPIC_REG_RTE0) / 2].raw;
        return (uint32_t)(reg & 1 ? raw >> 32 : raw);
    }
    return 0;
}

static void reg_write(struct vioapic *v, uint32_t reg, uint32_t val)
{
    if (reg == IOAPIC_REG_ID) {
        v->id = val & ID_MASK;
        return;
    }
    if (reg < IOAPIC_REG_RTE0 || reg >= IOAPIC_REG_RTE0 + 2 * IOAPIC_PINS)
        return;     /* version, arbitration and the rest are read-only */
    unsigned pin = (reg - IOAPIC_REG_RTE0) / 2;
    union ioapic_rte *r = &v->rte[pin];
    uint64_t old = r->raw, raw;
    if (reg & 1)
        raw = (old & 0xFFFFFFFFull) | (uint64_t)val << 32;
    else
        raw = (old & ~0xFFFFFFFFull) | val;
    /* delivery status and Remote IRR keep their values whatever the guest writes */
    raw = (raw & ~IOAPIC_RTE_RO_BITS) | (old & IOAPIC_RTE_RO_BITS);
    r->raw = raw;
    if (raw != old && v->rte_changed)
        v->rte_changed(v->ctx, pin, *r);
}

int vioapic_read(struct vioapic *v, uint64_t off, unsigned size, uint64_t *val)
{
    *val = 0;
    if (size != 4)
        return 0;
    if (off == IOAPIC_IOREGSEL)
        *val = v->ioregsel;
    else if (off == IOAPIC_IOWIN)
        *val = reg_read(v, v->ioregsel);
    return 0;
}

int vioapic_write(struct vioapic *v, uint64_t off, unsigned size, uint64_t val)
{
    if (size != 4)
        return 0;
    if (off == IOAPIC_IOREGSEL)
        v->ioregsel = (uint32_t)val & 0xFFu;
    else if (off == IOAPIC_IOWIN)
        reg_write(v, v->ioregsel, (uint32_t)val);
    return 0;
}
