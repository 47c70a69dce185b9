/* Host unit tests of hv/core/integrity.c: FNV-1a (64-bit) against its published test
 * vectors, and eli_image_checksum over a stand-in for eli's image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/integrity.h"

/* The linker script's symbols, here around a 64-byte array */
char fake_image[64];
__asm__(".globl __image_start\n.set __image_start, fake_image\n"
        ".globl __data_end\n.set __data_end, fake_image + 64\n");

static void test_fnv1a64_vectors(void **state)
{
    (void)state;
    assert_int_equal(integrity_fnv1a64("", 0), 0xcbf29ce484222325ull);
    assert_int_equal(integrity_fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
    assert_int_equal(integrity_fnv1a64("foobar", 6), 0x85944171f73967e8ull);
}

static void test_image_checksum_sees_one_byte(void **state)
{
    (void)state;
    memset(fake_image, 0x90, sizeof(fake_image));
    uint64_t a = eli_image_checksum();
    assert_int_equal(a, integrity_fnv1a64(fake_image, sizeof(fake_image)));
    fake_image[63] ^= 1;
    assert_int_not_equal(eli_image_checksum(), a);
    fake_image[63] ^= 1;
    assert_int_equal(eli_image_checksum(), a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a64_vectors),
        cmocka_unit_test(test_image_checksum_sees_one_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
