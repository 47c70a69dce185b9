/* Host unit tests of hv/core/stats.c: the JSON object of eli's result line. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/stats.h"

/* ---- a minimal strict JSON checker: objects, arrays, strings, unsigned integers (all
 * eli writes). Scalars and arrays are recorded under their dotted path. ---- */

#define MAX_KEYS 96

enum jkind { J_NUM, J_STR, J_ARR };

struct json {
    const char *p;
    char keys[MAX_KEYS][128]; /* "exits.cpuid", "guest", ... */
    enum jkind kind[MAX_KEYS];
    unsigned long long nums[MAX_KEYS]; /* a number, or an array's element count */
    char strs[MAX_KEYS][64];
    int nkeys;
};

static bool j_string(struct json *j, char *out, size_t outlen)
{
    if (*j->p != '"')
        return false;
    size_t n = 0;
    for (j->p++; *j->p != '"'; j->p++) {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20 || c == '\\') /* eli never escapes: a raw control or backslash is wrong */
            return false;       /* (this also stops at the NUL of an unterminated string) */
        if (n + 1 < outlen)
            out[n++] = (char)c;
    }
    out[n] = '\0';
    j->p++;
    return true;
}

static bool j_number(struct json *j, unsigned long long *v)
{
    if (*j->p < '0' || *j->p > '9' || (j->p[0] == '0' && j->p[1] >= '0' && j->p[1] <= '9'))
        return false;
    unsigned long long x = 0;
    for (; *j->p >= '0' && *j->p <= '9'; j->p++) {
        unsigned d = (unsigned)(*j->p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

static bool j_value(struct json *j, const char *path, int depth);

static int j_record(struct json *j, const char *path, enum jkind kind)
{
    if (!path)
        return -1; /* inside an array: checked, not recorded */
    if (j->nkeys == MAX_KEYS)
        fail_msg("more than %d keys in the result", MAX_KEYS);
    int k = j->nkeys++;
    snprintf(j->keys[k], sizeof(j->keys[k]), "%s", path);
    j->kind[k] = kind;
    return k;
}

static bool j_array(struct json *j, const char *path, int depth)
{
    int k = j_record(j, path, J_ARR);
    unsigned long long n = 0;
    j->p++;
    if (*j->p != ']') {
        for (;;) {
            if (!j_value(j, NULL, depth + 1))
                return false;
            n++;
            if (*j->p != ',')
                break;
            j->p++;
        }
    }
    if (*j->p++ != ']')
        return false;
    if (k >= 0)
        j->nums[k] = n;
    return true;
}

static bool j_object(struct json *j, const char *prefix, int depth)
{
    if (*j->p++ != '{')
        return false;
    if (*j->p == '}') {
        j->p++;
        return true;
    }
    for (;;) {
        char key[48], path[128];
        if (!j_string(j, key, sizeof(key)) || *j->p++ != ':')
            return false;
        snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix && *prefix ? "." : "",
                 key);
        if (prefix)
            for (int k = 0; k < j->nkeys; k++)
                if (!strcmp(j->keys[k], path))
                    return false; /* duplicate key */
        if (!j_value(j, prefix ? path : NULL, depth + 1))
            return false;
        if (*j->p != ',')
            break;
        j->p++;
    }
    return *j->p++ == '}';
}

static bool j_value(struct json *j, const char *path, int depth)
{
    if (depth > 8)
        return false;
    if (*j->p == '{')
        return j_object(j, path, depth);
    if (*j->p == '[')
        return j_array(j, path, depth);
    if (*j->p == '"') {
        int k = j_record(j, path, J_STR);
        char tmp[64];
        return j_string(j, k >= 0 ? j->strs[k] : tmp, sizeof(tmp));
    }
    unsigned long long v;
    if (!j_number(j, &v))
        return false;
    int k = j_record(j, path, J_NUM);
    if (k >= 0)
        j->nums[k] = v;
    return true;
}

static bool json_parse(struct json *j, const char *s)
{
    memset(j, 0, sizeof(*j));
    j->p = s;
    return j_object(j, "", 0) && *j->p == '\0';
}

static int json_find(const struct json *j, const char *key)
{
    for (int k = 0; k < j->nkeys; k++)
        if (!strcmp(j->keys[k], key))
            return k;
    return -1;
}

static unsigned long long json_num(const struct json *j, const char *key)
{
    int k = json_find(j, key);
    if (k < 0 || j->kind[k] != J_NUM)
        fail_msg("no number '%s' in the result", key);
    return j->nums[k];
}

static const char *json_str(const struct json *j, const char *key)
{
    int k = json_find(j, key);
    if (k < 0 || j->kind[k] != J_STR)
        fail_msg("no string '%s' in the result", key);
    return j->strs[k];
}

/* ---- fixtures ---- */

static const char *const reason_keys[EXIT_R_COUNT] = {
    "cpuid", "msr", "io", "hlt", "intr", "nmi", "npf", "shutdown", "exception", "vm_insn",
    "cr", "dtr", "vintr", "other",
};

static struct stats st;
static struct result_meta meta;

static void known_inputs(void)
{
    memset(&st, 0, sizeof(st));
    for (int r = 0; r < EXIT_R_COUNT; r++)
        st.exits[r] = (uint64_t)r + 1;
    st.exits_total = 105;
    st.guest_cycles = 123456789;
    st.run_start_tsc = 1000;
    st.ticks = 42;
    st.tick_irqs = 7;
    st.host_irqs = 43;
    st.host_nmis = 0;
    meta = (struct result_meta){ .end = "guest-exit", .guest_status = 0, .now_tsc = 5000,
                                 .tsc_hz = 2000000000ull, .tick_hz = 250, .backend = "svm",
                                 .guest = "boot_exit" };
}

/* The exits object for known_inputs(), exactly: its keys and their order are the
 * stable part of the result line. */
static const char expected_exits[] =
    "{\"exits\":{\"cpuid\":1,\"msr\":2,\"io\":3,\"hlt\":4,\"intr\":5,\"nmi\":6,\"npf\":7,"
    "\"shutdown\":8,\"exception\":9,\"vm_insn\":10,\"cr\":11,\"dtr\":12,\"vintr\":13,\"other\":14},";

/* The scalar keys the harness reads, in the order they must appear, as exact text. */
static const char *const expected_fields[] = {
    "\"exits_total\":105,", "\"guest_cycles\":123456789,", "\"wall_cycles\":4000,",
    "\"tsc_hz\":2000000000,", "\"ticks\":42,", "\"tick_irqs\":7,", "\"tick_hz\":250,", "\"guest_status\":0,",
    "\"end\":\"guest-exit\"", "\"backend\":\"svm\"", "\"guest\":\"boot_exit\"",
};

static void test_reason_names(void **state)
{
    (void)state;
    for (int r = 0; r < EXIT_R_COUNT; r++) {
        assert_non_null(exit_reason_names[r]);
        assert_string_equal(exit_reason_names[r], reason_keys[r]);
    }
}

static void test_known_output_text(void **state)
{
    (void)state;
    char buf[2048];
    known_inputs();
    memset(buf, 'X', sizeof(buf));
    size_t n = stats_result_json(&st, &meta, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    /* starts with the exits object, ends the top-level object */
    assert_memory_equal(buf, expected_exits, strlen(expected_exits));
    assert_int_equal(buf[n - 1], '}');
    const char *at = buf;
    for (size_t i = 0; i < sizeof(expected_fields) / sizeof(expected_fields[0]); i++) {
        const char *f = strstr(at, expected_fields[i]);
        if (!f)
            fail_msg("'%s' not found (in order) in %s", expected_fields[i], buf);
        assert_true(f[-1] == ',');
        at = f + strlen(expected_fields[i]);
    }
}

static void test_valid_json_with_all_keys(void **state)
{
    (void)state;
    char buf[2048];
    struct json j;
    known_inputs();
    stats_result_json(&st, &meta, buf, sizeof(buf));
    if (!json_parse(&j, buf))
        fail_msg("not valid JSON: %s", buf);
    for (int r = 0; r < EXIT_R_COUNT; r++) {
        char key[32];
        snprintf(key, sizeof(key), "exits.%s", reason_keys[r]);
        assert_int_equal(json_num(&j, key), (unsigned long long)r + 1);
    }
    assert_int_equal(json_num(&j, "exits_total"), 105);
    assert_int_equal(json_num(&j, "guest_cycles"), 123456789);
    assert_int_equal(json_num(&j, "wall_cycles"), 4000);
    assert_int_equal(json_num(&j, "tsc_hz"), 2000000000ull);
    assert_int_equal(json_num(&j, "ticks"), 42);
    assert_int_equal(json_num(&j, "tick_hz"), 250);
    assert_int_equal(json_num(&j, "host_irqs"), 43);
    assert_int_equal(json_num(&j, "host_nmis"), 0);
    assert_int_equal(json_num(&j, "guest_status"), 0);
    assert_string_equal(json_str(&j, "end"), "guest-exit");
    assert_string_equal(json_str(&j, "backend"), "svm");
    assert_string_equal(json_str(&j, "guest"), "boot_exit");
    /* the exits object holds exactly the reasons */
    int nexits = 0;
    for (int k = 0; k < j.nkeys; k++)
        nexits += !strncmp(j.keys[k], "exits.", 6);
    assert_int_equal(nexits, EXIT_R_COUNT);
}

static void test_extreme_values(void **state)
{
    (void)state;
    char buf[2048];
    struct json j;
    memset(&st, 0xff, sizeof(st)); /* every counter UINT64_MAX */
    st.run_start_tsc = 0;
#ifdef STATS_MARKS
    st.guest_lines = 0; /* no marks: see test_marks_* */
#endif
    meta = (struct result_meta){ .end = "", .guest_status = UINT32_MAX, .now_tsc = UINT64_MAX,
                                 .tsc_hz = UINT64_MAX, .tick_hz = UINT32_MAX, .backend = "",
                                 .guest = "" };
    size_t n = stats_result_json(&st, &meta, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_true(json_parse(&j, buf));
    assert_int_equal(json_num(&j, "exits.other"), UINT64_MAX);
    assert_int_equal(json_num(&j, "exits_total"), UINT64_MAX);
    assert_int_equal(json_num(&j, "wall_cycles"), UINT64_MAX);
    assert_int_equal(json_num(&j, "tick_hz"), UINT32_MAX);
    assert_int_equal(json_num(&j, "guest_status"), UINT32_MAX);
    assert_string_equal(json_str(&j, "guest"), "");

    memset(&st, 0, sizeof(st));
    meta = (struct result_meta){ 0 }; /* NULL names */
    stats_result_json(&st, &meta, buf, sizeof(buf));
    assert_true(json_parse(&j, buf));
    assert_int_equal(json_num(&j, "exits.cpuid"), 0);
    assert_string_equal(json_str(&j, "end"), "");
    assert_string_equal(json_str(&j, "backend"), "");
    assert_string_equal(json_str(&j, "guest"), "");
}

static void test_unsafe_names_replaced(void **state)
{
    (void)state;
    char buf[2048];
    struct json j;
    const char *bad[] = { "bo\"ot", "a\\b", "line\nbreak", "\x01", "tab\there", "\"" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        known_inputs();
        meta.guest = bad[i];
        meta.end = bad[i];
        meta.backend = bad[i];
        stats_result_json(&st, &meta, buf, sizeof(buf));
        if (!json_parse(&j, buf))
            fail_msg("not valid JSON for name #%zu: %s", i, buf);
        assert_string_equal(json_str(&j, "guest"), "?");
        assert_string_equal(json_str(&j, "end"), "?");
        assert_string_equal(json_str(&j, "backend"), "?");
    }
    /* plain names with punctuation are kept */
    known_inputs();
    meta.end = "guest wrote 0x1 to port 0xf4 (fail)";
    meta.guest = "cpuid_msr-2";
    stats_result_json(&st, &meta, buf, sizeof(buf));
    assert_true(json_parse(&j, buf));
    assert_string_equal(json_str(&j, "end"), "guest wrote 0x1 to port 0xf4 (fail)");
    assert_string_equal(json_str(&j, "guest"), "cpuid_msr-2");
}

/* Every buffer size from 1 to past the full length, each a heap block of exactly that
 * size (ASan sees any write past it): a NUL-terminated prefix, the full length returned. */
static void test_truncation(void **state)
{
    (void)state;
    static char ref[2048];
    known_inputs();
    size_t full = stats_result_json(&st, &meta, ref, sizeof(ref));
    assert_int_equal(full, strlen(ref));
    assert_true(full > 300);
    for (size_t len = 1; len <= full + 2; len++) {
        char *b = malloc(len);
        assert_non_null(b);
        memset(b, 'X', len);
        size_t n = stats_result_json(&st, &meta, b, len);
        size_t want = len - 1 < full ? len - 1 : full;
        bool ok = n == full && strlen(b) == want && !memcmp(b, ref, want);
        free(b);
        if (!ok)
            fail_msg("buffer of %zu bytes: returned %zu (want %zu), or not the prefix", len, n, full);
    }
    /* size 0: nothing written, the full length returned */
    char one = 'X';
    assert_int_equal(stats_result_json(&st, &meta, &one, 0), full);
    assert_int_equal(one, 'X');
}

#ifdef STATS_MARKS
/* ---- marks: the counters when guest console lines ended ---- */

/* Parses "marks":[[9 numbers],...] into m (at most max rows); returns the row count. */
static size_t parse_marks(const char *json, unsigned long long m[][9], size_t max)
{
    const char *p = strstr(json, "\"marks\":[");
    if (!p)
        fail_msg("no marks array in %s", json);
    p += strlen("\"marks\":[");
    size_t n = 0;
    while (*p == '[') {
        p++;
        for (int k = 0; k < 9; k++) {
            char *e;
            unsigned long long v = strtoull(p, &e, 10);
            if (e == p || (k < 8 && *e != ',') || (k == 8 && *e != ']'))
                fail_msg("mark %zu: bad field %d at '%.20s'", n, k, p);
            if (n < max)
                m[n][k] = v;
            p = e + 1;
        }
        n++;
        if (*p == ',')
            p++;
    }
    if (*p != ']')
        fail_msg("marks array not closed at '%.20s'", p);
    return n;
}

static void one_line(uint64_t i)
{
    st.exits_total = i * 10;
    st.guest_cycles = i * 100;
    st.ticks = i;
    stats_line_start(&st, 1000 * i);
    st.exits_total += 1;
    st.guest_cycles += 7;
    stats_line_end(&st, 1000 * i + 5);
}

static void test_marks(void **state)
{
    (void)state;
    static char buf[32768];
    static unsigned long long m[STATS_MARKS + 8][9];
    struct json j;
    known_inputs();
    stats_result_json(&st, &meta, buf, sizeof(buf));
    assert_true(json_parse(&j, buf));
    assert_int_equal(parse_marks(buf, m, STATS_MARKS), 0);

    for (uint64_t i = 1; i <= 3; i++)
        one_line(i);
    stats_result_json(&st, &meta, buf, sizeof(buf));
    if (!json_parse(&j, buf))
        fail_msg("not valid JSON: %s", buf);
    assert_int_equal(parse_marks(buf, m, STATS_MARKS), 3);
    for (unsigned i = 1; i <= 3; i++) {
        unsigned long long want[9] = { i, 1000 * i, 10 * i, 100 * i, i,
                                       1000 * i + 5, 10 * i + 1, 100 * i + 7, i };
        assert_memory_equal(m[i - 1], want, sizeof(want));
    }

    /* a ring of the last STATS_MARKS lines, oldest first */
    for (uint64_t i = 4; i <= STATS_MARKS + 6; i++)
        one_line(i);
    stats_result_json(&st, &meta, buf, sizeof(buf));
    assert_true(json_parse(&j, buf));
    assert_int_equal(parse_marks(buf, m, STATS_MARKS + 8), STATS_MARKS);
    for (unsigned k = 0; k < STATS_MARKS; k++) {
        assert_int_equal(m[k][0], 7 + k);
        assert_int_equal(m[k][1], 1000ull * (7 + k));
    }
}

/* stats_result_json returns whatever the counters hold. EXPOSES A BUG: put_marks
 * loops `for (l = first; l <= s->guest_lines; l++)`, which never ends when
 * guest_lines == UINT64_MAX (l wraps to 0). Run in a child process with a time limit. */
static void test_marks_loop_terminates(void **state)
{
    (void)state;
    known_inputs();
    st.guest_lines = UINT64_MAX;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static char buf[65536];
        stats_result_json(&st, &meta, buf, sizeof(buf));
        _exit(0);
    }
    int status = 0;
    bool done = false;
    for (int i = 0; i < 300 && !done; i++) { /* 3 s */
        if (waitpid(pid, &status, WNOHANG) == pid)
            done = true;
        else
            nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("stats_result_json with guest_lines = UINT64_MAX did not return within 3 s");
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_known_output_text),
        cmocka_unit_test(test_valid_json_with_all_keys),
        cmocka_unit_test(test_extreme_values),
        cmocka_unit_test(test_unsafe_names_replaced),
        cmocka_unit_test(test_truncation),
#ifdef STATS_MARKS
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_marks_loop_terminates),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
