#include "core/mbguest.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/multiboot.h"
#include "core/palloc.h"
#include <string.h>

#define LOW_RAM_END 0xA0000ull   /* conventional memory ends where the VGA hole starts */
#define HIGH_RAM_START 0x100000ull

struct cursor {
    const struct gmem *g;
    uint64_t at, limit;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Reserves len bytes at the cursor, aligned; returns the gpa or 0 when full. */
static uint64_t take(struct cursor *c, uint64_t len, uint64_t align)
{
    uint64_t at = align_up(c->at, align);
    if (at < c->at || at > c->limit || len > c->limit - at)
        return 0;
    c->at = at + len;
    return at;
}

static uint64_t put_bytes(struct cursor *c, const void *src, uint64_t len, uint64_t align)
{
    uint64_t gpa = take(c, len, align);
    if (gpa)
        memcpy(gmem_ptr(c->g, gpa, len), src, len);
    return gpa;
}

static uint64_t put_string(struct cursor *c, const char *s)
{
    return put_bytes(c, s, strlen(s) + 1, 1);
}

static size_t fill_mmap(struct mb_mmap_entry *e, uint64_t ram, uint64_t reserved_top)
{
    uint64_t usable_end = ram - reserved_top;
    struct { uint64_t base, len; uint32_t type; } r[] = {
        { 0, LOW_RAM_END, MB_MMAP_AVAILABLE },
        { LOW_RAM_END, HIGH_RAM_START - LOW_RAM_END, MB_MMAP_RESERVED },
        { HIGH_RAM_START, usable_end - HIGH_RAM_START, MB_MMAP_AVAILABLE },
        { usable_end, reserved_top, MB_MMAP_RESERVED },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        if (!r[i].len)
            continue;
        e[n++] = (struct mb_mmap_entry){ 20, r[i].base, r[i].len, r[i].type };
    }
    return n;
}

int mbguest_build(const struct gmem *g, uint64_t base, const struct mbguest *mb,
                  uint64_t *info_gpa, uint64_t *end, char *err, size_t errlen)
{
    if (g->size < HIGH_RAM_START + 2 * PAGE_SIZE || mb->reserved_top > g->size - HIGH_RAM_START ||
        mb->nmods > MBGUEST_MAX_MODS || base & (PAGE_SIZE - 1)) {
        fmt_snprintf(err, errlen, "guest RAM too small for its boot information");
        return -EINVAL;
    }
    struct cursor c = { g, base, g->size - mb->reserved_top };
    struct mb_info info = { 0 };
    struct mb_mmap_entry mmap[4];
    struct mb_module mods[MBGUEST_MAX_MODS] = { { 0 } };
    uint64_t info_at = take(&c, sizeof(info), 8);
    size_t nmmap = fill_mmap(mmap, g->size, mb->reserved_top);

    info.flags = MB_IF_MEMORY | MB_IF_CMDLINE | MB_IF_MODS | MB_IF_MMAP | MB_IF_LOADER_NAME;
    info.mem_lower = LOW_RAM_END / 1024;
    info.mem_upper = (uint32_t)((g->size - mb->reserved_top - HIGH_RAM_START) / 1024);
    info.mmap_length = (uint32_t)(nmmap * sizeof(mmap[0]));
    info.mmap_addr = (uint32_t)put_bytes(&c, mmap, info.mmap_length, 8);
    info.cmdline = (uint32_t)put_string(&c, mb->cmdline ? mb->cmdline : "");
    info.boot_loader_name = (uint32_t)put_string(&c, "eli");
    for (size_t i = 0; i < mb->nmods; i++)
        mods[i].string = (uint32_t)put_string(&c, mb->mods[i].string ? mb->mods[i].string : "");
    info.mods_count = (uint32_t)mb->nmods;
    info.mods_addr = (uint32_t)take(&c, mb->nmods * sizeof(mods[0]), 16);
    for (size_t i = 0; i < mb->nmods; i++) {
        /* modules are page-aligned, as a loader honouring MB_HF_PAGE_ALIGN does */
        uint64_t at = put_bytes(&c, mb->mods[i].data, mb->mods[i].size, PAGE_SIZE);
        if (!at && mb->mods[i].size)
            break;
        mods[i].mod_start = (uint32_t)at;
        mods[i].mod_end = (uint32_t)(at + mb->mods[i].size);
    }
    if (!info_at || !info.mmap_addr || !info.cmdline || !info.boot_loader_name ||
        (mb->nmods && (!info.mods_addr || !mods[mb->nmods - 1].mod_start)) || c.at > UINT32_MAX) {
        fmt_snprintf(err, errlen, "guest RAM too small for its command line and modules");
        return -ENOSPC;
    }
    if (mb->nmods)
        memcpy(gmem_ptr(g, info.mods_addr, mb->nmods * sizeof(mods[0])), mods,
               mb->nmods * sizeof(mods[0]));
    memcpy(gmem_ptr(g, info_at, sizeof(info)), &info, sizeof(info));
    *info_gpa = info_at;
    *end = c.at;
    return 0;
}

int mbguest_build_pvh(const struct gmem *g, uint64_t base, const struct mbguest *mb, uint64_t rsdp,
                      uint64_t hole_base, uint64_t hole_size, uint64_t *info_gpa, uint64_t *end,
                      char *err, size_t errlen)
{
    if (g->size < HIGH_RAM_START + 2 * PAGE_SIZE || mb->reserved_top > g->size - HIGH_RAM_START ||
        mb->nmods > MBGUEST_MAX_MODS || base & (PAGE_SIZE - 1)) {
        fmt_snprintf(err, errlen, "guest RAM too small for its boot information");
        return -EINVAL;
    }
    struct cursor c = { g, base, g->size - mb->reserved_top };
    struct hvm_start_info info = { .magic = HVM_START_MAGIC, .version = 1, .rsdp_paddr = rsdp };
    struct mb_mmap_entry mm[5];
    struct hvm_memmap_table_entry map[5];
    struct hvm_modlist_entry mods[MBGUEST_MAX_MODS] = { { 0 } };
    uint64_t info_at = take(&c, sizeof(info), 8);
    size_t n = fill_mmap(mm, g->size, mb->reserved_top);
    for (size_t i = 0; i < n; i++)
        map[i] = (struct hvm_memmap_table_entry){ mm[i].base_addr, mm[i].length, mm[i].type, 0 };
    if (hole_size)
        map[n++] = (struct hvm_memmap_table_entry){ hole_base, hole_size, MB_MMAP_RESERVED, 0 };
    info.memmap_entries = (uint32_t)n;
    info.memmap_paddr = put_bytes(&c, map, n * sizeof(map[0]), 8);
    info.cmdline_paddr = put_string(&c, mb->cmdline ? mb->cmdline : "");
    info.nr_modules = (uint32_t)mb->nmods;
    info.modlist_paddr = take(&c, mb->nmods * sizeof(mods[0]), 16);
    for (size_t i = 0; i < mb->nmods; i++) {
        mods[i].cmdline_paddr = put_string(&c, mb->mods[i].string ? mb->mods[i].string : "");
        mods[i].paddr = put_bytes(&c, mb->mods[i].data, mb->mods[i].size, PAGE_SIZE);
        mods[i].size = mb->mods[i].size;
        if (!mods[i].paddr || !mods[i].cmdline_paddr)
            break;
    }
    if (!info_at || !info.memmap_paddr || !info.cmdline_paddr ||
        (mb->nmods && (!info.modlist_paddr || !mods[mb->nmods - 1].paddr))) {
        fmt_snprintf(err, errlen, "guest RAM too small for its command line and modules");
        return -ENOSPC;
    }
    if (mb->nmods)
        memcpy(gmem_ptr(g, info.modlist_paddr, mb->nmods * sizeof(mods[0])), mods,
               mb->nmods * sizeof(mods[0]));
    memcpy(gmem_ptr(g, info_at, sizeof(info)), &info, sizeof(info));
    *info_gpa = info_at;
    *end = c.at;
    return 0;
}
