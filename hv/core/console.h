/* eli's log: every line it prints itself starts with "eli: " (docs/conventions.md). */
#ifndef ELI_CORE_CONSOLE_H
#define ELI_CORE_CONSOLE_H
#include <stddef.h>

#define LOG_PREFIX "eli: "
#define GUEST_PREFIX "guest: "

void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes text as is (used for lines that already carry their prefix). */
void console_write(const char *s, size_t n);

#endif
