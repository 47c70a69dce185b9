/*
 * Core API of the test-guest library: console output, test reporting, exit, strings and
 * command-line options. A guest provides int main(void); the library calls it once the
 * console, the IDT and the multiboot information are ready, and exits with its return value.
 */
#ifndef GUEST_LIBGUEST_H
#define GUEST_LIBGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))

/* The guest's test body. */
int main(void);

/* Ends the run: writes code to isa-debug-exit (port 0xf4), then halts forever. */
_Noreturn void exit(int code);

/* printf.c: %d %i %u %x %X %p %s %c %%, flags '0' '-' '#', width (or '*'), h/l/ll/z. */
int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* report.c: one line per check, in the format the test runner parses. */
void report(bool pass, const char *fmt, ...) PRINTF_LIKE(2, 3);	/* "PASS: msg" / "FAIL: msg" */
void report_skip(const char *fmt, ...) PRINTF_LIKE(1, 2);		/* "SKIP: msg" */
int report_summary(void);	/* "SUMMARY: N tests, M unexpected failures"; 0 if M == 0, else 1 */

/* cmdline.c: options are space-separated key=value words; "..." quotes a value with spaces. */
const char *cmdline_get(const char *key);	/* value of key=, or NULL if absent */
bool parse_u64(const char *s, uint64_t *out);	/* decimal, or hex with 0x; whole string */
uint64_t cmdline_get_u64(const char *key, uint64_t def);	/* def if absent; exit(1) if bad */

/* string.c */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
