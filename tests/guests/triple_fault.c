/*
 * triple_fault: an IDT with limit 0 makes int3 fault (#GP), that fault fault (#DF) and that
 * one shut the machine down. Bare QEMU with -no-reboot then exits with status 0; eli ends the
 * guest. Nothing after the int3 can run on a correct machine.
 */
#include "libguest.h"
#include "processor.h"
#include "serial.h"

int main(void)
{
	const struct descriptor_ptr no_idt = { .limit = 0, .base = 0 };

	printf("about to triple fault\n");
	serial_drain();
	lidt(&no_idt);
	__asm__ volatile("int3");

	report(false, "the guest survived a triple fault");
	return report_summary();
}
