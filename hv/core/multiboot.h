/* Multiboot (version 1) structures, as the Multiboot Specification 0.6.96
 * defines them (section 3.1 header, section 3.3 boot information). */
#ifndef ELI_CORE_MULTIBOOT_H
#define ELI_CORE_MULTIBOOT_H
#include <stddef.h>
#include <stdint.h>

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_SEARCH_BYTES 8192u

/* header flags */
#define MB_HF_PAGE_ALIGN (1u << 0)
#define MB_HF_MEMORY_INFO (1u << 1)
#define MB_HF_VIDEO_MODE (1u << 2)
#define MB_HF_AOUT_KLUDGE (1u << 16)

/* info flags */
#define MB_IF_MEMORY (1u << 0)
#define MB_IF_CMDLINE (1u << 2)
#define MB_IF_MODS (1u << 3)
#define MB_IF_MMAP (1u << 6)
#define MB_IF_LOADER_NAME (1u << 9)

#define MB_MMAP_AVAILABLE 1u
#define MB_MMAP_RESERVED 2u

struct mb_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
    uint32_t mode_type, width, height, depth;
};
_Static_assert(sizeof(struct mb_header) == 48, "multiboot header");

struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
    uint64_t framebuffer_addr;
    uint32_t framebuffer_pitch, framebuffer_width, framebuffer_height;
    uint8_t framebuffer_bpp, framebuffer_type;
    uint8_t color_info[6];
} __attribute__((packed));
_Static_assert(sizeof(struct mb_info) == 116, "multiboot info");
_Static_assert(offsetof(struct mb_info, mmap_length) == 44, "mmap_length offset");
_Static_assert(offsetof(struct mb_info, boot_loader_name) == 64, "boot_loader_name offset");
_Static_assert(offsetof(struct mb_info, framebuffer_addr) == 88, "framebuffer offset");

struct mb_module {
    uint32_t mod_start, mod_end;
    uint32_t string;
    uint32_t reserved;
};
_Static_assert(sizeof(struct mb_module) == 16, "multiboot module");

/* `size` counts the bytes after itself: entries are size + 4 bytes apart */
struct mb_mmap_entry {
    uint32_t size;
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "multiboot mmap entry");

#endif
