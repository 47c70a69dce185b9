/* The pure side of the AMD IOMMU driver: entry and command encoders, the I/O
 * page-table builder and walker, IVRS and event decoding. No hardware access. */
#include "arch/x86/amd_iommu.h"
#include "core/errno.h"
#include "core/fmt.h"
#include <string.h>

#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull

/* ---- device table entries (spec 2.2.2) ---------------------------------- */

void amd_iommu_dte_passthrough(struct amd_iommu_dte *d)
{
    memset(d, 0, sizeof(*d));
    /* Mode 0 with TV = 1: no translation, access controlled by IR and IW */
    d->data[0] = AMD_IOMMU_DTE_V | AMD_IOMMU_DTE_TV | AMD_IOMMU_DTE_IR | AMD_IOMMU_DTE_IW;
}

void amd_iommu_dte_blocked(struct amd_iommu_dte *d)
{
    memset(d, 0, sizeof(*d));
    d->data[0] = AMD_IOMMU_DTE_V | AMD_IOMMU_DTE_TV;
    d->data[2] = AMD_IOMMU_DTE_IV | AMD_IOMMU_INT_CTL_ABORT << AMD_IOMMU_DTE_INT_CTL_SHIFT;
}

void amd_iommu_dte_confined(struct amd_iommu_dte *d, uint16_t domain, uint64_t pt_root,
                            unsigned levels, uint64_t irt_pa, unsigned irt_len_log2)
{
    memset(d, 0, sizeof(*d));
    d->data[0] = AMD_IOMMU_DTE_V | AMD_IOMMU_DTE_TV |
                 ((uint64_t)(levels & AMD_IOMMU_DTE_MODE_MASK) << AMD_IOMMU_DTE_MODE_SHIFT) |
                 (pt_root & AMD_IOMMU_DTE_PT_ROOT_MASK) | AMD_IOMMU_DTE_IR | AMD_IOMMU_DTE_IW;
    d->data[1] = domain & AMD_IOMMU_DTE_DOMAIN_MASK;
    /* IntCtl = remap; the pass bits (INIT, ExtINT, NMI, LINT0, LINT1) stay 0, so those
     * messages are aborted: only fixed and arbitrated ones, through the table, get out */
    d->data[2] = AMD_IOMMU_DTE_IV |
                 ((uint64_t)(irt_len_log2 & AMD_IOMMU_DTE_INT_TAB_LEN_MASK)
                  << AMD_IOMMU_DTE_INT_TAB_LEN_SHIFT) |
                 (irt_pa & AMD_IOMMU_DTE_INT_ROOT_MASK) |
                 AMD_IOMMU_INT_CTL_REMAP << AMD_IOMMU_DTE_INT_CTL_SHIFT;
}

/* ---- interrupt remapping entries (spec 2.2.5) ----------------------------- */

void amd_iommu_irte128_remap(struct amd_iommu_irte128 *e, uint8_t vector, uint32_t dest)
{
    /* IntType 000b (fixed), DM 0 (physical), GuestMode 0 */
    e->lo = AMD_IOMMU_IRTE_REMAP_EN |
            ((uint64_t)dest & AMD_IOMMU_IRTE128_DEST_LO_MASK) << AMD_IOMMU_IRTE128_DEST_LO_SHIFT;
    e->hi = vector | (uint64_t)(dest >> 24) << AMD_IOMMU_IRTE128_DEST_HI_SHIFT;
}

int amd_iommu_irte32_remap(amd_iommu_irte32_t *e, uint8_t vector, uint32_t dest)
{
    if (dest > 0xFF)
        return -ERANGE;
    *e = (amd_iommu_irte32_t)(AMD_IOMMU_IRTE_REMAP_EN | dest << AMD_IOMMU_IRTE32_DEST_SHIFT |
                              (uint32_t)vector << AMD_IOMMU_IRTE32_VECTOR_SHIFT);
    return 0;
}

/* ---- commands (spec 2.4) --------------------------------------------------- */

static void cmd_init(struct amd_iommu_cmd *c, uint32_t opcode)
{
    memset(c, 0, sizeof(*c));
    c->data[1] = opcode << AMD_IOMMU_CMD_OPCODE_SHIFT;
}

void amd_iommu_cmd_completion_wait(struct amd_iommu_cmd *c, uint64_t store_pa, uint64_t data)
{
    /* spec 2.4.1: Store Address [51:3] in bits 31:3 of the first and 19:0 of the second dword */
    cmd_init(c, AMD_IOMMU_CMD_COMPLETION_WAIT);
    c->data[0] = AMD_IOMMU_CMD_CW_S | ((uint32_t)store_pa & ~7u);
    c->data[1] |= (uint32_t)(store_pa >> 32) & 0xFFFFFu;
    c->data[2] = (uint32_t)data;
    c->data[3] = (uint32_t)(data >> 32);
}

void amd_iommu_cmd_inval_devtab_entry(struct amd_iommu_cmd *c, uint16_t device_id)
{
    cmd_init(c, AMD_IOMMU_CMD_INVALIDATE_DEVTAB_ENTRY);
    c->data[0] = device_id;
}

void amd_iommu_cmd_inval_pages_all(struct amd_iommu_cmd *c, uint16_t domain)
{
    cmd_init(c, AMD_IOMMU_CMD_INVALIDATE_IOMMU_PAGES);
    c->data[1] |= domain;
    /* S = 1 with Address = 7FFF_FFFF_FFFF_F000h: the whole address space */
    c->data[2] = 0xFFFFF000u | AMD_IOMMU_CMD_PAGES_PDE | AMD_IOMMU_CMD_PAGES_S;
    c->data[3] = 0x7FFFFFFFu;
}

void amd_iommu_cmd_inval_interrupt_table(struct amd_iommu_cmd *c, uint16_t device_id)
{
    cmd_init(c, AMD_IOMMU_CMD_INVALIDATE_INTERRUPT_TABLE);
    c->data[0] = device_id;
}

/* ---- I/O page tables (spec 2.2.3) -------------------------------------------- */

static unsigned level_shift(unsigned level) { return 12 + 9 * (level - 1); }

static unsigned pt_index(uint64_t iova, unsigned level)
{
    return (unsigned)(iova >> level_shift(level)) & (AMD_IOMMU_PT_ENTRIES - 1);
}

static unsigned next_level(amd_iommu_pte_t e)
{
    return (unsigned)(e >> AMD_IOMMU_PTE_NEXT_LEVEL_SHIFT & AMD_IOMMU_PTE_NEXT_LEVEL_MASK);
}

static bool range_ok(unsigned levels, uint64_t iova, uint64_t size)
{
    if (levels < 1 || levels > AMD_IOMMU_MODE_MAX)
        return false;
    uint64_t span = amd_iommu_mode_span(levels);
    return iova < span && size <= span - iova;
}

/* The table the directory entry at *e points to, made if absent */
static int descend(const struct pt_ops *ops, amd_iommu_pte_t *e, unsigned level, uint64_t *table)
{
    if (*e & AMD_IOMMU_PTE_PR) {
        if (next_level(*e) != level - 1)
            return -EEXIST; /* a page is mapped here already */
        *table = *e & AMD_IOMMU_PTE_ADDR_MASK;
        return 0;
    }
    uint64_t t = ops->alloc_table(ops->ctx);
    if (!t)
        return -ENOMEM;
    *e = t | (uint64_t)(level - 1) << AMD_IOMMU_PTE_NEXT_LEVEL_SHIFT | AMD_IOMMU_PTE_PERMS |
         AMD_IOMMU_PTE_PR;
    *table = t;
    return 0;
}

/* Writes one leaf of `page` bytes (4 KiB at level 1, 2 MiB at level 2) */
static int map_one(const struct pt_ops *ops, uint64_t root, unsigned levels, uint64_t iova,
                   uint64_t pa, uint64_t perms, unsigned leaf_level)
{
    uint64_t table = root;
    for (unsigned level = levels; level > leaf_level; level--) {
        amd_iommu_pte_t *e = ops->table_ptr(ops->ctx, table) + pt_index(iova, level);
        int rc = descend(ops, e, level, &table);
        if (rc)
            return rc;
    }
    amd_iommu_pte_t *e = ops->table_ptr(ops->ctx, table) + pt_index(iova, leaf_level);
    if (*e)
        return -EEXIST;
    /* NextLevel 0: this entry maps the page */
    *e = (pa & AMD_IOMMU_PTE_ADDR_MASK) | perms | AMD_IOMMU_PTE_PR;
    return 0;
}

int amd_iommu_pt_map(const struct pt_ops *ops, uint64_t root, unsigned levels, uint64_t iova,
                     uint64_t pa, uint64_t size, uint64_t perms, bool allow_2m)
{
    if ((iova | pa | size) & (PAGE_4K - 1) || !(perms & AMD_IOMMU_PTE_PERMS) ||
        (perms & ~AMD_IOMMU_PTE_PERMS) || (pa & ~AMD_IOMMU_PTE_ADDR_MASK) || !root ||
        !range_ok(levels, iova, size))
        return -EINVAL;
    for (uint64_t off = 0; off < size;) {
        uint64_t v = iova + off, p = pa + off;
        bool big = allow_2m && levels >= 2 && !(v & (PAGE_2M - 1)) && !(p & (PAGE_2M - 1)) &&
                   size - off >= PAGE_2M;
        int rc = map_one(ops, root, levels, v, p, perms, big ? 2 : 1);
        if (rc)
            return rc;
        off += big ? PAGE_2M : PAGE_4K;
    }
    return 0;
}

int amd_iommu_pt_walk(const struct pt_ops *ops, uint64_t root, unsigned levels, uint64_t iova,
                      uint64_t *pa, uint64_t *perms, uint64_t *page_size)
{
    if (!range_ok(levels, iova, 1) || !root)
        return -EINVAL;
    uint64_t table = root;
    for (unsigned level = levels; level >= 1; level--) {
        amd_iommu_pte_t e = ops->table_ptr(ops->ctx, table)[pt_index(iova, level)];
        if (!(e & AMD_IOMMU_PTE_PR))
            return -ENOENT;
        unsigned next = next_level(e);
        if (next == 0 || level == 1) {
            if (next != 0)
                return -EINVAL;
            if (!(e & AMD_IOMMU_PTE_PERMS))
                return -ENOENT;
            uint64_t size = 1ull << level_shift(level);
            *pa = (e & AMD_IOMMU_PTE_ADDR_MASK & ~(size - 1)) | (iova & (size - 1));
            *perms = e & AMD_IOMMU_PTE_PERMS;
            *page_size = size;
            return 0;
        }
        /* eli never writes skip levels or NextLevel 7 (large-page encodings) */
        if (next != level - 1)
            return -EINVAL;
        table = e & AMD_IOMMU_PTE_ADDR_MASK;
    }
    return -ENOENT;
}

/* ---- IVRS (spec 5.2) ---------------------------------------------------------- */

#define IVRS_IVINFO_OFFSET 36u
#define IVHD_MIN_HEADER 4u  /* type, flags, length */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static bool is_ivhd(uint8_t type) { return type == 0x10 || type == 0x11 || type == 0x40; }

#define ACPI_HID_UID_LEN_OFFSET 21u
#define ACPI_HID_ENTRY_LEN 22u

/* The length of the device entry at p (avail bytes left), or 0 when malformed */
static size_t dev_entry_len(const uint8_t *p, size_t avail)
{
    size_t len;
    if (p[0] == AMD_IOMMU_IVHD_DEV_ACPI_HID)
        len = avail > ACPI_HID_UID_LEN_OFFSET ? ACPI_HID_ENTRY_LEN + p[ACPI_HID_UID_LEN_OFFSET] : 0;
    else if (p[0] < 0x80)
        len = 4u << (p[0] >> 6);
    else
        len = 0; /* other variable-length types: reserved */
    return len && len <= avail ? len : 0;
}

/* The special entries (IOAPIC DeviceIDs) among an IVHD's device entries */
static int parse_dev_entries(const uint8_t *p, size_t len, struct amd_iommu_ivrs_info *out)
{
    for (size_t off = 0; off < len;) {
        size_t n = dev_entry_len(p + off, len - off);
        if (!n)
            return -EINVAL;
        const uint8_t *e = p + off;
        if (e[0] == AMD_IOMMU_IVHD_DEV_SPECIAL && e[7] == AMD_IOMMU_IVHD_SPECIAL_IOAPIC &&
            out->nioapic < AMD_IOMMU_MAX_IOAPICS)
            out->ioapic_devid[out->nioapic++] = le16(e + 5);
        off += n;
    }
    return 0;
}

int amd_iommu_ivrs_parse(const void *table, size_t len, struct amd_iommu_ivrs_info *out)
{
    const uint8_t *t = table;
    memset(out, 0, sizeof(*out));
    if (len < AMD_IOMMU_IVRS_BLOCKS_OFFSET)
        return -EINVAL;
    out->ivinfo = le32(t + IVRS_IVINFO_OFFSET);
    /* blocks (IVHD 10h/11h/40h, IVMD 20h-22h) follow each other, each with its length */
    for (size_t off = AMD_IOMMU_IVRS_BLOCKS_OFFSET; off < len;) {
        if (len - off < IVHD_MIN_HEADER)
            return -EINVAL;
        uint8_t type = t[off];
        size_t blen = le16(t + off + 2);
        if (blen < IVHD_MIN_HEADER || blen > len - off)
            return -EINVAL;
        if (is_ivhd(type)) {
            size_t need = type == 0x10 ? AMD_IOMMU_IVHD_10_LEN : AMD_IOMMU_IVHD_11_LEN;
            if (blen < need)
                return -EINVAL;
            if (out->nivhd++ == 0) {
                const uint8_t *h = t + off;
                out->type = type;
                out->device_id = le16(h + offsetof(struct amd_iommu_ivhd, device_id));
                out->cap_offset = le16(h + offsetof(struct amd_iommu_ivhd, cap_offset));
                out->base = le64(h + offsetof(struct amd_iommu_ivhd, base_address));
                out->segment = le16(h + offsetof(struct amd_iommu_ivhd, segment));
                out->efr = type == 0x10 ? 0 : le64(h + offsetof(struct amd_iommu_ivhd, efr_image));
                int rc = parse_dev_entries(h + need, blen - need, out);
                if (rc)
                    return rc;
            }
        }
        off += blen;
    }
    return out->nivhd ? 0 : -ENOENT;
}

/* ---- events (spec 2.5) ------------------------------------------------------------ */

const char *amd_iommu_event_name(unsigned code)
{
    static const char *const names[] = {
        [AMD_IOMMU_EVENT_ILLEGAL_DEV_TABLE_ENTRY] = "ILLEGAL_DEV_TABLE_ENTRY",
        [AMD_IOMMU_EVENT_IO_PAGE_FAULT] = "IO_PAGE_FAULT",
        [AMD_IOMMU_EVENT_DEV_TAB_HARDWARE_ERROR] = "DEV_TAB_HARDWARE_ERROR",
        [AMD_IOMMU_EVENT_PAGE_TAB_HARDWARE_ERROR] = "PAGE_TAB_HARDWARE_ERROR",
        [AMD_IOMMU_EVENT_ILLEGAL_COMMAND_ERROR] = "ILLEGAL_COMMAND_ERROR",
        [AMD_IOMMU_EVENT_COMMAND_HARDWARE_ERROR] = "COMMAND_HARDWARE_ERROR",
        [AMD_IOMMU_EVENT_IOTLB_INV_TIMEOUT] = "IOTLB_INV_TIMEOUT",
        [AMD_IOMMU_EVENT_INVALID_DEVICE_REQUEST] = "INVALID_DEVICE_REQUEST",
    };
    if (code < sizeof(names) / sizeof(names[0]) && names[code])
        return names[code];
    return "UNKNOWN";
}

void amd_iommu_event_format(const struct amd_iommu_event *e, char *buf, size_t len)
{
    unsigned code = e->data[1] >> AMD_IOMMU_EVENT_CODE_SHIFT;
    unsigned dev = e->data[0] & 0xFFFFu;
    uint64_t addr = (uint64_t)e->data[3] << 32 | e->data[2];
    /* every event names a DeviceID in bits 15:0 and an address in bits 127:64, except
     * the command errors, whose address is the command's; the flags are in 59:48 */
    fmt_snprintf(buf, len, "%s (code 0x%x) device %02x:%02x.%x flags 0x%03x address 0x%llx",
                 amd_iommu_event_name(code), code, dev >> 8, (dev >> 3) & 0x1Fu, dev & 7u,
                 (e->data[1] >> 16) & 0xFFFu, (unsigned long long)addr);
}
