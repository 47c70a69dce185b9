/* What eli's own boot loader handed it: command line, memory map, modules.
 * Parsing is pure: physical memory is read through a callback (host-testable). */
#ifndef ELI_CORE_BOOTINFO_H
#define ELI_CORE_BOOTINFO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOTINFO_MAX_MODS 16
#define BOOTINFO_MAX_RANGES 64

struct mem_range {
    uint64_t base, length;
    uint32_t type; /* multiboot type: 1 = available RAM */
};

struct boot_module {
    uint64_t start, end;  /* physical */
    const char *string;   /* "path args..." as the loader gave it */
};

struct boot_info {
    const char *cmdline;
    uint64_t info_pa;     /* where the info structure itself lies */
    size_t nranges;
    struct mem_range ranges[BOOTINFO_MAX_RANGES];
    size_t nmods;
    struct boot_module mods[BOOTINFO_MAX_MODS];
};

/* Returns a pointer to len readable bytes at physical address pa, or NULL. */
typedef const void *(*phys_reader_fn)(void *ctx, uint64_t pa, uint64_t len);

/* Returns 0 or a negative errno; `err` names the problem. */
int bootinfo_parse(uint32_t magic, uint64_t info_pa, phys_reader_fn rd, void *ctx,
                   struct boot_info *out, char *err, size_t errlen);

/* The module's name: its file name up to the first '.', e.g.
 * "build/guests/boot_exit.elf a=1" -> "boot_exit". */
void module_name(const char *string, char *name, size_t size);
/* What follows the module's file name (its command line), never NULL. */
const char *module_args(const char *string);
/* Index of the module named `name`, or -1. */
int bootinfo_find_module(const struct boot_info *bi, const char *name);

#endif
