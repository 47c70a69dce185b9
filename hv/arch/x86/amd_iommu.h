/* The AMD IOMMU (AMD-Vi): what eli uses of it to confine the one device it assigns.
 * The assigned device's DMA reaches the guest's RAM and nothing else, and the only
 * interrupts it can raise are the ones eli wrote into its interrupt remapping table.
 *
 * Section numbers are those of the AMD I/O Virtualization Technology (IOMMU)
 * Specification, publication 48882, revision 3.x ("spec" below). Names follow it.
 *
 * Pure parts (amd_iommu_tables.c, host-testable): the encoders of device table entries,
 * interrupt remapping entries and commands, the I/O page-table builder and walker, the
 * IVRS parser and the event decoder. The driver (amd_iommu.c) does the MMIO. */
#ifndef ELI_ARCH_X86_AMD_IOMMU_H
#define ELI_ARCH_X86_AMD_IOMMU_H
#include "arch/x86/pt.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- PCI: the IOMMU's own function and capability block (spec 3.2) ------ */

#define AMD_IOMMU_PCI_VENDOR 0x1022u
#define AMD_IOMMU_PCI_DEVICE 0x1419u      /* what QEMU's AMDVI-PCI reports */
#define AMD_IOMMU_CAP_ID 0x0Fu            /* Secure Device capability (spec 3.2.1) */
/* Capability header: CapType in bits 18:16 is 011b for an IOMMU, EFRSup in bit 27 */
#define AMD_IOMMU_CAP_TYPE_SHIFT 16
#define AMD_IOMMU_CAP_TYPE_MASK 0x7u
#define AMD_IOMMU_CAP_TYPE_IOMMU 0x3u
#define AMD_IOMMU_CAP_EFRSUP (1u << 27)
#define AMD_IOMMU_CAP_BASE_LO 0x04u       /* bit 0 Enable, bits 31:14 BaseAddress[31:14] */
#define AMD_IOMMU_CAP_BASE_HI 0x08u       /* BaseAddress[63:32] */
#define AMD_IOMMU_CAP_BASE_LO_MASK 0xFFFFC000u

/* ---- MMIO registers (spec 3.4), by offset from the IOMMU base ----------- */

#define AMD_IOMMU_MMIO_SIZE 0x4000u       /* 16 KiB, base 16 KiB aligned */
#define AMD_IOMMU_DEV_TAB_BASE 0x0000u    /* DevTabBase[51:12], Size[8:0] (4 KiB units - 1) */
#define AMD_IOMMU_CMD_BUF_BASE 0x0008u    /* ComBase[51:12], ComLen[59:56] (log2 entries) */
#define AMD_IOMMU_EVENT_LOG_BASE 0x0010u  /* EventBase[51:12], EventLen[59:56] */
#define AMD_IOMMU_CONTROL 0x0018u
#define AMD_IOMMU_EXCL_BASE 0x0020u
#define AMD_IOMMU_EXCL_LIMIT 0x0028u
#define AMD_IOMMU_EXT_FEATURE 0x0030u
#define AMD_IOMMU_CMD_BUF_HEAD 0x2000u    /* CmdHeadPtr[18:4] */
#define AMD_IOMMU_CMD_BUF_TAIL 0x2008u    /* CmdTailPtr[18:4] */
#define AMD_IOMMU_EVENT_LOG_HEAD 0x2010u  /* EventHeadPtr[18:4] */
#define AMD_IOMMU_EVENT_LOG_TAIL 0x2018u  /* EventTailPtr[18:4] */
#define AMD_IOMMU_STATUS 0x2020u

#define AMD_IOMMU_BASE_ADDR_MASK 0x000FFFFFFFFFF000ull   /* bits 51:12 of the base registers */
#define AMD_IOMMU_DEV_TAB_SIZE_MASK 0x1FFull
#define AMD_IOMMU_LEN_SHIFT 56                           /* ComLen, EventLen */
#define AMD_IOMMU_LEN_MIN 8u                             /* 1000b: 256 entries (4 KiB) */
#define AMD_IOMMU_RING_PTR_MASK 0x7FFF0ull               /* head and tail pointers, bits 18:4 */

/* IOMMU Control Register, MMIO 0018h */
#define AMD_IOMMU_CTRL_IOMMU_EN (1ull << 0)
#define AMD_IOMMU_CTRL_HT_TUN_EN (1ull << 1)
#define AMD_IOMMU_CTRL_EVENT_LOG_EN (1ull << 2)
#define AMD_IOMMU_CTRL_EVENT_INT_EN (1ull << 3)
#define AMD_IOMMU_CTRL_COM_WAIT_INT_EN (1ull << 4)
#define AMD_IOMMU_CTRL_CMD_BUF_EN (1ull << 12)
#define AMD_IOMMU_CTRL_GA_EN (1ull << 17)         /* 128-bit interrupt remapping entries */
#define AMD_IOMMU_CTRL_XT_EN (1ull << 50)         /* 32-bit x2APIC destinations in IRTEs */
#define AMD_IOMMU_CTRL_INT_CAP_XT_EN (1ull << 51) /* the IOMMU's own interrupts in x2APIC form */

/* Extended Feature Register, MMIO 0030h */
#define AMD_IOMMU_EFR_PREF_SUP (1ull << 0)
#define AMD_IOMMU_EFR_PPR_SUP (1ull << 1)
#define AMD_IOMMU_EFR_XT_SUP (1ull << 2)
#define AMD_IOMMU_EFR_NX_SUP (1ull << 3)
#define AMD_IOMMU_EFR_GT_SUP (1ull << 4)
#define AMD_IOMMU_EFR_IA_SUP (1ull << 6)
#define AMD_IOMMU_EFR_GA_SUP (1ull << 7)
#define AMD_IOMMU_EFR_HE_SUP (1ull << 8)
#define AMD_IOMMU_EFR_HATS_SHIFT 10               /* host address translation size */
#define AMD_IOMMU_EFR_HATS_MASK 0x3ull            /* 00b: 4 levels, 01b: 5, 10b: 6 */

/* IOMMU Status Register, MMIO 2020h */
#define AMD_IOMMU_STATUS_EVENT_OVERFLOW (1ull << 0)
#define AMD_IOMMU_STATUS_EVENT_LOG_INT (1ull << 1)
#define AMD_IOMMU_STATUS_COM_WAIT_INT (1ull << 2)
#define AMD_IOMMU_STATUS_EVENT_LOG_RUN (1ull << 3)
#define AMD_IOMMU_STATUS_CMD_BUF_RUN (1ull << 4)

/* ---- Device table (spec 2.2.2) ------------------------------------------ */

/* One entry per DeviceID (the requester's bus/device/function), 256 bits. */
struct amd_iommu_dte {
    uint64_t data[4];
} __attribute__((packed, aligned(32)));
_Static_assert(sizeof(struct amd_iommu_dte) == 32, "device table entry");

#define AMD_IOMMU_DEVICE_IDS 65536u
#define AMD_IOMMU_DEV_TAB_BYTES (AMD_IOMMU_DEVICE_IDS * sizeof(struct amd_iommu_dte))  /* 2 MiB */

/* data[0], bits 63:0 */
#define AMD_IOMMU_DTE_V (1ull << 0)               /* the entry is valid */
#define AMD_IOMMU_DTE_TV (1ull << 1)              /* the translation fields are valid */
#define AMD_IOMMU_DTE_MODE_SHIFT 9                /* paging mode: levels, 0 = no translation */
#define AMD_IOMMU_DTE_MODE_MASK 0x7ull
#define AMD_IOMMU_DTE_PT_ROOT_MASK 0x000FFFFFFFFFF000ull   /* Page Table Root Pointer [51:12] */
#define AMD_IOMMU_DTE_IR (1ull << 61)             /* DMA reads allowed */
#define AMD_IOMMU_DTE_IW (1ull << 62)             /* DMA writes allowed */
/* data[1], bits 127:64 */
#define AMD_IOMMU_DTE_DOMAIN_MASK 0xFFFFull       /* DomainID */
/* data[2], bits 191:128 */
#define AMD_IOMMU_DTE_IV (1ull << 0)              /* interrupt map valid */
#define AMD_IOMMU_DTE_INT_TAB_LEN_SHIFT 1         /* log2 of the table's entries, at most 1011b */
#define AMD_IOMMU_DTE_INT_TAB_LEN_MASK 0xFull
#define AMD_IOMMU_DTE_INT_TAB_LEN_MAX 11u
#define AMD_IOMMU_DTE_INT_ROOT_MASK 0x000FFFFFFFFFFFC0ull  /* IntTableRootPtr [51:6] */
#define AMD_IOMMU_DTE_INIT_PASS (1ull << 56)
#define AMD_IOMMU_DTE_EINT_PASS (1ull << 57)
#define AMD_IOMMU_DTE_NMI_PASS (1ull << 58)
#define AMD_IOMMU_DTE_INT_CTL_SHIFT 60            /* fixed and arbitrated interrupts: */
#define AMD_IOMMU_DTE_INT_CTL_MASK 0x3ull
#define AMD_IOMMU_INT_CTL_ABORT 0x0ull            /*   target abort */
#define AMD_IOMMU_INT_CTL_PASS 0x1ull             /*   forwarded unmapped */
#define AMD_IOMMU_INT_CTL_REMAP 0x2ull            /*   remapped through the table */
#define AMD_IOMMU_DTE_LINT0_PASS (1ull << 62)
#define AMD_IOMMU_DTE_LINT1_PASS (1ull << 63)

/* ---- I/O page tables for host translations (spec 2.2.3) ------------------ */

/* A PDE or PTE: PR, NextLevel (0: this entry maps a page), the address, IR, IW. A
 * level-L entry maps 2^(12 + 9 (L - 1)) bytes when NextLevel is 0. */
typedef uint64_t amd_iommu_pte_t;
_Static_assert(sizeof(amd_iommu_pte_t) == 8, "I/O page-table entry");
#define AMD_IOMMU_PTE_PR (1ull << 0)
#define AMD_IOMMU_PTE_NEXT_LEVEL_SHIFT 9
#define AMD_IOMMU_PTE_NEXT_LEVEL_MASK 0x7ull
#define AMD_IOMMU_PTE_ADDR_MASK 0x000FFFFFFFFFF000ull
#define AMD_IOMMU_PTE_IR (1ull << 61)
#define AMD_IOMMU_PTE_IW (1ull << 62)
#define AMD_IOMMU_PTE_PERMS (AMD_IOMMU_PTE_IR | AMD_IOMMU_PTE_IW)
#define AMD_IOMMU_PT_ENTRIES 512u
#define AMD_IOMMU_MODE_MAX 6u

/* The bytes of IOVA a table tree of `levels` levels translates: 2^(12 + 9 levels) */
static inline uint64_t amd_iommu_mode_span(unsigned levels)
{
    return levels >= AMD_IOMMU_MODE_MAX ? 1ull << 63 : 1ull << (12 + 9 * levels);
}

/* ---- Interrupt remapping tables (spec 2.2.5) ----------------------------- */

/* The MSI data's bits 10:0 index the device's table (spec 2.2.5.1). The bits 10:8 are
 * also the message's delivery mode, which the IOMMU looks at first: only fixed (000b)
 * and arbitrated (001b) messages are remapped, so the indices eli gives a device stay
 * below 256. */
#define AMD_IOMMU_MSI_INDEX_MASK 0x7FFu
#define AMD_IOMMU_IRT_ENTRIES 2048u               /* every index the data can name */

/* 32-bit IRTE (spec 2.2.5.1): GAEn = 0, 8-bit destination */
typedef uint32_t amd_iommu_irte32_t;
_Static_assert(sizeof(amd_iommu_irte32_t) == 4, "32-bit IRTE");
#define AMD_IOMMU_IRTE_REMAP_EN (1ull << 0)
#define AMD_IOMMU_IRTE_SUP_IOPF (1ull << 1)
#define AMD_IOMMU_IRTE_INT_TYPE_SHIFT 2           /* 000b fixed, 001b arbitrated */
#define AMD_IOMMU_IRTE_RQ_EOI (1ull << 5)
#define AMD_IOMMU_IRTE_DM (1ull << 6)             /* 1: logical destination */
#define AMD_IOMMU_IRTE_GUEST_MODE (1ull << 7)     /* 128-bit form only */
#define AMD_IOMMU_IRTE32_DEST_SHIFT 8
#define AMD_IOMMU_IRTE32_VECTOR_SHIFT 16

/* 128-bit IRTE with GuestMode = 0 (spec 2.2.5.2): GAEn = 1. With XTEn the destination
 * is 32 bits: [23:0] in lo bits 31:8, [31:24] in hi bits 63:56. */
struct amd_iommu_irte128 {
    uint64_t lo;
    uint64_t hi;
} __attribute__((packed, aligned(16)));
_Static_assert(sizeof(struct amd_iommu_irte128) == 16, "128-bit IRTE");
#define AMD_IOMMU_IRTE128_DEST_LO_SHIFT 8
#define AMD_IOMMU_IRTE128_DEST_LO_MASK 0xFFFFFFull
#define AMD_IOMMU_IRTE128_VECTOR_MASK 0xFFull          /* hi bits 7:0 */
#define AMD_IOMMU_IRTE128_DEST_HI_SHIFT 56             /* hi bits 63:56 */

/* ---- Commands (spec 2.4) -------------------------------------------------- */

struct amd_iommu_cmd {
    uint32_t data[4];
} __attribute__((packed, aligned(16)));
_Static_assert(sizeof(struct amd_iommu_cmd) == 16, "command");

#define AMD_IOMMU_CMD_OPCODE_SHIFT 28            /* in data[1] */
#define AMD_IOMMU_CMD_COMPLETION_WAIT 0x1u
#define AMD_IOMMU_CMD_INVALIDATE_DEVTAB_ENTRY 0x2u
#define AMD_IOMMU_CMD_INVALIDATE_IOMMU_PAGES 0x3u
#define AMD_IOMMU_CMD_INVALIDATE_INTERRUPT_TABLE 0x5u
#define AMD_IOMMU_CMD_INVALIDATE_IOMMU_ALL 0x8u
#define AMD_IOMMU_CMD_CW_S (1u << 0)             /* COMPLETION_WAIT: store the data */
#define AMD_IOMMU_CMD_PAGES_S (1u << 0)          /* INVALIDATE_IOMMU_PAGES: a range, by size */
#define AMD_IOMMU_CMD_PAGES_PDE (1u << 1)        /* ... and the directory entries too */
#define AMD_IOMMU_CMD_BUF_ENTRIES 256u           /* ComLen 1000b: one 4 KiB page */

/* ---- Event log (spec 2.5) -------------------------------------------------- */

struct amd_iommu_event {
    uint32_t data[4];
} __attribute__((packed, aligned(16)));
_Static_assert(sizeof(struct amd_iommu_event) == 16, "event log entry");

#define AMD_IOMMU_EVENT_CODE_SHIFT 28            /* in data[1] */
#define AMD_IOMMU_EVENT_ILLEGAL_DEV_TABLE_ENTRY 0x1u
#define AMD_IOMMU_EVENT_IO_PAGE_FAULT 0x2u
#define AMD_IOMMU_EVENT_DEV_TAB_HARDWARE_ERROR 0x3u
#define AMD_IOMMU_EVENT_PAGE_TAB_HARDWARE_ERROR 0x4u
#define AMD_IOMMU_EVENT_ILLEGAL_COMMAND_ERROR 0x5u
#define AMD_IOMMU_EVENT_COMMAND_HARDWARE_ERROR 0x6u
#define AMD_IOMMU_EVENT_IOTLB_INV_TIMEOUT 0x7u
#define AMD_IOMMU_EVENT_INVALID_DEVICE_REQUEST 0x8u
#define AMD_IOMMU_EVENT_LOG_ENTRIES 256u         /* EventLen 1000b: one 4 KiB page */

/* ---- ACPI: IVRS (spec 5.2) ----------------------------------------------------- */

/* The IVRS header: the ACPI header, IVinfo and 8 reserved bytes; then the blocks */
#define AMD_IOMMU_IVRS_BLOCKS_OFFSET 48u

/* An I/O Virtualization Hardware Definition block, type 10h (24 bytes) or 11h and
 * 40h (40 bytes, with an image of the Extended Feature Register); device entries
 * follow up to `length`. */
struct amd_iommu_ivhd {
    uint8_t type;
    uint8_t flags;
    uint16_t length;
    uint16_t device_id;       /* the IOMMU's own PCI function */
    uint16_t cap_offset;      /* of its capability block in that function */
    uint64_t base_address;    /* of its MMIO registers */
    uint16_t segment;
    uint16_t iommu_info;
    uint32_t attributes;      /* type 10h: IOMMU Feature Reporting */
    uint64_t efr_image;       /* types 11h and 40h */
    uint64_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct amd_iommu_ivhd) == 40, "IVHD type 11h/40h");
_Static_assert(offsetof(struct amd_iommu_ivhd, base_address) == 8, "IVHD base address");
_Static_assert(offsetof(struct amd_iommu_ivhd, efr_image) == 24, "IVHD EFR image");
#define AMD_IOMMU_IVHD_10_LEN 24u
#define AMD_IOMMU_IVHD_11_LEN 40u

/* IVHD device entries: the type's bits 7:6 give the length (4 or 8 bytes), but for
 * type F0h (ACPI HID), 22 bytes and a UID. A special device entry (type 48h, 8 bytes)
 * names the DeviceID an IOAPIC or HPET uses: byte 4 handle, bytes 6:5 DeviceID, byte 7
 * variety. */
#define AMD_IOMMU_IVHD_DEV_SPECIAL 0x48u
#define AMD_IOMMU_IVHD_DEV_ACPI_HID 0xF0u
#define AMD_IOMMU_IVHD_SPECIAL_IOAPIC 1u
#define AMD_IOMMU_IVHD_SPECIAL_HPET 2u
/* Where AMD chipsets (and QEMU) put the southbridge IOAPIC: 00:14.0 */
#define AMD_IOMMU_SB_IOAPIC_DEVID 0x00A0u
#define AMD_IOMMU_MAX_IOAPICS 4u

/* What eli takes from the first IVHD of an IVRS table. */
struct amd_iommu_ivrs_info {
    unsigned nivhd;           /* IVHD blocks in the table */
    uint8_t type;             /* of the first: 0x10, 0x11 or 0x40 */
    uint16_t device_id;
    uint16_t cap_offset;
    uint16_t segment;
    uint64_t base;
    uint64_t efr;             /* 0 for type 10h */
    uint32_t ivinfo;
    unsigned nioapic;         /* IOAPIC special entries of the first IVHD */
    uint16_t ioapic_devid[AMD_IOMMU_MAX_IOAPICS];
};

/* ---- pure helpers (amd_iommu_tables.c) -------------------------------------------- */

/* Device table entries. A pass-through entry is valid with translation disabled
 * (TV = 1, Mode 0): DMA passes untranslated, with read and write allowed, and
 * interrupts are not remapped (IV = 0): what a device saw before the IOMMU was on. */
void amd_iommu_dte_passthrough(struct amd_iommu_dte *d);
/* An entry that lets nothing through: no DMA (Mode 0, IR = IW = 0), every interrupt
 * aborted (IV = 1, IntCtl 00b, no pass bit). */
void amd_iommu_dte_blocked(struct amd_iommu_dte *d);
/* A confined entry: DMA through the `levels`-level tables at pt_root (read and write
 * as their leaves allow) in domain `domain`; fixed and arbitrated interrupts remapped
 * through the table at irt_pa of 2^irt_len_log2 entries; NMI, INIT, ExtINT, LINT0 and
 * LINT1 messages aborted. */
void amd_iommu_dte_confined(struct amd_iommu_dte *d, uint16_t domain, uint64_t pt_root,
                            unsigned levels, uint64_t irt_pa, unsigned irt_len_log2);

/* Interrupt remapping entries: fixed delivery, physical destination `dest`. The 32-bit
 * form takes an 8-bit destination: -ERANGE beyond. */
void amd_iommu_irte128_remap(struct amd_iommu_irte128 *e, uint8_t vector, uint32_t dest);
int amd_iommu_irte32_remap(amd_iommu_irte32_t *e, uint8_t vector, uint32_t dest);

/* Commands */
void amd_iommu_cmd_completion_wait(struct amd_iommu_cmd *c, uint64_t store_pa, uint64_t data);
void amd_iommu_cmd_inval_devtab_entry(struct amd_iommu_cmd *c, uint16_t device_id);
/* Every page of the domain, directory entries included (S = 1, PDE = 1, the address
 * with bits 62:12 set: spec 2.4.3, the whole address space) */
void amd_iommu_cmd_inval_pages_all(struct amd_iommu_cmd *c, uint16_t domain);
void amd_iommu_cmd_inval_interrupt_table(struct amd_iommu_cmd *c, uint16_t device_id);

/* I/O page tables, through pt.h's callbacks (a zeroed page, and where to write it).
 * Maps [iova, iova + size) to [pa, pa + size) in the `levels`-level tree at root with
 * leaf permissions perms (AMD_IOMMU_PTE_IR | AMD_IOMMU_PTE_IW or one of them), using
 * 2 MiB pages (level-2 entries with NextLevel 0) where allowed and aligned. Directory
 * entries get PR, NextLevel and IR | IW: the leaves decide. Every entry not written
 * stays zero, which maps nothing (a zero leaf has no permission). Returns 0, -EINVAL
 * (misaligned, empty perms, levels outside 1..6, beyond the tree's span), -EEXIST or
 * -ENOMEM. */
int amd_iommu_pt_map(const struct pt_ops *ops, uint64_t root, unsigned levels, uint64_t iova,
                     uint64_t pa, uint64_t size, uint64_t perms, bool allow_2m);
/* Translates iova as the spec says the IOMMU does: every directory entry must be
 * present, the walk ends at an entry with NextLevel 0 (or at level 1). Returns 0 with
 * *pa, *perms (the leaf's IR | IW) and *page_size, or -ENOENT (no leaf, or a leaf
 * without any permission) or -EINVAL (iova beyond the tree, a malformed NextLevel). */
int amd_iommu_pt_walk(const struct pt_ops *ops, uint64_t root, unsigned levels, uint64_t iova,
                      uint64_t *pa, uint64_t *perms, uint64_t *page_size);

/* The first IVHD of an IVRS table of `len` bytes (its checksum already checked), with
 * the DeviceIDs of the IOAPICs its special device entries name. Returns 0, -ENOENT (no
 * IVHD) or -EINVAL (a block overruns the table, or is shorter than its type requires;
 * an IVHD's device entries that overrun it). */
int amd_iommu_ivrs_parse(const void *table, size_t len, struct amd_iommu_ivrs_info *out);

/* One line describing an event log entry ("IO_PAGE_FAULT device 00:04.0 ..."). */
void amd_iommu_event_format(const struct amd_iommu_event *e, char *buf, size_t len);
/* The spec's name of an event code, or "UNKNOWN". */
const char *amd_iommu_event_name(unsigned code);

/* ---- the driver (amd_iommu.c) -------------------------------------------------------- */

struct acpi;

/* Finds the IOMMU: the IVRS table's first IVHD (MMIO base and the IOMMU's PCI function),
 * checked against that function (1022:1419) and its capability block; or, without IVRS,
 * the first such function. Logs what it found. Returns 0 or -ENODEV. Needs PCI access. */
int amd_iommu_probe(const struct acpi *acpi);
bool amd_iommu_present(void);

/* Turns the IOMMU on (once): device table for every DeviceID (pass-through entries, but
 * the IOAPICs' DeviceIDs, whose interrupts are all aborted: eli takes none, and QEMU
 * attributes a device's DMA write to the MSI window to the southbridge IOAPIC), command
 * buffer, event log; IommuEn, CmdBufEn, EventLogEn, and GAEn / XTEn /
 * IntCapXTEn when the IOMMU has them. Then confines `device_id`: DMA to IOVA
 * [0, ram_size) reaches host-physical [ram_hpa, ram_hpa + ram_size), nothing else, read
 * and write; its interrupt remapping table covers every index with RemapEn = 0.
 * Returns 0, or a negative errno value with one line in err. */
int amd_iommu_confine(uint16_t device_id, uint64_t ram_hpa, uint64_t ram_size, char *err,
                      size_t errlen);

/* Points entry `index` (below 256) of the confined device's table at `vector` on the
 * physical x2APIC ID `dest`, or turns it off, and waits until the IOMMU has the new
 * entry. The device's message is then address 0xFEE00000, data = index. */
int amd_iommu_irte_set(unsigned index, uint8_t vector, uint32_t dest);
int amd_iommu_irte_clear(unsigned index);

/* Logs each new event log entry and returns how many there were (counted in
 * amd_iommu_events_total()). */
unsigned amd_iommu_drain_events(void);
uint64_t amd_iommu_events_total(void);

#endif
