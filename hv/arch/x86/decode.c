/* x86 instruction decoder for eli's emulation paths; see decode.h.
 * Instruction layout (SDM vol. 2 2.1, APM vol. 3 1.1):
 *   legacy prefixes, REX (64-bit mode), opcode (1-2 bytes), ModRM, SIB,
 *   displacement, immediate. */
#include "arch/x86/decode.h"
#include "core/errno.h"
#include <string.h>

/* REX bits (SDM vol. 2 2.2.1.2): W = 64-bit operand size, R extends
 * ModRM.reg, X extends SIB.index, B extends ModRM.rm / SIB.base. */
#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

/* The bytes being decoded and what the prefixes said. */
struct decoder {
    const uint8_t *bytes;
    size_t limit; /* min(avail, X86_MAX_INSN_LEN): reading past it fails */
    size_t pos;
    int mode;     /* 16, 32 or 64 */
    uint8_t rex;  /* the REX byte, 0 when absent */
    bool opsize_prefix, addrsize_prefix, lock, rep;
    int seg;
};

static int next_byte(struct decoder *d, uint8_t *b)
{
    if (d->pos >= d->limit)
        return -EINVAL;
    *b = d->bytes[d->pos++];
    return 0;
}

/* n (1, 2, 4 or 8) little-endian bytes, zero-extended. */
static int next_uint(struct decoder *d, unsigned n, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t b;
        int rc = next_byte(d, &b);
        if (rc)
            return rc;
        *v |= (uint64_t)b << (8 * i);
    }
    return 0;
}

static uint64_t truncate_to(uint64_t v, unsigned bytes)
{
    return bytes >= 8 ? v : v & ((1ull << (8 * bytes)) - 1);
}

/* The low `bytes` bytes of v as a signed value (flipping then subtracting the
 * sign bit avoids shifting negative numbers). */
static int64_t sign_extend(uint64_t v, unsigned bytes)
{
    if (bytes >= 8)
        return (int64_t)v;
    uint64_t sign = 1ull << (8 * bytes - 1);
    return (int64_t)((truncate_to(v, bytes) ^ sign) - sign);
}

/* n (0, 1, 2 or 4) displacement bytes, sign-extended (SDM vol. 2 2.1.5). */
static int next_disp(struct decoder *d, unsigned n, int64_t *disp)
{
    uint64_t raw;
    int rc = next_uint(d, n, &raw);
    *disp = n ? sign_extend(raw, n) : 0;
    return rc;
}

static int segment_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: return X86_SEG_ES;
    case 0x2e: return X86_SEG_CS;
    case 0x36: return X86_SEG_SS;
    case 0x3e: return X86_SEG_DS;
    case 0x64: return X86_SEG_FS;
    case 0x65: return X86_SEG_GS;
    default: return X86_SEG_NONE;
    }
}

/* Consumes the prefixes (SDM vol. 2 2.1.1, any order, repeats allowed) and
 * returns the first opcode byte. A REX prefix counts only right before the
 * opcode: one followed by a legacy prefix is ignored (SDM vol. 2 2.2.1). */
static int read_prefixes_and_opcode(struct decoder *d, uint8_t *opcode)
{
    for (;;) {
        uint8_t b;
        int rc = next_byte(d, &b);
        if (rc)
            return rc;
        int seg = segment_prefix(b);
        if (seg != X86_SEG_NONE)
            d->seg = seg; /* with several, the last one wins */
        else if (b == 0x66)
            d->opsize_prefix = true;
        else if (b == 0x67)
            d->addrsize_prefix = true;
        else if (b == 0xf0)
            d->lock = true;
        else if (b == 0xf2 || b == 0xf3)
            d->rep = true;
        else if (d->mode == 64 && (b & 0xf0) == 0x40) {
            d->rex = b;
            continue;
        } else {
            *opcode = b;
            return 0;
        }
        d->rex = 0;
    }
}

/* SDM vol. 1 3.6.1 (table 3-4) and vol. 2 2.2.1.2: REX.W beats 66 in 64-bit
 * mode; otherwise 66 toggles the mode's default size. */
static unsigned operand_size(const struct decoder *d)
{
    if (d->mode == 64 && (d->rex & REX_W))
        return 8;
    bool wide = d->mode != 16;
    return wide != d->opsize_prefix ? 4 : 2;
}

/* 67 selects 32-bit addressing in 64-bit mode and toggles 16/32 otherwise. */
static unsigned address_size(const struct decoder *d)
{
    if (d->mode == 64)
        return d->addrsize_prefix ? 4 : 8;
    bool wide = d->mode == 32;
    return wide != d->addrsize_prefix ? 4 : 2;
}

/* 16-bit addressing (SDM vol. 2 table 2-1): r/m picks a base and index pair;
 * mod=00 r/m=110 is a bare disp16 instead of [BP]. */
static int decode_memop16(struct decoder *d, unsigned mod, unsigned rm, struct x86_memop *m)
{
    static const int8_t base16[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP,
                                      X86_RSI, X86_RDI, X86_RBP, X86_RBX };
    static const int8_t index16[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI,
                                       X86_REG_NONE, X86_REG_NONE, X86_REG_NONE, X86_REG_NONE };
    unsigned disp_bytes = mod == 1 ? 1 : mod == 2 ? 2 : 0;
    if (mod == 0 && rm == 6) {
        disp_bytes = 2;
    } else {
        m->base = base16[rm];
        m->index = index16[rm];
    }
    return next_disp(d, disp_bytes, &m->disp);
}

/* SIB byte (SDM vol. 2 table 2-3): index 100 without REX.X means no index;
 * base 101 with mod=00 means no base and a disp32. */
static int decode_sib(struct decoder *d, unsigned mod, struct x86_memop *m, unsigned *disp_bytes)
{
    uint8_t sib;
    int rc = next_byte(d, &sib);
    if (rc)
        return rc;
    unsigned index = ((sib >> 3) & 7) | (d->rex & REX_X ? 8 : 0);
    unsigned base = sib & 7;
    if (index != X86_RSP) {
        m->index = (int)index;
        m->scale = 1u << (sib >> 6);
    }
    if (base == 5 && mod == 0)
        *disp_bytes = 4;
    else
        m->base = (int)(base | (d->rex & REX_B ? 8 : 0));
    return 0;
}

/* 32- and 64-bit addressing (SDM vol. 2 table 2-2, 2.2.1.3-2.2.1.6): r/m=100
 * brings a SIB byte; mod=00 r/m=101 is RIP-relative in 64-bit mode and an
 * absolute disp32 otherwise. Those two r/m values ignore REX.B. */
static int decode_memop32(struct decoder *d, unsigned mod, unsigned rm, struct x86_memop *m)
{
    unsigned disp_bytes = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == 4) {
        int rc = decode_sib(d, mod, m, &disp_bytes);
        if (rc)
            return rc;
    } else if (mod == 0 && rm == 5) {
        disp_bytes = 4;
        m->rip_relative = d->mode == 64;
    } else {
        m->base = (int)(rm | (d->rex & REX_B ? 8 : 0));
    }
    return next_disp(d, disp_bytes, &m->disp);
}

static void init_memop(const struct decoder *d, struct x86_memop *m)
{
    m->base = X86_REG_NONE;
    m->index = X86_REG_NONE;
    m->scale = 1;
    m->disp = 0;
    m->rip_relative = false;
    m->seg_override = d->seg;
    m->addr_size = address_size(d);
}

/* The memory operand of a ModRM byte whose mod is not 11. */
static int decode_memop(struct decoder *d, uint8_t modrm, struct x86_memop *m)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
    init_memop(d, m);
    if (m->addr_size == 2)
        return decode_memop16(d, mod, rm, m);
    return decode_memop32(d, mod, rm, m);
}

static bool is_register_form(uint8_t modrm)
{
    return (modrm >> 6) == 3;
}

static unsigned modrm_reg_field(uint8_t modrm)
{
    return (modrm >> 3) & 7;
}

/* The register of ModRM.reg for an operand of `size` bytes. */
static void set_reg_operand(const struct decoder *d, struct x86_insn *out, uint8_t modrm,
                            unsigned size)
{
    unsigned reg = modrm_reg_field(modrm) | (d->rex & REX_R ? 8 : 0);
    if (size == 1 && !d->rex && reg >= 4) {
        reg -= 4;
        out->reg_high_byte = true;
    }
    out->reg = (int)reg;
}

/* 88/89 (store) and 8A/8B (load): bit 0 selects byte vs full size, bit 1 the
 * direction (the "w" and "d" bits of SDM vol. 2 appendix B.1.4). */
static int decode_mov_modrm(struct decoder *d, uint8_t opcode, struct x86_insn *out)
{
    uint8_t modrm;
    int rc = next_byte(d, &modrm);
    if (rc)
        return rc;
    if (is_register_form(modrm))
        return -EOPNOTSUPP;
    unsigned size = opcode & 1 ? operand_size(d) : 1;
    out->kind = opcode & 2 ? INSN_MOV_FROM_MEM : INSN_MOV_TO_MEM;
    out->op_size = out->mem_size = size;
    set_reg_operand(d, out, modrm, size);
    return decode_memop(d, modrm, &out->mem);
}

/* C6 /0 ib and C7 /0 iw/id (SDM vol. 2 MOV): the immediate follows the
 * displacement; with REX.W an imm32 is sign-extended to 64 bits. */
static int decode_mov_imm(struct decoder *d, uint8_t opcode, struct x86_insn *out)
{
    uint8_t modrm;
    int rc = next_byte(d, &modrm);
    if (rc)
        return rc;
    if (is_register_form(modrm) || modrm_reg_field(modrm) != 0)
        return -EOPNOTSUPP; /* C6/C7 /7 are XABORT/XBEGIN, /1-/6 undefined */
    unsigned size = opcode == 0xc6 ? 1 : operand_size(d);
    rc = decode_memop(d, modrm, &out->mem);
    if (rc)
        return rc;
    uint64_t imm;
    unsigned imm_bytes = size < 4 ? size : 4;
    rc = next_uint(d, imm_bytes, &imm);
    if (rc)
        return rc;
    out->kind = INSN_MOV_IMM_TO_MEM;
    out->op_size = out->mem_size = size;
    out->imm = size == 8 ? (uint64_t)sign_extend(imm, 4) : imm;
    return 0;
}

/* A0/A1 (load) and A2/A3 (store) AL/rAX with a moffs: an absolute offset as
 * wide as the address size, no ModRM (SDM vol. 2 MOV, note on moffs). */
static int decode_mov_moffs(struct decoder *d, uint8_t opcode, struct x86_insn *out)
{
    uint64_t offset;
    init_memop(d, &out->mem);
    int rc = next_uint(d, out->mem.addr_size, &offset);
    if (rc)
        return rc;
    unsigned size = opcode & 1 ? operand_size(d) : 1;
    out->kind = opcode & 2 ? INSN_MOV_TO_MEM : INSN_MOV_FROM_MEM;
    out->op_size = out->mem_size = size;
    out->reg = X86_RAX;
    out->mem.disp = (int64_t)offset;
    return 0;
}

/* 0F B6/B7 (MOVZX) and 0F BE/BF (MOVSX): bit 0 of the opcode selects a
 * 16-bit source; the destination has the operand size. */
static int decode_movx(struct decoder *d, uint8_t opcode2, struct x86_insn *out)
{
    uint8_t modrm;
    int rc = next_byte(d, &modrm);
    if (rc)
        return rc;
    if (is_register_form(modrm))
        return -EOPNOTSUPP;
    out->kind = opcode2 >= 0xbe ? INSN_MOVSX : INSN_MOVZX;
    out->mem_size = opcode2 & 1 ? 2 : 1;
    out->op_size = operand_size(d);
    set_reg_operand(d, out, modrm, out->op_size);
    return decode_memop(d, modrm, &out->mem);
}

/* 0F 01 /0-/3 with a memory operand: SGDT, SIDT, LGDT, LIDT. Their operand
 * is a 2-byte limit then the base: 8 bytes in 64-bit mode, where the operand
 * size is fixed at 64 bits, else 4 (SDM vol. 2 LGDT/LIDT, SGDT, SIDT). The
 * register forms (mod=11) are other instructions (VMRUN, MONITOR, ...). */
static int decode_group7(struct decoder *d, struct x86_insn *out)
{
    static const enum x86_insn_kind kinds[4] = { INSN_SGDT, INSN_SIDT, INSN_LGDT, INSN_LIDT };
    uint8_t modrm;
    int rc = next_byte(d, &modrm);
    if (rc)
        return rc;
    unsigned ext = modrm_reg_field(modrm); /* an opcode extension: REX.R does not apply */
    if (is_register_form(modrm) || ext > 3)
        return -EOPNOTSUPP;
    out->kind = kinds[ext];
    out->op_size = d->mode == 64 ? 8 : operand_size(d);
    out->mem_size = d->mode == 64 ? 10 : 6;
    return decode_memop(d, modrm, &out->mem);
}

static int decode_two_byte(struct decoder *d, struct x86_insn *out)
{
    uint8_t opcode2;
    int rc = next_byte(d, &opcode2);
    if (rc)
        return rc;
    switch (opcode2) {
    case 0x01:
        return decode_group7(d, out);
    case 0xb6: case 0xb7: case 0xbe: case 0xbf:
        return decode_movx(d, opcode2, out);
    default:
        return -EOPNOTSUPP;
    }
}

static int decode_opcode(struct decoder *d, uint8_t opcode, struct x86_insn *out)
{
    switch (opcode) {
    case 0x88: case 0x89: case 0x8a: case 0x8b:
        return decode_mov_modrm(d, opcode, out);
    case 0xc6: case 0xc7:
        return decode_mov_imm(d, opcode, out);
    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        return decode_mov_moffs(d, opcode, out);
    case 0x0f:
        return decode_two_byte(d, out);
    default:
        return -EOPNOTSUPP;
    }
}

static void reset_insn(struct x86_insn *out)
{
    memset(out, 0, sizeof *out);
    out->kind = INSN_OTHER;
    out->reg = X86_REG_NONE;
    out->mem.base = X86_REG_NONE;
    out->mem.index = X86_REG_NONE;
    out->mem.seg_override = X86_SEG_NONE;
}

int x86_decode(const uint8_t *bytes, size_t avail, int cpu_mode, struct x86_insn *out)
{
    reset_insn(out);
    if (cpu_mode != 16 && cpu_mode != 32 && cpu_mode != 64)
        return -EINVAL;
    struct decoder d = {
        .bytes = bytes,
        .limit = avail < X86_MAX_INSN_LEN ? avail : X86_MAX_INSN_LEN,
        .mode = cpu_mode,
        .seg = X86_SEG_NONE,
    };
    uint8_t opcode;
    int rc = read_prefixes_and_opcode(&d, &opcode);
    if (!rc && (d.lock || d.rep))
        rc = -EOPNOTSUPP;
    if (!rc)
        rc = decode_opcode(&d, opcode, out);
    if (rc) {
        reset_insn(out);
        return rc;
    }
    out->length = (unsigned)d.pos;
    return 0;
}

uint64_t x86_effective_address(const struct x86_insn *insn, const uint64_t gprs[16],
                               uint64_t next_rip)
{
    const struct x86_memop *m = &insn->mem;
    uint64_t ea = (uint64_t)m->disp;
    if (m->base != X86_REG_NONE)
        ea += gprs[m->base];
    if (m->index != X86_REG_NONE)
        ea += gprs[m->index] * m->scale;
    if (m->rip_relative)
        ea += next_rip;
    /* the sum wraps at the address size (SDM vol. 1 3.3.7) */
    return truncate_to(ea, m->addr_size);
}

int x86_memop_segment(const struct x86_memop *mem)
{
    if (mem->seg_override != X86_SEG_NONE)
        return mem->seg_override;
    if (mem->base == X86_RSP || mem->base == X86_RBP)
        return X86_SEG_SS;
    return X86_SEG_DS;
}

/* A register's value as an operand of `size` bytes. */
static uint64_t read_reg(const uint64_t gprs[16], int reg, bool high_byte, unsigned size)
{
    uint64_t v = gprs[reg];
    return truncate_to(high_byte ? v >> 8 : v, size);
}

/* Writes an operand of `size` bytes into a register (SDM vol. 1 3.4.1.1). */
static void write_reg(uint64_t gprs[16], int reg, bool high_byte, unsigned size, uint64_t v)
{
    uint64_t old = gprs[reg];
    switch (size) {
    case 1:
        if (high_byte)
            gprs[reg] = (old & ~0xff00ull) | (v & 0xff) << 8;
        else
            gprs[reg] = (old & ~0xffull) | (v & 0xff);
        break;
    case 2:
        gprs[reg] = (old & ~0xffffull) | (v & 0xffff);
        break;
    case 4:
        gprs[reg] = v & 0xffffffffull;
        break;
    default:
        gprs[reg] = v;
        break;
    }
}

uint64_t x86_insn_store_value(const struct x86_insn *insn, const uint64_t gprs[16])
{
    if (insn->kind == INSN_MOV_IMM_TO_MEM)
        return truncate_to(insn->imm, insn->mem_size);
    if (insn->kind == INSN_MOV_TO_MEM && insn->reg != X86_REG_NONE)
        return read_reg(gprs, insn->reg, insn->reg_high_byte, insn->mem_size);
    return 0;
}

int x86_insn_complete_load(const struct x86_insn *insn, uint64_t gprs[16], uint64_t loaded)
{
    bool is_load = insn->kind == INSN_MOV_FROM_MEM || insn->kind == INSN_MOVZX ||
                   insn->kind == INSN_MOVSX;
    if (!is_load || insn->reg == X86_REG_NONE)
        return -EINVAL;
    uint64_t v = truncate_to(loaded, insn->mem_size);
    if (insn->kind == INSN_MOVSX)
        v = (uint64_t)sign_extend(v, insn->mem_size);
    write_reg(gprs, insn->reg, insn->reg_high_byte, insn->op_size, v);
    return 0;
}
