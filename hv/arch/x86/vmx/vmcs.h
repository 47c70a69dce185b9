/* Intel VMX: capability MSRs, VMCS field encodings (SDM vol. 3, appendix B), control
 * bits (SDM vol. 3, chapter 25), exit reasons (appendix C) and the hardware structures
 * eli gives the CPU, with VMREAD/VMWRITE. Names follow the SDM's. */
#ifndef ELI_ARCH_X86_VMX_VMCS_H
#define ELI_ARCH_X86_VMX_VMCS_H
#include <stddef.h>
#include <stdint.h>

/* ---- MSRs (SDM vol. 3, appendix A) ---- */
#define MSR_IA32_FEATURE_CONTROL 0x03A
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48B
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48C
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48D
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48F
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define EPT_CAP_WALK_4 (1ull << 6)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)

/* ---- VMCS field encodings (appendix B) ---- */
enum vmcs_field {
    /* 16-bit */
    VMCS_VPID = 0x0000,
    GUEST_ES_SELECTOR = 0x0800,
    GUEST_CS_SELECTOR = 0x0802,
    GUEST_SS_SELECTOR = 0x0804,
    GUEST_DS_SELECTOR = 0x0806,
    GUEST_FS_SELECTOR = 0x0808,
    GUEST_GS_SELECTOR = 0x080A,
    GUEST_LDTR_SELECTOR = 0x080C,
    GUEST_TR_SELECTOR = 0x080E,
    HOST_ES_SELECTOR = 0x0C00,
    HOST_CS_SELECTOR = 0x0C02,
    HOST_SS_SELECTOR = 0x0C04,
    HOST_DS_SELECTOR = 0x0C06,
    HOST_FS_SELECTOR = 0x0C08,
    HOST_GS_SELECTOR = 0x0C0A,
    HOST_TR_SELECTOR = 0x0C0C,
    /* 64-bit */
    IO_BITMAP_A = 0x2000,
    IO_BITMAP_B = 0x2002,
    MSR_BITMAP = 0x2004,
    TSC_OFFSET = 0x2010,
    EPT_POINTER = 0x201A,
    GUEST_PHYSICAL_ADDRESS = 0x2400,
    VMCS_LINK_POINTER = 0x2800,
    GUEST_IA32_DEBUGCTL = 0x2802,
    GUEST_IA32_PAT = 0x2804,
    GUEST_IA32_EFER = 0x2806,
    HOST_IA32_PAT = 0x2C00,
    HOST_IA32_EFER = 0x2C02,
    /* 32-bit */
    PIN_BASED_VM_EXEC_CONTROL = 0x4000,
    CPU_BASED_VM_EXEC_CONTROL = 0x4002,
    EXCEPTION_BITMAP = 0x4004,
    PAGE_FAULT_ERROR_CODE_MASK = 0x4006,
    PAGE_FAULT_ERROR_CODE_MATCH = 0x4008,
    CR3_TARGET_COUNT = 0x400A,
    VM_EXIT_CONTROLS = 0x400C,
    VM_EXIT_MSR_STORE_COUNT = 0x400E,
    VM_EXIT_MSR_LOAD_COUNT = 0x4010,
    VM_ENTRY_CONTROLS = 0x4012,
    VM_ENTRY_MSR_LOAD_COUNT = 0x4014,
    VM_ENTRY_INTR_INFO = 0x4016,
    VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018,
    VM_ENTRY_INSTRUCTION_LEN = 0x401A,
    TPR_THRESHOLD = 0x401C,
    SECONDARY_VM_EXEC_CONTROL = 0x401E,
    VM_INSTRUCTION_ERROR = 0x4400,
    VM_EXIT_REASON = 0x4402,
    VM_EXIT_INTR_INFO = 0x4404,
    VM_EXIT_INTR_ERROR_CODE = 0x4406,
    IDT_VECTORING_INFO = 0x4408,
    IDT_VECTORING_ERROR_CODE = 0x440A,
    VM_EXIT_INSTRUCTION_LEN = 0x440C,
    VMX_INSTRUCTION_INFO = 0x440E,
    GUEST_ES_LIMIT = 0x4800,
    GUEST_CS_LIMIT = 0x4802,
    GUEST_SS_LIMIT = 0x4804,
    GUEST_DS_LIMIT = 0x4806,
    GUEST_FS_LIMIT = 0x4808,
    GUEST_GS_LIMIT = 0x480A,
    GUEST_LDTR_LIMIT = 0x480C,
    GUEST_TR_LIMIT = 0x480E,
    GUEST_GDTR_LIMIT = 0x4810,
    GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_AR_BYTES = 0x4814,
    GUEST_CS_AR_BYTES = 0x4816,
    GUEST_SS_AR_BYTES = 0x4818,
    GUEST_DS_AR_BYTES = 0x481A,
    GUEST_FS_AR_BYTES = 0x481C,
    GUEST_GS_AR_BYTES = 0x481E,
    GUEST_LDTR_AR_BYTES = 0x4820,
    GUEST_TR_AR_BYTES = 0x4822,
    GUEST_INTERRUPTIBILITY_INFO = 0x4824,
    GUEST_ACTIVITY_STATE = 0x4826,
    GUEST_SYSENTER_CS = 0x482A,
    VMX_PREEMPTION_TIMER_VALUE = 0x482E,
    HOST_IA32_SYSENTER_CS = 0x4C00,
    /* natural width */
    CR0_GUEST_HOST_MASK = 0x6000,
    CR4_GUEST_HOST_MASK = 0x6002,
    CR0_READ_SHADOW = 0x6004,
    CR4_READ_SHADOW = 0x6006,
    EXIT_QUALIFICATION = 0x6400,
    GUEST_LINEAR_ADDRESS = 0x640A,
    GUEST_CR0 = 0x6800,
    GUEST_CR3 = 0x6802,
    GUEST_CR4 = 0x6804,
    GUEST_ES_BASE = 0x6806,
    GUEST_CS_BASE = 0x6808,
    GUEST_SS_BASE = 0x680A,
    GUEST_DS_BASE = 0x680C,
    GUEST_FS_BASE = 0x680E,
    GUEST_GS_BASE = 0x6810,
    GUEST_LDTR_BASE = 0x6812,
    GUEST_TR_BASE = 0x6814,
    GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818,
    GUEST_DR7 = 0x681A,
    GUEST_RSP = 0x681C,
    GUEST_RIP = 0x681E,
    GUEST_RFLAGS = 0x6820,
    GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,
    GUEST_SYSENTER_ESP = 0x6824,
    GUEST_SYSENTER_EIP = 0x6826,
    HOST_CR0 = 0x6C00,
    HOST_CR3 = 0x6C02,
    HOST_CR4 = 0x6C04,
    HOST_FS_BASE = 0x6C06,
    HOST_GS_BASE = 0x6C08,
    HOST_TR_BASE = 0x6C0A,
    HOST_GDTR_BASE = 0x6C0C,
    HOST_IDTR_BASE = 0x6C0E,
    HOST_IA32_SYSENTER_ESP = 0x6C10,
    HOST_IA32_SYSENTER_EIP = 0x6C12,
    HOST_RSP = 0x6C14,
    HOST_RIP = 0x6C16,
};

/* ---- controls (SDM vol. 3, 25.6, 25.7, 25.8) ---- */
#define PIN_EXT_INTR_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)

#define CPU_INTR_WINDOW_EXITING (1u << 2)
#define CPU_HLT_EXITING (1u << 7)
#define CPU_CR8_LOAD_EXITING (1u << 19)
#define CPU_CR8_STORE_EXITING (1u << 20)
#define CPU_UNCOND_IO_EXITING (1u << 24)
#define CPU_USE_IO_BITMAPS (1u << 25)
#define CPU_USE_MSR_BITMAPS (1u << 28)
#define CPU_SECONDARY_CONTROLS (1u << 31)

#define CPU2_ENABLE_EPT (1u << 1)
#define CPU2_DESC_TABLE_EXITING (1u << 2)
#define CPU2_UNRESTRICTED_GUEST (1u << 7)

#define EXIT_HOST_ADDR_SPACE_SIZE (1u << 9)
#define EXIT_ACK_INTR_ON_EXIT (1u << 15)
#define EXIT_SAVE_IA32_PAT (1u << 18)
#define EXIT_LOAD_IA32_PAT (1u << 19)
#define EXIT_SAVE_IA32_EFER (1u << 20)
#define EXIT_LOAD_IA32_EFER (1u << 21)

#define ENTRY_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_LOAD_IA32_PAT (1u << 14)
#define ENTRY_LOAD_IA32_EFER (1u << 15)

/* ---- segment access rights in the VMCS (25.4.1): the descriptor's bits 47:40 in 7:0,
 * 55:52 in 15:12, and bit 16 "unusable" ---- */
#define VMX_AR_UNUSABLE (1u << 16)

/* ---- event information (25.8.3, 26.9.2) ---- */
#define INTR_INFO_VALID (1u << 31)
#define INTR_INFO_DELIVER_CODE (1u << 11)
#define INTR_TYPE_EXT_INTR (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SW_INTR (4u << 8)
#define INTR_TYPE_MASK (7u << 8)

#define INTERRUPTIBILITY_STI (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)

/* ---- basic exit reasons (appendix C) ---- */
enum vmx_exit_reason {
    VMX_EXIT_EXCEPTION_NMI = 0,
    VMX_EXIT_EXTERNAL_INTERRUPT = 1,
    VMX_EXIT_TRIPLE_FAULT = 2,
    VMX_EXIT_INIT = 3,
    VMX_EXIT_SIPI = 4,
    VMX_EXIT_IO_SMI = 5,
    VMX_EXIT_OTHER_SMI = 6,
    VMX_EXIT_INTERRUPT_WINDOW = 7,
    VMX_EXIT_NMI_WINDOW = 8,
    VMX_EXIT_TASK_SWITCH = 9,
    VMX_EXIT_CPUID = 10,
    VMX_EXIT_GETSEC = 11,
    VMX_EXIT_HLT = 12,
    VMX_EXIT_INVD = 13,
    VMX_EXIT_INVLPG = 14,
    VMX_EXIT_RDPMC = 15,
    VMX_EXIT_RDTSC = 16,
    VMX_EXIT_RSM = 17,
    VMX_EXIT_VMCALL = 18,
    VMX_EXIT_VMCLEAR = 19,
    VMX_EXIT_VMLAUNCH = 20,
    VMX_EXIT_VMPTRLD = 21,
    VMX_EXIT_VMPTRST = 22,
    VMX_EXIT_VMREAD = 23,
    VMX_EXIT_VMRESUME = 24,
    VMX_EXIT_VMWRITE = 25,
    VMX_EXIT_VMXOFF = 26,
    VMX_EXIT_VMXON = 27,
    VMX_EXIT_CR_ACCESS = 28,
    VMX_EXIT_DR_ACCESS = 29,
    VMX_EXIT_IO_INSTRUCTION = 30,
    VMX_EXIT_RDMSR = 31,
    VMX_EXIT_WRMSR = 32,
    VMX_EXIT_INVALID_GUEST_STATE = 33,
    VMX_EXIT_MSR_LOADING = 34,
    VMX_EXIT_MWAIT = 36,
    VMX_EXIT_MTF = 37,
    VMX_EXIT_MONITOR = 39,
    VMX_EXIT_PAUSE = 40,
    VMX_EXIT_MACHINE_CHECK = 41,
    VMX_EXIT_TPR_BELOW_THRESHOLD = 43,
    VMX_EXIT_APIC_ACCESS = 44,
    VMX_EXIT_EOI_INDUCED = 45,
    VMX_EXIT_GDTR_IDTR = 46,
    VMX_EXIT_LDTR_TR = 47,
    VMX_EXIT_EPT_VIOLATION = 48,
    VMX_EXIT_EPT_MISCONFIG = 49,
    VMX_EXIT_INVEPT = 50,
    VMX_EXIT_RDTSCP = 51,
    VMX_EXIT_PREEMPTION_TIMER = 52,
    VMX_EXIT_INVVPID = 53,
    VMX_EXIT_WBINVD = 54,
    VMX_EXIT_XSETBV = 55,
    VMX_EXIT_APIC_WRITE = 56,
    VMX_EXIT_RDRAND = 57,
    VMX_EXIT_INVPCID = 58,
    VMX_EXIT_VMFUNC = 59,
    VMX_EXIT_COUNT = 64,
};
#define VMX_EXIT_REASON_BASIC 0xffffu
#define VMX_EXIT_REASON_ENTRY_FAIL (1u << 31)

/* I/O exit qualification (table 28-5) */
#define IO_QUAL_SIZE_MASK 7u
#define IO_QUAL_IN (1u << 3)
#define IO_QUAL_STRING (1u << 4)
#define IO_QUAL_REP (1u << 5)
#define IO_QUAL_PORT_SHIFT 16

/* EPT-violation exit qualification (table 28-7) */
#define EPT_QUAL_READ (1ull << 0)
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)

/* ---- hardware structures ---- */

/* The VMXON region and the VMCS both start with the revision identifier from
 * IA32_VMX_BASIC (24.2, 25.2); the rest of the 4 KiB is the CPU's. */
struct vmx_region {
    uint32_t revision_id;   /* bit 31: shadow VMCS, always 0 here */
    uint32_t abort;
    uint8_t data[4096 - 8];
};
_Static_assert(sizeof(struct vmx_region) == 4096, "VMXON region / VMCS is one page");
_Static_assert(offsetof(struct vmx_region, abort) == 4, "VMX-abort indicator at 4");

/* The MSR bitmap (25.6.9): one bit per MSR, set = exit. Reads then writes, each for
 * MSRs 0-1FFFh and C0000000h-C0001FFFh. */
struct vmx_msr_bitmap {
    uint8_t read_low[1024];
    uint8_t read_high[1024];
    uint8_t write_low[1024];
    uint8_t write_high[1024];
};
_Static_assert(sizeof(struct vmx_msr_bitmap) == 4096, "MSR bitmap is one page");
_Static_assert(offsetof(struct vmx_msr_bitmap, write_low) == 2048, "write bitmaps at 2048");

/* EPT entries (28.3.2) share the x86-64 shape pt.c builds: bits 0-2 are read, write and
 * execute where a page-table entry has P, RW and US, bit 7 is the large-page bit in both.
 * A leaf adds its memory type in bits 5:3 and "ignore PAT" in bit 6. */
#define EPT_R (1ull << 0)
#define EPT_W (1ull << 1)
#define EPT_X (1ull << 2)
#define EPT_MT_UC (0ull << 3)
#define EPT_MT_WB (6ull << 3)
#define EPT_IGNORE_PAT (1ull << 6)
#define EPTP_MT_WB 6ull
#define EPTP_WALK_4 (3ull << 3)

/* ---- instructions ---- */

/* Each returns 0, or -1 when the instruction failed (CF or ZF set, 31.2). */
static inline int vmx_on(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmxon %1; setbe %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
    return fail ? -1 : 0;
}

static inline int vmx_clear(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmclear %1; setbe %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
    return fail ? -1 : 0;
}

static inline int vmx_ptrld(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmptrld %1; setbe %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
    return fail ? -1 : 0;
}

static inline uint64_t vmread(enum vmcs_field f)
{
    uint64_t v;
    __asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)f) : "cc");
    return v;
}

static inline void vmwrite(enum vmcs_field f, uint64_t v)
{
    __asm__ volatile("vmwrite %1, %0" ::"r"((uint64_t)f), "r"(v) : "cc", "memory");
}

struct invept_desc {
    uint64_t eptp;
    uint64_t reserved;
};
_Static_assert(sizeof(struct invept_desc) == 16, "INVEPT descriptor is 16 bytes");

#define INVEPT_SINGLE_CONTEXT 1ull
#define INVEPT_ALL_CONTEXTS 2ull

static inline void vmx_invept(uint64_t type, uint64_t eptp)
{
    struct invept_desc d = { eptp, 0 };
    __asm__ volatile("invept %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

#endif
