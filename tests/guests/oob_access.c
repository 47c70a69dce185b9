/*
 * oob_access: reads one byte of guest-physical memory beyond all RAM in the memory map, where no
 * usual device lives either. Under eli that access ends the guest (eli reports it); on bare
 * QEMU unassigned memory reads as all ones, so the guest prints the value and passes.
 * Option addr=0x... picks the address (below 4 GiB, the guest's identity map).
 */
#include "libguest.h"
#include "multiboot.h"
#include "serial.h"

#define MiB		(1ull << 20)
#define GAP		(64 * MiB)	/* distance from the end of RAM */
#define MAPPED_LIMIT	(4096 * MiB)	/* start.S identity-maps the first 4 GiB */

/* The end of the highest available RAM below 4 GiB. */
static uint64_t ram_end(void)
{
	uint64_t end = 0;

	for (const struct multiboot_mmap_entry *e = mb_mmap_first(); e; e = mb_mmap_next(e)) {
		uint64_t e_end = e->addr + e->len;
		if (e->type == MB_MMAP_AVAILABLE && e_end <= MAPPED_LIMIT && e_end > end)
			end = e_end;
	}
	return end;
}

static bool in_memory_map(uint64_t addr)
{
	for (const struct multiboot_mmap_entry *e = mb_mmap_first(); e; e = mb_mmap_next(e))
		if (addr >= e->addr && addr - e->addr < e->len)
			return true;
	return false;
}

int main(void)
{
	uint64_t end = ram_end();
	/* The next 64 MiB boundary past RAM, plus 64 MiB: clear of RAM and of the PC's devices. */
	uint64_t addr = cmdline_get_u64("addr", ((end + GAP - 1) & ~(GAP - 1)) + GAP);

	printf("RAM ends at 0x%lx\n", end);
	report(end != 0, "the memory map lists available RAM");
	if (addr >= MAPPED_LIMIT || in_memory_map(addr)) {
		report_skip("0x%lx is in the memory map or not below 4 GiB: nothing to read", addr);
		return report_summary();
	}

	printf("reading the byte at 0x%lx, outside RAM\n", addr);
	serial_drain();	/* under eli the read ends the run: get the line out first */
	uint8_t value = *(volatile const uint8_t *)(uintptr_t)addr;

	report(true, "the read of 0x%lx returned 0x%02x (bare metal: unassigned memory)", addr, value);
	return report_summary();
}
