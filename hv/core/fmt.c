#include "core/fmt.h"
#include <stdbool.h>
#include <stdint.h>

#define FMT_WIDTH_MAX 4096 /* wider fields are cut: formats are eli's own constants */

struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void out_char(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void out_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0)
            out_char(o, pad);
    for (size_t i = 0; i < n; i++)
        out_char(o, s[i]);
    if (left)
        while (fill-- > 0)
            out_char(o, ' ');
}

static size_t utoa(char *tmp, uint64_t v, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    return n;
}

static void out_number(struct out *o, uint64_t v, bool neg, unsigned base, bool upper,
                       int width, bool left, bool zero)
{
    char rev[24], s[24];
    size_t n = utoa(rev, v, base, upper), k = 0;
    if (neg && zero && !left) {
        /* the sign goes before the zero padding */
        out_char(o, '-');
        width = width > 0 ? width - 1 : 0;
        neg = false;
    }
    if (neg)
        s[k++] = '-';
    while (n)
        s[k++] = rev[--n];
    out_padded(o, s, k, width, left, zero && !left ? '0' : ' ');
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            out_char(&o, *p);
            continue;
        }
        bool left = false, zero = false;
        int width = 0, lng = 0;
        for (p++; *p == '-' || *p == '0'; p++)
            *p == '-' ? (left = true) : (zero = true);
        for (; *p >= '0' && *p <= '9'; p++)
            if (width < FMT_WIDTH_MAX)
                width = width * 10 + (*p - '0');
        for (; *p == 'l' || *p == 'z'; p++)
            lng += *p == 'z' ? 2 : 1;
        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
            out_number(&o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, false, width, left, zero);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
                         : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            out_number(&o, v, false, *p == 'u' ? 10 : 16, *p == 'X', width, left, zero);
            break;
        }
        case 'p':
            out_padded(&o, "0x", 2, 0, false, ' ');
            out_number(&o, (uintptr_t)va_arg(ap, void *), false, 16, false, width, left, zero);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            size_t n = 0;
            if (!s)
                s = "(null)";
            while (s[n])
                n++;
            out_padded(&o, s, n, width, left, ' ');
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            out_padded(&o, &c, 1, width, left, ' ');
            break;
        }
        case '%':
            out_char(&o, '%');
            break;
        case '\0':
            p--;
            break;
        default:
            out_char(&o, '%');
            out_char(&o, *p);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
