/* Guest page-table walker: translates a guest-virtual (linear) address to a
 * guest-physical one the way the guest's MMU would, for eli's instruction
 * emulation (fetching the bytes of a trapped instruction, reading or writing its
 * memory operand). Covers every paging mode a guest can run in under SVM:
 *   CR0.PG=0                       no paging (linear = physical, 32 bits)
 *   CR4.PAE=0                      32-bit paging, 4 KiB and (CR4.PSE) 4 MiB pages
 *   CR4.PAE=1, EFER.LMA=0          PAE paging, 4 KiB and 2 MiB pages
 *   EFER.LMA=1                     4-level paging, 4 KiB, 2 MiB and 1 GiB pages
 * (Intel SDM vol. 3A ch. 4, AMD APM vol. 2 ch. 5.)
 *
 * Pure: guest memory comes through the read_gpa callback, so it is host-testable.
 * The walker never writes guest memory (only gwalk_write does, where asked): the accessed and dirty bits are left
 * alone, which a guest cannot tell apart from a TLB hit. */
#ifndef ELI_ARCH_X86_GWALK_H
#define ELI_ARCH_X86_GWALK_H
#include "core/gmem.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gwalk_ctx {
    /* the guest's control registers, as in its VMCB save area */
    uint64_t cr0, cr3, cr4, efer;
    /* A pointer to len bytes of guest-physical memory at gpa, or NULL when any of
     * them lies outside guest RAM. The walker asks for one table entry (4 or 8
     * bytes, naturally aligned) or at most the rest of one 4 KiB page at a time. */
    const void *(*read_gpa)(void *opaque, uint64_t gpa, uint64_t len);
    void *opaque;
};

/* Translates gva for an access of the given kind: write (else read), fetch (an
 * instruction fetch; implies !write), user (CPL 3, else supervisor).
 * Returns 0 with *gpa set, or
 *   -EFAULT  a not-present entry, a permission violation, or one of the two
 *            reserved bits the walker checks (XD with EFER.NXE=0, PS in a
 *            PML4E): the guest would take #PF;
 *   -EINVAL  a non-canonical address in long mode: the guest would take #GP/#SS;
 *   -EIO     a paging structure lies outside guest RAM;
 *   -EOPNOTSUPP  5-level paging (CR4.LA57).
 * Permissions (SDM vol. 3A 4.6): user accesses need U/S=1 at every level; writes
 * need R/W=1 at every level when user or CR0.WP=1; fetches need XD/NX=0 at every
 * level when EFER.NXE=1. SMEP, SMAP and protection keys are not enforced. */
int gwalk_translate(const struct gwalk_ctx *c, uint64_t gva, bool write, bool fetch, bool user,
                    uint64_t *gpa);

/* Copies len bytes of guest-virtual memory at gva into dst, page by page, as
 * supervisor reads (fetch: as instruction fetches). Returns 0 or the first
 * error of gwalk_translate, or -EIO when a page lies outside guest RAM. On
 * error, dst may have been partly written. */
int gwalk_read(const struct gwalk_ctx *c, uint64_t gva, void *dst, size_t len, bool fetch);

/* Stores len bytes (at most one page's worth, so at most two pages) from src at gva as a
 * supervisor write into mem, the guest's RAM. Both pages are translated first, so a store
 * that crosses into a page it may not write writes nothing. Returns 0, an error of
 * gwalk_translate, or -EIO when a page lies outside guest RAM (nothing written then). */
int gwalk_write(const struct gwalk_ctx *c, const struct gmem *mem, uint64_t gva, const void *src,
                unsigned len);

#endif
