#include "arch/x86/hpet.h"
#include "core/console.h"
#include "core/errno.h"
#include <stddef.h>

/* registers (HPET specification 1.0a, 2.3) */
#define HPET_GCAP_ID 0x000
#define HPET_GEN_CONF 0x010
#define HPET_MAIN_COUNTER 0x0F0
#define HPET_TN_CONF(n) (0x100 + 0x20 * (n))
#define HPET_TN_COMPARATOR(n) (0x108 + 0x20 * (n))
#define HPET_TN_FSB_ROUTE(n) (0x110 + 0x20 * (n))

#define GCAP_NUM_TIMERS(v) ((unsigned)((v) >> 8 & 0x1f) + 1)
#define GCAP_PERIOD_FS(v) ((v) >> 32)
#define GEN_CONF_ENABLE (1ull << 0)
#define TN_INT_ENB (1ull << 2)
#define TN_32MODE (1ull << 8)
#define TN_FSB_EN (1ull << 14)
#define TN_FSB_CAP (1ull << 15)

#define MSI_ADDR_BASE 0xFEE00000ull
#define MSI_DELIVERY_NMI (4u << 8)

struct acpi_gas {
    uint8_t space_id, bit_width, bit_offset, access_size;
    uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "ACPI generic address structure");

/* The HPET description table (IA-PC HPET specification 1.0a, 3.2.4) */
struct acpi_hpet {
    struct acpi_header header;
    uint32_t event_timer_block_id;
    struct acpi_gas base;
    uint8_t hpet_number;
    uint16_t min_tick;
    uint8_t page_protection;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_hpet) == 56, "ACPI HPET table");
_Static_assert(offsetof(struct acpi_hpet, base) == 40, "HPET base address");

static volatile uint8_t *hpet;
static unsigned timer, ntimers;
static uint64_t period_fs;
static int tick_timer = -1; /* eli's tick while the guest has the LAPIC timer */
static uint64_t period_ticks;
static uint32_t period_us;

static uint64_t rd(unsigned off)
{
    return *(volatile uint64_t *)(hpet + off);
}

static void wr(unsigned off, uint64_t v)
{
    *(volatile uint64_t *)(hpet + off) = v;
}

bool hpet_watchdog_armed(void)
{
    return hpet != NULL;
}

uint32_t hpet_watchdog_period_us(void)
{
    return period_us;
}

static void hpet_watchdog_kick(void)
{
    if (hpet)
        wr(HPET_TN_COMPARATOR(timer), rd(HPET_MAIN_COUNTER) + period_ticks);
}

void hpet_watchdog_soon(uint32_t us)
{
    if (hpet && period_us)
        wr(HPET_TN_COMPARATOR(timer), rd(HPET_MAIN_COUNTER) + period_ticks * us / period_us);
}

/* The first comparator from `first` on that can deliver through the FSB (as an MSI
 * message). */
static int fsb_timer(unsigned first)
{
    for (unsigned n = first; n < ntimers; n++)
        if (rd(HPET_TN_CONF(n)) & TN_FSB_CAP)
            return (int)n;
    return -1;
}

/* One-shot, edge, 64-bit, its interrupt sent as the MSI message `data` to this CPU. */
static void fsb_route(unsigned n, uint32_t apic_id, uint32_t data)
{
    /* the FSB route: data in the low half, address in the high half */
    wr(HPET_TN_FSB_ROUTE(n), (MSI_ADDR_BASE | (uint64_t)apic_id << 12) << 32 | data);
    uint64_t conf = rd(HPET_TN_CONF(n)) & ~TN_32MODE;
    wr(HPET_TN_CONF(n), conf | TN_FSB_EN | TN_INT_ENB);
}

static uint64_t us_to_ticks(uint64_t us)
{
    return us * 1000000000ull / period_fs;
}

int hpet_tick_init(uint32_t apic_id, uint8_t vector)
{
    int n = hpet ? fsb_timer(timer + 1) : -1;
    if (n < 0)
        return -ENODEV;
    wr(HPET_TN_COMPARATOR(n), ~0ull); /* not before it is armed */
    fsb_route((unsigned)n, apic_id, vector);
    tick_timer = n;
    return 0;
}

bool hpet_tick_ready(void)
{
    return tick_timer >= 0;
}

/* A one-shot comparator fires when the counter equals it (HPET 1.0a, 2.3.9.2.1): one
 * already passed would wait for the counter to wrap. So it is set at least
 * TICK_MIN_US ahead, and again further if the counter got there while it was written
 * (QEMU fires a past comparator at once; hardware would not). */
#define TICK_MIN_US 20
void hpet_tick_in(uint64_t us)
{
    uint64_t ahead = us_to_ticks(us > TICK_MIN_US ? us : TICK_MIN_US);
    for (;;) {
        uint64_t at = rd(HPET_MAIN_COUNTER) + ahead;
        wr(HPET_TN_COMPARATOR(tick_timer), at);
        if ((int64_t)(at - rd(HPET_MAIN_COUNTER)) > 0)
            return;
        ahead *= 2;
    }
}

void hpet_tick_stop(void)
{
    wr(HPET_TN_COMPARATOR(tick_timer), rd(HPET_MAIN_COUNTER) - 1); /* a full wrap away */
}

int hpet_watchdog_init(const struct acpi *a, uint32_t apic_id, uint32_t us)
{
    const struct acpi_header *h;
    uint64_t pa;
    if (acpi_find_table(a, "HPET", 0, &h, &pa) || h->length < sizeof(struct acpi_hpet))
        return -ENODEV;
    const struct acpi_hpet *t = (const struct acpi_hpet *)h;
    hpet = (volatile uint8_t *)(uintptr_t)t->base.address;
    uint64_t cap = rd(HPET_GCAP_ID);
    ntimers = GCAP_NUM_TIMERS(cap);
    int n = fsb_timer(0);
    if (n < 0 || !GCAP_PERIOD_FS(cap)) {
        hpet = NULL;
        return -ENODEV;
    }
    timer = (unsigned)n;
    period_us = us;
    period_fs = GCAP_PERIOD_FS(cap);
    period_ticks = us_to_ticks(us);
    fsb_route(timer, apic_id, MSI_DELIVERY_NMI);
    wr(HPET_GEN_CONF, rd(HPET_GEN_CONF) | GEN_CONF_ENABLE);
    hpet_watchdog_kick();
    log_line("watchdog: HPET at 0x%llx comparator %u sends an NMI after %u us without a tick",
             (unsigned long long)t->base.address, timer, us);
    return 0;
}
