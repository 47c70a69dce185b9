/*
 * eli_memory: looks for a byte string everywhere in the guest's RAM. The runner puts the bytes
 * somewhere the guest must not see (eli's own memory) and passes them hex-encoded as
 * needle=HEX; only the decoded copy in this guest's .bss may match. The hex text on the
 * command line never matches the raw bytes, so the guest image needs no special treatment.
 *
 * Scanned: available RAM, and reserved ranges that touch it (the PC's EBDA and BIOS area,
 * eli's page tables at the top of RAM), below 4 GiB. Other reserved ranges are device or
 * firmware windows, not RAM.
 */
#include "libguest.h"
#include "multiboot.h"

#define NEEDLE_MAX	64
#define MAX_RANGES	64
#define MAPPED_LIMIT	(1ull << 32)	/* start.S identity-maps the first 4 GiB */

struct range {
	uint64_t start, end;	/* [start, end) */
};

static uint8_t needle[NEEDLE_MAX];
static struct range ranges[MAX_RANGES];

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex into needle; returns the byte count, or 0 if hex is empty, odd, bad or too long. */
static size_t decode_needle(const char *hex)
{
	size_t len = strlen(hex);

	if (len == 0 || len % 2 || len / 2 > NEEDLE_MAX)
		return 0;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		needle[i] = (uint8_t)(hi << 4 | lo);
	}
	return len / 2;
}

static bool touches_available(const struct multiboot_mmap_entry *r)
{
	for (const struct multiboot_mmap_entry *e = mb_mmap_first(); e; e = mb_mmap_next(e))
		if (e->type == MB_MMAP_AVAILABLE &&
		    (e->addr + e->len == r->addr || r->addr + r->len == e->addr))
			return true;
	return false;
}

static bool is_scanned(const struct multiboot_mmap_entry *e)
{
	if (e->addr >= MAPPED_LIMIT || e->len == 0)
		return false;
	return e->type == MB_MMAP_AVAILABLE ||
	       (e->type == MB_MMAP_RESERVED && touches_available(e));
}

/* Collects the ranges to scan, merging neighbours so a match across a boundary is found. */
static unsigned collect_ranges(void)
{
	unsigned n = 0;

	for (const struct multiboot_mmap_entry *e = mb_mmap_first(); e; e = mb_mmap_next(e)) {
		if (!is_scanned(e))
			continue;
		uint64_t end = e->addr + e->len < MAPPED_LIMIT ? e->addr + e->len : MAPPED_LIMIT;
		if (n && ranges[n - 1].end == e->addr) {
			ranges[n - 1].end = end;
		} else if (n < MAX_RANGES) {
			ranges[n++] = (struct range){ e->addr, end };
		} else {
			printf("more than %d memory ranges, ignoring 0x%lx\n", MAX_RANGES, e->addr);
		}
	}
	return n;
}

/* The first place in [start, end) where the needle lies, other than the needle itself. */
static const uint8_t *find(const struct range *r, size_t len)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)r->start;
	const uint8_t *last = (const uint8_t *)(uintptr_t)(r->end - len);
	const uint8_t first = needle[0];

	if (r->end - r->start < len)
		return NULL;
	for (; p <= last; p++)
		if (*p == first && p != needle && !memcmp(p, needle, len))
			return p;
	return NULL;
}

int main(void)
{
	const char *hex = cmdline_get("needle");

	if (!hex) {
		report_skip("no needle=HEX on the command line: nothing to look for");
		return report_summary();
	}
	size_t len = decode_needle(hex);
	report(len > 0, "needle=%s is 1 to %d hex-encoded bytes", hex, NEEDLE_MAX);
	if (!len)
		return report_summary();

	unsigned n = collect_ranges();
	uint64_t scanned = 0;
	const uint8_t *found = NULL;

	for (unsigned i = 0; i < n && !found; i++) {
		printf("scanning [0x%lx, 0x%lx)\n", ranges[i].start, ranges[i].end);
		found = find(&ranges[i], len);
		scanned += ranges[i].end - ranges[i].start;
	}
	printf("scanned %lu bytes in %u ranges\n", scanned, n);
	report(n > 0, "the memory map lists RAM to scan");
	if (found)
		report(false, "the %zu-byte needle is at 0x%lx: eli's bytes are visible", len,
		       (uint64_t)(uintptr_t)found);
	else
		report(true, "the %zu-byte needle is nowhere in %lu bytes of RAM: eli's bytes are "
		       "not visible", len, scanned);
	return report_summary();
}
