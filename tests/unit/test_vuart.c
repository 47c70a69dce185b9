/* Host unit tests of hv/dev/vuart.c: the guest's 16550 at COM1, output only, forwarded
 * line by line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dev/vuart.h"

enum { THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define MAX_LINES 16

static char lines[MAX_LINES][VUART_LINE_MAX + 1];
static size_t line_len[MAX_LINES];
static int nlines;
static struct vuart u;

static void emit(const char *line, size_t len)
{
    assert_true(len <= VUART_LINE_MAX);
    assert_true(nlines < MAX_LINES);
    memcpy(lines[nlines], line, len);
    lines[nlines][len] = '\0';
    line_len[nlines] = len;
    nlines++;
}

static int setup(void **state)
{
    (void)state;
    memset(lines, 0, sizeof(lines));
    nlines = 0;
    vuart_init(&u, emit);
    return 0;
}

static void out_bytes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vuart_write(&u, THR, (uint8_t)s[i]);
}

static void out(const char *s)
{
    out_bytes(s, strlen(s));
}

static void test_line_on_newline(void **state)
{
    (void)state;
    out("hello");
    assert_int_equal(nlines, 0); /* nothing before the newline */
    out("\n");
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "hello");
    assert_int_equal(line_len[0], 5);
    out("second line\nthird\n");
    assert_int_equal(nlines, 3);
    assert_string_equal(lines[1], "second line");
    assert_string_equal(lines[2], "third");
}

static void test_empty_line(void **state)
{
    (void)state;
    out("\n");
    assert_int_equal(nlines, 1);
    assert_int_equal(line_len[0], 0);
}

static void test_cr_dropped(void **state)
{
    (void)state;
    out("a\r\nb\r\n\rc\r\n");
    assert_int_equal(nlines, 3);
    assert_string_equal(lines[0], "a");
    assert_string_equal(lines[1], "b");
    assert_string_equal(lines[2], "c");
    out("\r\r");
    vuart_flush(&u);
    assert_int_equal(nlines, 3); /* carriage returns alone make no line */
}

static void test_non_printables_replaced(void **state)
{
    (void)state;
    const char s[] = "\x1b[31mX\x7f\x80\xff\t\x01\x00Y\n";
    out_bytes(s, sizeof(s) - 1);
    assert_int_equal(nlines, 1);
    assert_int_equal(line_len[0], 13);
    assert_string_equal(lines[0], "?[31mX???\t??Y"); /* tab kept, NUL replaced too */
    /* every printable ASCII byte is kept as is */
    char all[96];
    for (int c = 0x20; c < 0x7f; c++)
        all[c - 0x20] = (char)c;
    out_bytes(all, 0x7f - 0x20);
    out("\n");
    assert_int_equal(nlines, 2);
    assert_int_equal(line_len[1], 0x7f - 0x20);
    assert_memory_equal(lines[1], all, 0x7f - 0x20);
}

static void test_long_line_split(void **state)
{
    (void)state;
    char buf[2 * VUART_LINE_MAX + 20];
    memset(buf, 'a', sizeof(buf));
    out_bytes(buf, VUART_LINE_MAX - 1);
    assert_int_equal(nlines, 0);
    out("b");   /* VUART_LINE_MAX characters: a full piece... */
    out("cd\n"); /* ...then the rest of the line */
    assert_int_equal(nlines, 2);
    assert_int_equal(line_len[0], VUART_LINE_MAX);
    assert_memory_equal(lines[0], buf, VUART_LINE_MAX - 1);
    assert_int_equal(lines[0][VUART_LINE_MAX - 1], 'b');
    assert_string_equal(lines[1], "cd");

    /* two full pieces and the rest (20 characters) */
    setup(NULL);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)('0' + i % 10);
    out_bytes(buf, sizeof(buf));
    out("\n");
    assert_int_equal(nlines, 3);
    assert_int_equal(line_len[0], VUART_LINE_MAX);
    assert_int_equal(line_len[1], VUART_LINE_MAX);
    assert_int_equal(line_len[2], 20);
    assert_memory_equal(lines[0], buf, VUART_LINE_MAX);
    assert_memory_equal(lines[1], buf + VUART_LINE_MAX, VUART_LINE_MAX);
    assert_memory_equal(lines[2], buf + 2 * VUART_LINE_MAX, 20);
}

/* A line of exactly VUART_LINE_MAX characters and its newline are one line.
 * EXPOSES A BUG: put_char flushes as soon as the buffer holds VUART_LINE_MAX
 * characters, so the newline that follows emits a second, empty line (a spurious
 * "guest: " line on eli's console). */
static void test_line_of_exactly_max(void **state)
{
    (void)state;
    char buf[VUART_LINE_MAX];
    memset(buf, 'x', sizeof(buf));
    out_bytes(buf, sizeof(buf));
    out("\n");
    assert_int_equal(line_len[0], VUART_LINE_MAX);
    assert_int_equal(nlines, 1);
}

static void test_flush_partial(void **state)
{
    (void)state;
    vuart_flush(&u);
    assert_int_equal(nlines, 0); /* nothing pending: nothing emitted */
    out("partial");
    vuart_flush(&u);
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "partial");
    vuart_flush(&u);
    assert_int_equal(nlines, 1); /* emitted once */
    out("next\n");
    assert_int_equal(nlines, 2);
    assert_string_equal(lines[1], "next"); /* no leftover of the flushed text */
}

static void test_divisor_latch(void **state)
{
    (void)state;
    assert_int_equal(vuart_read(&u, LCR), 0);
    vuart_write(&u, IER, 0x05);
    vuart_write(&u, LCR, 0x83); /* DLAB, 8N1 */
    assert_int_equal(vuart_read(&u, LCR), 0x83);
    assert_int_equal(vuart_read(&u, THR), 1); /* the divisor after init: 115200 baud */
    assert_int_equal(vuart_read(&u, IER), 0);
    vuart_write(&u, THR, 0x0c); /* 9600 baud */
    vuart_write(&u, IER, 0x00);
    assert_int_equal(vuart_read(&u, THR), 0x0c);
    assert_int_equal(vuart_read(&u, IER), 0x00);
    vuart_write(&u, IER, 0x12);
    assert_int_equal(vuart_read(&u, IER), 0x12);
    assert_int_equal(nlines, 0);
    vuart_flush(&u);
    assert_int_equal(nlines, 0); /* divisor writes are not characters */
    vuart_write(&u, LCR, 0x03); /* DLAB off */
    assert_int_equal(vuart_read(&u, IER), 0x05); /* IER kept apart from DLM */
    assert_int_equal(vuart_read(&u, THR), 0);    /* nothing received */
    out("z\n");
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "z");
    vuart_write(&u, LCR, 0x80);
    assert_int_equal(vuart_read(&u, THR), 0x0c); /* the divisor survives */
    assert_int_equal(vuart_read(&u, IER), 0x12);
}

static void test_ier_mask(void **state)
{
    (void)state;
    vuart_write(&u, IER, 0xff);
    assert_int_equal(vuart_read(&u, IER), 0x0f);
}

static void test_lsr(void **state)
{
    (void)state;
    assert_int_equal(vuart_read(&u, LSR), 0x60); /* THRE | TEMT, no data ready */
    out("abc");
    assert_int_equal(vuart_read(&u, LSR), 0x60); /* always ready to send */
    vuart_write(&u, LSR, 0x00);                  /* read-only */
    assert_int_equal(vuart_read(&u, LSR), 0x60);
    vuart_write(&u, LCR, 0x80);
    assert_int_equal(vuart_read(&u, LSR), 0x60);
}

static void test_scratch(void **state)
{
    (void)state;
    assert_int_equal(vuart_read(&u, SCR), 0);
    vuart_write(&u, SCR, 0x5a);
    assert_int_equal(vuart_read(&u, SCR), 0x5a);
    vuart_write(&u, SCR, 0xa5);
    assert_int_equal(vuart_read(&u, SCR), 0xa5);
    vuart_write(&u, LCR, 0x80);
    assert_int_equal(vuart_read(&u, SCR), 0xa5); /* DLAB does not matter */
}

static void test_iir_fcr(void **state)
{
    (void)state;
    assert_int_equal(vuart_read(&u, IIR), 0x01); /* no interrupt pending, no FIFO */
    vuart_write(&u, FCR, 0x07);                  /* enable and clear FIFOs */
    assert_int_equal(vuart_read(&u, IIR), 0xc1);
    vuart_write(&u, FCR, 0x00);
    assert_int_equal(vuart_read(&u, IIR), 0x01);
    vuart_write(&u, IER, 0x0d); /* receive and line status: nothing to report */
    assert_int_equal(vuart_read(&u, IIR) & 0x01, 1);
}

/* "THR empty" (16550): pending when THRE is enabled or THR empties (at once here),
 * cleared by the IIR read that reports it; what Linux's polling 8250 driver sends by. */
static void test_iir_thre(void **state)
{
    (void)state;
    vuart_write(&u, IER, 0x02);
    assert_int_equal(vuart_read(&u, IIR), 0x02);
    assert_int_equal(vuart_read(&u, IIR), 0x01); /* acknowledged by the read */
    vuart_write(&u, THR, 'a');
    assert_int_equal(vuart_read(&u, IIR), 0x02);
    vuart_write(&u, IER, 0x00);
    vuart_write(&u, THR, 'b');
    assert_int_equal(vuart_read(&u, IIR), 0x01); /* disabled: never reported */
    vuart_write(&u, FCR, 0x01);
    vuart_write(&u, IER, 0x02);
    assert_int_equal(vuart_read(&u, IIR), 0xc2);
}

/* A driver that turns its transmit interrupt off has sent what it had: a prompt with
 * no newline goes out then. */
static void test_flush_when_thri_off(void **state)
{
    (void)state;
    vuart_write(&u, IER, 0x02);
    vuart_write(&u, THR, '#');
    vuart_write(&u, THR, ' ');
    assert_int_equal(nlines, 0);
    vuart_write(&u, IER, 0x00);
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "# ");
    vuart_write(&u, IER, 0x00); /* already off: nothing more */
    assert_int_equal(nlines, 1);
}

static void test_mcr_msr(void **state)
{
    (void)state;
    assert_int_equal(vuart_read(&u, MSR), 0xb0); /* CTS, DSR, DCD */
    vuart_write(&u, MCR, 0xff);
    assert_int_equal(vuart_read(&u, MCR), 0x1f);
    assert_int_equal(vuart_read(&u, MSR), 0); /* loopback */
    vuart_write(&u, MCR, 0x0b);
    assert_int_equal(vuart_read(&u, MSR), 0xb0);
}

static void test_bad_offset(void **state)
{
    (void)state;
    assert_int_equal(vuart_read(&u, 8), 0xff);
    assert_int_equal(vuart_read(&u, 100), 0xff);
    vuart_write(&u, 8, 'x'); /* ignored */
    vuart_write(&u, MSR, 'x');
    vuart_flush(&u);
    assert_int_equal(nlines, 0);
}

/* ---- line_started ------------------------------------------------------------- */

static int starts;
static int lines_at_start[MAX_LINES]; /* lines emitted when each start was reported */

static void started(void)
{
    assert_true(starts < MAX_LINES);
    lines_at_start[starts++] = nlines;
}

static void with_line_started(void)
{
    starts = 0;
    memset(lines_at_start, 0xFF, sizeof(lines_at_start));
    u.line_started = started;
}

/* Called once per line, at its first byte: before the rest and before the line ends. */
static void test_line_started_once_per_line(void **state)
{
    (void)state;
    with_line_started();
    out("a");
    assert_int_equal(starts, 1);
    assert_int_equal(lines_at_start[0], 0);
    out("bc");
    assert_int_equal(starts, 1); /* not for the other bytes */
    out("\n");
    assert_int_equal(starts, 1);
    assert_int_equal(nlines, 1);
    out("de");
    assert_int_equal(starts, 2);
    assert_int_equal(lines_at_start[1], 1); /* after the previous line went out */
    out("\nf\ng\n");
    assert_int_equal(nlines, 4);
    assert_int_equal(starts, 4);
    assert_int_equal(lines_at_start[2], 2);
    assert_int_equal(lines_at_start[3], 3);
}

static void test_line_started_empty_line_and_cr(void **state)
{
    (void)state;
    with_line_started();
    out("\r\r");
    assert_int_equal(starts, 0); /* a carriage return starts nothing */
    /* an empty line is a line too: its newline reports its start, before it is
     * emitted, so every emitted line has a start */
    out("\n");
    assert_int_equal(starts, 1);
    assert_int_equal(lines_at_start[0], 0);
    assert_int_equal(nlines, 1);
    assert_int_equal(line_len[0], 0);
    out("\rx");
    assert_int_equal(starts, 2);  /* at the x */
    assert_int_equal(lines_at_start[1], 1);
    out("\r\n");
    assert_int_equal(starts, 2);
    assert_int_equal(nlines, 2);
    assert_string_equal(lines[1], "x");
    /* divisor writes are not bytes of a line */
    vuart_write(&u, LCR, 0x80);
    vuart_write(&u, THR, 0x01);
    vuart_write(&u, LCR, 0x03);
    assert_int_equal(starts, 2);
}

static void test_line_started_after_flush(void **state)
{
    (void)state;
    with_line_started();
    out("part");
    vuart_flush(&u);
    assert_int_equal(starts, 1);
    assert_int_equal(nlines, 1);
    vuart_flush(&u);
    assert_int_equal(starts, 1);
    out("next\n");
    assert_int_equal(starts, 2);
    assert_int_equal(lines_at_start[1], 1);
    assert_int_equal(nlines, 2);
}

static void test_line_started_optional(void **state)
{
    (void)state;
    assert_null(u.line_started); /* vuart_init leaves it unset */
    out("no callback\n");
    assert_int_equal(nlines, 1);
    assert_string_equal(lines[0], "no callback");
}

/* A line longer than VUART_LINE_MAX goes out in pieces, each a line of its own for the
 * emit callback (and for eli's stats, which record a mark per emitted line whose start
 * is "when its first byte was written"): each piece is reported as started, when its
 * own first byte is written, after the previous piece went out. */
static void test_line_started_long_line(void **state)
{
    (void)state;
    with_line_started();
    char buf[2 * VUART_LINE_MAX + 20];
    memset(buf, 'z', sizeof(buf));
    out_bytes(buf, VUART_LINE_MAX);
    assert_int_equal(starts, 1);  /* a full first piece, not out yet */
    assert_int_equal(nlines, 0);
    out("z");                     /* the first byte of the second piece */
    assert_int_equal(nlines, 1);
    assert_int_equal(starts, 2);
    assert_int_equal(lines_at_start[1], 1);
    out_bytes(buf, VUART_LINE_MAX - 1);
    assert_int_equal(starts, 2);  /* not for the other bytes of the piece */
    out_bytes(buf, 20);           /* the third piece */
    assert_int_equal(starts, 3);
    assert_int_equal(lines_at_start[2], 2);
    out("\n");
    assert_int_equal(nlines, 3);
    assert_int_equal(starts, 3);  /* the newline ends the third piece: no fourth */
    assert_int_equal(lines_at_start[0], 0);
    assert_int_equal(line_len[0], VUART_LINE_MAX);
    assert_int_equal(line_len[1], VUART_LINE_MAX);
    assert_int_equal(line_len[2], 20);

    /* a line of exactly VUART_LINE_MAX characters is one piece: one start */
    out_bytes(buf, VUART_LINE_MAX);
    out("\n");
    assert_int_equal(nlines, 4);
    assert_int_equal(starts, 4);
    assert_int_equal(lines_at_start[3], 3);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_line_on_newline),
        T(test_empty_line),
        T(test_cr_dropped),
        T(test_non_printables_replaced),
        T(test_long_line_split),
        T(test_line_of_exactly_max),
        T(test_flush_partial),
        T(test_divisor_latch),
        T(test_ier_mask),
        T(test_lsr),
        T(test_scratch),
        T(test_iir_fcr),
        T(test_iir_thre),
        T(test_flush_when_thri_off),
        T(test_mcr_msr),
        T(test_bad_offset),
        T(test_line_started_once_per_line),
        T(test_line_started_empty_line_and_cr),
        T(test_line_started_after_flush),
        T(test_line_started_optional),
        T(test_line_started_long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
