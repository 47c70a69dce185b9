/* The Virtual Machine Control Block (AMD APM vol. 2, appendix B, table B-1 control
 * area and table B-2 state save area). Reserved fields are named by offset. */
#ifndef ELI_ARCH_X86_SVM_VMCB_H
#define ELI_ARCH_X86_SVM_VMCB_H
#include <stddef.h>
#include <stdint.h>

struct vmcb_control {
    uint32_t intercept_cr;          /* 0x000: reads 15:0, writes 31:16 */
    uint32_t intercept_dr;          /* 0x004 */
    uint32_t intercept_exceptions;  /* 0x008: one bit per vector */
    uint32_t intercept_misc1;       /* 0x00C: INTERCEPT1_* */
    uint32_t intercept_misc2;       /* 0x010: INTERCEPT2_* */
    uint32_t intercept_misc3;       /* 0x014 */
    uint8_t reserved_0x018[0x03C - 0x018];
    uint16_t pause_filter_threshold; /* 0x03C */
    uint16_t pause_filter_count;    /* 0x03E */
    uint64_t iopm_base_pa;          /* 0x040 */
    uint64_t msrpm_base_pa;         /* 0x048 */
    uint64_t tsc_offset;            /* 0x050 */
    uint32_t guest_asid;            /* 0x058 */
    uint8_t tlb_control;            /* 0x05C */
    uint8_t reserved_0x05d[3];
    uint64_t vintr;                 /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING, V_INTR_VECTOR */
    uint64_t interrupt_shadow;      /* 0x068 */
    uint64_t exitcode;              /* 0x070 */
    uint64_t exitinfo1;             /* 0x078 */
    uint64_t exitinfo2;             /* 0x080 */
    uint64_t exitintinfo;           /* 0x088 */
    uint64_t np_control;            /* 0x090: bit 0 NP_ENABLE */
    uint64_t avic_apic_bar;         /* 0x098 */
    uint64_t ghcb_pa;               /* 0x0A0 */
    uint64_t eventinj;              /* 0x0A8 */
    uint64_t ncr3;                  /* 0x0B0 */
    uint64_t lbr_control;           /* 0x0B8 */
    uint32_t vmcb_clean;            /* 0x0C0 */
    uint32_t reserved_0x0c4;
    uint64_t nrip;                  /* 0x0C8 */
    uint8_t guest_insn_len;         /* 0x0D0 */
    uint8_t guest_insn_bytes[15];   /* 0x0D1 */
    uint8_t reserved_0x0e0[0x400 - 0x0E0];
};

struct vmcb_seg {
    uint16_t selector;
    uint16_t attrib; /* descriptor bits 47:40 in 7:0, bits 55:52 in 11:8 */
    uint32_t limit;
    uint64_t base;
};

struct vmcb_save {
    struct vmcb_seg es, cs, ss, ds, fs, gs; /* 0x000 - 0x05F */
    struct vmcb_seg gdtr, ldtr, idtr, tr;   /* 0x060 - 0x09F */
    uint8_t reserved_0x0a0[0x0CB - 0x0A0];
    uint8_t cpl;                            /* 0x0CB */
    uint32_t reserved_0x0cc;
    uint64_t efer;                          /* 0x0D0 */
    uint8_t reserved_0x0d8[0x148 - 0x0D8];
    uint64_t cr4, cr3, cr0, dr7, dr6;       /* 0x148 - 0x16F */
    uint64_t rflags, rip;                   /* 0x170, 0x178 */
    uint8_t reserved_0x180[0x1D8 - 0x180];
    uint64_t rsp;                           /* 0x1D8 */
    uint64_t s_cet, ssp, isst_addr;         /* 0x1E0 - 0x1F7 */
    uint64_t rax;                           /* 0x1F8 */
    uint64_t star, lstar, cstar, sfmask;    /* 0x200 - 0x21F */
    uint64_t kernel_gs_base;                /* 0x220 */
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip; /* 0x228 - 0x23F */
    uint64_t cr2;                           /* 0x240 */
    uint8_t reserved_0x248[0x268 - 0x248];
    uint64_t g_pat;                         /* 0x268 */
    uint64_t dbgctl;                        /* 0x270 */
    uint64_t br_from, br_to, last_excp_from, last_excp_to; /* 0x278 - 0x297 */
    uint8_t reserved_0x298[0xC00 - 0x298];
};

struct vmcb {
    struct vmcb_control control;
    struct vmcb_save save;
};

_Static_assert(sizeof(struct vmcb_seg) == 16, "VMCB segment");
_Static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x040, "iopm_base_pa");
_Static_assert(offsetof(struct vmcb_control, guest_asid) == 0x058, "guest_asid");
_Static_assert(offsetof(struct vmcb_control, tlb_control) == 0x05C, "tlb_control");
_Static_assert(offsetof(struct vmcb_control, vintr) == 0x060, "vintr");
_Static_assert(offsetof(struct vmcb_control, exitcode) == 0x070, "exitcode");
_Static_assert(offsetof(struct vmcb_control, exitintinfo) == 0x088, "exitintinfo");
_Static_assert(offsetof(struct vmcb_control, np_control) == 0x090, "np_control");
_Static_assert(offsetof(struct vmcb_control, eventinj) == 0x0A8, "eventinj");
_Static_assert(offsetof(struct vmcb_control, ncr3) == 0x0B0, "ncr3");
_Static_assert(offsetof(struct vmcb_control, nrip) == 0x0C8, "nrip");
_Static_assert(offsetof(struct vmcb_control, guest_insn_len) == 0x0D0, "guest_insn_len");
_Static_assert(sizeof(struct vmcb_control) == 0x400, "control area");
_Static_assert(offsetof(struct vmcb_save, gdtr) == 0x060, "gdtr");
_Static_assert(offsetof(struct vmcb_save, tr) == 0x090, "tr");
_Static_assert(offsetof(struct vmcb_save, cpl) == 0x0CB, "cpl");
_Static_assert(offsetof(struct vmcb_save, efer) == 0x0D0, "efer");
_Static_assert(offsetof(struct vmcb_save, cr4) == 0x148, "cr4");
_Static_assert(offsetof(struct vmcb_save, rflags) == 0x170, "rflags");
_Static_assert(offsetof(struct vmcb_save, rip) == 0x178, "rip");
_Static_assert(offsetof(struct vmcb_save, rsp) == 0x1D8, "rsp");
_Static_assert(offsetof(struct vmcb_save, rax) == 0x1F8, "rax");
_Static_assert(offsetof(struct vmcb_save, star) == 0x200, "star");
_Static_assert(offsetof(struct vmcb_save, kernel_gs_base) == 0x220, "kernel_gs_base");
_Static_assert(offsetof(struct vmcb_save, cr2) == 0x240, "cr2");
_Static_assert(offsetof(struct vmcb_save, g_pat) == 0x268, "g_pat");
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");

/* intercept_cr (offset 0x000) */
#define INTERCEPT_CR8_READ (1u << 8)
#define INTERCEPT_CR8_WRITE (1u << 24)

/* intercept_misc1 (APM table B-1, offset 0x00C) */
#define INTERCEPT1_INTR (1u << 0)
#define INTERCEPT1_NMI (1u << 1)
#define INTERCEPT1_SMI (1u << 2)
#define INTERCEPT1_INIT (1u << 3)
#define INTERCEPT1_VINTR (1u << 4)
#define INTERCEPT1_IDTR_READ (1u << 6)
#define INTERCEPT1_IDTR_WRITE (1u << 10)
#define INTERCEPT1_CPUID (1u << 18)
#define INTERCEPT1_INVD (1u << 22)
#define INTERCEPT1_HLT (1u << 24)
#define INTERCEPT1_INVLPGA (1u << 26)
#define INTERCEPT1_IOIO_PROT (1u << 27)
#define INTERCEPT1_MSR_PROT (1u << 28)
#define INTERCEPT1_TASK_SWITCH (1u << 29)
#define INTERCEPT1_SHUTDOWN (1u << 31)
/* intercept_misc2 (offset 0x010) */
#define INTERCEPT2_VMRUN (1u << 0)
#define INTERCEPT2_VMMCALL (1u << 1)
#define INTERCEPT2_VMLOAD (1u << 2)
#define INTERCEPT2_VMSAVE (1u << 3)
#define INTERCEPT2_STGI (1u << 4)
#define INTERCEPT2_CLGI (1u << 5)
#define INTERCEPT2_SKINIT (1u << 6)
#define INTERCEPT2_XSETBV (1u << 13)

#define VINTR_V_TPR_MASK 0xFull
#define VINTR_V_IRQ (1ull << 8)
#define VINTR_V_IGN_TPR (1ull << 20)
#define VINTR_V_INTR_MASKING (1ull << 24)
#define VINTR_VECTOR_SHIFT 32
#define INTERRUPT_SHADOW (1ull << 0)
#define NP_ENABLE (1ull << 0)
#define TLB_CONTROL_FLUSH_ALL 1u

/* EVENTINJ / EXITINTINFO (APM 15.20) */
#define EVENT_TYPE_INTR (0u << 8)
#define EVENT_TYPE_NMI (2u << 8)
#define EVENT_TYPE_EXCEPTION (3u << 8)
#define EVENT_TYPE_SOFT_INT (4u << 8)
#define EVENT_ERROR_VALID (1u << 11)
#define EVENT_VALID (1u << 31)

#endif
