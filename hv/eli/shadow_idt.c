#include "eli/shadow_idt.h"
#include <string.h>

#define PAGE 4096u

void shadow_window_of(uint64_t idt_base_gpa, struct shadow_window *w)
{
    w->first_page_gpa = idt_base_gpa & ~(uint64_t)(PAGE - 1);
    w->offset = (unsigned)(idt_base_gpa & (PAGE - 1));
    w->npages = w->offset + IDT_FULL_LIMIT + 1 > PAGE ? 2 : 1;
}

uint64_t shadow_window_locate(uint64_t idt_base, const struct gmem *mem, shadow_translate_fn tr,
                              void *ctx, struct shadow_window *w)
{
    uint64_t gpa, last;
    if (tr(ctx, idt_base, &gpa))
        return ~0ull;
    shadow_window_of(gpa, w);
    if (w->npages == 2 && (tr(ctx, idt_base + IDT_FULL_LIMIT, &last) ||
                           (last & ~(uint64_t)(PAGE - 1)) != w->first_page_gpa + PAGE))
        return ~0ull;
    if (!gmem_ptr(mem, w->first_page_gpa, (uint64_t)w->npages * PAGE))
        return ~0ull;
    return gpa;
}

int shadow_window_map(const struct shadow_window *w, bool shadow, uint64_t shadow_hpa,
                      uint64_t ram_hpa, shadow_map_fn map, void *ctx, uint64_t *bad_gpa)
{
    for (unsigned i = 0; i < w->npages; i++) {
        uint64_t gpa = w->first_page_gpa + (uint64_t)i * PAGE;
        uint64_t hpa = shadow ? shadow_hpa + (uint64_t)i * PAGE : ram_hpa + gpa;
        int rc = map(ctx, gpa, hpa, !shadow);
        if (rc) {
            *bad_gpa = gpa;
            return rc;
        }
    }
    return 0;
}

int idt_gate_present(const uint8_t *gate)
{
    return (gate[5] & 0x80) != 0;
}

/* An interrupt gate with P = 0. The type must stay a valid gate type: the CPU
 * checks it before P and raises #GP, not #NP, for a zero descriptor (SDM vol. 3,
 * 6.12.1.1; QEMU's do_interrupt64 does the same). */
static void set_absent_gate(uint8_t *gate)
{
    memset(gate, 0, IDT_GATE64_SIZE);
    gate[5] = IDT_TYPE_INTERRUPT64;
}

static bool within_limit(unsigned vector, uint32_t limit)
{
    return (uint64_t)vector * IDT_GATE64_SIZE + IDT_GATE64_SIZE - 1 <= limit;
}

unsigned shadow_idt_build(const struct shadow_window *w, const uint8_t *guest_pages,
                          uint32_t guest_limit, const struct vecmap *m, uint8_t *shadow)
{
    const uint8_t *gidt = guest_pages + w->offset;
    uint8_t *sidt = shadow + w->offset;
    unsigned present = 0;
    memcpy(shadow, guest_pages, (size_t)w->npages * PAGE);
    for (unsigned v = 0; v < 256; v++) {
        /* the guest vector whose gate slot v holds: an assigned vector carried by
         * another physical vector lands here; eli's own vectors stay absent */
        int g = vecmap_guest(m, (uint8_t)v);
        if (g < 0)
            g = vecmap_phys(m, (uint8_t)v) >= 0 && vecmap_phys(m, (uint8_t)v) != (int)v ? -1 : (int)v;
        uint8_t *gate = sidt + v * IDT_GATE64_SIZE;
        if (vecmap_host_owned(m, (uint8_t)v) || g < 0 || !within_limit((unsigned)g, guest_limit)) {
            set_absent_gate(gate);
            continue;
        }
        memcpy(gate, gidt + (unsigned)g * IDT_GATE64_SIZE, IDT_GATE64_SIZE);
        present += v >= VEC_FIRST_EXTERNAL && idt_gate_present(gate);
    }
    return present;
}
