/* Host unit tests of hv/arch/x86/vmx/exitreason.c: VMX basic exit reasons (SDM vol. 3,
 * appendix C) by number, their names, and the arch-neutral counters they count under
 * (the same keys as SVM's, so result lines compare across backends). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/vmx/exitreason.h"

struct known {
    uint32_t reason;
    const char *name;
    enum exit_reason counter;
};

/* numbers typed from the SDM's table, not from vmcs.h */
static const struct known known[] = {
    { 0, "exception_nmi", EXIT_R_EXCEPTION },  { 1, "external_interrupt", EXIT_R_INTR },
    { 2, "triple_fault", EXIT_R_SHUTDOWN },     { 7, "interrupt_window", EXIT_R_VINTR },
    { 10, "cpuid", EXIT_R_CPUID },              { 12, "hlt", EXIT_R_HLT },
    { 18, "vmcall", EXIT_R_VM_INSN },           { 27, "vmxon", EXIT_R_VM_INSN },
    { 28, "cr_access", EXIT_R_CR },             { 30, "io", EXIT_R_IO },
    { 31, "rdmsr", EXIT_R_MSR },                { 32, "wrmsr", EXIT_R_MSR },
    { 46, "gdtr_idtr", EXIT_R_DTR },            { 48, "ept_violation", EXIT_R_NPF },
    { 52, "preemption_timer", EXIT_R_OTHER },   { 59, "vmfunc", EXIT_R_VM_INSN },
};

static void test_known_reasons(void **state)
{
    (void)state;
    char buf[32];
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        assert_string_equal(vmx_exit_name(known[i].reason, buf, sizeof(buf)), known[i].name);
        assert_int_equal(vmx_exit_reason(known[i].reason), known[i].counter);
    }
}

static void test_unknown_reasons(void **state)
{
    (void)state;
    char buf[32];
    /* 35 and 38 are not defined; 64 and beyond are outside the table */
    assert_string_equal(vmx_exit_name(35, buf, sizeof(buf)), "reason35");
    assert_int_equal(vmx_exit_reason(35), EXIT_R_OTHER);
    assert_string_equal(vmx_exit_name(64, buf, sizeof(buf)), "reason64");
    assert_int_equal(vmx_exit_reason(0xffff), EXIT_R_OTHER);
    /* a short buffer is cut, not overrun */
    char small[4];
    assert_string_equal(vmx_exit_name(48, small, sizeof(small)), "ept");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_reasons),
        cmocka_unit_test(test_unknown_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
