#include "arch/x86/start.h"
#include "arch/x86/cpu.h"
#include "arch/x86/pt.h"
#include "core/errno.h"
#include "core/multiboot.h"
#include <string.h>

#define SEG_ATTR_CODE64 0x029B /* P, S, type 0xB (code, read, accessed), L */
#define SEG_ATTR_CODE32 0x0C9B /* the same with D and G instead of L */
#define SEG_ATTR_DATA 0x0C93   /* P, S, type 0x3 (data, write, accessed), D, G */
#define SEG_ATTR_TSS_BUSY 0x008B
#define SEG_ATTR_LDT 0x0082
#define GUEST_CS 0x08
#define GUEST_DS 0x10
#define FOUR_GIB (4ull << 30)

static void flat_segments(struct x86_start_state *s, uint16_t code_attr, uint32_t limit)
{
    struct x86_seg data = { GUEST_DS, SEG_ATTR_DATA, limit, 0 };
    s->cs = (struct x86_seg){ GUEST_CS, code_attr, limit, 0 };
    s->ds = s->es = s->ss = s->fs = s->gs = data;
    /* no task register or LDT yet: present but empty, as after a reset */
    s->tr = (struct x86_seg){ 0, SEG_ATTR_TSS_BUSY, 0xffff, 0 };
    s->ldtr = (struct x86_seg){ 0, SEG_ATTR_LDT, 0xffff, 0 };
}

void x86_start_multiboot(struct x86_start_state *s, uint64_t entry, uint64_t info)
{
    memset(s, 0, sizeof(*s));
    flat_segments(s, SEG_ATTR_CODE32, 0xffffffffu);
    s->cr0 = CR0_PE | CR0_ET;
    s->rflags = RFLAGS_FIXED;
    s->rip = entry;
    s->rax = MB_BOOT_MAGIC;
    s->rbx = info;
}

/* The PVH boot ABI (Xen's docs/misc/pvh.pandoc): 32-bit protected mode, paging off,
 * flat 4 GiB code and data, a 32-bit TSS with limit 0x67, EBX = the start info. */
void x86_start_pvh(struct x86_start_state *s, uint64_t entry, uint64_t start_info)
{
    memset(s, 0, sizeof(*s));
    flat_segments(s, SEG_ATTR_CODE32, 0xffffffffu);
    s->tr.limit = 0x67;
    s->cr0 = CR0_PE | CR0_ET;
    s->rflags = RFLAGS_FIXED;
    s->rip = entry;
    s->rbx = start_info;
}

struct top_alloc {
    const struct gmem *g;
    uint64_t next, end;
};

static uint64_t top_alloc_table(void *ctx)
{
    struct top_alloc *a = ctx;
    if (a->next + 4096 > a->end)
        return 0;
    uint64_t pa = a->next;
    a->next += 4096;
    memset(gmem_ptr(a->g, pa, 4096), 0, 4096);
    return pa;
}

static pte_t *top_table_ptr(void *ctx, uint64_t pa)
{
    struct top_alloc *a = ctx;
    return gmem_ptr(a->g, pa, 4096);
}

int x86_start_long(struct x86_start_state *s, const struct gmem *g, uint64_t entry, uint64_t info)
{
    if (g->size < START_RESERVED_BYTES * 2)
        return -EINVAL;
    struct top_alloc a = { g, g->size - START_RESERVED_BYTES, g->size };
    struct pt_ops ops = { top_alloc_table, top_table_ptr, &a };
    uint64_t root = top_alloc_table(&a);
    int rc = pt_map(&ops, root, 0, 0, FOUR_GIB, PTE_RW, true);
    uint64_t gdt_pa = top_alloc_table(&a);
    if (rc || !gdt_pa)
        return rc ? rc : -ENOMEM;
    uint64_t *gdt = gmem_ptr(g, gdt_pa, 24);
    gdt[0] = 0;
    gdt[1] = 0x00AF9B000000FFFFull; /* GUEST_CS: 64-bit code */
    gdt[2] = 0x00CF93000000FFFFull; /* GUEST_DS: data */

    memset(s, 0, sizeof(*s));
    flat_segments(s, SEG_ATTR_CODE64, 0xffffffffu);
    s->gdtr = (struct x86_dtable){ gdt_pa, 3 * 8 - 1 };
    s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s->cr3 = root;
    s->cr4 = CR4_PAE;
    s->efer = EFER_LME | EFER_LMA;
    s->rflags = RFLAGS_FIXED;
    s->rip = entry;
    s->rax = MB_BOOT_MAGIC;
    s->rbx = s->rdi = info;
    return 0;
}
