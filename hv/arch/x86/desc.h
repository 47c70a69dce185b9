/* eli's own GDT, TSS and IDT (Intel SDM vol. 3, 3.4.5, 7.7 and 6.14.1; AMD APM vol. 2, 4.8 and 8.9). */
#ifndef ELI_ARCH_X86_DESC_H
#define ELI_ARCH_X86_DESC_H
#include <stdint.h>

#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;  /* P, DPL, type (0xE: 64-bit interrupt gate) */
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes");

#define IDT_GATE_P 0x80
#define IDT_TYPE_INT64 0x0E

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));
_Static_assert(sizeof(struct dtr) == 10, "descriptor-table register image");

/* Stacks for the NMI and double fault, so they never run on a broken stack. */
#define IST_NMI 1
#define IST_DF 2

void desc_init(void);
struct idt_gate idt_make_gate(uint64_t handler, uint16_t sel, uint8_t ist, uint8_t dpl);

#endif
