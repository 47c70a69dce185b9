#include "dev/vuart.h"
#include <string.h>

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_FIFO 0xC0
#define MSR_CTS_DSR_DCD 0xB0
#define MCR_LOOP 0x10

void vuart_init(struct vuart *u, vuart_emit_fn emit)
{
    memset(u, 0, sizeof(*u));
    u->dll = 1;
    u->emit = emit;
}

void vuart_flush(struct vuart *u)
{
    if (u->len)
        u->emit(u->line, u->len);
    u->len = 0;
}

static void put_char(struct vuart *u, uint8_t c)
{
    if (c == '\r')
        return;
    /* a full line goes out when one more character comes, so a line of exactly
     * VUART_LINE_MAX characters and its newline stay one line */
    if (u->len == VUART_LINE_MAX && c != '\n')
        vuart_flush(u);
    /* a new line (an empty one too), or the next piece of a long one: every line
     * emitted has had its start reported */
    if (u->len == 0 && u->line_started)
        u->line_started();
    if (c == '\n') {
        u->emit(u->line, u->len);
        u->len = 0;
        return;
    }
    /* non-printable bytes would let a guest play with the host's terminal */
    u->line[u->len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
}

uint8_t vuart_read(struct vuart *u, unsigned offset)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (offset) {
    case RBR_THR:
        return dlab ? u->dll : 0;
    case IER:
        return dlab ? u->dlm : u->ier;
    case IIR_FCR: {
        uint8_t fifo = u->fcr & 1 ? IIR_FIFO : 0;
        if ((u->ier & IER_THRI) && u->thre_pending) {
            u->thre_pending = false; /* reading IIR acknowledges it */
            return IIR_THRI | fifo;
        }
        return IIR_NO_INT | fifo;
    }
    case LCR:
        return u->lcr;
    case MCR:
        return u->mcr;
    case LSR:
        return LSR_THRE | LSR_TEMT;
    case MSR:
        return u->mcr & MCR_LOOP ? 0 : MSR_CTS_DSR_DCD;
    case SCR:
        return u->scr;
    default:
        return 0xff;
    }
}

void vuart_write(struct vuart *u, unsigned offset, uint8_t val)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (offset) {
    case RBR_THR:
        if (dlab) {
            u->dll = val;
        } else {
            put_char(u, val);
            u->thre_pending = true; /* sent at once: THR is empty again */
        }
        break;
    case IER:
        if (dlab) {
            u->dlm = val;
            break;
        }
        if ((val & IER_THRI) && !(u->ier & IER_THRI))
            u->thre_pending = true; /* THR is always empty */
        if (!(val & IER_THRI) && (u->ier & IER_THRI))
            vuart_flush(u);
        u->ier = val & 0x0f;
        break;
    case IIR_FCR:
        u->fcr = val;
        break;
    case LCR:
        u->lcr = val;
        break;
    case MCR:
        u->mcr = val & 0x1f;
        break;
    case SCR:
        u->scr = val;
        break;
    default:
        break; /* LSR and MSR are read-only */
    }
}
