/*
 * boot_exit: the smallest useful guest. Checks what the loader handed over, prints the command
 * line, and exits. With status=N on the command line it exits with N right away, without a
 * summary, so a runner can check that exit statuses reach it unchanged.
 */
#include "libguest.h"
#include "multiboot.h"

int main(void)
{
	printf("hello from boot_exit\n");
	report(mb_magic() == MULTIBOOT_LOADER_MAGIC, "multiboot magic is 0x%x (got 0x%x)",
	       MULTIBOOT_LOADER_MAGIC, mb_magic());
	report(mb_info() != NULL, "multiboot info pointer is non-null (%p)", (const void *)mb_info());
	report(mb_has(MB_INFO_CMDLINE), "command line received: \"%s\"", mb_cmdline());

	if (cmdline_get("status"))
		exit((int)cmdline_get_u64("status", 0));
	return report_summary();
}
