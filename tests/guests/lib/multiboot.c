/* Accessors for the multiboot information; all addresses in it are identity-mapped. */
#include "libguest.h"
#include "multiboot.h"

static uint32_t boot_magic;
static const struct multiboot_info *boot_info;

static const void *phys(uint32_t addr)
{
	return (const void *)(uintptr_t)addr;
}

void multiboot_init(uint32_t magic, uint64_t info)
{
	boot_magic = magic;
	boot_info = (const struct multiboot_info *)(uintptr_t)info;
}

uint32_t mb_magic(void)
{
	return boot_magic;
}

const struct multiboot_info *mb_info(void)
{
	return boot_info;
}

/* The info is only meaningful if the loader also passed the right magic. */
bool mb_has(uint32_t flag)
{
	return boot_magic == MULTIBOOT_LOADER_MAGIC && boot_info && (boot_info->flags & flag);
}

const char *mb_cmdline(void)
{
	return mb_has(MB_INFO_CMDLINE) && boot_info->cmdline ? phys(boot_info->cmdline) : "";
}

const char *mb_loader_name(void)
{
	return mb_has(MB_INFO_LOADER_NAME) && boot_info->boot_loader_name
		       ? phys(boot_info->boot_loader_name) : "";
}

bool mb_mem(uint32_t *lower_kib, uint32_t *upper_kib)
{
	if (!mb_has(MB_INFO_MEMORY))
		return false;
	*lower_kib = boot_info->mem_lower;
	*upper_kib = boot_info->mem_upper;
	return true;
}

static bool mmap_contains(const struct multiboot_mmap_entry *e)
{
	uintptr_t start = boot_info->mmap_addr;
	uintptr_t end = start + boot_info->mmap_length;

	return (uintptr_t)e >= start && (uintptr_t)e + sizeof(*e) <= end;
}

const struct multiboot_mmap_entry *mb_mmap_first(void)
{
	if (!mb_has(MB_INFO_MMAP))
		return NULL;
	const struct multiboot_mmap_entry *e = phys(boot_info->mmap_addr);
	return mmap_contains(e) ? e : NULL;
}

const struct multiboot_mmap_entry *mb_mmap_next(const struct multiboot_mmap_entry *e)
{
	/* 'size' does not count itself. */
	const struct multiboot_mmap_entry *next =
		(const void *)((const char *)e + sizeof(e->size) + e->size);
	return mmap_contains(next) ? next : NULL;
}

const char *mb_mmap_type_name(uint32_t type)
{
	switch (type) {
	case 1: return "available";
	case 2: return "reserved";
	case 3: return "ACPI reclaimable";
	case 4: return "ACPI NVS";
	case 5: return "bad";
	default: return "unknown";
	}
}

unsigned mb_module_count(void)
{
	return mb_has(MB_INFO_MODS) ? boot_info->mods_count : 0;
}

bool mb_module(unsigned index, struct mb_module *out)
{
	if (index >= mb_module_count())
		return false;
	const struct multiboot_module *m =
		(const struct multiboot_module *)phys(boot_info->mods_addr) + index;
	out->start = phys(m->mod_start);
	out->end = phys(m->mod_end);
	out->string = m->string ? phys(m->string) : "";
	return true;
}
