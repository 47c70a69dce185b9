/* From the entry code to main, and from main's result to the end of the run. */
#include "internal.h"
#include "libguest.h"
#include "multiboot.h"
#include "processor.h"
#include "serial.h"

/* isa-debug-exit: QEMU (and eli, on the guest's behalf) ends with status (value << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4

_Noreturn void guest_start(uint32_t magic, uint64_t info)
{
	serial_init();
	idt_init();
	multiboot_init(magic, info);
	cmdline_init(mb_cmdline());
	exit(main());
}

_Noreturn void exit(int code)
{
	serial_drain();		/* the last line must be out before the machine stops */
	outl(DEBUG_EXIT_PORT, (uint32_t)code);
	for (;;) {		/* no isa-debug-exit device: stop here */
		cli();
		hlt();
	}
}
