/* Formatted output into a buffer: the one printf engine of eli (pure, host-testable). */
#ifndef ELI_CORE_FMT_H
#define ELI_CORE_FMT_H
#include <stdarg.h>
#include <stddef.h>

/* Supports %d %i %u %x %X %p %s %c %%, flags '-' '0', a width, and the
 * length modifiers l, ll, z. Always NUL-terminates when size > 0.
 * Returns the length the full output would have had. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
