#include "core/bootinfo.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/multiboot.h"
#include <string.h>

#define STRING_MAX 4096

/* A NUL-terminated string of at most STRING_MAX bytes at pa, or NULL. */
static const char *read_string(phys_reader_fn rd, void *ctx, uint64_t pa)
{
    const char *s = rd(ctx, pa, 1);
    if (!s)
        return NULL;
    for (uint64_t n = 0; n < STRING_MAX; n++) {
        const char *c = rd(ctx, pa + n, 1);
        if (!c)
            return NULL;
        if (!*c)
            return s;
    }
    return NULL;
}

static int parse_mmap(const struct mb_info *mbi, phys_reader_fn rd, void *ctx,
                      struct boot_info *out, char *err, size_t errlen)
{
    uint64_t pa = mbi->mmap_addr, end = pa + mbi->mmap_length;
    while (pa < end) {
        const struct mb_mmap_entry *e = rd(ctx, pa, sizeof(*e));
        /* each entry, its size field included, must lie wholly inside the map */
        if (!e || e->size < 20 || pa + 4 + (uint64_t)e->size > end ||
            out->nranges == BOOTINFO_MAX_RANGES) {
            fmt_snprintf(err, errlen, "bad or oversized multiboot memory map at 0x%llx",
                         (unsigned long long)pa);
            return -EINVAL;
        }
        out->ranges[out->nranges++] = (struct mem_range){ e->base_addr, e->length, e->type };
        pa += 4 + (uint64_t)e->size;
    }
    return 0;
}

static int parse_modules(const struct mb_info *mbi, phys_reader_fn rd, void *ctx,
                         struct boot_info *out, char *err, size_t errlen)
{
    if (mbi->mods_count > BOOTINFO_MAX_MODS) {
        fmt_snprintf(err, errlen, "too many modules (%u, at most %d)", mbi->mods_count,
                     BOOTINFO_MAX_MODS);
        return -E2BIG;
    }
    for (uint32_t i = 0; i < mbi->mods_count; i++) {
        /* copied: the loader's list need not be aligned */
        const void *at = rd(ctx, mbi->mods_addr + i * sizeof(struct mb_module), sizeof(struct mb_module));
        struct mb_module m;
        if (at)
            memcpy(&m, at, sizeof(m));
        const char *s = at ? (m.string ? read_string(rd, ctx, m.string) : "") : NULL;
        if (!at || !s || m.mod_end < m.mod_start) {
            fmt_snprintf(err, errlen, "bad multiboot module entry %u", i);
            return -EINVAL;
        }
        out->mods[out->nmods++] = (struct boot_module){ m.mod_start, m.mod_end, s };
    }
    return 0;
}

int bootinfo_parse(uint32_t magic, uint64_t info_pa, phys_reader_fn rd, void *ctx,
                   struct boot_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->cmdline = "";
    out->info_pa = info_pa;
    if (magic != MB_BOOT_MAGIC) {
        fmt_snprintf(err, errlen, "not started by a multiboot loader (magic 0x%x)", magic);
        return -EINVAL;
    }
    const struct mb_info *mbi = rd(ctx, info_pa, sizeof(*mbi));
    if (!mbi) {
        fmt_snprintf(err, errlen, "multiboot info at 0x%llx unreadable", (unsigned long long)info_pa);
        return -EINVAL;
    }
    if (mbi->flags & MB_IF_CMDLINE) {
        out->cmdline = read_string(rd, ctx, mbi->cmdline);
        if (!out->cmdline) {
            fmt_snprintf(err, errlen, "command line unreadable or too long");
            return -EINVAL;
        }
    }
    if (!(mbi->flags & MB_IF_MMAP)) {
        fmt_snprintf(err, errlen, "the boot loader gave no memory map");
        return -EINVAL;
    }
    int rc = parse_mmap(mbi, rd, ctx, out, err, errlen);
    if (!rc && (mbi->flags & MB_IF_MODS))
        rc = parse_modules(mbi, rd, ctx, out, err, errlen);
    return rc;
}

static const char *first_word_end(const char *s)
{
    while (*s && *s != ' ')
        s++;
    return s;
}

void module_name(const char *string, char *name, size_t size)
{
    const char *end = first_word_end(string), *base = string;
    for (const char *p = string; p < end; p++)
        if (*p == '/')
            base = p + 1;
    size_t n = 0;
    while (base + n < end && base[n] != '.' && n + 1 < size) {
        name[n] = base[n];
        n++;
    }
    if (size)
        name[n] = '\0';
}

const char *module_args(const char *string)
{
    const char *p = first_word_end(string);
    while (*p == ' ')
        p++;
    return p;
}

int bootinfo_find_module(const struct boot_info *bi, const char *name)
{
    char n[64];
    for (size_t i = 0; i < bi->nmods; i++) {
        module_name(bi->mods[i].string, n, sizeof(n));
        if (!strcmp(n, name))
            return (int)i;
    }
    return -1;
}
