/* Host unit tests of hv/arch/x86/svm/exitcode.c: SVM exit-code names, the reason each
 * is counted under, and the decoding of IOIO EXITINFO1 (AMD APM vol. 2, 15.10.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/svm/exitcode.h"

struct known {
    uint64_t code;
    const char *name;
    enum exit_reason reason;
};

static const struct known known[] = {
    { 0x060, "intr", EXIT_R_INTR },          { 0x061, "nmi", EXIT_R_NMI },
    { 0x062, "smi", EXIT_R_OTHER },          { 0x063, "init", EXIT_R_OTHER },
    { 0x064, "vintr", EXIT_R_VINTR },        { 0x066, "idtr_read", EXIT_R_DTR },
    { 0x06a, "idtr_write", EXIT_R_DTR },     { 0x072, "cpuid", EXIT_R_CPUID },
    { 0x076, "invd", EXIT_R_OTHER },         { 0x078, "hlt", EXIT_R_HLT },
    { 0x07a, "invlpga", EXIT_R_VM_INSN },    { 0x07b, "ioio", EXIT_R_IO },
    { 0x07c, "msr", EXIT_R_MSR },            { 0x07d, "task_switch", EXIT_R_OTHER },
    { 0x07f, "shutdown", EXIT_R_SHUTDOWN },  { 0x080, "vmrun", EXIT_R_VM_INSN },
    { 0x081, "vmmcall", EXIT_R_VM_INSN },    { 0x082, "vmload", EXIT_R_VM_INSN },
    { 0x083, "vmsave", EXIT_R_VM_INSN },     { 0x084, "stgi", EXIT_R_VM_INSN },
    { 0x085, "clgi", EXIT_R_VM_INSN },       { 0x086, "skinit", EXIT_R_VM_INSN },
    { 0x08d, "xsetbv", EXIT_R_OTHER },       { 0x400, "npf", EXIT_R_NPF },
};

static const char *name(uint64_t code)
{
    static char buf[32];
    memset(buf, 'X', sizeof(buf));
    const char *r = svm_exit_name(code, buf, sizeof(buf));
    assert_ptr_equal(r, buf);
    return r;
}

static void test_known_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        assert_string_equal(name(known[i].code), known[i].name);
        assert_int_equal(svm_exit_reason(known[i].code), known[i].reason);
    }
    /* the header's constants are the APM's */
    assert_int_equal(SVM_EXIT_CPUID, 0x72);
    assert_int_equal(SVM_EXIT_IOIO, 0x7b);
    assert_int_equal(SVM_EXIT_MSR, 0x7c);
    assert_int_equal(SVM_EXIT_NPF, 0x400);
    assert_int_equal(SVM_EXIT_SHUTDOWN, 0x7f);
}

static void test_cr_dr_ranges(void **state)
{
    (void)state;
    assert_string_equal(name(0x000), "cr0_read");
    assert_string_equal(name(0x003), "cr3_read");
    assert_string_equal(name(0x008), "cr8_read");
    assert_string_equal(name(0x00f), "cr15_read");
    assert_string_equal(name(0x010), "cr0_write");
    assert_string_equal(name(0x014), "cr4_write");
    assert_string_equal(name(0x01f), "cr15_write");
    assert_string_equal(name(0x020), "dr0_read");
    assert_string_equal(name(0x027), "dr7_read");
    assert_string_equal(name(0x02f), "dr15_read");
    assert_string_equal(name(0x030), "dr0_write");
    assert_string_equal(name(0x037), "dr7_write");
    assert_string_equal(name(0x03f), "dr15_write");
    for (uint64_t c = 0; c < 0x20; c++)
        assert_int_equal(svm_exit_reason(c), EXIT_R_CR);
    for (uint64_t c = 0x20; c < 0x40; c++)
        assert_int_equal(svm_exit_reason(c), EXIT_R_OTHER);
}

static void test_exception_range(void **state)
{
    (void)state;
    assert_string_equal(name(0x040), "excp0");
    assert_string_equal(name(0x041), "excp1");
    assert_string_equal(name(0x04d), "excp13");
    assert_string_equal(name(0x04e), "excp14");
    assert_string_equal(name(0x05f), "excp31");
    for (uint64_t c = 0x40; c < 0x60; c++)
        assert_int_equal(svm_exit_reason(c), EXIT_R_EXCEPTION);
    assert_int_not_equal(svm_exit_reason(0x060), EXIT_R_EXCEPTION); /* intr, not excp32 */
    assert_int_not_equal(svm_exit_reason(0x03f), EXIT_R_EXCEPTION);
}

static void test_unknown_and_invalid(void **state)
{
    (void)state;
    assert_string_equal(name(0x065), "0x65");
    assert_string_equal(name(0x06e), "0x6e");
    assert_string_equal(name(0x401), "0x401");
    assert_string_equal(name(0x7fffffff), "0x7fffffff");
    assert_string_equal(name(0xfffffffe), "0xfffffffe");
    assert_string_equal(name(0xfffffffffffffffeull), "0xfffffffffffffffe");
    assert_string_equal(name(SVM_EXIT_INVALID), "invalid");
    assert_int_equal(svm_exit_reason(SVM_EXIT_INVALID), EXIT_R_OTHER);
    assert_int_equal(svm_exit_reason(0x065), EXIT_R_OTHER);
    assert_int_equal(svm_exit_reason(0x401), EXIT_R_OTHER);
    assert_int_equal(svm_exit_reason(0xfffffffe), EXIT_R_OTHER);
    /* every code maps to a valid reason */
    for (uint64_t c = 0; c < 0x1000; c++) {
        enum exit_reason r = svm_exit_reason(c);
        assert_true((unsigned)r < EXIT_R_COUNT);
    }
}

static void test_name_truncated(void **state)
{
    (void)state;
    char b[8];
    memset(b, 'X', sizeof(b));
    assert_ptr_equal(svm_exit_name(0x7d, b, 5), b);
    assert_string_equal(b, "task");
    assert_int_equal(b[5], 'X');
    memset(b, 'X', sizeof(b));
    svm_exit_name(0x0f, b, 4);
    assert_string_equal(b, "cr1");
    memset(b, 'X', sizeof(b));
    svm_exit_name(SVM_EXIT_INVALID, b, 1);
    assert_string_equal(b, "");
}

/* EXITINFO1: bit 0 IN, bit 2 string, bit 3 REP, bits 4-6 one-hot operand size (8/16/32),
 * bits 7-9 address size, bits 10-12 segment, bits 31:16 port. */
#define IO_IN (1ull << 0)
#define IO_STR (1ull << 2)
#define IO_REP (1ull << 3)
#define IO_SZ8 (1ull << 4)
#define IO_SZ16 (1ull << 5)
#define IO_SZ32 (1ull << 6)
#define IO_A16 (1ull << 7)
#define IO_A32 (1ull << 8)
#define IO_A64 (1ull << 9)
#define IO_SEG(s) ((uint64_t)(s) << 10)
#define IO_PORT(p) ((uint64_t)(p) << 16)

static void expect_io(uint64_t info, uint16_t port, uint8_t size, bool in, bool str, bool rep)
{
    struct ioio_info io;
    memset(&io, 0xa5, sizeof(io));
    assert_true(svm_decode_ioio(info, &io));
    assert_int_equal(io.port, port);
    assert_int_equal(io.size, size);
    assert_int_equal(io.in, in);
    assert_int_equal(io.string, str);
    assert_int_equal(io.rep, rep);
}

static void test_ioio(void **state)
{
    (void)state;
    expect_io(IO_PORT(0x3f8) | IO_SZ8 | IO_A64, 0x3f8, 1, false, false, false); /* out dx, al */
    expect_io(IO_PORT(0x3fd) | IO_SZ8 | IO_IN, 0x3fd, 1, true, false, false);   /* in al, dx */
    expect_io(IO_PORT(0xf4) | IO_SZ32, 0xf4, 4, false, false, false);           /* out 0xf4, eax */
    expect_io(IO_PORT(0xcfc) | IO_SZ32 | IO_IN, 0xcfc, 4, true, false, false);
    expect_io(IO_PORT(0x70) | IO_SZ16 | IO_IN | IO_A32, 0x70, 2, true, false, false);
    expect_io(IO_PORT(0x1f0) | IO_SZ16 | IO_IN | IO_STR | IO_REP | IO_A64 | IO_SEG(0), 0x1f0, 2,
              true, true, true); /* rep insw */
    expect_io(IO_PORT(0x3f8) | IO_SZ8 | IO_STR | IO_A16 | IO_SEG(3), 0x3f8, 1, false, true,
              false); /* outsb */
    expect_io(IO_PORT(0xffff) | IO_SZ8 | IO_STR | IO_REP, 0xffff, 1, false, true, true);
    expect_io(IO_PORT(0) | IO_SZ32, 0, 4, false, false, false);
    /* the segment and address-size fields never leak into the port or size */
    expect_io(IO_PORT(0x80) | IO_SZ8 | IO_A16 | IO_A32 | IO_A64 | IO_SEG(7) | (1ull << 13) |
                  (1ull << 14) | (1ull << 15),
              0x80, 1, false, false, false);
    /* nor do the reserved upper 32 bits */
    expect_io(0xffffffff00000000ull | IO_PORT(0x60) | IO_SZ8 | IO_IN, 0x60, 1, true, false, false);
}

static void test_ioio_invalid_size(void **state)
{
    (void)state;
    uint64_t bad[] = { 0, IO_SZ8 | IO_SZ16, IO_SZ8 | IO_SZ32, IO_SZ16 | IO_SZ32,
                       IO_SZ8 | IO_SZ16 | IO_SZ32 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ioio_info io;
        memset(&io, 0xa5, sizeof(io));
        assert_false(svm_decode_ioio(IO_PORT(0x3f8) | IO_IN | bad[i], &io));
        assert_int_equal(io.size, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_codes),
        cmocka_unit_test(test_cr_dr_ranges),
        cmocka_unit_test(test_exception_range),
        cmocka_unit_test(test_unknown_and_invalid),
        cmocka_unit_test(test_name_truncated),
        cmocka_unit_test(test_ioio),
        cmocka_unit_test(test_ioio_invalid_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
