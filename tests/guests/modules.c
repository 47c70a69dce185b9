/*
 * modules: checks the multiboot modules and memory information. Every module is printed with
 * its string and first line; with expect=TEXT (quote it if it has spaces) the first module must
 * start with TEXT. mem_lower and mem_upper must be backed by available RAM in the memory map.
 */
#include "libguest.h"
#include "multiboot.h"

#define PAGE_SIZE	4096
#define LINE_MAX	80
#define KiB		1024ull
#define UPPER_START	(1024 * KiB)	/* mem_upper counts from 1 MiB */

/* The module's first line, cut at LINE_MAX, with anything unprintable shown as '.'. */
static void first_line(const struct mb_module *m, char *out)
{
	size_t n = 0;

	for (const uint8_t *p = m->start; p < m->end && *p != '\n' && n < LINE_MAX; p++)
		out[n++] = (*p >= 0x20 && *p <= 0x7e) ? (char)*p : '.';
	out[n] = '\0';
}

static void check_module(unsigned i, const struct mb_module *m)
{
	char line[LINE_MAX + 1];

	first_line(m, line);
	printf("module %u: [%p, %p) \"%s\"\n", i, (const void *)m->start, (const void *)m->end,
	       m->string);
	printf("module %u: first line \"%s\"\n", i, line);
	report(m->end >= m->start, "module %u ends after it starts", i);
	/* The multiboot header asks for page-aligned modules (flag bit 0). */
	report((uintptr_t)m->start % PAGE_SIZE == 0, "module %u is page-aligned (%p)", i,
	       (const void *)m->start);
}

static void check_expected_text(const struct mb_module *m)
{
	const char *text = cmdline_get("expect");

	if (!text)
		return;
	size_t len = strlen(text);
	report((size_t)(m->end - m->start) >= len && !memcmp(m->start, text, len),
	       "module 0 starts with \"%s\"", text);
}

/* The end of the available RAM that runs without a gap from start, or start if none does. */
static uint64_t available_end_from(uint64_t start)
{
	uint64_t end = start;
	bool grew = true;

	/* Entries need not be sorted or merged: extend until no entry adds anything. */
	while (grew) {
		grew = false;
		for (const struct multiboot_mmap_entry *e = mb_mmap_first(); e; e = mb_mmap_next(e)) {
			if (e->type == MB_MMAP_AVAILABLE && e->addr <= end && e->addr + e->len > end) {
				end = e->addr + e->len;
				grew = true;
			}
		}
	}
	return end;
}

static void check_memory_info(void)
{
	uint32_t lower, upper;

	if (!mb_mem(&lower, &upper)) {
		report(false, "the loader passed mem_lower/mem_upper");
		return;
	}
	report(mb_mmap_first() != NULL, "the loader passed a memory map");

	uint64_t low_end = available_end_from(0);
	uint64_t high_end = available_end_from(UPPER_START);
	report(low_end >= lower * KiB, "mem_lower %u KiB is available RAM (up to 0x%lx)", lower,
	       low_end);
	report(high_end >= UPPER_START + upper * KiB,
	       "mem_upper %u KiB is available RAM from 1 MiB (up to 0x%lx)", upper, high_end);
}

int main(void)
{
	unsigned count = mb_module_count();
	struct mb_module m;

	report(count >= 1, "the loader passed %u module(s)", count);
	for (unsigned i = 0; i < count && mb_module(i, &m); i++)
		check_module(i, &m);
	if (mb_module(0, &m))
		check_expected_text(&m);
	check_memory_info();
	return report_summary();
}
