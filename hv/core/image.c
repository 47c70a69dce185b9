#include "core/image.h"
#include "core/errno.h"
#include "core/fmt.h"
#include "core/multiboot.h"
#include <stdbool.h>
#include <string.h>

/* ELF structures (System V ABI, and its AMD64 and i386 supplements) */
#define EI_NIDENT 16
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_NOTE 4
/* The PVH entry (Xen's public elfnote.h, XEN_ELFNOTE_PHYS32_ENTRY): the 32-bit
 * physical address a kernel that implements the PVH boot ABI starts at. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct elf32_ehdr {
    uint8_t e_ident[EI_NIDENT];
    uint16_t e_type, e_machine;
    uint32_t e_version, e_entry, e_phoff, e_shoff, e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 header");

struct elf32_phdr {
    uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 program header");

struct elf64_ehdr {
    uint8_t e_ident[EI_NIDENT];
    uint16_t e_type, e_machine;
    uint32_t e_version;
    uint64_t e_entry, e_phoff, e_shoff;
    uint32_t e_flags;
    uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");

struct elf64_phdr {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");

/* One piece to place: file bytes [off, off + filesz) at gpa, then zeroes to memsz. */
struct segment {
    uint64_t off, filesz, gpa, memsz;
};

static int place(const struct gmem *g, uint64_t limit, const uint8_t *data, size_t size,
                 const struct segment *s, struct image *out, char *err, size_t errlen)
{
    if (s->filesz > s->memsz || s->off > size || s->filesz > size - s->off) {
        fmt_snprintf(err, errlen, "image segment at file offset 0x%llx is truncated",
                     (unsigned long long)s->off);
        return -ENOEXEC;
    }
    uint8_t *dst = gmem_ptr(g, s->gpa, s->memsz);
    if (!dst || s->gpa + s->memsz > limit) {
        fmt_snprintf(err, errlen, "image segment [0x%llx, 0x%llx) does not fit in guest RAM below 0x%llx",
                     (unsigned long long)s->gpa, (unsigned long long)(s->gpa + s->memsz),
                     (unsigned long long)limit);
        return -ENOSPC;
    }
    memcpy(dst, data + s->off, s->filesz);
    memset(dst + s->filesz, 0, s->memsz - s->filesz);
    if (s->memsz) {
        if (s->gpa < out->load_start)
            out->load_start = s->gpa;
        if (s->gpa + s->memsz > out->load_end)
            out->load_end = s->gpa + s->memsz;
    }
    return 0;
}

static bool elf_ident_ok(const uint8_t *data, size_t size, uint8_t cls)
{
    return size >= EI_NIDENT && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' &&
           data[3] == 'F' && data[4] == cls && data[5] == ELFDATA2LSB;
}

static bool phdrs_in_file(uint64_t phoff, uint64_t phnum, uint64_t entsize, uint64_t want,
                          size_t size)
{
    return entsize == want && phnum <= 256 && phoff <= size && phnum * want <= size - phoff;
}

static int load_elf32(const struct gmem *g, uint64_t limit, const uint8_t *data, size_t size,
                      struct image *out, char *err, size_t errlen)
{
    struct elf32_ehdr eh;
    memcpy(&eh, data, sizeof(eh));
    if (eh.e_machine != EM_386 || eh.e_type != ET_EXEC ||
        !phdrs_in_file(eh.e_phoff, eh.e_phnum, eh.e_phentsize, sizeof(struct elf32_phdr), size)) {
        fmt_snprintf(err, errlen, "ELF32 image is not an i386 executable with valid program headers");
        return -ENOEXEC;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        struct elf32_phdr ph;
        memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        struct segment s = { ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz };
        int rc = place(g, limit, data, size, &s, out, err, errlen);
        if (rc)
            return rc;
    }
    out->entry = eh.e_entry;
    return 0;
}

struct elf_note {
    uint32_t n_namesz, n_descsz, n_type;
};
_Static_assert(sizeof(struct elf_note) == 12, "ELF note header");

/* The PVH entry from a PT_NOTE segment, or 0. Notes are 4-byte aligned (gABI). */
static uint64_t pvh_entry(const uint8_t *data, size_t size, const struct elf64_phdr *ph)
{
    if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
        return 0;
    const uint8_t *p = data + ph->p_offset, *end = p + ph->p_filesz;
    while ((size_t)(end - p) >= sizeof(struct elf_note)) {
        struct elf_note n;
        memcpy(&n, p, sizeof(n));
        uint64_t name = (n.n_namesz + 3ull) & ~3ull, desc = (n.n_descsz + 3ull) & ~3ull;
        p += sizeof(n);
        if (name > (size_t)(end - p) || desc > (size_t)(end - p) - name)
            return 0;
        if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 && !memcmp(p, "Xen", 4) &&
            (n.n_descsz == 4 || n.n_descsz == 8)) {
            uint64_t entry = 0;
            memcpy(&entry, p + name, n.n_descsz);
            return entry & 0xffffffffu;
        }
        p += name + desc;
    }
    return 0;
}

static int load_elf64(const struct gmem *g, uint64_t limit, const uint8_t *data, size_t size,
                      struct image *out, char *err, size_t errlen)
{
    struct elf64_ehdr eh;
    memcpy(&eh, data, sizeof(eh));
    if (eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC ||
        !phdrs_in_file(eh.e_phoff, eh.e_phnum, eh.e_phentsize, sizeof(struct elf64_phdr), size)) {
        fmt_snprintf(err, errlen, "ELF64 image is not an x86-64 executable with valid program headers");
        return -ENOEXEC;
    }
    out->entry = eh.e_entry;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        struct elf64_phdr ph;
        memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        uint64_t pvh = ph.p_type == PT_NOTE ? pvh_entry(data, size, &ph) : 0;
        if (pvh) {
            out->kind = IMAGE_PVH;
            out->entry = pvh;
        }
        if (ph.p_type != PT_LOAD)
            continue;
        struct segment s = { ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz };
        int rc = place(g, limit, data, size, &s, out, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

const void *image_find_mb_header(const uint8_t *data, size_t size, size_t *offset)
{
    size_t end = size < MB_SEARCH_BYTES ? size : MB_SEARCH_BYTES;
    for (size_t off = 0; off + 12 <= end; off += 4) {
        uint32_t w[3];
        memcpy(w, data + off, sizeof(w));
        if (w[0] == MB_HEADER_MAGIC && (uint32_t)(w[0] + w[1] + w[2]) == 0) {
            if (offset)
                *offset = off;
            return data + off;
        }
    }
    return NULL;
}

/* Multiboot spec 3.1.3: the address fields locate the text in the file. */
static int load_aout_kludge(const struct gmem *g, uint64_t limit, const uint8_t *data, size_t size,
                            const struct mb_header *h, size_t hoff, struct image *out, char *err,
                            size_t errlen)
{
    if (size - hoff < sizeof(*h) || h->header_addr < h->load_addr ||
        h->header_addr - h->load_addr > hoff ||
        (h->load_end_addr && h->load_end_addr < h->load_addr) ||
        (h->bss_end_addr && h->bss_end_addr < (h->load_end_addr ? h->load_end_addr : h->load_addr))) {
        fmt_snprintf(err, errlen, "multiboot a.out-kludge address fields are inconsistent");
        return -ENOEXEC;
    }
    uint64_t off = hoff - (h->header_addr - h->load_addr);
    uint64_t filesz = h->load_end_addr ? h->load_end_addr - h->load_addr : size - off;
    uint64_t memsz = h->bss_end_addr ? h->bss_end_addr - h->load_addr : filesz;
    struct segment s = { off, filesz, h->load_addr, memsz };
    int rc = place(g, limit, data, size, &s, out, err, errlen);
    out->entry = h->entry_addr;
    return rc;
}

static int load_multiboot(const struct gmem *g, uint64_t limit, const uint8_t *data, size_t size,
                          struct image *out, char *err, size_t errlen)
{
    size_t hoff;
    const uint8_t *hp = image_find_mb_header(data, size, &hoff);
    if (!hp) {
        fmt_snprintf(err, errlen, "image is neither ELF64 nor a multiboot kernel (no header in its first 8 KiB)");
        return -ENOEXEC;
    }
    struct mb_header h = { 0 };
    memcpy(&h, hp, size - hoff < sizeof(h) ? size - hoff : sizeof(h));
    uint32_t known = MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO | MB_HF_VIDEO_MODE;
    if (h.flags & 0xffffu & ~known) {
        fmt_snprintf(err, errlen, "multiboot header requires features eli lacks (flags 0x%x)", h.flags);
        return -EOPNOTSUPP;
    }
    out->kind = IMAGE_MULTIBOOT;
    if (h.flags & MB_HF_AOUT_KLUDGE)
        return load_aout_kludge(g, limit, data, size, &h, hoff, out, err, errlen);
    if (elf_ident_ok(data, size, ELFCLASS32) && size >= sizeof(struct elf32_ehdr))
        return load_elf32(g, limit, data, size, out, err, errlen);
    fmt_snprintf(err, errlen, "multiboot kernel is not ELF32 and has no a.out-kludge addresses");
    return -ENOEXEC;
}

int image_load(const struct gmem *g, uint64_t limit, const uint8_t *data, size_t size,
               struct image *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->load_start = UINT64_MAX;
    int rc;
    if (elf_ident_ok(data, size, ELFCLASS64) && size >= sizeof(struct elf64_ehdr)) {
        out->kind = IMAGE_ELF64;
        rc = load_elf64(g, limit, data, size, out, err, errlen);
    } else {
        rc = load_multiboot(g, limit, data, size, out, err, errlen);
    }
    if (!rc && out->load_end == 0) {
        fmt_snprintf(err, errlen, "image has nothing to load");
        rc = -ENOEXEC;
    }
    if (!rc && (out->entry < out->load_start || out->entry >= out->load_end)) {
        fmt_snprintf(err, errlen, "image entry 0x%llx lies outside what it loads",
                     (unsigned long long)out->entry);
        rc = -ENOEXEC;
    }
    return rc;
}
