/* Polled 16550 UART on COM1: the guest's console. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include <stdint.h>

#define COM1_BASE	0x3f8

/* Register offsets from the base port; DLL/DLM replace RBR/THR/IER while LCR.DLAB is set. */
#define UART_RBR	0	/* receive buffer (read) */
#define UART_THR	0	/* transmit holding (write) */
#define UART_DLL	0
#define UART_IER	1
#define UART_DLM	1
#define UART_IIR	2	/* interrupt identification (read) */
#define UART_FCR	2	/* FIFO control (write) */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_LCR_8N1	0x03
#define UART_LCR_DLAB	0x80
#define UART_FCR_ENABLE_CLEAR	0x07	/* enable FIFOs, clear both */
#define UART_MCR_DTR_RTS	0x03
#define UART_IIR_NO_INT	0x01
#define UART_LSR_THRE	0x20	/* transmit holding register empty */
#define UART_LSR_TEMT	0x40	/* transmitter completely idle */

#define UART_DIVISOR_115200	1

void serial_init(void);
void serial_putc(char c);
/* Waits (bounded) until everything written has left the transmitter. */
void serial_drain(void);

#endif
