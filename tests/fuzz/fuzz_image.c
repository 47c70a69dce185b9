/* libFuzzer target: hv/core/image.c, loading a guest image (ELF64, ELF32
 * multiboot, multiboot a.out kludge) into guest RAM, and image_find_mb_header.
 *
 * Input: the image itself, byte for byte, so real images are seeds as they are.
 * Guest RAM is 16 MiB, allocated once (exactly that size, so ASan reports a write
 * beyond it). The image lies in a heap block of exactly its size. After a
 * successful load the same image is loaded again with the limit at its end (it
 * must load the same, unless an empty segment lies above) and just below it (it
 * must not fit). */
#include "fuzz.h"

#include "core/errno.h"
#include "core/gmem.h"
#include "core/image.h"
#include "core/multiboot.h"

#define GMEM_SIZE (16u << 20)
#define ERRLEN 96

static struct gmem g;

static void check_err(const char *err, int rc)
{
    if (rc) {
        FUZZ_CHECK(fuzz_nul_within(err, ERRLEN), "error message not terminated");
        FUZZ_CHECK(err[0] != '\0', "error %d without a message", rc);
    }
}

static int load(const uint8_t *img, size_t size, uint64_t limit, struct image *out)
{
    char *err = malloc(ERRLEN);
    FUZZ_CHECK(err != NULL);
    memset(err, 0, ERRLEN);
    memset(out, 0xa5, sizeof(*out));
    int rc = image_load(&g, limit, img, size, out, err, ERRLEN);
    FUZZ_CHECK(rc == 0 || rc == -ENOEXEC || rc == -ENOSPC || rc == -EOPNOTSUPP, "rc %d", rc);
    check_err(err, rc);
    free(err);
    return rc;
}

static void check_mb_header(const uint8_t *img, size_t size)
{
    size_t off = (size_t)-1;
    const uint8_t *h = image_find_mb_header(img, size, &off);
    if (!h) {
        FUZZ_CHECK(off == (size_t)-1);
        return;
    }
    size_t end = size < MB_SEARCH_BYTES ? size : MB_SEARCH_BYTES;
    FUZZ_CHECK(h == img + off && off % 4 == 0 && off + 12 <= end, "header at %zu of %zu", off, size);
    uint32_t w[3];
    memcpy(w, h, sizeof(w));
    FUZZ_CHECK(w[0] == MB_HEADER_MAGIC && (uint32_t)(w[0] + w[1] + w[2]) == 0);
    FUZZ_CHECK(image_find_mb_header(img, size, NULL) == h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g.hva) {
        g.hva = calloc(1, GMEM_SIZE);
        FUZZ_CHECK(g.hva != NULL);
        g.size = GMEM_SIZE;
    }
    uint8_t *img = malloc(size ? size : 1);
    FUZZ_CHECK(img != NULL);
    memcpy(img, data, size);
    const uint8_t *p = size ? img : img + 1; /* empty: nothing ASan lets it read */

    check_mb_header(p, size);

    struct image im, again;
    int rc = load(p, size, GMEM_SIZE, &im);
    if (rc == 0) {
        FUZZ_CHECK(im.kind == IMAGE_ELF64 || im.kind == IMAGE_MULTIBOOT);
        FUZZ_CHECK(im.load_start < im.load_end && im.load_end <= GMEM_SIZE, "span [0x%llx, 0x%llx)",
                   (unsigned long long)im.load_start, (unsigned long long)im.load_end);
        FUZZ_CHECK(im.entry >= im.load_start && im.entry < im.load_end);
        /* an empty segment above the span is still checked against the limit */
        rc = load(p, size, im.load_end, &again);
        FUZZ_CHECK(rc == -ENOSPC || (rc == 0 && memcmp(&again, &im, sizeof(im)) == 0),
                   "loads differently with the limit at its end 0x%llx", (unsigned long long)im.load_end);
        FUZZ_CHECK(load(p, size, im.load_end - 1, &again) == -ENOSPC,
                   "fits below its own end 0x%llx", (unsigned long long)im.load_end);
    }
    free(img);
    return 0;
}
