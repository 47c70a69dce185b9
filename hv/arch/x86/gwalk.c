/* Guest page-table walker; see gwalk.h. Section numbers: Intel SDM vol. 3A
 * ch. 4 ("Paging"), AMD APM vol. 2 ch. 5 ("Page Translation and Protection"). */
#include "arch/x86/gwalk.h"
#include "core/errno.h"
#include <string.h>

/* The control-register bits that select the paging mode (SDM 4.1.1). Local
 * names: this module stays free of cpu.h's inline assembly. */
#define GW_CR0_WP (1ull << 16)
#define GW_CR0_PG (1ull << 31)
#define GW_CR4_PSE (1ull << 4)
#define GW_CR4_PAE (1ull << 5)
#define GW_CR4_LA57 (1ull << 12)
#define GW_EFER_LMA (1ull << 10)
#define GW_EFER_NXE (1ull << 11)

/* Entry bits shared by every paging mode (SDM tables 4-5 to 4-20). */
#define ENT_P (1ull << 0)
#define ENT_RW (1ull << 1)
#define ENT_US (1ull << 2)
#define ENT_PS (1ull << 7)
#define ENT_XD (1ull << 63)

/* Physical-address bits of an 8-byte entry: 51:12 (SDM 4.4.2, 4.5.4). */
#define ENT64_ADDR 0x000ffffffffff000ull
/* A 4-byte entry's frame (bits 31:12) and a 4 MiB page's frame (bits 31:22). */
#define ENT32_ADDR 0xfffff000u
#define ENT32_ADDR_4M 0xffc00000u

#define GW_PAGE_SIZE 0x1000ull

/* What the guest asked for. */
struct access {
    bool write, fetch, user;
};

/* The rights all entries on the path grant together (SDM 4.6.1): the
 * most restrictive of them wins at each step. */
struct rights {
    bool writable, user, no_exec;
};

static const struct rights full_rights = { true, true, false };

static void restrict_rights(struct rights *r, uint64_t entry, bool has_xd)
{
    r->writable = r->writable && (entry & ENT_RW);
    r->user = r->user && (entry & ENT_US);
    r->no_exec = r->no_exec || (has_xd && (entry & ENT_XD));
}

/* SDM 4.6.1: supervisor writes to read-only pages fault only with CR0.WP=1;
 * user writes always fault; fetches fault on XD pages (no_exec is only ever
 * set with EFER.NXE=1: without it, XD is a reserved bit that faults earlier). */
static int check_access(const struct gwalk_ctx *c, struct access a, struct rights r)
{
    if (a.user && !r.user)
        return -EFAULT;
    if (a.write && !r.writable && (a.user || (c->cr0 & GW_CR0_WP)))
        return -EFAULT;
    if (a.fetch && r.no_exec)
        return -EFAULT;
    return 0;
}

/* Reads entry `index` (entry_bytes wide) of the table at guest-physical `table`. */
static int read_entry(const struct gwalk_ctx *c, uint64_t table, uint64_t index,
                      unsigned entry_bytes, uint64_t *entry)
{
    const void *p = c->read_gpa(c->opaque, table + index * entry_bytes, entry_bytes);
    if (!p)
        return -EIO;
    if (entry_bytes == 4) {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        *entry = v;
    } else {
        memcpy(entry, p, sizeof *entry);
    }
    return 0;
}

/* 9 bits of index per level for 8-byte entries; level 0 indexes the page table. */
static uint64_t index9(uint64_t gva, int level)
{
    return (gva >> (12 + 9 * level)) & 0x1ff;
}

/* Walks tables of 512 8-byte entries (PAE and 4-level paging) from `level`
 * down to the leaf. A PS bit maps a 2 MiB page at level 1 and a 1 GiB page at
 * level 2 (SDM 4.5.4); it is reserved at level 3 (PML4E). */
static int walk_8byte(const struct gwalk_ctx *c, struct access a, uint64_t table, int level,
                      uint64_t gva, struct rights r, uint64_t *gpa)
{
    for (;; level--) {
        uint64_t e;
        int rc = read_entry(c, table, index9(gva, level), 8, &e);
        if (rc)
            return rc;
        if (!(e & ENT_P))
            return -EFAULT;
        /* bit 63 is reserved unless EFER.NXE=1 (SDM 4.4.2, 4.5.4) */
        if ((e & ENT_XD) && !(c->efer & GW_EFER_NXE))
            return -EFAULT;
        restrict_rights(&r, e, true);
        bool large = level > 0 && (e & ENT_PS);
        if (large && level == 3)
            return -EFAULT;
        if (level == 0 || large) {
            uint64_t page_mask = (1ull << (12 + 9 * level)) - 1;
            /* for large pages, bit 12 is PAT: the mask drops it with the offset bits */
            *gpa = (e & ENT64_ADDR & ~page_mask) | (gva & page_mask);
            return check_access(c, a, r);
        }
        table = e & ENT64_ADDR;
    }
}

static bool is_canonical48(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* 4-level paging (SDM 4.5): CR3 bits 51:12 point to the PML4. */
static int walk_long_mode(const struct gwalk_ctx *c, struct access a, uint64_t gva,
                          uint64_t *gpa)
{
    if (c->cr4 & GW_CR4_LA57)
        return -EOPNOTSUPP;
    if (!is_canonical48(gva))
        return -EINVAL;
    return walk_8byte(c, a, c->cr3 & ENT64_ADDR, 3, gva, full_rights, gpa);
}

/* PAE paging (SDM 4.4): CR3 bits 31:5 point to four PDPTEs, indexed by bits
 * 31:30. PDPTEs carry no R/W, U/S or XD bits (those positions are reserved), so
 * only their P bit matters. The CPU caches PDPTEs at CR3 load (SDM 4.4.1); the
 * walker reads the current memory instead, which differs only for a guest that
 * rewrote its PDPT without reloading CR3. */
static int walk_pae(const struct gwalk_ctx *c, struct access a, uint32_t gva, uint64_t *gpa)
{
    uint64_t pdpt = (uint32_t)c->cr3 & ~0x1fu;
    uint64_t pdpte;
    int rc = read_entry(c, pdpt, gva >> 30, 8, &pdpte);
    if (rc)
        return rc;
    if (!(pdpte & ENT_P))
        return -EFAULT;
    return walk_8byte(c, a, pdpte & ENT64_ADDR, 1, gva, full_rights, gpa);
}

/* A 4 MiB page's frame: bits 31:22 of the PDE, plus bits 20:13 as physical
 * bits 39:32 (PSE-36, SDM 4.3 and table 4-4). */
static uint64_t frame_4m(uint64_t pde)
{
    return (pde & ENT32_ADDR_4M) | ((pde >> 13) & 0xff) << 32;
}

/* 32-bit paging (SDM 4.3): a page directory of 1024 4-byte entries at CR3
 * bits 31:12; PDE.PS maps a 4 MiB page when CR4.PSE=1 and is ignored otherwise. */
static int walk_32bit(const struct gwalk_ctx *c, struct access a, uint32_t gva, uint64_t *gpa)
{
    struct rights r = full_rights;
    uint64_t pde, pte;
    int rc = read_entry(c, (uint32_t)c->cr3 & ENT32_ADDR, gva >> 22, 4, &pde);
    if (rc)
        return rc;
    if (!(pde & ENT_P))
        return -EFAULT;
    restrict_rights(&r, pde, false);
    if ((pde & ENT_PS) && (c->cr4 & GW_CR4_PSE)) {
        *gpa = frame_4m(pde) | (gva & 0x3fffff);
        return check_access(c, a, r);
    }
    rc = read_entry(c, pde & ENT32_ADDR, (gva >> 12) & 0x3ff, 4, &pte);
    if (rc)
        return rc;
    if (!(pte & ENT_P))
        return -EFAULT;
    restrict_rights(&r, pte, false);
    *gpa = (pte & ENT32_ADDR) | (gva & 0xfff);
    return check_access(c, a, r);
}

int gwalk_translate(const struct gwalk_ctx *c, uint64_t gva, bool write, bool fetch, bool user,
                    uint64_t *gpa)
{
    struct access a = { write && !fetch, fetch, user };
    /* Outside long mode linear addresses are 32 bits wide (SDM 4.1.1);
     * EFER.LMA implies CR0.PG, so paging off means 32 bits too. */
    if (!(c->cr0 & GW_CR0_PG)) {
        *gpa = (uint32_t)gva;
        return 0;
    }
    if (c->efer & GW_EFER_LMA)
        return walk_long_mode(c, a, gva, gpa);
    if (c->cr4 & GW_CR4_PAE)
        return walk_pae(c, a, (uint32_t)gva, gpa);
    return walk_32bit(c, a, (uint32_t)gva, gpa);
}

int gwalk_read(const struct gwalk_ctx *c, uint64_t gva, void *dst, size_t len, bool fetch)
{
    uint8_t *out = dst;
    while (len) {
        /* a page is the largest unit known to be physically contiguous */
        uint64_t room = GW_PAGE_SIZE - (gva & (GW_PAGE_SIZE - 1));
        size_t chunk = room < len ? (size_t)room : len;
        uint64_t gpa;
        int rc = gwalk_translate(c, gva, false, fetch, false, &gpa);
        if (rc)
            return rc;
        const void *src = c->read_gpa(c->opaque, gpa, chunk);
        if (!src)
            return -EIO;
        memcpy(out, src, chunk);
        out += chunk;
        gva += chunk;
        len -= chunk;
    }
    return 0;
}

int gwalk_write(const struct gwalk_ctx *c, const struct gmem *mem, uint64_t gva, const void *src,
                unsigned len)
{
    uint64_t gpa[2];
    unsigned first = (unsigned)(GW_PAGE_SIZE - (gva & (GW_PAGE_SIZE - 1)));
    if (first > len)
        first = len;
    int rc = gwalk_translate(c, gva, true, false, false, &gpa[0]);
    if (!rc && first < len)
        rc = gwalk_translate(c, gva + first, true, false, false, &gpa[1]);
    if (rc)
        return rc;
    uint8_t *a = gmem_ptr(mem, gpa[0], first);
    uint8_t *b = first < len ? gmem_ptr(mem, gpa[1], len - first) : NULL;
    if (!a || (first < len && !b))
        return -EIO;
    memcpy(a, src, first);
    if (b)
        memcpy(b, (const uint8_t *)src + first, len - first);
    return 0;
}
