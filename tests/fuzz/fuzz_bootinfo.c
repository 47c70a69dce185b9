/* libFuzzer target: hv/core/bootinfo.c, parsing the multiboot information eli's
 * boot loader hands it (command line, memory map, modules), plus module_name,
 * module_args and bootinfo_find_module on what it parsed.
 *
 * Input: [magic sel][info offset:2][cfg][namelen] then the fake physical memory:
 * the rest of the input, at physical MEM_BASE, in a heap block of exactly its
 * size (the reader gives NULL outside it, and ASan reports a read past it).
 *   magic sel < 0xF0: the multiboot magic, else a raw 32-bit value follows;
 *   info offset: where the info structure lies in the memory;
 *   cfg bit 0: "relocate": the info's cmdline, mmap_addr and mods_addr, and each
 *              module's string, are taken as offsets into the memory (mod its
 *              size) and rewritten as addresses inside it, so that most inputs
 *              reach the inner parsers;
 *   cfg bit 1: keep those fields 4-byte aligned when relocating. */
#include "fuzz.h"

#include "core/bootinfo.h"
#include "core/errno.h"
#include "core/multiboot.h"

#define MEM_BASE 0x100000ull
#define MEM_MAX 0x10000u
#define ERRLEN 96

struct fake_mem {
    uint8_t *bytes;
    size_t size;
};

static const void *rd(void *ctx, uint64_t pa, uint64_t len)
{
    const struct fake_mem *m = ctx;
    FUZZ_CHECK(len > 0, "zero-length read at 0x%llx", (unsigned long long)pa);
    if (pa < MEM_BASE || pa - MEM_BASE > m->size || len > m->size - (pa - MEM_BASE))
        return NULL;
    return m->bytes + (pa - MEM_BASE);
}

static bool inside(const struct fake_mem *m, const void *p, size_t len)
{
    const uint8_t *b = p;
    return b >= m->bytes && len <= m->size && (size_t)(b - m->bytes) <= m->size - len;
}

static uint32_t reloc(const struct fake_mem *m, uint32_t field, bool align)
{
    uint32_t off = (uint32_t)(field % m->size);
    if (align)
        off &= ~3u;
    return (uint32_t)MEM_BASE + off;
}

static void relocate(struct fake_mem *m, uint64_t info_off, bool align)
{
    if (info_off > m->size || m->size - info_off < sizeof(struct mb_info))
        return;
    struct mb_info mbi;
    memcpy(&mbi, m->bytes + info_off, sizeof(mbi));
    mbi.cmdline = reloc(m, mbi.cmdline, false);
    mbi.mmap_addr = reloc(m, mbi.mmap_addr, align);
    mbi.mods_addr = reloc(m, mbi.mods_addr, align);
    if (mbi.mmap_length > m->size)
        mbi.mmap_length %= (uint32_t)m->size + 1;
    memcpy(m->bytes + info_off, &mbi, sizeof(mbi));
    uint32_t n = mbi.mods_count < BOOTINFO_MAX_MODS ? mbi.mods_count : BOOTINFO_MAX_MODS;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t at = mbi.mods_addr - MEM_BASE + i * sizeof(struct mb_module);
        if (at + sizeof(struct mb_module) > m->size)
            break;
        struct mb_module mod;
        memcpy(&mod, m->bytes + at, sizeof(mod));
        if (mod.string)
            mod.string = reloc(m, mod.string, false);
        memcpy(m->bytes + at, &mod, sizeof(mod));
    }
}

static void check_string(const struct fake_mem *m, const char *s)
{
    if (inside(m, s, 1))
        FUZZ_CHECK(fuzz_nul_within(s, m->size - (size_t)((const uint8_t *)s - m->bytes)),
                   "string runs off the memory");
    else
        FUZZ_CHECK(s[0] == '\0', "string outside the memory is not the empty default");
}

static void check_modules(const struct boot_info *bi, unsigned namelen)
{
    for (size_t k = 0; k < bi->nmods; k++) {
        const char *s = bi->mods[k].string;
        char *name = malloc(namelen ? namelen : 1);
        FUZZ_CHECK(name != NULL);
        module_name(s, name, namelen);
        if (namelen) {
            FUZZ_CHECK(fuzz_nul_within(name, namelen));
            FUZZ_CHECK(!strpbrk(name, " /."), "module name '%s'", name);
        }
        free(name);

        const char *args = module_args(s);
        FUZZ_CHECK(args >= s && args <= s + strlen(s) && *args != ' ');

        char full[64];
        module_name(s, full, sizeof(full));
        int j = bootinfo_find_module(bi, full);
        FUZZ_CHECK(j >= 0 && (size_t)j <= k, "module %zu '%s' found at %d", k, full, j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = fin_make(data, size);
    uint8_t msel = fin_u8(&f);
    uint32_t magic = msel < 0xF0 ? MB_BOOT_MAGIC : fin_u32(&f);
    uint16_t info_off = fin_u16(&f);
    uint8_t cfg = fin_u8(&f);
    unsigned namelen = fin_u8(&f) % 40;

    struct fake_mem m;
    m.size = fin_left(&f) < MEM_MAX ? fin_left(&f) : MEM_MAX;
    if (m.size == 0)
        return 0;
    m.bytes = malloc(m.size);
    FUZZ_CHECK(m.bytes != NULL);
    fin_bytes(&f, m.bytes, m.size);
    if (cfg & 1)
        relocate(&m, info_off, cfg & 2);

    struct boot_info *bi = malloc(sizeof(*bi));
    char *err = malloc(ERRLEN);
    FUZZ_CHECK(bi && err);
    memset(err, 0, ERRLEN);
    int rc = bootinfo_parse(magic, MEM_BASE + info_off, rd, &m, bi, err, ERRLEN);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG, "rc %d", rc);
    if (rc) {
        FUZZ_CHECK(fuzz_nul_within(err, ERRLEN) && err[0] != '\0');
    } else {
        FUZZ_CHECK(magic == MB_BOOT_MAGIC);
        FUZZ_CHECK(bi->info_pa == MEM_BASE + info_off);
        FUZZ_CHECK(bi->nranges <= BOOTINFO_MAX_RANGES && bi->nmods <= BOOTINFO_MAX_MODS);
        FUZZ_CHECK(bi->cmdline != NULL);
        check_string(&m, bi->cmdline);
        for (size_t k = 0; k < bi->nmods; k++) {
            FUZZ_CHECK(bi->mods[k].end >= bi->mods[k].start);
            FUZZ_CHECK(bi->mods[k].string != NULL);
            check_string(&m, bi->mods[k].string);
        }
        check_modules(bi, namelen);
    }
    free(err);
    free(bi);
    free(m.bytes);
    return 0;
}
