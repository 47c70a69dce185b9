/* Builds the multiboot information a guest is started with, in its own RAM
 * (pure, host-testable). Layout in docs/guest-abi.md. */
#ifndef ELI_CORE_MBGUEST_H
#define ELI_CORE_MBGUEST_H
#include "core/gmem.h"
#include <stddef.h>
#include <stdint.h>

#define MBGUEST_MAX_MODS 15

struct mbguest_module {
    const uint8_t *data;
    uint64_t size;
    const char *string;
};

struct mbguest {
    const char *cmdline;
    size_t nmods;
    struct mbguest_module mods[MBGUEST_MAX_MODS];
    uint64_t reserved_top; /* bytes at the top of RAM that eli keeps for the start */
};

/* The PVH boot ABI's start information (Xen public/arch-x86/hvm/start_info.h,
 * version 1), as Linux's PVH entry reads it. */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1");
struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
struct hvm_memmap_table_entry {
    uint64_t addr, size;
    uint32_t type, reserved; /* e820 types: 1 RAM, 2 reserved */
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry");

/* The same content for a PVH kernel: start info at `base`, modules after it; the
 * memory map adds [hole_base, hole_base + hole_size) as reserved (the ECAM window),
 * and rsdp is the ACPI tables' root. */
int mbguest_build_pvh(const struct gmem *g, uint64_t base, const struct mbguest *mb, uint64_t rsdp,
                      uint64_t hole_base, uint64_t hole_size, uint64_t *info_gpa, uint64_t *end,
                      char *err, size_t errlen);

/* Writes the info at `base` (page-aligned, above the image) and the modules after
 * it. On success returns 0 and sets *info_gpa and *end (first free byte after). */
int mbguest_build(const struct gmem *g, uint64_t base, const struct mbguest *mb,
                  uint64_t *info_gpa, uint64_t *end, char *err, size_t errlen);

#endif
