/* Exit handling both backends share: MSR value checks, the logs of what a guest asked
 * for and did not get, instruction fetch and MMIO emulation, the APIC as the guest sees it. */
#include "arch/x86/vexit.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x2apic.h"
#include "core/console.h"
#include "core/guest.h"

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

bool vexit_msr_value_valid(uint32_t msr, uint64_t val)
{
    switch (msr) {
    case MSR_IA32_PAT:
        return vexit_pat_valid(val);
    case MSR_LSTAR:
    case MSR_CSTAR:
    case MSR_SYSENTER_ESP:
    case MSR_SYSENTER_EIP:
        return vexit_canonical(val);
    default:
        return true;
    }
}

#define EFER_GUEST_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

bool vexit_efer_write(uint64_t efer, uint64_t val, bool paging, uint64_t *out)
{
    if (val & ~(EFER_GUEST_WRITABLE | EFER_LMA))
        return false;
    /* LME cannot change while paging is on (APM vol. 2, 14.6.1; SDM vol. 3, 10.8.5) */
    if (paging && ((val ^ efer) & EFER_LME))
        return false;
    /* LMA is the CPU's to set: it does when the guest turns paging on with LME */
    *out = (val & EFER_GUEST_WRITABLE) | (efer & EFER_LMA);
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

unsigned vexit_fetch_insn(vexit_read_fn read, void *ctx, uint64_t rip,
                          uint8_t bytes[X86_MAX_INSN_LEN])
{
    unsigned avail = X86_MAX_INSN_LEN;
    unsigned to_page_end = (unsigned)(0x1000 - (rip & 0xfff));
    while (avail && read(ctx, rip, bytes, avail, true))
        avail = avail > to_page_end ? to_page_end : avail - 1;
    return avail;
}

#define XAPIC_ISR0 0x100u   /* the ISR's eight words, one per 16 bytes */
#define XAPIC_ISR_END 0x180u

/* The xAPIC page: the virtual LAPIC's registers, but the ISR words as ELI shows them
 * (the vectors in service as the guest knows them, eli.c). */
static int apic_mmio_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
    struct guest *g = ctx;
    uint32_t v32 = 0;
    int rc = vlapic_mmio_read(&g->lapic, (uint32_t)off, size > 4 ? 4 : size, &v32);
    if (!rc && off >= XAPIC_ISR0 && off < XAPIC_ISR_END && !(off & 0xf) && size == 4)
        v32 = eli_guest_isr_word(&g->eli, (unsigned)(off - XAPIC_ISR0) >> 4);
    *val = v32;
    return rc;
}

static int apic_mmio_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
    struct guest *g = ctx;
    return vlapic_mmio_write(&g->lapic, (uint32_t)off, size > 4 ? 4 : size, (uint32_t)val);
}

bool vexit_mmio_find(struct guest *g, uint64_t gpa, struct vexit_mmio *m)
{
    uint64_t base = vlapic_mmio_base(&g->lapic);
    if (base && gpa >= base && gpa < base + VLAPIC_MMIO_SIZE) {
        *m = (struct vexit_mmio){ g, gpa - base, apic_mmio_read, apic_mmio_write };
        return true;
    }
    const struct mmio_region *r = mmio_find(gpa);
    if (!r)
        return false;
    *m = (struct vexit_mmio){ r->ctx, gpa - r->base, r->read, r->write };
    return true;
}

bool vexit_mmio_perform(const struct x86_insn *insn, uint64_t gprs[16], const struct vexit_mmio *m)
{
    uint64_t val = 0;
    switch (insn->kind) {
    case INSN_MOV_TO_MEM:
    case INSN_MOV_IMM_TO_MEM:
        m->write(m->ctx, m->offset, insn->mem_size, x86_insn_store_value(insn, gprs));
        return true;
    case INSN_MOV_FROM_MEM:
    case INSN_MOVZX:
    case INSN_MOVSX:
        m->read(m->ctx, m->offset, insn->mem_size, &val);
        x86_insn_complete_load(insn, gprs, val);
        return true;
    default:
        return false;
    }
}

int vexit_apic_msr_read(struct guest *g, uint32_t msr, uint64_t *val)
{
    int rc = vlapic_msr_read(&g->lapic, msr, val);
    if (rc == 0 && msr >= X2APIC_ISR0 && msr < X2APIC_ISR0 + 8)
        *val = eli_guest_isr_word(&g->eli, msr - X2APIC_ISR0);
    return rc;
}
