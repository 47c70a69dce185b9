/* Host unit tests of hv/arch/x86/cpuid.c: what a guest sees of CPUID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/cpuid.h"

enum { EAX, EBX, ECX, EDX };

static void filter(uint32_t leaf, uint32_t subleaf, const uint32_t in[4], uint32_t out[4])
{
    memcpy(out, in, 4 * sizeof(uint32_t));
    cpuid_filter(leaf, subleaf, out);
}

/* Leaf 1: MONITOR and VMX hidden; the hypervisor bit set; x2APIC and the TSC-deadline
 * timer offered (eli's virtual LAPIC has them whatever the host has); the initial APIC
 * ID (EBX[31:24]) that of the virtual LAPIC, 0. */
static void test_leaf1(void **state)
{
    (void)state;
    const uint32_t cleared = (1u << 3) | (1u << 5);                  /* MONITOR, VMX */
    const uint32_t set = (1u << 31) | (1u << 21) | (1u << 24);       /* HV, x2APIC, TSC-DL */
    uint32_t in[4] = { 0x00a20f10, 0x12345678, 0x7fffffff, 0xffffffff }, out[4];
    filter(1, 0, in, out);
    assert_int_equal(out[EAX], in[EAX]);
    assert_int_equal(out[EBX], 0x00345678); /* APIC ID 0; CLFLUSH size, count, brand kept */
    /* no MCE (7), MTRR (12) or MCA (14): none of their MSRs is offered */
    assert_int_equal(out[EDX], in[EDX] & ~((1u << 7) | (1u << 12) | (1u << 14)));
    assert_int_equal(out[ECX], (0x7fffffffu & ~cleared) | set);

    uint32_t zero[4] = { 0 };
    filter(1, 0, zero, out);
    assert_int_equal(out[ECX], set); /* offered even when the host lacks them */
    assert_int_equal(out[EAX] | out[EBX] | out[EDX], 0);

    /* every other ECX bit passes through */
    for (int bit = 0; bit < 32; bit++) {
        uint32_t one[4] = { 0, 0, 1u << bit, 0 };
        filter(1, 0, one, out);
        uint32_t want = ((1u << bit) & ~cleared) | set;
        assert_int_equal(out[ECX], want);
    }
    /* the subleaf does not matter */
    uint32_t out2[4];
    filter(1, 0, in, out);
    filter(1, 7, in, out2);
    assert_memory_equal(out, out2, sizeof(out));
}

/* Leaf 0xB (x2APIC topology): the x2APIC ID in EDX is the virtual LAPIC's, 0. */
static void test_leaf_b(void **state)
{
    (void)state;
    for (uint32_t sub = 0; sub < 3; sub++) {
        uint32_t in[4] = { 1, 2, 0x100 | sub, 0x17 }, out[4];
        filter(0xb, sub, in, out);
        assert_int_equal(out[EAX], in[EAX]);
        assert_int_equal(out[EBX], in[EBX]);
        assert_int_equal(out[ECX], in[ECX]);
        assert_int_equal(out[EDX], 0);
    }
}

static void test_leaf_80000001(void **state)
{
    (void)state;
    uint32_t in[4] = { 0x00a20f10, 0x20000000, 0xffffffff, 0x2fd3fbff }, out[4];
    filter(0x80000001u, 0, in, out);
    assert_int_equal(out[ECX], 0xffffffffu & ~(1u << 2)); /* SVM hidden */
    assert_int_equal(out[EAX], in[EAX]);
    assert_int_equal(out[EBX], in[EBX]);
    assert_int_equal(out[EDX], in[EDX]); /* LM, NX, ... untouched */
    uint32_t svm_only[4] = { 0, 0, 1u << 2, 0 };
    filter(0x80000001u, 0, svm_only, out);
    assert_int_equal(out[ECX], 0);
}

static void test_leaf_8000000a(void **state)
{
    (void)state;
    uint32_t in[4] = { 1, 0x8000, 0, 0x1ebfbcff }, out[4];
    filter(0x8000000au, 0, in, out);
    assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
}

static void test_hypervisor_leaves(void **state)
{
    (void)state;
    uint32_t in[4] = { 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef }, out[4];
    filter(0x40000000u, 0, in, out);
    assert_int_equal(out[EAX], 0x40000000u); /* max hypervisor leaf: none beyond */
    char sig[13] = { 0 };
    memcpy(sig, &out[EBX], 12); /* EBX, ECX, EDX in order */
    assert_string_equal(sig, "eli eli eli ");
    filter(0x40000000u, 5, in, out); /* whatever the subleaf */
    memcpy(sig, &out[EBX], 12);
    assert_string_equal(sig, "eli eli eli ");

    uint32_t leaves[] = { 0x40000001u, 0x40000002u, 0x40000010u, 0x400000ffu };
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        filter(leaves[i], 0, in, out);
        assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
    }
}

/* kvm-signature: KVM's signature, one leaf more (0x40000001), and that leaf all zero:
 * no paravirtual feature offered. */
static void test_kvm_signature(void **state)
{
    (void)state;
    uint32_t in[4] = { 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef }, out[4];
    cpuid_kvm_signature = true;
    filter(0x40000000u, 0, in, out);
    assert_int_equal(out[EAX], 0x40000001u);
    assert_memory_equal(&out[EBX], "KVMKVMKVM\0\0\0", 12);
    filter(0x40000001u, 0, in, out);
    assert_int_equal(out[EAX] | out[EBX] | out[ECX] | out[EDX], 0);
    cpuid_kvm_signature = false;
    filter(0x40000000u, 0, in, out);
    assert_memory_equal(&out[EBX], "eli eli eli ", 12);
}

static void test_other_leaves_untouched(void **state)
{
    (void)state;
    uint32_t leaves[] = { 0, 2, 4, 7, 0xd, 0x3fffffffu, 0x80000000u, 0x80000002u,
                          0x80000008u, 0x80000009u, 0x8000000bu, 0x8000001fu };
    uint32_t in[4] = { 0x11111111, 0x22222222, 0xffffffff, 0x44444444 }, out[4];
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        filter(leaves[i], 0, in, out);
        assert_memory_equal(out, in, sizeof(in));
        filter(leaves[i], 3, in, out);
        assert_memory_equal(out, in, sizeof(in));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf1),
        cmocka_unit_test(test_kvm_signature),
        cmocka_unit_test(test_leaf_b),
        cmocka_unit_test(test_leaf_80000001),
        cmocka_unit_test(test_leaf_8000000a),
        cmocka_unit_test(test_hypervisor_leaves),
        cmocka_unit_test(test_other_leaves_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
