/* SVM exit codes (AMD APM vol. 2, appendix C) and the decoding of their
 * EXITINFO fields (pure, host-testable). */
#ifndef ELI_ARCH_X86_SVM_EXITCODE_H
#define ELI_ARCH_X86_SVM_EXITCODE_H
#include "core/stats.h"
#include <stdbool.h>
#include <stdint.h>

#define SVM_EXIT_CR0_READ 0x000
#define SVM_EXIT_CR0_WRITE 0x010
#define SVM_EXIT_CR8_READ 0x008
#define SVM_EXIT_CR8_WRITE 0x018
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_SMI 0x062
#define SVM_EXIT_INIT 0x063
#define SVM_EXIT_VINTR 0x064
#define SVM_EXIT_IDTR_READ 0x066
#define SVM_EXIT_IDTR_WRITE 0x06A
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_INVD 0x076
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07A
#define SVM_EXIT_IOIO 0x07B
#define SVM_EXIT_MSR 0x07C
#define SVM_EXIT_TASK_SWITCH 0x07D
#define SVM_EXIT_SHUTDOWN 0x07F
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_XSETBV 0x08D
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID 0xFFFFFFFFFFFFFFFFull

/* A short name for an exit code, for logs ("cpuid", "excp14", ...). */
const char *svm_exit_name(uint64_t code, char *buf, unsigned len);
/* The arch-neutral reason the exit is counted under. */
enum exit_reason svm_exit_reason(uint64_t code);

/* IOIO EXITINFO1 (APM 15.10.2) */
struct ioio_info {
    uint16_t port;
    uint8_t size;     /* 1, 2 or 4 bytes */
    bool in;          /* IN (else OUT) */
    bool string;      /* INS/OUTS */
    bool rep;
};
/* Returns false when the operand size field is not exactly one of 8/16/32 bits. */
bool svm_decode_ioio(uint64_t exitinfo1, struct ioio_info *out);

/* NPF EXITINFO1 error-code bits (APM 15.25.6) */
#define NPF_P (1ull << 0)
#define NPF_WRITE (1ull << 1)
#define NPF_USER (1ull << 2)
#define NPF_RSVD (1ull << 3)
#define NPF_FETCH (1ull << 4)
#define NPF_FINAL_GPA (1ull << 32)
#define NPF_TABLE_WALK (1ull << 33)

#endif
