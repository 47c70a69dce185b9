/* The guest's I/O port space: the virtual UART, the debug-exit port, and
 * nothing else (absent hardware reads as all ones). */
#ifndef ELI_DEV_IOPORT_H
#define ELI_DEV_IOPORT_H
#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_PORTS 4

struct guest;

/* size is 1, 2 or 4; *val is read or written. Ends the run on a debug-exit write. */
void ioport_access(struct guest *g, uint16_t port, unsigned size, bool in, uint32_t *val);

#endif
