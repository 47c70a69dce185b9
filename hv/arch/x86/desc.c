#include "arch/x86/desc.h"
#include <string.h>

#define IST_STACK_SIZE 8192

extern const uint64_t isr_table[256];

static uint64_t gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t ist_stacks[2][IST_STACK_SIZE] __attribute__((aligned(16)));

struct idt_gate idt_make_gate(uint64_t handler, uint16_t sel, uint8_t ist, uint8_t dpl)
{
    return (struct idt_gate){
        .offset_lo = (uint16_t)handler,
        .selector = sel,
        .ist = ist,
        .type_attr = (uint8_t)(IDT_GATE_P | (dpl << 5) | IDT_TYPE_INT64),
        .offset_mid = (uint16_t)(handler >> 16),
        .offset_hi = (uint32_t)(handler >> 32),
    };
}

/* A 64-bit TSS descriptor takes two GDT slots (SDM vol. 3, 8.2.3). */
static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
    slot[0] = (limit & 0xffffull) | (base & 0xffffffull) << 16 | 0x89ull << 40 |
              ((uint64_t)(limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    slot[1] = base >> 32;
}

static void load_gdt_and_tss(void)
{
    struct dtr gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "movw %w2, %%ds\n\t"
                     "movw %w2, %%es\n\t"
                     "movw %w2, %%ss\n\t"
                     "ltr %w3"
                     :
                     : "m"(gdtr), "i"(SEL_CODE64), "r"(SEL_DATA), "r"(SEL_TSS)
                     : "rax", "memory");
}

void desc_init(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull; /* 64-bit code, DPL 0 */
    gdt[2] = 0x00CF92000000FFFFull; /* data */
    memset(&tss, 0, sizeof(tss));
    tss.ist[IST_NMI - 1] = (uint64_t)&ist_stacks[0][IST_STACK_SIZE];
    tss.ist[IST_DF - 1] = (uint64_t)&ist_stacks[1][IST_STACK_SIZE];
    tss.iomap_base = sizeof(tss); /* no I/O bitmap */
    set_tss_descriptor(&gdt[3], (uint64_t)&tss, sizeof(tss) - 1);
    load_gdt_and_tss();

    for (int v = 0; v < 256; v++)
        idt[v] = idt_make_gate(isr_table[v], SEL_CODE64, v == 2 ? IST_NMI : v == 8 ? IST_DF : 0, 0);
    struct dtr idtr = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" ::"m"(idtr));
}
