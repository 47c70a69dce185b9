/* Host unit tests of hv/arch/x86/decode.c: the decoder of the instructions eli
 * emulates. Every byte sequence below was produced by GNU as (--64 / --32, with
 * .code16 for 16-bit code) and checked against objdump -d; the assembler text is
 * given with each. Sequences gas refuses to emit (%eiz, prefix orders, LOCK MOV)
 * were written with .byte and checked against objdump's disassembly. Decoding
 * always reads from a heap buffer of exactly `avail` bytes, so ASan catches any
 * read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/decode.h"
#include "core/errno.h"

#define NONE X86_REG_NONE
#define BYTES(...) .bytes = { __VA_ARGS__ }, .len = sizeof((const uint8_t[]){ __VA_ARGS__ })
#define MEM(b, i, s, d) .base = (b), .index = (i), .scale = (s), .disp = (d)
#define SEG(s) .has_seg = true, .seg = (s)

/* One instruction and the fields it must decode to. reg defaults to RAX (0):
 * rows without a register operand say .reg = NONE. addr_size 0 means the
 * mode's default. */
struct sample {
    const char *text;
    int mode;
    uint8_t bytes[X86_MAX_INSN_LEN];
    unsigned len;
    enum x86_insn_kind kind;
    unsigned op_size, mem_size;
    int reg;
    bool high;
    int base, index;
    unsigned scale;
    int64_t disp;
    bool rip;
    bool has_seg;
    int seg;
    unsigned addr_size;
    uint64_t imm;
};

static const struct sample samples[] = {
    /* 64-bit code */
    { "mov %eax,0x30(%rbx)", 64, BYTES(0x89, 0x43, 0x30),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0x30) },
    { "movabs 0xfee000b0,%eax", 64, BYTES(0xa1, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0xfee000b0) },
    { "addr32 mov 0x89abcdef,%eax", 64, BYTES(0x67, 0xa1, 0xef, 0xcd, 0xab, 0x89),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x89abcdef), .addr_size = 4 },
    { "movabs %al,0x1122334455667788", 64,
      BYTES(0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x1122334455667788) },
    { "mov %ax,%gs:0x1000", 64, BYTES(0x65, 0x66, 0x89, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x1000), SEG(X86_SEG_GS) },
    { "mov 0x12345678,%eax (SIB, no base, no index)", 64,
      BYTES(0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x12345678) },
    { "mov %eax,0xfffffffffee000b0", 64, BYTES(0x89, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, -0x11fff50) },
    { "mov 0xfee000b0(,%eiz,1),%eax", 64,
      BYTES(0x67, 0x8b, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, -0x11fff50), .addr_size = 4 },
    { "movl $0x1234,0x80(%rip)", 64, BYTES(0xc7, 0x05, 0x80, 0, 0, 0, 0x34, 0x12, 0, 0),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 4, .mem_size = 4, .reg = NONE,
      MEM(NONE, NONE, 1, 0x80), .rip = true, .imm = 0x1234 },
    { "mov %eax,-0x8(%rip)", 64, BYTES(0x89, 0x05, 0xf8, 0xff, 0xff, 0xff),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, -8), .rip = true },
    { "movl $0x5,0x10(%eip)", 64,
      BYTES(0x67, 0xc7, 0x05, 0x10, 0, 0, 0, 0x05, 0, 0, 0),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 4, .mem_size = 4, .reg = NONE,
      MEM(NONE, NONE, 1, 0x10), .rip = true, .addr_size = 4, .imm = 5 },
    { "mov %r9b,(%r10,%r11,4)", 64, BYTES(0x47, 0x88, 0x0c, 0x9a),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_R9,
      MEM(X86_R10, X86_R11, 4, 0) },
    { "movzwl 0x2(%rax),%ecx", 64, BYTES(0x0f, 0xb7, 0x48, 0x02),
      .kind = INSN_MOVZX, .op_size = 4, .mem_size = 2, .reg = X86_RCX,
      MEM(X86_RAX, NONE, 1, 2) },
    { "movsbq (%rsi),%r8", 64, BYTES(0x4c, 0x0f, 0xbe, 0x06),
      .kind = INSN_MOVSX, .op_size = 8, .mem_size = 1, .reg = X86_R8,
      MEM(X86_RSI, NONE, 1, 0) },
    { "movswl -0x10(%rbp),%eax", 64, BYTES(0x0f, 0xbf, 0x45, 0xf0),
      .kind = INSN_MOVSX, .op_size = 4, .mem_size = 2, .reg = X86_RAX,
      MEM(X86_RBP, NONE, 1, -0x10) },
    { "movzbw (%rbx),%ax", 64, BYTES(0x66, 0x0f, 0xb6, 0x03),
      .kind = INSN_MOVZX, .op_size = 2, .mem_size = 1, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0) },
    { "lidt (%rax)", 64, BYTES(0x0f, 0x01, 0x18),
      .kind = INSN_LIDT, .op_size = 8, .mem_size = 10, .reg = NONE, MEM(X86_RAX, NONE, 1, 0) },
    { "sidtq 0x10(%rsp)", 64, BYTES(0x0f, 0x01, 0x4c, 0x24, 0x10),
      .kind = INSN_SIDT, .op_size = 8, .mem_size = 10, .reg = NONE,
      MEM(X86_RSP, NONE, 1, 0x10) },
    { "lgdt 0x100(%rip)", 64, BYTES(0x0f, 0x01, 0x15, 0x00, 0x01, 0x00, 0x00),
      .kind = INSN_LGDT, .op_size = 8, .mem_size = 10, .reg = NONE,
      MEM(NONE, NONE, 1, 0x100), .rip = true },
    { "sgdt (%rax,%r12,2)", 64, BYTES(0x42, 0x0f, 0x01, 0x04, 0x60),
      .kind = INSN_SGDT, .op_size = 8, .mem_size = 10, .reg = NONE,
      MEM(X86_RAX, X86_R12, 2, 0) },
    { "data16 lidt (%rax): 66 ignored in 64-bit mode", 64, BYTES(0x66, 0x0f, 0x01, 0x18),
      .kind = INSN_LIDT, .op_size = 8, .mem_size = 10, .reg = NONE, MEM(X86_RAX, NONE, 1, 0) },
    { "rex.WR lgdt (%rax): REX.R does not extend /2", 64, BYTES(0x4c, 0x0f, 0x01, 0x10),
      .kind = INSN_LGDT, .op_size = 8, .mem_size = 10, .reg = NONE, MEM(X86_RAX, NONE, 1, 0) },
    { "mov %ah,(%rcx)", 64, BYTES(0x88, 0x21),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RAX, .high = true,
      MEM(X86_RCX, NONE, 1, 0) },
    { "mov %spl,(%rcx)", 64, BYTES(0x40, 0x88, 0x21),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RSP,
      MEM(X86_RCX, NONE, 1, 0) },
    { "mov (%rdx),%bh", 64, BYTES(0x8a, 0x3a),
      .kind = INSN_MOV_FROM_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RBX, .high = true,
      MEM(X86_RDX, NONE, 1, 0) },
    { "movq $0xfffffffffffffffe,0x8(%r13)", 64,
      BYTES(0x49, 0xc7, 0x45, 0x08, 0xfe, 0xff, 0xff, 0xff),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 8, .mem_size = 8, .reg = NONE,
      MEM(X86_R13, NONE, 1, 8), .imm = 0xfffffffffffffffeull },
    { "movq $0x7fffffff,0x11223344(%rsp)", 64,
      BYTES(0x48, 0xc7, 0x84, 0x24, 0x44, 0x33, 0x22, 0x11, 0xff, 0xff, 0xff, 0x7f),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 8, .mem_size = 8, .reg = NONE,
      MEM(X86_RSP, NONE, 1, 0x11223344), .imm = 0x7fffffff },
    { "movw $0xbeef,(%rdi)", 64, BYTES(0x66, 0xc7, 0x07, 0xef, 0xbe),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 2, .mem_size = 2, .reg = NONE,
      MEM(X86_RDI, NONE, 1, 0), .imm = 0xbeef },
    { "movb $0x7f,-0x1(%rsi,%rdi,8)", 64, BYTES(0xc6, 0x44, 0xfe, 0xff, 0x7f),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 1, .mem_size = 1, .reg = NONE,
      MEM(X86_RSI, X86_RDI, 8, -1), .imm = 0x7f },
    { "movl $0x1,(%rax,%rax,1)", 64, BYTES(0xc7, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 4, .mem_size = 4, .reg = NONE,
      MEM(X86_RAX, X86_RAX, 1, 0), .imm = 1 },
    { "mov %rax,%fs:0x28", 64, BYTES(0x64, 0x48, 0x89, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 8, .mem_size = 8, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x28), SEG(X86_SEG_FS) },
    { "mov %gs:(%r12),%r15d", 64, BYTES(0x65, 0x45, 0x8b, 0x3c, 0x24),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_R15,
      MEM(X86_R12, NONE, 1, 0), SEG(X86_SEG_GS) },
    { "mov 0x10(%eax),%edx", 64, BYTES(0x67, 0x8b, 0x50, 0x10),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RDX,
      MEM(X86_RAX, NONE, 1, 0x10), .addr_size = 4 },
    { "mov 0x11(%eax,%ebx,2),%cx", 64, BYTES(0x67, 0x66, 0x8b, 0x4c, 0x58, 0x11),
      .kind = INSN_MOV_FROM_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RCX,
      MEM(X86_RAX, X86_RBX, 2, 0x11), .addr_size = 4 },
    { "mov 0x12345678(,%rcx,8),%rsi", 64,
      BYTES(0x48, 0x8b, 0x34, 0xcd, 0x78, 0x56, 0x34, 0x12),
      .kind = INSN_MOV_FROM_MEM, .op_size = 8, .mem_size = 8, .reg = X86_RSI,
      MEM(NONE, X86_RCX, 8, 0x12345678) },
    { "mov %eax,0x0(%r13): r/m=101 with REX.B needs mod=01", 64,
      BYTES(0x41, 0x89, 0x45, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_R13, NONE, 1, 0) },
    { "mov %eax,0x10(,%r12,1): REX.X gives r12, REX.B ignored", 64,
      BYTES(0x43, 0x89, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, X86_R12, 1, 0x10) },
    { "mov %eax,(%rax,%r12,1)", 64, BYTES(0x42, 0x89, 0x04, 0x20),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RAX, X86_R12, 1, 0) },
    { "mov 0x10(%r13,%rax,1),%ecx: SIB base 101 with mod=01 is a base", 64,
      BYTES(0x41, 0x8b, 0x4c, 0x05, 0x10),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RCX,
      MEM(X86_R13, X86_RAX, 1, 0x10) },
    { "mov 0x0(%rbp,%rsi,4),%eax", 64, BYTES(0x8b, 0x44, 0xb5, 0x00),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RBP, X86_RSI, 4, 0) },
    { "mov %eax,0x12345678(%rbp,%rcx,2)", 64,
      BYTES(0x89, 0x84, 0x4d, 0x78, 0x56, 0x34, 0x12),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RBP, X86_RCX, 2, 0x12345678) },
    { "mov %eax,-0x80(%rsp)", 64, BYTES(0x89, 0x44, 0x24, 0x80),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RSP, NONE, 1, -0x80) },
    { "mov %dl,0x12(%r12)", 64, BYTES(0x41, 0x88, 0x54, 0x24, 0x12),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RDX,
      MEM(X86_R12, NONE, 1, 0x12) },
    { "mov %r8,(%rax)", 64, BYTES(0x4c, 0x89, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 8, .mem_size = 8, .reg = X86_R8,
      MEM(X86_RAX, NONE, 1, 0) },
    { "mov (%rax),%r8w", 64, BYTES(0x66, 0x44, 0x8b, 0x00),
      .kind = INSN_MOV_FROM_MEM, .op_size = 2, .mem_size = 2, .reg = X86_R8,
      MEM(X86_RAX, NONE, 1, 0) },
    { "rex mov %eax,(%rbx)", 64, BYTES(0x40, 0x89, 0x03),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0) },
    { "rex.W; mov %ax,(%rbx): a REX before a legacy prefix is ignored", 64,
      BYTES(0x48, 0x66, 0x89, 0x03),
      .kind = INSN_MOV_TO_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0) },
    { "data16 mov %rax,(%rbx): REX.W beats 66", 64, BYTES(0x66, 0x48, 0x89, 0x03),
      .kind = INSN_MOV_TO_MEM, .op_size = 8, .mem_size = 8, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0) },
    { "rex.W; es mov %eax,(%rbx)", 64, BYTES(0x48, 0x26, 0x89, 0x03),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0), SEG(X86_SEG_ES) },
    { "es cs movq $-1,%fs:0x11223344(%r12,%r13,8): 15 bytes, last segment wins", 64,
      BYTES(0x26, 0x2e, 0x64, 0x4b, 0xc7, 0x84, 0xec, 0x44, 0x33, 0x22, 0x11,
            0xff, 0xff, 0xff, 0xff),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 8, .mem_size = 8, .reg = NONE,
      MEM(X86_R12, X86_R13, 8, 0x11223344), SEG(X86_SEG_FS), .imm = UINT64_MAX },

    /* 32-bit code */
    { "lidtl (%ebx)", 32, BYTES(0x0f, 0x01, 0x1b),
      .kind = INSN_LIDT, .op_size = 4, .mem_size = 6, .reg = NONE, MEM(X86_RBX, NONE, 1, 0) },
    { "lidtw (%ebx): 24-bit base", 32, BYTES(0x66, 0x0f, 0x01, 0x1b),
      .kind = INSN_LIDT, .op_size = 2, .mem_size = 6, .reg = NONE, MEM(X86_RBX, NONE, 1, 0) },
    { "sgdtl 0x20(%eax)", 32, BYTES(0x0f, 0x01, 0x40, 0x20),
      .kind = INSN_SGDT, .op_size = 4, .mem_size = 6, .reg = NONE,
      MEM(X86_RAX, NONE, 1, 0x20) },
    { "mov 0xfee000b0,%eax (moffs32)", 32, BYTES(0xa1, 0xb0, 0x00, 0xe0, 0xfe),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0xfee000b0) },
    { "mov 0xfee000b0(,%eiz,1),%eax", 32, BYTES(0x8b, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, -0x11fff50) },
    { "mov 0x1000,%eax: mod=00 r/m=101 is absolute outside 64-bit mode", 32,
      BYTES(0x8b, 0x05, 0x00, 0x10, 0x00, 0x00),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x1000) },
    { "mov %eax,0xfee00300", 32, BYTES(0xa3, 0x00, 0x03, 0xe0, 0xfe),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0xfee00300) },
    { "mov %ecx,0x10(%ebp)", 32, BYTES(0x89, 0x4d, 0x10),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RCX,
      MEM(X86_RBP, NONE, 1, 0x10) },
    { "mov %eax,0x10(%esp,%esi,4)", 32, BYTES(0x89, 0x44, 0xb4, 0x10),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RSP, X86_RSI, 4, 0x10) },
    { "mov %ax,(%ebx)", 32, BYTES(0x66, 0x89, 0x03),
      .kind = INSN_MOV_TO_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0) },
    { "mov %dh,0x1(%esi)", 32, BYTES(0x88, 0x76, 0x01),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RDX, .high = true,
      MEM(X86_RSI, NONE, 1, 1) },
    { "movl $0xdeadbeef,0xfee00380", 32,
      BYTES(0xc7, 0x05, 0x80, 0x03, 0xe0, 0xfe, 0xef, 0xbe, 0xad, 0xde),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 4, .mem_size = 4, .reg = NONE,
      MEM(NONE, NONE, 1, -0x11ffc80), .imm = 0xdeadbeef },
    { "movzbl (%edi),%ebx", 32, BYTES(0x0f, 0xb6, 0x1f),
      .kind = INSN_MOVZX, .op_size = 4, .mem_size = 1, .reg = X86_RBX,
      MEM(X86_RDI, NONE, 1, 0) },
    { "movswl 0x4(%esi),%edx", 32, BYTES(0x0f, 0xbf, 0x56, 0x04),
      .kind = INSN_MOVSX, .op_size = 4, .mem_size = 2, .reg = X86_RDX,
      MEM(X86_RSI, NONE, 1, 4) },
    { "mov %ax,%fs:0x8", 32, BYTES(0x64, 0x66, 0xa3, 0x08, 0x00, 0x00, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 8), SEG(X86_SEG_FS) },
    { "addr16 mov %eax,(%bx,%si)", 32, BYTES(0x67, 0x89, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RBX, X86_RSI, 1, 0), .addr_size = 2 },
    { "addr16 mov 0x1234,%eax", 32, BYTES(0x67, 0xa1, 0x34, 0x12),
      .kind = INSN_MOV_FROM_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x1234), .addr_size = 2 },

    /* 16-bit code */
    { "mov %ax,(%bx,%si)", 16, BYTES(0x89, 0x00),
      .kind = INSN_MOV_TO_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RAX,
      MEM(X86_RBX, X86_RSI, 1, 0) },
    { "mov 0x12(%bp,%di),%al", 16, BYTES(0x8a, 0x43, 0x12),
      .kind = INSN_MOV_FROM_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RAX,
      MEM(X86_RBP, X86_RDI, 1, 0x12) },
    { "mov 0x1234,%ax (moffs16)", 16, BYTES(0xa1, 0x34, 0x12),
      .kind = INSN_MOV_FROM_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x1234) },
    { "mov 0x1234,%bx: mod=00 r/m=110 is disp16", 16, BYTES(0x8b, 0x1e, 0x34, 0x12),
      .kind = INSN_MOV_FROM_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RBX,
      MEM(NONE, NONE, 1, 0x1234) },
    { "mov %cl,-0x80(%bx,%di)", 16, BYTES(0x88, 0x49, 0x80),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RCX,
      MEM(X86_RBX, X86_RDI, 1, -0x80) },
    { "mov %al,0x1234(%bx,%si)", 16, BYTES(0x88, 0x80, 0x34, 0x12),
      .kind = INSN_MOV_TO_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RAX,
      MEM(X86_RBX, X86_RSI, 1, 0x1234) },
    { "movw $0x5678,-0x2(%bp)", 16, BYTES(0xc7, 0x46, 0xfe, 0x78, 0x56),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 2, .mem_size = 2, .reg = NONE,
      MEM(X86_RBP, NONE, 1, -2), .imm = 0x5678 },
    { "movw $0x1,%es:0x0(%bp)", 16, BYTES(0x26, 0xc7, 0x46, 0x00, 0x01, 0x00),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 2, .mem_size = 2, .reg = NONE,
      MEM(X86_RBP, NONE, 1, 0), SEG(X86_SEG_ES), .imm = 1 },
    { "mov %eax,0x100(%bx)", 16, BYTES(0x66, 0x89, 0x87, 0x00, 0x01),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RBX, NONE, 1, 0x100) },
    { "lidtl (%si)", 16, BYTES(0x66, 0x0f, 0x01, 0x1c),
      .kind = INSN_LIDT, .op_size = 4, .mem_size = 6, .reg = NONE, MEM(X86_RSI, NONE, 1, 0) },
    { "lidtw (%si)", 16, BYTES(0x0f, 0x01, 0x1c),
      .kind = INSN_LIDT, .op_size = 2, .mem_size = 6, .reg = NONE, MEM(X86_RSI, NONE, 1, 0) },
    { "mov %eax,0x10(%eax,%ecx,4)", 16, BYTES(0x67, 0x66, 0x89, 0x44, 0x88, 0x10),
      .kind = INSN_MOV_TO_MEM, .op_size = 4, .mem_size = 4, .reg = X86_RAX,
      MEM(X86_RAX, X86_RCX, 4, 0x10), .addr_size = 4 },
    { "mov %ds:0x0(%bp),%cx", 16, BYTES(0x3e, 0x8b, 0x4e, 0x00),
      .kind = INSN_MOV_FROM_MEM, .op_size = 2, .mem_size = 2, .reg = X86_RCX,
      MEM(X86_RBP, NONE, 1, 0), SEG(X86_SEG_DS) },
    { "mov 0x8000,%al", 16, BYTES(0xa0, 0x00, 0x80),
      .kind = INSN_MOV_FROM_MEM, .op_size = 1, .mem_size = 1, .reg = X86_RAX,
      MEM(NONE, NONE, 1, 0x8000) },
    { "movl $0x11223344,(%di): r/m=101 is [DI] in 16-bit addressing", 16,
      BYTES(0x66, 0xc7, 0x05, 0x44, 0x33, 0x22, 0x11),
      .kind = INSN_MOV_IMM_TO_MEM, .op_size = 4, .mem_size = 4, .reg = NONE,
      MEM(X86_RDI, NONE, 1, 0), .imm = 0x11223344 },
};

#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static unsigned default_addr_size(int mode)
{
    return mode == 64 ? 8 : mode == 32 ? 4 : 2;
}

/* Decodes from a heap copy of exactly avail bytes (ASan guards the end). */
static int decode_exact(const uint8_t *bytes, size_t avail, int mode, struct x86_insn *out)
{
    uint8_t *copy = malloc(avail ? avail : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, avail);
    int rc = x86_decode(copy, avail, mode, out);
    free(copy);
    return rc;
}

/* Fails naming the sample and the field when they differ. */
#define EXPECT_FIELD(s, field, got, want)                                                 \
    do {                                                                                  \
        if ((uint64_t)(got) != (uint64_t)(want))                                          \
            fail_msg("%s: %s is %#llx, expected %#llx", (s)->text, field,                 \
                     (unsigned long long)(got), (unsigned long long)(want));              \
    } while (0)

static void check_sample(const struct sample *s, const struct x86_insn *in)
{
    unsigned addr_size = s->addr_size ? s->addr_size : default_addr_size(s->mode);
    EXPECT_FIELD(s, "length", in->length, s->len);
    EXPECT_FIELD(s, "kind", in->kind, s->kind);
    EXPECT_FIELD(s, "op_size", in->op_size, s->op_size);
    EXPECT_FIELD(s, "mem_size", in->mem_size, s->mem_size);
    EXPECT_FIELD(s, "reg", in->reg, s->reg);
    EXPECT_FIELD(s, "reg_high_byte", in->reg_high_byte, s->high);
    EXPECT_FIELD(s, "imm", in->imm, s->imm);
    EXPECT_FIELD(s, "base", in->mem.base, s->base);
    EXPECT_FIELD(s, "index", in->mem.index, s->index);
    EXPECT_FIELD(s, "scale", in->mem.scale, s->scale);
    EXPECT_FIELD(s, "disp", in->mem.disp, s->disp);
    EXPECT_FIELD(s, "rip_relative", in->mem.rip_relative, s->rip);
    EXPECT_FIELD(s, "seg_override", in->mem.seg_override, s->has_seg ? s->seg : X86_SEG_NONE);
    EXPECT_FIELD(s, "addr_size", in->mem.addr_size, addr_size);
}

static void test_samples_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        struct x86_insn in;
        assert_int_equal(decode_exact(samples[i].bytes, samples[i].len, samples[i].mode, &in), 0);
        check_sample(&samples[i], &in);
    }
}

/* Bytes after the instruction are not consumed, whatever they are. */
static void test_samples_ignore_trailing_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        for (int fill = 0; fill < 256; fill += 0x33) {
            uint8_t buf[32];
            memset(buf, fill, sizeof buf);
            memcpy(buf, samples[i].bytes, samples[i].len);
            struct x86_insn in;
            assert_int_equal(decode_exact(buf, sizeof buf, samples[i].mode, &in), 0);
            assert_int_equal(in.length, samples[i].len);
        }
    }
}

/* Every proper prefix of a supported instruction is truncated: -EINVAL, and
 * not a byte read past avail (the buffer is exactly avail bytes). */
static void test_samples_truncated_at_every_length(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        for (size_t avail = 0; avail < samples[i].len; avail++) {
            struct x86_insn in;
            int rc = decode_exact(samples[i].bytes, avail, samples[i].mode, &in);
            if (rc != -EINVAL)
                fail_msg("%s: %d with %zu bytes", samples[i].text, rc, avail);
            assert_int_equal(in.kind, INSN_OTHER);
        }
    }
}

static void expect_unsupported(const uint8_t *bytes, size_t len, int mode)
{
    struct x86_insn in;
    assert_int_equal(decode_exact(bytes, len, mode, &in), -EOPNOTSUPP);
    assert_int_equal(in.kind, INSN_OTHER);
}

#define EXPECT_UNSUPPORTED(mode, ...) \
    expect_unsupported((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), mode)

static void test_other_instructions(void **state)
{
    (void)state;
    EXPECT_UNSUPPORTED(64, 0x0f, 0x01, 0xd8);                   /* vmrun */
    EXPECT_UNSUPPORTED(64, 0x0f, 0x01, 0x38);                   /* invlpg (%rax): /7 */
    EXPECT_UNSUPPORTED(64, 0x0f, 0x01, 0x20);                   /* smsw (%rax): /4 */
    EXPECT_UNSUPPORTED(64, 0x89, 0xc3);                         /* mov %eax,%ebx */
    EXPECT_UNSUPPORTED(64, 0x8b, 0xc3);                         /* mov %ebx,%eax */
    EXPECT_UNSUPPORTED(64, 0x0f, 0xb6, 0xc0);                   /* movzbl %al,%eax */
    EXPECT_UNSUPPORTED(64, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00); /* mov $1,%eax */
    EXPECT_UNSUPPORTED(64, 0xc7, 0xf8, 0xfa, 0xff, 0xff, 0xff); /* xbegin */
    EXPECT_UNSUPPORTED(64, 0xc6, 0x48, 0x10, 0x01);             /* c6 /1: undefined */
    EXPECT_UNSUPPORTED(64, 0xf3, 0xa4);                         /* rep movsb */
    EXPECT_UNSUPPORTED(64, 0xf3, 0x89, 0x03);                   /* rep mov %eax,(%rbx) */
    EXPECT_UNSUPPORTED(64, 0xf2, 0x8b, 0x03);                   /* repne mov (%rbx),%eax */
    EXPECT_UNSUPPORTED(64, 0xf0, 0x83, 0x00, 0x01);             /* lock addl $1,(%rax) */
    EXPECT_UNSUPPORTED(64, 0xf0, 0x89, 0x03);                   /* lock mov: #UD */
    EXPECT_UNSUPPORTED(64, 0x90);                               /* nop */
    EXPECT_UNSUPPORTED(64, 0x0f, 0x05);                         /* syscall */
    EXPECT_UNSUPPORTED(32, 0x48, 0x89, 0x03);                   /* dec %eax: no REX in 32-bit */
    EXPECT_UNSUPPORTED(16, 0x0f, 0x01, 0xf8);                   /* swapgs (mod=11) */
}

/* c6 /0 with mod=01 is a real mov: the row above only checks /1 is refused. */
static void test_c6_group_zero_is_mov(void **state)
{
    (void)state;
    struct x86_insn in;
    const uint8_t movb[] = { 0xc6, 0x40, 0x10, 0x01 }; /* movb $0x1,0x10(%rax) */
    assert_int_equal(decode_exact(movb, sizeof movb, 64, &in), 0);
    assert_int_equal(in.kind, INSN_MOV_IMM_TO_MEM);
    assert_int_equal(in.length, 4);
    assert_int_equal(in.imm, 1);
}

/* SDM vol. 2 2.3.11: more than 15 bytes is invalid even when they are all there. */
static void test_longer_than_15_bytes(void **state)
{
    (void)state;
    struct x86_insn in;
    uint8_t buf[32];

    /* 16 bytes: the 15-byte sample with one more prefix */
    const uint8_t longest[] = { 0x26, 0x2e, 0x64, 0x4b, 0xc7, 0x84, 0xec, 0x44, 0x33, 0x22,
                                0x11, 0xff, 0xff, 0xff, 0xff };
    buf[0] = 0x3e;
    memcpy(buf + 1, longest, sizeof longest);
    assert_int_equal(decode_exact(buf, sizeof longest + 1, 64, &in), -EINVAL);
    assert_int_equal(decode_exact(buf + 1, sizeof longest, 64, &in), 0);
    assert_int_equal(in.length, 15);

    /* 13 prefixes + mov %eax,(%rbx) is 15 bytes, 14 prefixes make 16 */
    memset(buf, 0x66, sizeof buf);
    buf[13] = 0x89;
    buf[14] = 0x03;
    assert_int_equal(decode_exact(buf, sizeof buf, 64, &in), 0);
    assert_int_equal(in.length, 15);
    memset(buf, 0x66, sizeof buf);
    buf[14] = 0x89;
    buf[15] = 0x03;
    assert_int_equal(decode_exact(buf, sizeof buf, 64, &in), -EINVAL);

    /* nothing but prefixes */
    memset(buf, 0x3e, sizeof buf);
    for (size_t avail = 0; avail <= sizeof buf; avail++)
        assert_int_equal(decode_exact(buf, avail, 32, &in), -EINVAL);
    memset(buf, 0x40, sizeof buf); /* REX prefixes */
    assert_int_equal(decode_exact(buf, sizeof buf, 64, &in), -EINVAL);
}

static void test_bad_mode(void **state)
{
    (void)state;
    struct x86_insn in;
    const uint8_t mov[] = { 0x89, 0x03 };
    assert_int_equal(decode_exact(mov, sizeof mov, 0, &in), -EINVAL);
    assert_int_equal(decode_exact(mov, sizeof mov, 8, &in), -EINVAL);
    assert_int_equal(decode_exact(mov, sizeof mov, 128, &in), -EINVAL);
}

/* Effective addresses: the sample's fields combined with register values. */
static uint64_t ea_of(const uint8_t *bytes, size_t len, int mode, const uint64_t gprs[16],
                      uint64_t rip)
{
    struct x86_insn in;
    assert_int_equal(decode_exact(bytes, len, mode, &in), 0);
    return x86_effective_address(&in, gprs, rip + in.length);
}

#define EA(mode, gprs, rip, ...) \
    ea_of((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), mode, gprs, rip)

static void test_effective_address_64(void **state)
{
    (void)state;
    uint64_t g[16] = { 0 };
    g[X86_RBX] = 0x1000;
    g[X86_R10] = 0xffff800000000000ull;
    g[X86_R11] = 0x10;
    g[X86_RAX] = 0xfffffffffffffff8ull;
    g[X86_RCX] = 3;
    g[X86_RSP] = 0x7000;
    /* mov %eax,0x30(%rbx) */
    assert_int_equal(EA(64, g, 0, 0x89, 0x43, 0x30), 0x1030);
    /* mov %r9b,(%r10,%r11,4) */
    assert_int_equal(EA(64, g, 0, 0x47, 0x88, 0x0c, 0x9a), 0xffff800000000040ull);
    /* movl $0x1234,0x80(%rip) at 0x401000: next RIP 0x40100a */
    assert_int_equal(EA(64, g, 0x401000, 0xc7, 0x05, 0x80, 0, 0, 0, 0x34, 0x12, 0, 0),
                     0x40108a);
    /* mov %eax,-0x8(%rip) */
    assert_int_equal(EA(64, g, 0x2000, 0x89, 0x05, 0xf8, 0xff, 0xff, 0xff), 0x1ffe);
    /* movl $0x5,0x10(%eip) at 0xfffffff0: EIP-relative wraps at 32 bits */
    assert_int_equal(EA(64, g, 0xfffffff0, 0x67, 0xc7, 0x05, 0x10, 0, 0, 0, 0x05, 0, 0, 0),
                     0xb);
    /* mov 0x10(%eax),%edx with RAX = -8: (0xfffffff8 + 0x10) mod 2^32 */
    assert_int_equal(EA(64, g, 0, 0x67, 0x8b, 0x50, 0x10), 0x8);
    /* movzwl 0x2(%rax),%ecx: 64-bit wrap */
    assert_int_equal(EA(64, g, 0, 0x0f, 0xb7, 0x48, 0x02), 0xfffffffffffffffaull);
    /* mov %eax,0xfffffffffee000b0: disp32 sign-extended */
    assert_int_equal(EA(64, g, 0, 0x89, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe),
                     0xfffffffffee000b0ull);
    /* mov 0xfee000b0(,%eiz,1),%eax: 32-bit addressing makes it the APIC page */
    assert_int_equal(EA(64, g, 0, 0x67, 0x8b, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe), 0xfee000b0);
    /* movabs 0xfee000b0,%eax */
    assert_int_equal(EA(64, g, 0, 0xa1, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 0xfee000b0);
    /* movabs %al,0x1122334455667788 */
    assert_int_equal(EA(64, g, 0, 0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
                     0x1122334455667788ull);
    /* mov 0x12345678(,%rcx,8),%rsi */
    assert_int_equal(EA(64, g, 0, 0x48, 0x8b, 0x34, 0xcd, 0x78, 0x56, 0x34, 0x12),
                     0x12345690);
    /* sidtq 0x10(%rsp) */
    assert_int_equal(EA(64, g, 0, 0x0f, 0x01, 0x4c, 0x24, 0x10), 0x7010);
    /* lidt (%rax) */
    assert_int_equal(EA(64, g, 0, 0x0f, 0x01, 0x18), 0xfffffffffffffff8ull);
}

static void test_effective_address_32_and_16(void **state)
{
    (void)state;
    uint64_t g[16] = { 0 };
    g[X86_RBX] = 0xffff;
    g[X86_RSI] = 0x2;
    g[X86_RBP] = 0xfffffff0;
    g[X86_RSP] = 0x8000;
    g[X86_RAX] = 0xffffffff00000000ull; /* upper half must not leak into 32-bit EAs */
    /* 32-bit: mov 0xfee000b0(,%eiz,1),%eax (SIB absolute) and moffs32 */
    assert_int_equal(EA(32, g, 0, 0x8b, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe), 0xfee000b0);
    assert_int_equal(EA(32, g, 0, 0xa1, 0xb0, 0x00, 0xe0, 0xfe), 0xfee000b0);
    /* movl $0xdeadbeef,0xfee00380 */
    assert_int_equal(EA(32, g, 0,
                        0xc7, 0x05, 0x80, 0x03, 0xe0, 0xfe, 0xef, 0xbe, 0xad, 0xde),
                     0xfee00380);
    /* mov %ecx,0x10(%ebp): wraps at 4 GiB */
    assert_int_equal(EA(32, g, 0, 0x89, 0x4d, 0x10), 0);
    /* mov %eax,0x10(%esp,%esi,4) */
    assert_int_equal(EA(32, g, 0, 0x89, 0x44, 0xb4, 0x10), 0x8018);
    /* lidtl (%ebx) */
    assert_int_equal(EA(32, g, 0, 0x0f, 0x01, 0x1b), 0xffff);
    /* sgdtl 0x20(%eax): EAX is 0 */
    assert_int_equal(EA(32, g, 0, 0x0f, 0x01, 0x40, 0x20), 0x20);
    /* addr16 mov %eax,(%bx,%si): 0xffff + 2 wraps at 64 KiB */
    assert_int_equal(EA(32, g, 0, 0x67, 0x89, 0x00), 1);
    /* 16-bit: mov 0x12(%bp,%di),%al: BP = 0xfff0 in the low 16 bits */
    assert_int_equal(EA(16, g, 0, 0x8a, 0x43, 0x12), 0x2);
    /* mov %cl,-0x80(%bx,%di) */
    assert_int_equal(EA(16, g, 0, 0x88, 0x49, 0x80), 0xff7f);
    /* mov 0x1234,%bx */
    assert_int_equal(EA(16, g, 0, 0x8b, 0x1e, 0x34, 0x12), 0x1234);
    /* mov 0x8000,%al */
    assert_int_equal(EA(16, g, 0, 0xa0, 0x00, 0x80), 0x8000);
    /* addr32 mov %eax,0x10(%eax,%ecx,4) in 16-bit code */
    g[X86_RCX] = 0x100;
    assert_int_equal(EA(16, g, 0, 0x67, 0x66, 0x89, 0x44, 0x88, 0x10), 0x410);
}

static void test_segment(void **state)
{
    (void)state;
    struct x86_insn in;
    const uint8_t sidt_rsp[] = { 0x0f, 0x01, 0x4c, 0x24, 0x10 };
    assert_int_equal(decode_exact(sidt_rsp, sizeof sidt_rsp, 64, &in), 0);
    assert_int_equal(x86_memop_segment(&in.mem), X86_SEG_SS);
    const uint8_t bp16[] = { 0x8a, 0x43, 0x12 }; /* mov 0x12(%bp,%di),%al */
    assert_int_equal(decode_exact(bp16, sizeof bp16, 16, &in), 0);
    assert_int_equal(x86_memop_segment(&in.mem), X86_SEG_SS);
    const uint8_t ds_bp16[] = { 0x3e, 0x8b, 0x4e, 0x00 }; /* mov %ds:0x0(%bp),%cx */
    assert_int_equal(decode_exact(ds_bp16, sizeof ds_bp16, 16, &in), 0);
    assert_int_equal(x86_memop_segment(&in.mem), X86_SEG_DS);
    const uint8_t fs[] = { 0x64, 0x48, 0x89, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00 };
    assert_int_equal(decode_exact(fs, sizeof fs, 64, &in), 0);
    assert_int_equal(x86_memop_segment(&in.mem), X86_SEG_FS);
    const uint8_t rbx[] = { 0x89, 0x43, 0x30 };
    assert_int_equal(decode_exact(rbx, sizeof rbx, 64, &in), 0);
    assert_int_equal(x86_memop_segment(&in.mem), X86_SEG_DS);
    const uint8_t moffs[] = { 0xa1, 0x34, 0x12 };
    assert_int_equal(decode_exact(moffs, sizeof moffs, 16, &in), 0);
    assert_int_equal(x86_memop_segment(&in.mem), X86_SEG_DS);
}

static struct x86_insn decode_ok(const uint8_t *bytes, size_t len, int mode)
{
    struct x86_insn in;
    assert_int_equal(decode_exact(bytes, len, mode, &in), 0);
    assert_int_equal(in.length, len);
    return in;
}

#define DECODE(mode, ...) \
    decode_ok((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), mode)

static void test_store_value(void **state)
{
    (void)state;
    uint64_t g[16] = { 0 };
    g[X86_RAX] = 0x1122334455667788ull;
    g[X86_R9] = 0xa5a5;
    g[X86_RSP] = 0x99;
    struct x86_insn in = DECODE(64, 0x88, 0x21); /* mov %ah,(%rcx) */
    assert_int_equal(x86_insn_store_value(&in, g), 0x77);
    in = DECODE(64, 0x40, 0x88, 0x21); /* mov %spl,(%rcx) */
    assert_int_equal(x86_insn_store_value(&in, g), 0x99);
    in = DECODE(64, 0x47, 0x88, 0x0c, 0x9a); /* mov %r9b,(%r10,%r11,4) */
    assert_int_equal(x86_insn_store_value(&in, g), 0xa5);
    in = DECODE(64, 0x89, 0x43, 0x30); /* mov %eax,0x30(%rbx) */
    assert_int_equal(x86_insn_store_value(&in, g), 0x55667788);
    in = DECODE(64, 0x4c, 0x89, 0x00); /* mov %r8,(%rax) */
    g[X86_R8] = 0xfedcba9876543210ull;
    assert_int_equal(x86_insn_store_value(&in, g), 0xfedcba9876543210ull);
    in = DECODE(32, 0x66, 0x89, 0x03); /* mov %ax,(%ebx) */
    assert_int_equal(x86_insn_store_value(&in, g), 0x7788);
    in = DECODE(64, 0x49, 0xc7, 0x45, 0x08, 0xfe, 0xff, 0xff, 0xff); /* movq $-2,0x8(%r13) */
    assert_int_equal(x86_insn_store_value(&in, g), 0xfffffffffffffffeull);
    in = DECODE(64, 0xc7, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff); /* movl $-1,(%rax,%rax,1) */
    assert_int_equal(x86_insn_store_value(&in, g), 0xffffffffull);
    in = DECODE(64, 0x8b, 0x50, 0x10); /* a load has nothing to store */
    assert_int_equal(x86_insn_store_value(&in, g), 0);
}

static void test_complete_load(void **state)
{
    (void)state;
    uint64_t g[16];
    memset(g, 0xff, sizeof g);
    struct x86_insn in = DECODE(64, 0x8a, 0x3a); /* mov (%rdx),%bh */
    assert_int_equal(x86_insn_complete_load(&in, g, 0x1ab), 0);
    assert_int_equal(g[X86_RBX], 0xffffffffffffabffull);
    in = DECODE(64, 0x67, 0x8b, 0x50, 0x10); /* mov 0x10(%eax),%edx: clears 63:32 */
    assert_int_equal(x86_insn_complete_load(&in, g, 0xaaaaaaaa12345678ull), 0);
    assert_int_equal(g[X86_RDX], 0x12345678);
    in = DECODE(64, 0x66, 0x44, 0x8b, 0x00); /* mov (%rax),%r8w: keeps 63:16 */
    assert_int_equal(x86_insn_complete_load(&in, g, 0x1234), 0);
    assert_int_equal(g[X86_R8], 0xffffffffffff1234ull);
    in = DECODE(64, 0x48, 0x8b, 0x34, 0xcd, 0x78, 0x56, 0x34, 0x12); /* mov ...,%rsi */
    assert_int_equal(x86_insn_complete_load(&in, g, 0x8000000000000001ull), 0);
    assert_int_equal(g[X86_RSI], 0x8000000000000001ull);
    in = DECODE(64, 0x0f, 0xb7, 0x48, 0x02); /* movzwl 0x2(%rax),%ecx */
    assert_int_equal(x86_insn_complete_load(&in, g, 0xfffe8001), 0);
    assert_int_equal(g[X86_RCX], 0x8001);
    in = DECODE(64, 0x4c, 0x0f, 0xbe, 0x06); /* movsbq (%rsi),%r8 */
    assert_int_equal(x86_insn_complete_load(&in, g, 0x80), 0);
    assert_int_equal(g[X86_R8], 0xffffffffffffff80ull);
    in = DECODE(64, 0x0f, 0xbf, 0x45, 0xf0); /* movswl -0x10(%rbp),%eax */
    g[X86_RAX] = UINT64_MAX;
    assert_int_equal(x86_insn_complete_load(&in, g, 0x8000), 0);
    assert_int_equal(g[X86_RAX], 0xffff8000);
    in = DECODE(64, 0x66, 0x0f, 0xb6, 0x03); /* movzbw (%rbx),%ax */
    g[X86_RAX] = 0x1111111111111111ull;
    assert_int_equal(x86_insn_complete_load(&in, g, 0xff), 0);
    assert_int_equal(g[X86_RAX], 0x11111111111100ffull);
    in = DECODE(16, 0x8a, 0x43, 0x12); /* mov 0x12(%bp,%di),%al */
    assert_int_equal(x86_insn_complete_load(&in, g, 0x42), 0);
    assert_int_equal(g[X86_RAX], 0x1111111111110042ull);
    in = DECODE(64, 0x89, 0x43, 0x30); /* a store is not a load */
    assert_int_equal(x86_insn_complete_load(&in, g, 0), -EINVAL);
    in = DECODE(64, 0x0f, 0x01, 0x18); /* nor is lidt */
    assert_int_equal(x86_insn_complete_load(&in, g, 0), -EINVAL);
}

/* Random byte strings of every length in all modes: no crash, no read past
 * avail (ASan), and a success is self-consistent. */
static void test_random_bytes_are_safe(void **state)
{
    (void)state;
    static const int modes[] = { 16, 32, 64 };
    /* interesting bytes weighted in, so that decodes get deep */
    static const uint8_t hot[] = { 0x0f, 0x01, 0x66, 0x67, 0x48, 0x4f, 0x88, 0x89, 0x8a, 0x8b,
                                   0xa0, 0xa1, 0xa2, 0xa3, 0xc6, 0xc7, 0xb6, 0xbf, 0x04, 0x05,
                                   0x24, 0x25, 0x44, 0x84, 0x64, 0x65, 0x26, 0xf0, 0xf3 };
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned ok = 0;
    for (int iter = 0; iter < 200000; iter++) {
        uint8_t buf[20];
        for (size_t i = 0; i < sizeof buf; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint8_t r = (uint8_t)(seed >> 56);
            buf[i] = r & 1 ? hot[(r >> 1) % sizeof hot] : (uint8_t)(seed >> 40);
        }
        size_t avail = (size_t)(seed >> 20) % (sizeof buf + 1);
        int mode = modes[(seed >> 30) % 3];
        struct x86_insn in;
        int rc = decode_exact(buf, avail, mode, &in);
        assert_true(rc == 0 || rc == -EINVAL || rc == -EOPNOTSUPP);
        if (rc) {
            assert_int_equal(in.kind, INSN_OTHER);
            continue;
        }
        ok++;
        assert_true(in.length >= 1 && in.length <= avail && in.length <= X86_MAX_INSN_LEN);
        assert_int_not_equal(in.kind, INSN_OTHER);
        assert_true(in.mem.addr_size == 2 || in.mem.addr_size == 4 || in.mem.addr_size == 8);
        assert_true(in.mem.base >= X86_REG_NONE && in.mem.base < 16);
        assert_true(in.mem.index >= X86_REG_NONE && in.mem.index < 16);
        assert_true(in.reg >= X86_REG_NONE && in.reg < 16);
        /* the same bytes with nothing after them decode the same */
        struct x86_insn again;
        assert_int_equal(decode_exact(buf, in.length, mode, &again), 0);
        assert_memory_equal(&in, &again, sizeof in);
    }
    assert_true(ok > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_decode),
        cmocka_unit_test(test_samples_ignore_trailing_bytes),
        cmocka_unit_test(test_samples_truncated_at_every_length),
        cmocka_unit_test(test_other_instructions),
        cmocka_unit_test(test_c6_group_zero_is_mov),
        cmocka_unit_test(test_longer_than_15_bytes),
        cmocka_unit_test(test_bad_mode),
        cmocka_unit_test(test_effective_address_64),
        cmocka_unit_test(test_effective_address_32_and_16),
        cmocka_unit_test(test_segment),
        cmocka_unit_test(test_store_value),
        cmocka_unit_test(test_complete_load),
        cmocka_unit_test(test_random_bytes_are_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
