/* The multiboot (v1) information the loader handed over, and accessors for it. */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

#include <stdbool.h>
#include <stdint.h>

#define MULTIBOOT_LOADER_MAGIC	0x2BADB002

#define MB_INFO_MEMORY		(1u << 0)
#define MB_INFO_CMDLINE		(1u << 2)
#define MB_INFO_MODS		(1u << 3)
#define MB_INFO_MMAP		(1u << 6)
#define MB_INFO_LOADER_NAME	(1u << 9)

#define MB_MMAP_AVAILABLE	1
#define MB_MMAP_RESERVED	2

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;	/* KiB from 0 */
	uint32_t mem_upper;	/* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
} __attribute__((packed));

struct multiboot_module {
	uint32_t mod_start;
	uint32_t mod_end;	/* exclusive */
	uint32_t string;
	uint32_t reserved;
} __attribute__((packed));

/* 'size' counts the bytes after itself, so entries may be larger than this struct. */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

/* A module in friendlier form. */
struct mb_module {
	const uint8_t *start;
	const uint8_t *end;	/* exclusive */
	const char *string;	/* "" if the loader gave none */
};

/* Called by the library at start-up with what the entry code received. */
void multiboot_init(uint32_t magic, uint64_t info);

uint32_t mb_magic(void);
const struct multiboot_info *mb_info(void);	/* NULL if the loader passed none */
bool mb_has(uint32_t flag);			/* info present and flag set */
const char *mb_cmdline(void);			/* "" if absent */
const char *mb_loader_name(void);		/* "" if absent */
bool mb_mem(uint32_t *lower_kib, uint32_t *upper_kib);

/* Memory map iteration: for (e = mb_mmap_first(); e; e = mb_mmap_next(e)). */
const struct multiboot_mmap_entry *mb_mmap_first(void);
const struct multiboot_mmap_entry *mb_mmap_next(const struct multiboot_mmap_entry *e);
const char *mb_mmap_type_name(uint32_t type);

unsigned mb_module_count(void);
bool mb_module(unsigned index, struct mb_module *out);

#endif
