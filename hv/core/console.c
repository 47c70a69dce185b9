#include "core/console.h"
#include "arch/x86/serial.h"
#include "core/fmt.h"
#include <stdarg.h>

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
}

void log_line(const char *fmt, ...)
{
    char buf[512];
    size_t pre = sizeof(LOG_PREFIX) - 1;
    va_list ap;
    __builtin_memcpy(buf, LOG_PREFIX, pre);
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf + pre, sizeof(buf) - pre - 1, fmt, ap);
    va_end(ap);
    size_t len = pre + ((size_t)n < sizeof(buf) - pre - 2 ? (size_t)n : sizeof(buf) - pre - 2);
    buf[len++] = '\n';
    console_write(buf, len);
}
