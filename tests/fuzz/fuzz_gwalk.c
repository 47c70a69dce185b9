/* libFuzzer target: hv/arch/x86/gwalk.c, the guest page-table walker (the
 * tables are the guest's: wholly untrusted).
 *
 * Input: [cr0:8][cr3:8][cr4:8][efer:8][cfg][nops] nops x [gva:8][flags][len:2],
 * then the guest's RAM: 64 KiB at guest-physical 0, filled from the rest of the
 * input (zeros beyond it).
 *   cfg bit 0: "aliased" RAM: every guest-physical address below 2^52 reads
 *              RAM at (gpa mod 64 KiB), so that arbitrary table entries lead
 *              somewhere and deep walks are reached; else only [0, 64 KiB) is RAM.
 *   cfg bits 1-3: force CR0.PG, EFER.LMA (with CR4.PAE), CR4.PAE on top of the
 *              input's registers, so each paging mode is one bit away.
 *   flags: bit 0 write, 1 fetch, 2 user, 3 gwalk_read (else gwalk_translate).
 *
 * The read_gpa callback hands out a fresh heap copy of exactly the bytes asked
 * for (freed after the walk), so ASan reports any read beyond a request. */
#include "fuzz.h"

#include "arch/x86/gwalk.h"
#include "core/errno.h"

#define RAM_SIZE 0x10000u
#define PHYS_LIMIT (1ull << 52)
#define MAX_COPIES 4096

struct fake_ram {
    uint8_t *ram;
    bool aliased;
    void *copies[MAX_COPIES];
    unsigned ncopies;
};

static const uint8_t *ram_at(struct fake_ram *r, uint64_t gpa, uint64_t len)
{
    if (len == 0 || len > RAM_SIZE)
        return NULL;
    if (r->aliased) {
        if (gpa >= PHYS_LIMIT || len > PHYS_LIMIT - gpa)
            return NULL;
        uint64_t off = gpa % RAM_SIZE;
        return off + len <= RAM_SIZE ? r->ram + off : NULL;
    }
    if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
        return NULL;
    return r->ram + gpa;
}

static const void *read_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
    struct fake_ram *r = opaque;
    /* gwalk.h: one entry (4 or 8 bytes, naturally aligned) or at most the rest of
     * one 4 KiB page */
    FUZZ_CHECK(len == 4 || len == 8 || (len >= 1 && len <= 0x1000 - (gpa & 0xfff)),
               "read_gpa(0x%llx, %llu)", (unsigned long long)gpa, (unsigned long long)len);
    const uint8_t *src = ram_at(r, gpa, len);
    if (!src)
        return NULL;
    FUZZ_CHECK(r->ncopies < MAX_COPIES);
    void *copy = malloc(len);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, src, len);
    r->copies[r->ncopies++] = copy;
    return copy;
}

static void free_copies(struct fake_ram *r)
{
    for (unsigned i = 0; i < r->ncopies; i++)
        free(r->copies[i]);
    r->ncopies = 0;
}

static bool rc_ok(int rc)
{
    return rc == 0 || rc == -EFAULT || rc == -EINVAL || rc == -EIO || rc == -EOPNOTSUPP;
}

static void check_translate(struct gwalk_ctx *c, struct fake_ram *r, uint64_t gva, bool write,
                            bool fetch, bool user)
{
    uint64_t gpa = 0xdeadbeef, base_gpa = 0xdeadbeef;
    int rc = gwalk_translate(c, gva, write, fetch, user, &gpa);
    free_copies(r);
    FUZZ_CHECK(rc_ok(rc), "rc %d", rc);
    bool paging = c->cr0 & (1ull << 31);
    bool long_mode = paging && (c->efer & (1ull << 10));
    if (!paging) {
        FUZZ_CHECK(rc == 0 && gpa == (uint32_t)gva);
        return;
    }
    if (rc == 0) {
        FUZZ_CHECK((gpa & 0xfff) == (gva & 0xfff), "gva 0x%llx gpa 0x%llx", (unsigned long long)gva,
                   (unsigned long long)gpa);
        FUZZ_CHECK(gpa < PHYS_LIMIT);
        if (!long_mode && !(c->cr4 & (1ull << 5)))
            FUZZ_CHECK(gpa < (1ull << 40)); /* 32-bit paging: PSE-36 at most */
    }
    if (!long_mode)
        FUZZ_CHECK(rc != -EINVAL && rc != -EOPNOTSUPP);
    /* A supervisor read needs no right: when it fails, the walk itself failed, and
     * every access fails the same way; when it succeeds, others fail only on rights. */
    int base = gwalk_translate(c, gva, false, false, false, &base_gpa);
    free_copies(r);
    if (base)
        FUZZ_CHECK(rc == base, "rc %d, supervisor read %d", rc, base);
    else
        FUZZ_CHECK((rc == 0 && gpa == base_gpa) || rc == -EFAULT, "rc %d gpa 0x%llx/0x%llx", rc,
                   (unsigned long long)gpa, (unsigned long long)base_gpa);
}

static void check_read(struct gwalk_ctx *c, struct fake_ram *r, uint64_t gva, size_t len, bool fetch)
{
    uint8_t *dst = malloc(len ? len : 1);
    FUZZ_CHECK(dst != NULL);
    int rc = gwalk_read(c, gva, dst, len, fetch);
    free_copies(r);
    FUZZ_CHECK(rc_ok(rc), "rc %d", rc);
    if (rc == 0) {
        /* every byte is the one the translation of its address names */
        size_t i = 0;
        while (i < len) {
            uint64_t gpa;
            size_t chunk = 0x1000 - ((gva + i) & 0xfff);
            if (chunk > len - i)
                chunk = len - i;
            FUZZ_CHECK(gwalk_translate(c, gva + i, false, fetch, false, &gpa) == 0);
            const uint8_t *src = ram_at(r, gpa, chunk);
            free_copies(r);
            FUZZ_CHECK(src && memcmp(dst + i, src, chunk) == 0, "byte %zu of gwalk_read", i);
            i += chunk;
        }
    }
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = fin_make(data, size);
    static struct fake_ram r;
    struct gwalk_ctx c = { 0 };
    c.cr0 = fin_u64(&f);
    c.cr3 = fin_u64(&f);
    c.cr4 = fin_u64(&f);
    c.efer = fin_u64(&f);
    uint8_t cfg = fin_u8(&f);
    r.aliased = cfg & 1;
    if (cfg & 2)
        c.cr0 |= 1ull << 31;
    if (cfg & 4) {
        c.efer |= 1ull << 10;
        c.cr4 |= 1ull << 5;
    }
    if (cfg & 8)
        c.cr4 |= 1ull << 5;
    c.read_gpa = read_gpa;
    c.opaque = &r;

    unsigned nops = fin_u8(&f) % 9;
    struct { uint64_t gva; uint8_t flags; uint16_t len; } ops[8];
    for (unsigned i = 0; i < nops; i++) {
        ops[i].gva = fin_u64(&f);
        ops[i].flags = fin_u8(&f);
        ops[i].len = fin_u16(&f) % 0x2001;
    }
    r.ram = malloc(RAM_SIZE);
    FUZZ_CHECK(r.ram != NULL);
    fin_bytes(&f, r.ram, RAM_SIZE);

    for (unsigned i = 0; i < nops; i++) {
        bool write = ops[i].flags & 1, fetch = ops[i].flags & 2, user = ops[i].flags & 4;
        if (ops[i].flags & 8)
            check_read(&c, &r, ops[i].gva, ops[i].len, fetch);
        else
            check_translate(&c, &r, ops[i].gva, write, fetch, user);
    }
    free(r.ram);
    r.ram = NULL;
    return 0;
}
