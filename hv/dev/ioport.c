#include "dev/ioport.h"
#include "core/console.h"
#include "core/guest.h"
#include "core/panic.h"
#include "dev/assign.h"
#include "dev/vuart.h"

static uint8_t logged_ports[65536 / 8];

/* Once per port: a guest probing hardware must not flood the log. */
static void log_absent_port(uint16_t port, bool in)
{
    if (logged_ports[port / 8] & (1u << (port % 8)))
        return;
    logged_ports[port / 8] |= (uint8_t)(1u << (port % 8));
    log_line("guest %s port 0x%x: no device there (%s)", in ? "reads" : "writes", port,
             in ? "reads as all ones" : "ignored");
}

static bool in_range(uint16_t port, unsigned size, uint16_t base, unsigned n)
{
    return port >= base && port + size <= base + n;
}

void ioport_access(struct guest *g, uint16_t port, unsigned size, bool in, uint32_t *val)
{
    if (in_range(port, size, VUART_BASE, VUART_PORTS)) {
        /* byte-wide registers: a wider access touches consecutive ones */
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++) {
            unsigned off = port - VUART_BASE + i;
            if (in)
                v |= (uint32_t)vuart_read(&g->uart, off) << (8 * i);
            else
                vuart_write(&g->uart, off, (uint8_t)(*val >> (8 * i)));
        }
        if (in)
            *val = v;
        return;
    }
    if (assign_owns_port(port, size)) {
        assign_port_access(port, size, in, val);
        return;
    }
    if (in_range(port, size, DEBUG_EXIT_PORT, DEBUG_EXIT_PORTS)) {
        if (in) {
            *val = 0xffffffffu;
            return;
        }
        run_end(*val, "guest-exit");
    }
    log_absent_port(port, in);
    if (in)
        *val = 0xffffffffu;
}
