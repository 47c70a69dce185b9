/* COM1 console: programmed once at start-up, then written by polling LSR.THRE. */
#include "serial.h"
#include "processor.h"

/* Bounds serial_drain so a broken UART cannot hang the exit path. */
#define DRAIN_POLLS 1000000

void serial_init(void)
{
	outb(COM1_BASE + UART_IER, 0);	/* polled: no UART interrupts */
	outb(COM1_BASE + UART_LCR, UART_LCR_DLAB);
	outb(COM1_BASE + UART_DLL, UART_DIVISOR_115200 & 0xff);
	outb(COM1_BASE + UART_DLM, UART_DIVISOR_115200 >> 8);
	outb(COM1_BASE + UART_LCR, UART_LCR_8N1);
	outb(COM1_BASE + UART_FCR, UART_FCR_ENABLE_CLEAR);
	outb(COM1_BASE + UART_MCR, UART_MCR_DTR_RTS);
}

void serial_putc(char c)
{
	while (!(inb(COM1_BASE + UART_LSR) & UART_LSR_THRE))
		pause();
	outb(COM1_BASE + UART_THR, (uint8_t)c);
}

void serial_drain(void)
{
	for (int i = 0; i < DRAIN_POLLS; i++) {
		if (inb(COM1_BASE + UART_LSR) & UART_LSR_TEMT)
			return;
		pause();
	}
}
