/* A guest's first CPU state, as docs/guest-abi.md describes it (both starts). */
#ifndef ELI_ARCH_X86_START_H
#define ELI_ARCH_X86_START_H
#include "core/gmem.h"
#include <stddef.h>
#include <stdint.h>

struct x86_seg {
    uint16_t selector;
    uint16_t attrib; /* descriptor bits 47:40 in 7:0, 55:52 in 11:8 (the VMCB's format) */
    uint32_t limit;
    uint64_t base;
};

struct x86_dtable {
    uint64_t base;
    uint32_t limit;
};

struct x86_start_state {
    uint64_t cr0, cr3, cr4, efer, rflags;
    uint64_t rip, rsp, rax, rbx, rdi;
    struct x86_seg cs, ds, es, ss, fs, gs, tr, ldtr;
    struct x86_dtable gdtr, idtr;
};

/* Bytes at the top of guest RAM the 64-bit start keeps for its tables and GDT. */
#define START_RESERVED_BYTES (8 * 4096ull)

void x86_start_multiboot(struct x86_start_state *s, uint64_t entry, uint64_t info);
void x86_start_pvh(struct x86_start_state *s, uint64_t entry, uint64_t start_info);
/* Builds identity-mapping page tables and a GDT in the reserved top of g. */
int x86_start_long(struct x86_start_state *s, const struct gmem *g, uint64_t entry, uint64_t info);

#endif
