/* The guest's 16550 UART at COM1 (0x3f8): output only, forwarded line by line
 * with the guest prefix. Pure: lines go to a callback (host-testable).
 * It has no interrupt line: a driver polls it (Linux does, with the port's IRQ 0 from
 * the DSDT, docs/linux-guest.md). IIR still says "transmitter empty" (16550 data
 * sheet: set when THR empties or THRE is enabled, cleared by reading IIR or writing
 * THR), since Linux's poll transmits only what IIR asks for. */
#ifndef ELI_DEV_VUART_H
#define ELI_DEV_VUART_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VUART_BASE 0x3f8
#define VUART_PORTS 8
#define VUART_LINE_MAX 1024

typedef void (*vuart_emit_fn)(const char *line, size_t len);

struct vuart {
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thre_pending;        /* the "THR empty" interrupt is pending (IER bit 1 on) */
    char line[VUART_LINE_MAX];
    size_t len;
    vuart_emit_fn emit;
    void (*line_started)(void); /* optional: the first byte of a line was written */
};

void vuart_init(struct vuart *u, vuart_emit_fn emit);
/* offset is port - VUART_BASE (0..7); returns the byte read */
uint8_t vuart_read(struct vuart *u, unsigned offset);
void vuart_write(struct vuart *u, unsigned offset, uint8_t val);
/* Emits a partial line, if any (at the end of a run; when a driver turns its
 * transmit interrupt off, its output is done for now: a shell's prompt). */
void vuart_flush(struct vuart *u);

#endif
