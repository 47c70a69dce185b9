/*
 * A small printf: %d %i %u %x %X %p %s %c %%, flags '0' '-' '#', a width (digits or '*'),
 * and the length modifiers hh, h, l, ll, z. Output goes to the serial console or a buffer.
 */
#include "libguest.h"
#include "serial.h"

/* Where characters go: the console, or buf (always NUL-terminated if size > 0). */
struct sink {
	bool console;
	char *buf;
	size_t size;
	size_t len;	/* characters produced, including any that did not fit */
};

struct spec {
	unsigned width;
	bool zero_pad;
	bool left;
	bool alt;	/* '#': 0x prefix for hex */
	int length;	/* -2 char, -1 short, 0 int, 1 long, 2 long long */
};

static void put(struct sink *s, char c)
{
	if (s->console)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_n(struct sink *s, const char *str, size_t n)
{
	while (n--)
		put(s, *str++);
}

static void put_repeat(struct sink *s, char c, size_t n)
{
	while (n--)
		put(s, c);
}

/* prefix (sign or 0x), zero padding, body, honouring width and '-'. */
static void put_field(struct sink *s, const struct spec *sp, const char *prefix,
		      const char *body, size_t body_len)
{
	size_t prefix_len = strlen(prefix);
	size_t total = prefix_len + body_len;
	size_t pad = sp->width > total ? sp->width - total : 0;

	if (!sp->left && !sp->zero_pad)
		put_repeat(s, ' ', pad);
	put_n(s, prefix, prefix_len);
	if (!sp->left && sp->zero_pad)
		put_repeat(s, '0', pad);
	put_n(s, body, body_len);
	if (sp->left)
		put_repeat(s, ' ', pad);
}

static void put_number(struct sink *s, const struct spec *sp, uint64_t v, unsigned base,
		       bool upper, bool negative)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	size_t i = sizeof(buf);

	do {
		buf[--i] = digits[v % base];
		v /= base;
	} while (v);

	const char *prefix = negative ? "-" : (sp->alt && base == 16) ? "0x" : "";
	put_field(s, sp, prefix, buf + i, sizeof(buf) - i);
}

static int64_t signed_arg(const struct spec *sp, va_list *ap)
{
	if (sp->length == 2)
		return va_arg(*ap, long long);
	if (sp->length == 1)
		return va_arg(*ap, long);
	int v = va_arg(*ap, int);	/* char and short arrive promoted to int */
	return sp->length == -2 ? (signed char)v : sp->length == -1 ? (short)v : v;
}

static uint64_t unsigned_arg(const struct spec *sp, va_list *ap)
{
	if (sp->length == 2)
		return va_arg(*ap, unsigned long long);
	if (sp->length == 1)
		return va_arg(*ap, unsigned long);
	unsigned int v = va_arg(*ap, unsigned int);
	return sp->length == -2 ? (unsigned char)v : sp->length == -1 ? (unsigned short)v : v;
}

/* Parses flags, width and length after '%'; returns the conversion character's position. */
static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ 0 };
	for (;; f++) {
		if (*f == '0')
			sp->zero_pad = true;
		else if (*f == '-')
			sp->left = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	if (*f == '*') {
		int w = va_arg(*ap, int);
		sp->left |= w < 0;
		sp->width = w < 0 ? -(unsigned)w : (unsigned)w;
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (unsigned)(*f++ - '0');
	for (;; f++) {
		if (*f == 'l')
			sp->length++;
		else if (*f == 'h')
			sp->length--;
		else if (*f == 'z')
			sp->length = 1;
		else
			break;
	}
	return f;
}

static void convert(struct sink *s, char conv, struct spec *sp, va_list *ap)
{
	switch (conv) {
	case 'd':
	case 'i': {
		int64_t v = signed_arg(sp, ap);
		put_number(s, sp, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false, v < 0);
		break;
	}
	case 'u':
		put_number(s, sp, unsigned_arg(sp, ap), 10, false, false);
		break;
	case 'x':
	case 'X':
		put_number(s, sp, unsigned_arg(sp, ap), 16, conv == 'X', false);
		break;
	case 'p':
		sp->alt = true;
		put_number(s, sp, (uintptr_t)va_arg(*ap, void *), 16, false, false);
		break;
	case 's': {
		const char *str = va_arg(*ap, const char *);
		if (!str)
			str = "(null)";
		sp->zero_pad = false;
		put_field(s, sp, "", str, strlen(str));
		break;
	}
	case 'c': {
		char c = (char)va_arg(*ap, int);
		sp->zero_pad = false;
		put_field(s, sp, "", &c, 1);
		break;
	}
	case '%':
		put(s, '%');
		break;
	default:	/* unknown conversion: show it rather than guess */
		put(s, '%');
		put(s, conv);
		break;
	}
}

static void format(struct sink *s, const char *fmt, va_list ap_in)
{
	va_list ap;
	struct spec sp;

	va_copy(ap, ap_in);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(s, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &ap);
		if (!*f)
			break;
		convert(s, *f, &sp, &ap);
	}
	va_end(ap);
	if (!s->console && s->size)
		s->buf[s->len < s->size ? s->len : s->size - 1] = '\0';
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { .console = true };

	format(&s, fmt, ap);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };

	format(&s, fmt, ap);
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
