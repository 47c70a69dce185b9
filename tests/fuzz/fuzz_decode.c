/* libFuzzer target: hv/arch/x86/decode.c, the decoder of the instructions eli
 * emulates (the bytes come from the guest's memory at a trapped RIP).
 *
 * Input: [mode][avail][avail instruction bytes][next_rip:8][loaded:8][16 gprs:8 each]
 *   mode   low 2 bits: 16, 32, 64, or the raw byte (an invalid mode)
 *   avail  low 5 bits: how many bytes the decoder may read (0-31)
 * The instruction bytes sit in a heap buffer of exactly `avail` bytes, so ASan
 * reports any read past it. On success the operand helpers run on the registers
 * from the input, and the decoded fields are checked against decode.h. */
#include "fuzz.h"

#include "arch/x86/decode.h"
#include "core/errno.h"

static uint64_t mask_of(unsigned bytes)
{
    return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
}

static bool valid_gpr(int r)
{
    return r == X86_REG_NONE || (r >= 0 && r < 16);
}

static bool is_load(enum x86_insn_kind k)
{
    return k == INSN_MOV_FROM_MEM || k == INSN_MOVZX || k == INSN_MOVSX;
}

static bool is_dtr(enum x86_insn_kind k)
{
    return k == INSN_SGDT || k == INSN_SIDT || k == INSN_LGDT || k == INSN_LIDT;
}

static void check_fields(const struct x86_insn *in, int mode, size_t avail)
{
    const struct x86_memop *m = &in->mem;
    FUZZ_CHECK(in->length >= 1 && in->length <= X86_MAX_INSN_LEN && in->length <= avail,
               "length %u avail %zu", in->length, avail);
    FUZZ_CHECK(in->kind != INSN_OTHER);
    FUZZ_CHECK(valid_gpr(in->reg) && valid_gpr(m->base) && valid_gpr(m->index));
    FUZZ_CHECK(m->scale == 1 || m->scale == 2 || m->scale == 4 || m->scale == 8);
    FUZZ_CHECK(m->index != X86_REG_NONE || m->scale == 1);
    FUZZ_CHECK(m->addr_size == 2 || m->addr_size == 4 || m->addr_size == 8);
    FUZZ_CHECK(mode == 64 || m->addr_size != 8);
    FUZZ_CHECK(mode != 64 || m->addr_size != 2);
    FUZZ_CHECK(!m->rip_relative || (mode == 64 && m->base == X86_REG_NONE && m->index == X86_REG_NONE));
    FUZZ_CHECK(m->seg_override >= X86_SEG_NONE && m->seg_override <= X86_SEG_GS);
    FUZZ_CHECK(m->addr_size != 2 || (m->base == X86_REG_NONE || m->base == X86_RBX ||
                                     m->base == X86_RBP || m->base == X86_RSI || m->base == X86_RDI));
    FUZZ_CHECK(in->op_size == 1 || in->op_size == 2 || in->op_size == 4 || in->op_size == 8,
               "op_size %u", in->op_size);
    FUZZ_CHECK(mode == 64 || in->op_size != 8);
    FUZZ_CHECK(!in->reg_high_byte || (in->reg >= 0 && in->reg < 4 && in->op_size == 1));
    if (is_dtr(in->kind)) {
        FUZZ_CHECK(in->reg == X86_REG_NONE);
        FUZZ_CHECK(in->mem_size == (mode == 64 ? 10u : 6u));
    } else if (in->kind == INSN_MOVZX || in->kind == INSN_MOVSX) {
        FUZZ_CHECK(in->mem_size == 1 || in->mem_size == 2);
        FUZZ_CHECK(in->op_size >= 2 && in->reg != X86_REG_NONE);
    } else {
        FUZZ_CHECK(in->mem_size == in->op_size);
        FUZZ_CHECK((in->kind == INSN_MOV_IMM_TO_MEM) == (in->reg == X86_REG_NONE));
    }
    FUZZ_CHECK(in->kind == INSN_MOV_IMM_TO_MEM || in->imm == 0);
    FUZZ_CHECK(in->mem_size == 8 || in->kind != INSN_MOV_IMM_TO_MEM || (in->imm & ~mask_of(in->mem_size)) == 0,
               "imm 0x%llx mem_size %u", (unsigned long long)in->imm, in->mem_size);
}

static void check_helpers(const struct x86_insn *in, const uint64_t gprs_in[16], uint64_t next_rip,
                          uint64_t loaded)
{
    uint64_t ea = x86_effective_address(in, gprs_in, next_rip);
    FUZZ_CHECK((ea & ~mask_of(in->mem.addr_size)) == 0, "ea 0x%llx addr_size %u",
               (unsigned long long)ea, in->mem.addr_size);
    int seg = x86_memop_segment(&in->mem);
    FUZZ_CHECK(seg >= X86_SEG_ES && seg <= X86_SEG_GS);

    uint64_t sv = x86_insn_store_value(in, gprs_in);
    bool store = in->kind == INSN_MOV_TO_MEM || in->kind == INSN_MOV_IMM_TO_MEM;
    FUZZ_CHECK(store || sv == 0);
    FUZZ_CHECK(in->mem_size > 8 || (sv & ~mask_of(in->mem_size)) == 0);

    uint64_t gprs[16];
    memcpy(gprs, gprs_in, sizeof(gprs));
    int rc = x86_insn_complete_load(in, gprs, loaded);
    FUZZ_CHECK(is_load(in->kind) ? rc == 0 : rc == -EINVAL, "rc %d kind %d", rc, in->kind);
    for (int r = 0; r < 16; r++)
        FUZZ_CHECK(r == in->reg || gprs[r] == gprs_in[r], "register %d changed", r);
    if (rc == 0) {
        uint64_t old = gprs_in[in->reg], now = gprs[in->reg];
        if (in->op_size == 4)
            FUZZ_CHECK(now >> 32 == 0);
        if (in->op_size == 2)
            FUZZ_CHECK(now >> 16 == old >> 16);
        if (in->op_size == 1)
            FUZZ_CHECK((now & ~0xffull) == (old & ~0xffull) || in->reg_high_byte);
        if (in->kind == INSN_MOVZX)
            FUZZ_CHECK(((now & mask_of(in->op_size)) >> (8 * in->mem_size)) == 0);
    }
}

static void check_reset(const struct x86_insn *in)
{
    FUZZ_CHECK(in->kind == INSN_OTHER && in->reg == X86_REG_NONE && in->length == 0);
    FUZZ_CHECK(in->mem.base == X86_REG_NONE && in->mem.index == X86_REG_NONE &&
               in->mem.seg_override == X86_SEG_NONE);
}

/* Decodes from a heap buffer of exactly avail bytes. */
static int decode_exact(const uint8_t *bytes, size_t avail, int mode, struct x86_insn *out)
{
    uint8_t *buf = malloc(avail ? avail : 1);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, bytes, avail);
    /* an empty buffer: pass a pointer one past the end of a 1-byte block ASan
     * cannot read through, instead of malloc(0)'s pointer */
    int rc = x86_decode(avail ? buf : buf + 1, avail, mode, out);
    free(buf);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fin f = fin_make(data, size);
    uint8_t msel = fin_u8(&f);
    static const int modes[3] = { 16, 32, 64 };
    int mode = (msel & 3) < 3 ? modes[msel & 3] : (int)(int8_t)msel;
    size_t avail = fin_u8(&f) & 31u;
    if (avail > fin_left(&f))
        avail = fin_left(&f);
    uint8_t bytes[32];
    fin_bytes(&f, bytes, avail);
    uint64_t next_rip = fin_u64(&f), loaded = fin_u64(&f);
    uint64_t gprs[16];
    for (int i = 0; i < 16; i++)
        gprs[i] = fin_u64(&f);

    struct x86_insn in;
    memset(&in, 0xa5, sizeof(in)); /* the decoder must set every field */
    int rc = decode_exact(bytes, avail, mode, &in);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EOPNOTSUPP, "rc %d", rc);
    if (mode != 16 && mode != 32 && mode != 64)
        FUZZ_CHECK(rc == -EINVAL);
    if (rc) {
        check_reset(&in);
        return 0;
    }
    check_fields(&in, mode, avail);
    check_helpers(&in, gprs, next_rip, loaded);

    /* The bytes after the instruction do not matter: exactly `length` bytes
     * decode the same, one fewer is truncated. */
    struct x86_insn again;
    rc = decode_exact(bytes, in.length, mode, &again);
    FUZZ_CHECK(rc == 0 && memcmp(&again, &in, sizeof(in)) == 0, "rc %d with exactly %u bytes", rc,
               in.length);
    rc = decode_exact(bytes, in.length - 1, mode, &again);
    FUZZ_CHECK(rc == -EINVAL, "rc %d with %u of %u bytes", rc, in.length - 1, in.length);
    return 0;
}
