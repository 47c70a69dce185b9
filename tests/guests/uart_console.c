/*
 * uart_console: console output of several shapes, then checks that COM1 behaves like a 16550:
 * transmitter idle bits, scratch register, LCR and the DLAB-selected divisor latch read back.
 */
#include "libguest.h"
#include "processor.h"
#include "serial.h"

#define LONG_LINE_LENGTH	200
#define IDLE_POLLS		1000000
#define LCR_TEST_VALUE		0x1b	/* 8 data bits, even parity, 1 stop bit */
#define DIVISOR_9600		12

static uint8_t uart_in(unsigned reg)
{
	return inb(COM1_BASE + reg);
}

static void uart_out(unsigned reg, uint8_t v)
{
	outb(COM1_BASE + reg, v);
}

static void print_lines(void)
{
	printf("uart_console: first line\n");
	printf("uart_console: a line with numbers %d %u 0x%x %s\n", -42, 42u, 0x2au, "and a string");

	printf("uart_console: %d-character line follows\n", LONG_LINE_LENGTH);
	for (int i = 0; i < LONG_LINE_LENGTH; i++)
		printf("%c", '0' + i % 10);
	printf("\n");

	printf("uart_console: printable ASCII follows\n");
	for (char c = ' '; c <= '~'; c++)
		printf("%c", c);
	printf("\n");
	printf("uart_console: last line of output\n");
}

static void check_idle(void)
{
	const uint8_t idle = UART_LSR_THRE | UART_LSR_TEMT;
	uint8_t lsr = 0;

	for (int i = 0; i < IDLE_POLLS && (lsr & idle) != idle; i++)
		lsr = uart_in(UART_LSR);
	report((lsr & idle) == idle, "LSR shows THRE and TEMT when idle (LSR 0x%x)", lsr);

	uint8_t iir = uart_in(UART_IIR);
	report(iir & UART_IIR_NO_INT, "IIR shows no pending interrupt with IER 0 (IIR 0x%x)", iir);
}

static void check_scratch(void)
{
	static const uint8_t patterns[] = { 0xa5, 0x5a, 0x00, 0xff };

	for (unsigned i = 0; i < ARRAY_SIZE(patterns); i++) {
		uart_out(UART_SCR, patterns[i]);
		uint8_t got = uart_in(UART_SCR);
		report(got == patterns[i], "scratch register reads back 0x%02x (got 0x%02x)",
		       patterns[i], got);
	}
}

/* Nothing may be printed while LCR is not 8N1 or DLAB is set: results are reported after. */
static void check_lcr_and_divisor(void)
{
	serial_drain();

	uart_out(UART_LCR, LCR_TEST_VALUE);
	uint8_t lcr = uart_in(UART_LCR);

	uart_out(UART_LCR, UART_LCR_8N1 | UART_LCR_DLAB);
	uart_out(UART_DLL, DIVISOR_9600 & 0xff);
	uart_out(UART_DLM, DIVISOR_9600 >> 8);
	uint8_t dll = uart_in(UART_DLL), dlm = uart_in(UART_DLM);
	uint8_t lcr_dlab = uart_in(UART_LCR);

	uart_out(UART_DLL, UART_DIVISOR_115200 & 0xff);
	uart_out(UART_DLM, UART_DIVISOR_115200 >> 8);
	uint8_t dll_back = uart_in(UART_DLL), dlm_back = uart_in(UART_DLM);
	uart_out(UART_LCR, UART_LCR_8N1);
	uint8_t lcr_back = uart_in(UART_LCR);

	report(lcr == LCR_TEST_VALUE, "LCR reads back 0x%02x (got 0x%02x)", LCR_TEST_VALUE, lcr);
	report(lcr_dlab == (UART_LCR_8N1 | UART_LCR_DLAB), "LCR reads back DLAB set (got 0x%02x)",
	       lcr_dlab);
	report(dll == (DIVISOR_9600 & 0xff) && dlm == (DIVISOR_9600 >> 8),
	       "divisor latch reads back %u with DLAB set (DLL 0x%02x DLM 0x%02x)",
	       DIVISOR_9600, dll, dlm);
	report(dll_back == UART_DIVISOR_115200 && dlm_back == 0,
	       "divisor latch restored to %u (DLL 0x%02x DLM 0x%02x)", UART_DIVISOR_115200,
	       dll_back, dlm_back);
	report(lcr_back == UART_LCR_8N1, "LCR restored to 8N1 (got 0x%02x)", lcr_back);
}

int main(void)
{
	print_lines();
	check_idle();
	check_scratch();
	check_lcr_and_divisor();
	check_idle();	/* and the console still works after all that */
	return report_summary();
}
