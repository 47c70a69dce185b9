/* eli's console: the physical 16550 UART at COM1, polled. */
#ifndef ELI_ARCH_X86_SERIAL_H
#define ELI_ARCH_X86_SERIAL_H
void serial_init(void);
void serial_putc(char c);
/* Waits (bounded) until the last byte has left the UART. */
void serial_flush(void);
#endif
