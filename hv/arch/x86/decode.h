/* Decoder for the few x86 instructions eli emulates itself. QEMU TCG's SVM has
 * no decode assists and no NRIP, so when a guest's MMIO access traps (nested
 * page fault) or it executes an intercepted LIDT/SIDT/LGDT/SGDT, eli fetches the
 * instruction bytes and decodes them here: the memory forms of
 *   88/89/8A/8B       MOV r/m,reg / MOV reg,r/m
 *   C6 /0, C7 /0      MOV r/m,imm
 *   A0-A3             MOV AL/rAX <-> moffs
 *   0F B6/B7, 0F BE/BF  MOVZX / MOVSX reg, r/m8 or r/m16
 *   0F 01 /0-/3       SGDT, SIDT, LGDT, LIDT
 * with the 66/67, segment and REX prefixes, in 16-, 32- and 64-bit code.
 * Encodings: Intel SDM vol. 2 ch. 2 and the instruction pages; AMD APM vol. 3
 * ch. 1. Pure logic, host-testable. */
#ifndef ELI_ARCH_X86_DECODE_H
#define ELI_ARCH_X86_DECODE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No instruction is longer than 15 bytes (APM vol. 3 1.1, SDM vol. 2 2.3.11). */
#define X86_MAX_INSN_LEN 15

/* General-purpose registers by encoding number (SDM vol. 2 table 3-1):
 * the index into the gprs[16] arrays below. */
enum x86_gpr {
    X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
    X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};
#define X86_REG_NONE (-1)

/* Segment registers by their Sreg encoding (SDM vol. 2 3.1.1.3). */
enum x86_segreg {
    X86_SEG_NONE = -1,
    X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS,
};

enum x86_insn_kind {
    INSN_OTHER,          /* anything not emulated, incl. register-only forms */
    INSN_MOV_TO_MEM,     /* 88/89/A2/A3: store reg to memory */
    INSN_MOV_FROM_MEM,   /* 8A/8B/A0/A1: load memory into reg */
    INSN_MOV_IMM_TO_MEM, /* C6/C7 /0: store imm to memory */
    INSN_MOVZX,          /* 0F B6/B7: load and zero-extend into reg */
    INSN_MOVSX,          /* 0F BE/BF: load and sign-extend into reg */
    INSN_SGDT,           /* 0F 01 /0 */
    INSN_SIDT,           /* 0F 01 /1 */
    INSN_LGDT,           /* 0F 01 /2 */
    INSN_LIDT,           /* 0F 01 /3 */
};

/* A memory operand: offset = disp + base + index * scale (+ next RIP when
 * rip_relative), truncated to addr_size bytes. Segment bases are not applied:
 * the caller adds the base of x86_memop_segment() when it is not flat (FS/GS
 * in 64-bit mode, any segment in real mode). */
struct x86_memop {
    int base;          /* enum x86_gpr, or X86_REG_NONE */
    int index;         /* enum x86_gpr, or X86_REG_NONE */
    unsigned scale;    /* 1, 2, 4 or 8; 1 without an index */
    int64_t disp;      /* sign-extended displacement; a moffs offset, zero-extended */
    bool rip_relative; /* 64-bit mode, ModRM mod=00 r/m=101 (SDM vol. 2 2.2.1.6) */
    int seg_override;  /* enum x86_segreg from a segment prefix, or X86_SEG_NONE */
    unsigned addr_size; /* 2, 4 or 8 bytes */
};

struct x86_insn {
    unsigned length;    /* bytes, prefixes included */
    enum x86_insn_kind kind;
    /* Operand size: the register's width for MOV/MOVZX/MOVSX (1, 2, 4, 8); for
     * the descriptor-table instructions 8 in 64-bit mode, else 4, or 2 when a
     * 16-bit operand size limits the base to 24 bits (SDM vol. 2, LGDT/LIDT). */
    unsigned op_size;
    /* Bytes of memory accessed: op_size for MOV; 1 or 2 for MOVZX/MOVSX;
     * 10 (64-bit mode) or 6 for the descriptor-table instructions. */
    unsigned mem_size;
    int reg;            /* enum x86_gpr, or X86_REG_NONE (imm and descriptor forms) */
    /* reg (0-3) names AH/CH/DH/BH, bits 15:8: a byte register numbered 4-7
     * without a REX prefix (SDM vol. 2 table 3-1 and 2.2.1.2) */
    bool reg_high_byte;
    uint64_t imm;       /* INSN_MOV_IMM_TO_MEM: the value stored, mem_size bytes wide
                           (an imm32 sign-extended to 64 bits for 8-byte stores) */
    struct x86_memop mem;
};

/* Decodes the instruction at bytes[0..avail) for code of cpu_mode bits (16,
 * 32 or 64: the default operand and address size from CS.D / CS.L). Reads no
 * byte at or beyond avail. Returns 0 with *out filled for the instructions
 * above, or
 *   -EOPNOTSUPP  a valid instruction eli does not emulate: another opcode, a
 *                register-only form (ModRM mod=11), a REP/REPNE (F3/F2) or
 *                LOCK (F0, #UD on these) prefix; out->kind is INSN_OTHER;
 *   -EINVAL      truncated (needs bytes beyond avail), longer than 15 bytes,
 *                or cpu_mode not 16/32/64. */
int x86_decode(const uint8_t *bytes, size_t avail, int cpu_mode, struct x86_insn *out);

/* The memory operand's offset (effective address, SDM vol. 1 3.7.5) given the
 * guest's registers in encoding order and the address of the next instruction
 * (RIP + length). No segment base is added. */
uint64_t x86_effective_address(const struct x86_insn *insn, const uint64_t gprs[16],
                               uint64_t next_rip);

/* The segment the access goes through: the override, else SS for an
 * rSP/rBP base, else DS (SDM vol. 1 3.7.4). */
int x86_memop_segment(const struct x86_memop *mem);

/* INSN_MOV_TO_MEM / INSN_MOV_IMM_TO_MEM: the value to write, mem_size bytes
 * wide (zero above). 0 for other kinds. */
uint64_t x86_insn_store_value(const struct x86_insn *insn, const uint64_t gprs[16]);

/* INSN_MOV_FROM_MEM / INSN_MOVZX / INSN_MOVSX: writes the loaded value (its low
 * mem_size bytes count) into the destination register the way the CPU does:
 * 1- and 2-byte writes keep the rest of the register, 4-byte writes clear bits
 * 63:32 (SDM vol. 1 3.4.1.1). Returns 0, or -EINVAL for other kinds. */
int x86_insn_complete_load(const struct x86_insn *insn, uint64_t gprs[16], uint64_t loaded);

#endif
