/* The shadow IDT (docs/eli.md): what the CPU reads as the guest's IDT in direct
 * mode. It is the guest's own IDT except at eli's vectors, whose gates are not
 * present, so a host interrupt arriving in guest mode raises #NP instead of reaching
 * the guest, and at the physical vectors that carry a guest vector eli had to
 * remap, which hold that guest vector's gate. (A slot whose guest vector was moved
 * elsewhere is absent too.) Gates beyond the guest's limit are absent. Only eli's
 * and the assigned device's vectors ever arrive physically, so the guest's other
 * gates can stay as they are: the guest reading its IDT page, which it sees through
 * the shadow, finds it unchanged but for those few. Pure, host-testable. */
#ifndef ELI_ELI_SHADOW_IDT_H
#define ELI_ELI_SHADOW_IDT_H
#include "core/gmem.h"
#include "eli/vecmap.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDT_GATE64_SIZE 16
#define IDT_FULL_LIMIT (256 * IDT_GATE64_SIZE - 1)
#define IDT_TYPE_INTERRUPT64 0x0E /* type field of a 64-bit interrupt gate, byte 5 */

/* Where eli's shadow copy of the guest's IDT lies: the guest pages under
 * [base, base + IDT_FULL_LIMIT] are mirrored (their other bytes unchanged). */
struct shadow_window {
    uint64_t first_page_gpa; /* page of the IDT base */
    unsigned npages;         /* 1, or 2 when the IDT crosses a page */
    unsigned offset;         /* of the IDT base within the first page */
};

void shadow_window_of(uint64_t idt_base_gpa, struct shadow_window *w);

/* Translates guest-virtual gva to guest-physical through the guest's page tables (0 on
 * success), and maps one guest-physical page to hpa in the nested page tables, writable
 * or read-only (0 on success): the backend's, so that the window logic below is shared. */
typedef int (*shadow_translate_fn)(void *ctx, uint64_t gva, uint64_t *gpa);
typedef int (*shadow_map_fn)(void *ctx, uint64_t gpa, uint64_t hpa, bool writable);

/* The guest-physical address of the IDT at guest-virtual idt_base, its window in *w;
 * ~0 when the pages under it are not guest RAM or, when there are two, not adjacent. */
uint64_t shadow_window_locate(uint64_t idt_base, const struct gmem *mem, shadow_translate_fn tr,
                              void *ctx, struct shadow_window *w);

/* Puts the shadow pages (read-only) or the guest's own RAM pages (writable) under the
 * window's guest-physical pages. Returns 0, or the map's error with *bad_gpa its page. */
int shadow_window_map(const struct shadow_window *w, bool shadow, uint64_t shadow_hpa,
                      uint64_t ram_hpa, shadow_map_fn map, void *ctx, uint64_t *bad_gpa);

/* Fills `shadow` (w->npages pages) from the guest's pages `guest_pages` (same
 * layout): a copy of them with the IDT region rewritten as above (guest_limit as
 * the guest loaded it). Returns the number of present external-vector gates. */
unsigned shadow_idt_build(const struct shadow_window *w, const uint8_t *guest_pages,
                          uint32_t guest_limit, const struct vecmap *m, uint8_t *shadow);

/* Whether the 16-byte gate at `gate` is present. */
int idt_gate_present(const uint8_t *gate);

#endif
