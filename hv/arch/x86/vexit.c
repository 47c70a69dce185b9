/* Exit handling both backends share: MSR value checks and the logs of what a guest
 * asked for and did not get. */
#include "arch/x86/vexit.h"
#include "core/console.h"

bool vexit_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* A PAT entry must name a memory type: UC, WC, WT, WP, WB or UC- (SDM vol. 3, 12.12.2). */
bool vexit_pat_valid(uint64_t pat)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (unsigned)(pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

#define MSR_LOG_KINDS 32

/* Once per MSR and direction, and no more than MSR_LOG_KINDS of them: a guest probing
 * every MSR must not flood the log. */
void vexit_log_msr_once(uint32_t msr, bool write, const char *why)
{
    static uint32_t seen[MSR_LOG_KINDS];
    static unsigned nseen;
    uint32_t key = msr | (write ? 0x80000000u : 0);
    for (unsigned i = 0; i < nseen; i++)
        if (seen[i] == key)
            return;
    if (nseen == MSR_LOG_KINDS)
        return;
    seen[nseen++] = key;
    log_line("guest %s MSR 0x%x: %s: #GP%s", write ? "writes" : "reads", msr, why,
             nseen == MSR_LOG_KINDS ? " (further MSR faults are not logged)" : "");
}

/* IPIs the guest asked for that never left its CPU (INIT, SIPI, NMI, broadcasts,
 * other destinations): logged, the first few and then every 1000th. */
void vexit_log_dropped_ipis(const struct vlapic *l)
{
    static uint64_t seen;
    if (l->dropped_ipis == seen)
        return;
    seen = l->dropped_ipis;
    if (seen <= 10 || seen % 1000 == 0)
        log_line("guest IPI dropped (ICR 0x%llx): IPIs never leave the guest's CPU (%llu so far)",
                 (unsigned long long)l->last_dropped_icr, (unsigned long long)seen);
}
