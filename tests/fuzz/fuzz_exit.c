/* libFuzzer target: hv/arch/x86/svm/exitcode.c (exit names and reasons, the IOIO
 * EXITINFO1 decoder: values the CPU reports about what the guest did) and
 * hv/arch/x86/svm/msrpm.c (the MSR permission map).
 *
 * Input: [code:8][buflen][exitinfo1:8], then MSR operations until the input ends:
 *   [op][msr selector...]: op bits 0-1: 0/1 msrpm_set (read and write intercepts
 *   from bits 2 and 3), 2 a check of an MSR never set, 3 with bits 4-7 set
 *   reinitialize.
 * MSRs are near the bases of the three ranges the map describes (and their
 * edges) or raw. The map is a heap block of exactly MSRPM_SIZE bytes; a model of
 * every MSR set so far is checked against msrpm_intercepts after each step. */
#include "fuzz.h"

#include "arch/x86/svm/exitcode.h"
#include "arch/x86/svm/msrpm.h"
#include "core/errno.h"

#define MAX_MODEL 512

struct model_entry {
    uint32_t msr;
    bool r, w;
};

static struct {
    struct model_entry e[MAX_MODEL];
    unsigned n;
} model;

static bool in_ranges(uint32_t msr)
{
    return msr < 0x2000u || (msr >= 0xC0000000u && msr < 0xC0002000u) ||
           (msr >= 0xC0010000u && msr < 0xC0012000u);
}

static struct model_entry *model_find(uint32_t msr)
{
    for (unsigned i = 0; i < model.n; i++)
        if (model.e[i].msr == msr)
            return &model.e[i];
    return NULL;
}

static uint32_t pick_msr(struct fin *f)
{
    static const uint32_t bases[] = { 0x0u, 0xC0000000u, 0xC0010000u, 0x1FFFu, 0xC0001FFFu,
                                      0xC0011FFFu, 0x2000u, 0xC0002000u, 0xC0012000u, 0x800u,
                                      0xBFFFFFFFu, 0xC000FFFFu, 0xFFFFFFFFu };
    uint8_t sel = fin_u8(f);
    if (sel >= 0xE0)
        return fin_u32(f);
    uint32_t base = bases[sel % (sizeof(bases) / sizeof(bases[0]))];
    int16_t delta = (int16_t)fin_u16(f);
    return sel & 0x10 ? base + (uint32_t)(delta & 0x1FFF) : base + (uint32_t)(int32_t)(delta % 4);
}

static void check_model(const uint8_t *map)
{
    for (unsigned i = 0; i < model.n; i++) {
        const struct model_entry *e = &model.e[i];
        FUZZ_CHECK(msrpm_intercepts(map, e->msr, false) == e->r && msrpm_intercepts(map, e->msr, true) == e->w,
                   "MSR 0x%x: set (%d, %d), map says (%d, %d)", e->msr, e->r, e->w,
                   msrpm_intercepts(map, e->msr, false), msrpm_intercepts(map, e->msr, true));
    }
}

static void fuzz_exitcode(uint64_t code, unsigned buflen, uint64_t info1)
{
    char *buf = malloc(buflen ? buflen : 1);
    FUZZ_CHECK(buf != NULL);
    const char *name = svm_exit_name(code, buf, buflen);
    FUZZ_CHECK(name == buf);
    if (buflen) {
        FUZZ_CHECK(fuzz_nul_within(buf, buflen), "name not terminated in %u bytes", buflen);
        if (buflen >= 24)
            FUZZ_CHECK(buf[0] != '\0');
    }
    free(buf);
    enum exit_reason r = svm_exit_reason(code);
    FUZZ_CHECK((unsigned)r < EXIT_R_COUNT, "reason %d", r);

    struct ioio_info io;
    memset(&io, 0xa5, sizeof(io));
    bool ok = svm_decode_ioio(info1, &io);
    FUZZ_CHECK(io.size == 0 || io.size == 1 || io.size == 2 || io.size == 4);
    FUZZ_CHECK(ok == (io.size != 0));
    FUZZ_CHECK(io.port == (uint16_t)(info1 >> 16));
    FUZZ_CHECK(io.in == (info1 & 1) && io.string == ((info1 >> 2) & 1) && io.rep == ((info1 >> 3) & 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = fin_make(data, size);
    uint64_t code = fin_u8(&f) & 1 ? fin_u64(&f) : fin_u16(&f) & 0x4FF;
    unsigned buflen = fin_u8(&f) % 40;
    uint64_t info1 = fin_u64(&f);
    fuzz_exitcode(code, buflen, info1);

    uint8_t *map = malloc(MSRPM_SIZE);
    FUZZ_CHECK(map != NULL);
    msrpm_init(map);
    model.n = 0;
    for (unsigned n = 0; fin_left(&f) && n < 1024; n++) {
        uint8_t op = fin_u8(&f);
        uint32_t msr = pick_msr(&f);
        switch (op & 3) {
        case 0:
        case 1: {
            bool r = op & 4, w = op & 8;
            if (!model_find(msr) && model.n == MAX_MODEL) {
                msrpm_init(map);
                model.n = 0;
            }
            int rc = msrpm_set(map, msr, r, w);
            FUZZ_CHECK(rc == (in_ranges(msr) ? 0 : -EINVAL), "msrpm_set(0x%x): %d", msr, rc);
            if (rc) {
                FUZZ_CHECK(msrpm_intercepts(map, msr, false) && msrpm_intercepts(map, msr, true));
                break;
            }
            struct model_entry *e = model_find(msr);
            if (!e)
                e = &model.e[model.n++];
            *e = (struct model_entry){ msr, r, w };
            FUZZ_CHECK(msrpm_intercepts(map, msr, false) == r && msrpm_intercepts(map, msr, true) == w);
            break;
        }
        case 2:
            /* an MSR never set, or outside the map, is intercepted both ways */
            if (!model_find(msr))
                FUZZ_CHECK(msrpm_intercepts(map, msr, false) && msrpm_intercepts(map, msr, true),
                           "MSR 0x%x passes through without being set", msr);
            break;
        default:
            if ((op & 0xF0) == 0xF0) {
                msrpm_init(map);
                model.n = 0;
            }
            break;
        }
        check_model(map);
    }
    free(map);
    return 0;
}
