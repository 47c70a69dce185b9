/* Host unit tests of hv/core/fmt.c: eli's printf engine. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmt.h"

#define BUFSZ 256

/* Formats into a buffer pre-filled with 'X' and checks text, NUL and return value. */
#define CHECK(expect, ...)                                                                 \
    do {                                                                                   \
        char b_[BUFSZ];                                                                    \
        memset(b_, 'X', sizeof(b_));                                                       \
        int n_ = fmt_snprintf(b_, sizeof(b_), __VA_ARGS__);                                \
        assert_string_equal(b_, (expect));                                                 \
        assert_int_equal(n_, (int)strlen(expect));                                         \
        assert_int_equal(b_[strlen(expect) + 1], 'X'); /* nothing written past the NUL */ \
    } while (0)

/* fmt_vsnprintf through a function without the format attribute, for formats gcc's
 * -Wformat would refuse (unknown conversions, a lone '%'). */
static int call_vfmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void test_plain_text(void **state)
{
    (void)state;
    CHECK("", "%s", "");
    CHECK("hello, world", "hello, world");
    CHECK("100%", "100%%");
    CHECK("%%", "%%%%");
    CHECK("a%b", "a%%b");
}

static void test_signed_decimal(void **state)
{
    (void)state;
    CHECK("0", "%d", 0);
    CHECK("42", "%d", 42);
    CHECK("-42", "%d", -42);
    CHECK("-7", "%i", -7);
    CHECK("2147483647", "%d", INT_MAX);
    CHECK("-2147483648", "%d", INT_MIN);
    CHECK("-9223372036854775808", "%ld", LONG_MIN);
    CHECK("9223372036854775807", "%ld", LONG_MAX);
    CHECK("-9223372036854775808", "%lld", (long long)INT64_MIN);
    CHECK("9223372036854775807", "%lld", (long long)INT64_MAX);
    CHECK("-1", "%lli", -1LL);
    /* an int argument is read as int: its upper bits are not sign garbage */
    CHECK("-1 2", "%d %d", -1, 2);
}

static void test_unsigned_decimal(void **state)
{
    (void)state;
    CHECK("0", "%u", 0u);
    CHECK("4294967295", "%u", UINT_MAX);
    CHECK("18446744073709551615", "%lu", ULONG_MAX);
    CHECK("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
    CHECK("18446744073709551615", "%zu", (size_t)SIZE_MAX);
    CHECK("12345", "%zu", (size_t)12345);
}

static void test_hex(void **state)
{
    (void)state;
    CHECK("0", "%x", 0u);
    CHECK("deadbeef", "%x", 0xdeadbeefu);
    CHECK("DEADBEEF", "%X", 0xdeadbeefu);
    CHECK("ffffffff", "%x", UINT_MAX);
    CHECK("ffffffffffffffff", "%llx", (unsigned long long)UINT64_MAX);
    CHECK("FFFFFFFFFFFFFFFF", "%llX", (unsigned long long)UINT64_MAX);
    CHECK("123456789abcdef0", "%lx", 0x123456789abcdef0ul);
    CHECK("00001234", "%08x", 0x1234u);
    CHECK("1234    |", "%-8x|", 0x1234u);
    CHECK("    ABCD", "%8X", 0xabcdu);
}

static void test_width_and_flags(void **state)
{
    (void)state;
    CHECK("   42", "%5d", 42);
    CHECK("42   |", "%-5d|", 42);
    CHECK("00042", "%05d", 42);
    CHECK("-0042", "%05d", -42);  /* the sign precedes the zero padding */
    CHECK("  -42", "%5d", -42);
    CHECK("-42  |", "%-5d|", -42);
    CHECK("12345", "%2d", 12345);  /* a width never truncates */
    CHECK("-5", "%0d", -5);
    CHECK("-5", "%1d", -5);
    CHECK("-5", "%02d", -5);
    CHECK("-05", "%03d", -5);
    CHECK("-000000009223372036854775808", "%028lld", (long long)INT64_MIN);
    CHECK("      -9223372036854775808", "%26lld", (long long)INT64_MIN);
    CHECK("00000000000000000000000000000000000000001", "%041u", 1u);
    CHECK("[                                       7]", "[%40u]", 7u);
}

/* '-' wins over '0' (gcc's -Wformat refuses the combination in a checked call) */
static void test_minus_overrides_zero(void **state)
{
    (void)state;
    char b[32];
    assert_int_equal(call_vfmt(b, sizeof(b), "%-05d|", 42), 6);
    assert_string_equal(b, "42   |");
    assert_int_equal(call_vfmt(b, sizeof(b), "%0-5d|", -4), 6);
    assert_string_equal(b, "-4   |");
    assert_int_equal(call_vfmt(b, sizeof(b), "%-04x|", 0xau), 5);
    assert_string_equal(b, "a   |");
}

static void test_string_and_char(void **state)
{
    (void)state;
    const char *volatile null_str = NULL;
    CHECK("abc", "%s", "abc");
    CHECK("  abc", "%5s", "abc");
    CHECK("abc  |", "%-5s|", "abc");
    CHECK("abcdef", "%3s", "abcdef");
    CHECK("(null)", "%s", null_str);
    CHECK("x", "%c", 'x');
    CHECK("  x", "%3c", 'x');
    CHECK("x  |", "%-3c|", 'x');
    CHECK("a-b-c", "%c-%s-%c", 'a', "b", 'c');
    CHECK("\xe9", "%c", 0xe9);
}

static void test_pointer(void **state)
{
    (void)state;
    CHECK("0x1234", "%p", (void *)0x1234);
    CHECK("0x0", "%p", (void *)NULL);
    CHECK("0xffff800000001000", "%p", (void *)0xffff800000001000ull);
    CHECK("0xdeadbeef", "%p", (void *)0xdeadbeefull);
}

static void test_mixed(void **state)
{
    (void)state;
    CHECK("guest 'boot_exit': entry 0x100062, 12 KiB, -3 errs",
          "guest '%s': entry 0x%llx, %zu KiB, %d errs", "boot_exit", 0x100062ull, (size_t)12, -3);
    CHECK("|  7|7  |007|", "|%3u|%-3u|%03u|", 7u, 7u, 7u);
}

static void test_truncation(void **state)
{
    (void)state;
    char b[16];

    memset(b, 'X', sizeof(b));
    assert_int_equal(fmt_snprintf(b, 5, "hello world"), 11);
    assert_string_equal(b, "hell");
    assert_int_equal(b[5], 'X');

    memset(b, 'X', sizeof(b));
    assert_int_equal(fmt_snprintf(b, 1, "hello"), 5);
    assert_int_equal(b[0], '\0');
    assert_int_equal(b[1], 'X');

    memset(b, 'X', sizeof(b));
    assert_int_equal(fmt_snprintf(b, 4, "%d", 123456), 6);
    assert_string_equal(b, "123");

    memset(b, 'X', sizeof(b));
    assert_int_equal(fmt_snprintf(b, 4, "%10d", 5), 10);
    assert_string_equal(b, "   ");

    memset(b, 'X', sizeof(b));
    assert_int_equal(fmt_snprintf(b, 6, "%-10s|", "ab"), 11);
    assert_string_equal(b, "ab   ");

    /* output that exactly fills the buffer but for the NUL */
    memset(b, 'X', sizeof(b));
    assert_int_equal(fmt_snprintf(b, 4, "abc"), 3);
    assert_string_equal(b, "abc");
    memset(b, 'X', sizeof(b));
    assert_int_equal(fmt_snprintf(b, 3, "abc"), 3);
    assert_string_equal(b, "ab");
}

/* Every prefix length of a long output, with a heap buffer of exactly that size (ASan
 * catches any write past it). */
static void test_truncation_every_size(void **state)
{
    (void)state;
    const char *full = "x=-9223372036854775808 y=0xffffffffffffffff s=[  str]";
    size_t n = strlen(full);
    for (size_t size = 1; size <= n + 2; size++) {
        char *b = malloc(size);
        assert_non_null(b);
        int r = fmt_snprintf(b, size, "x=%lld y=0x%llx s=[%5s]", (long long)INT64_MIN,
                             (unsigned long long)UINT64_MAX, "str");
        assert_int_equal(r, (int)n);
        size_t want = size - 1 < n ? size - 1 : n;
        assert_int_equal(strlen(b), want);
        assert_memory_equal(b, full, want);
        free(b);
    }
}

static void test_size_zero(void **state)
{
    (void)state;
    char b[4] = { 'X', 'X', 'X', 'X' };
    assert_int_equal(fmt_snprintf(b, 0, "abc %d", 12345), 9);
    assert_memory_equal(b, "XXXX", 4);
    /* size 0 never touches the buffer, so NULL is fine (the usual way to measure) */
    assert_int_equal(fmt_snprintf(NULL, 0, "%s=%llu", "key", 18446744073709551615ull), 24);
}

static void test_vsnprintf(void **state)
{
    (void)state;
    char b[32];
    assert_int_equal(call_vfmt(b, sizeof(b), "%s:%d:%x", "v", -1, 255u), 7);
    assert_string_equal(b, "v:-1:ff");
}

static void test_unknown_and_trailing_percent(void **state)
{
    (void)state;
    char b[32];
    /* an unknown conversion is copied as is */
    assert_int_equal(call_vfmt(b, sizeof(b), "a%qb"), 4);
    assert_string_equal(b, "a%qb");
    /* a '%' at the very end stops there: no read past the format's NUL (the format is
     * heap-allocated at its exact size so that ASan sees an over-read) */
    const char *src[] = { "ab%", "ab%-", "ab%05", "ab%l", "ab%ll", "ab%z" };
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        size_t len = strlen(src[i]) + 1;
        char *f = malloc(len);
        assert_non_null(f);
        memcpy(f, src[i], len);
        memset(b, 'X', sizeof(b));
        assert_int_equal(call_vfmt(b, sizeof(b), f), 2);
        assert_string_equal(b, "ab");
        free(f);
    }
}

/* The supported integer subset agrees with the C library. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void test_integers_match_libc(void **state)
{
    (void)state;
    static const char *const ifmts[] = { "%d", "%5d", "%-5d|", "%05d", "%1d", "%012d", "%-012d|" };
    static const int ivals[] = { 0, 1, -1, 9, -9, 42, -42, 12345, -12345, INT_MAX, INT_MIN };
    static const char *const ufmts[] = { "%u", "%x", "%X", "%8x", "%-8X|", "%08x", "%3u", "%010u" };
    static const unsigned uvals[] = { 0, 1, 15, 16, 255, 0x1000, 0xdeadbeef, UINT_MAX };
    static const char *const llfmts[] = { "%lld", "%25lld", "%-25lld|", "%025lld" };
    static const long long llvals[] = { 0, -1, (long long)INT64_MIN, (long long)INT64_MAX,
                                        -1234567890123ll };
    char want[128], got[128];
    for (size_t f = 0; f < sizeof(ifmts) / sizeof(ifmts[0]); f++)
        for (size_t v = 0; v < sizeof(ivals) / sizeof(ivals[0]); v++) {
            int n1 = snprintf(want, sizeof(want), ifmts[f], ivals[v]);
            int n2 = fmt_snprintf(got, sizeof(got), ifmts[f], ivals[v]);
            assert_string_equal(got, want);
            assert_int_equal(n2, n1);
        }
    for (size_t f = 0; f < sizeof(ufmts) / sizeof(ufmts[0]); f++)
        for (size_t v = 0; v < sizeof(uvals) / sizeof(uvals[0]); v++) {
            int n1 = snprintf(want, sizeof(want), ufmts[f], uvals[v]);
            int n2 = fmt_snprintf(got, sizeof(got), ufmts[f], uvals[v]);
            assert_string_equal(got, want);
            assert_int_equal(n2, n1);
        }
    for (size_t f = 0; f < sizeof(llfmts) / sizeof(llfmts[0]); f++)
        for (size_t v = 0; v < sizeof(llvals) / sizeof(llvals[0]); v++) {
            int n1 = snprintf(want, sizeof(want), llfmts[f], llvals[v]);
            int n2 = fmt_snprintf(got, sizeof(got), llfmts[f], llvals[v]);
            assert_string_equal(got, want);
            assert_int_equal(n2, n1);
        }
}
#pragma GCC diagnostic pop

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_signed_decimal),
        cmocka_unit_test(test_unsigned_decimal),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_width_and_flags),
        cmocka_unit_test(test_minus_overrides_zero),
        cmocka_unit_test(test_string_and_char),
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_every_size),
        cmocka_unit_test(test_size_zero),
        cmocka_unit_test(test_vsnprintf),
        cmocka_unit_test(test_unknown_and_trailing_percent),
        cmocka_unit_test(test_integers_match_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
