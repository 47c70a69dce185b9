/* Host unit tests of hv/arch/x86/vexit.c, what both backends' exit handlers share: the
 * EFER and MSR value rules a CPU enforces with #GP, the instruction fetch that stops at
 * an unmapped page, and the MMIO moves between the guest's registers and a device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "arch/x86/regs.h"
#include "arch/x86/vexit.h"
#include "core/guest.h"

/* ---- what vexit.c calls outside the modules linked here ---- */

void log_line(const char *fmt, ...)
{
    (void)fmt;
}

static struct mmio_region region;
static bool region_present;

const struct mmio_region *mmio_find(uint64_t gpa)
{
    if (region_present && gpa >= region.base && gpa < region.base + region.size)
        return &region;
    return NULL;
}

/* ---- EFER and MSR values ---- */

static void efer_takes_its_writable_bits(void **state)
{
    (void)state;
    uint64_t out = 0;
    assert_true(vexit_efer_write(0, EFER_SCE | EFER_NXE, false, &out));
    assert_int_equal(out, EFER_SCE | EFER_NXE);
}

static void efer_reserved_bit_is_gp(void **state)
{
    (void)state;
    uint64_t out = 0xdead;
    assert_false(vexit_efer_write(0, 1ull << 20, false, &out));
    assert_int_equal(out, 0xdead); /* nothing written on #GP */
    assert_false(vexit_efer_write(0, EFER_SVME, false, &out)); /* hidden from the guest */
}

static void efer_lme_frozen_while_paging(void **state)
{
    (void)state;
    uint64_t out = 0;
    assert_false(vexit_efer_write(0, EFER_LME, true, &out));
    assert_false(vexit_efer_write(EFER_LME | EFER_LMA, 0, true, &out));
    assert_true(vexit_efer_write(EFER_LME | EFER_LMA, EFER_LME | EFER_NXE, true, &out));
    assert_int_equal(out, EFER_LME | EFER_LMA | EFER_NXE);
    assert_true(vexit_efer_write(0, EFER_LME, false, &out));
    assert_int_equal(out, EFER_LME);
}

static void efer_lma_is_the_cpus(void **state)
{
    (void)state;
    uint64_t out = 0;
    /* a guest writing LMA does not set it; the CPU's LMA survives a write without it */
    assert_true(vexit_efer_write(0, EFER_LME | EFER_LMA, false, &out));
    assert_int_equal(out, EFER_LME);
    assert_true(vexit_efer_write(EFER_LME | EFER_LMA, EFER_LME, true, &out));
    assert_int_equal(out, EFER_LME | EFER_LMA);
}

static void msr_values(void **state)
{
    (void)state;
    assert_true(vexit_msr_value_valid(MSR_IA32_PAT, 0x0007040600070406ull));
    assert_false(vexit_msr_value_valid(MSR_IA32_PAT, 0x0007040600070402ull)); /* type 2 */
    assert_false(vexit_msr_value_valid(MSR_IA32_PAT, 0x0807040600070406ull)); /* type 8 */
    assert_true(vexit_msr_value_valid(MSR_LSTAR, 0xffffffff81000000ull));
    assert_false(vexit_msr_value_valid(MSR_LSTAR, 0x0000800000000000ull));
    assert_false(vexit_msr_value_valid(MSR_SYSENTER_EIP, 0x8000000000000000ull));
    assert_true(vexit_msr_value_valid(MSR_SYSENTER_CS, 0x8000000000000000ull)); /* not checked */
}

/* ---- instruction fetch ---- */

/* Guest memory mapped up to (not including) mapped_end. */
static uint8_t code[0x3000];
static uint64_t mapped_end;

static int read_code(void *ctx, uint64_t gva, void *dst, unsigned len, bool fetch)
{
    (void)ctx;
    assert_true(fetch);
    if (gva + len > mapped_end || gva + len > sizeof(code))
        return -1;
    memcpy(dst, code + gva, len);
    return 0;
}

static void fetch_reads_fifteen_bytes(void **state)
{
    (void)state;
    uint8_t bytes[X86_MAX_INSN_LEN];
    for (unsigned i = 0; i < sizeof(code); i++)
        code[i] = (uint8_t)i;
    mapped_end = sizeof(code);
    assert_int_equal(vexit_fetch_insn(read_code, NULL, 0x100, bytes), X86_MAX_INSN_LEN);
    assert_memory_equal(bytes, code + 0x100, X86_MAX_INSN_LEN);
}

static void fetch_stops_at_an_unmapped_page(void **state)
{
    (void)state;
    uint8_t bytes[X86_MAX_INSN_LEN];
    mapped_end = 0x1000;
    /* 6 bytes before the page end: those 6 are all there is */
    assert_int_equal(vexit_fetch_insn(read_code, NULL, 0xffa, bytes), 6);
    assert_memory_equal(bytes, code + 0xffa, 6);
    mapped_end = 0;
    assert_int_equal(vexit_fetch_insn(read_code, NULL, 0xffa, bytes), 0);
}

/* ---- MMIO ---- */

static uint64_t dev_reg, dev_last_offset;
static unsigned dev_last_size;

static int dev_read(void *ctx, uint64_t off, unsigned size, uint64_t *val)
{
    assert_ptr_equal(ctx, &dev_reg);
    dev_last_offset = off;
    dev_last_size = size;
    *val = dev_reg;
    return 0;
}

static int dev_write(void *ctx, uint64_t off, unsigned size, uint64_t val)
{
    assert_ptr_equal(ctx, &dev_reg);
    dev_last_offset = off;
    dev_last_size = size;
    dev_reg = val;
    return 0;
}

static struct guest g; /* its LAPIC page at 0: only the registered region answers */

static void mmio_find_region(void **state)
{
    (void)state;
    struct vexit_mmio m;
    region = (struct mmio_region){ 0xfe000000ull, 0x1000, dev_read, dev_write, &dev_reg, "dev" };
    region_present = true;
    assert_true(vexit_mmio_find(&g, 0xfe000010ull, &m));
    assert_ptr_equal(m.ctx, &dev_reg);
    assert_int_equal(m.offset, 0x10);
    assert_false(vexit_mmio_find(&g, 0xfe001000ull, &m));
    region_present = false;
    assert_false(vexit_mmio_find(&g, 0xfe000010ull, &m));
}

static void decode64(const uint8_t *bytes, size_t n, struct x86_insn *insn)
{
    assert_int_equal(x86_decode(bytes, n, 64, insn), 0);
}

static void mmio_store_and_load(void **state)
{
    (void)state;
    uint64_t gprs[16] = { 0 };
    struct vexit_mmio m = { &dev_reg, 0x8, dev_read, dev_write };
    struct x86_insn insn;
    static const uint8_t store[] = { 0x89, 0x07 }; /* mov [rdi], eax */
    static const uint8_t load[] = { 0x8b, 0x0f };  /* mov ecx, [rdi] */
    gprs[GPR_RAX] = 0x1122334455667788ull;
    decode64(store, sizeof(store), &insn);
    assert_true(vexit_mmio_perform(&insn, gprs, &m));
    assert_int_equal(dev_reg, 0x55667788u);
    assert_int_equal(dev_last_size, 4);
    assert_int_equal(dev_last_offset, 0x8);
    dev_reg = 0xcafef00dull;
    gprs[GPR_RCX] = ~0ull;
    decode64(load, sizeof(load), &insn);
    assert_true(vexit_mmio_perform(&insn, gprs, &m));
    assert_int_equal(gprs[GPR_RCX], 0xcafef00dull); /* a 32-bit load zero-extends */
}

static void mmio_other_instruction_refused(void **state)
{
    (void)state;
    uint64_t gprs[16] = { 0 };
    struct vexit_mmio m = { &dev_reg, 0, dev_read, dev_write };
    struct x86_insn insn;
    static const uint8_t lidt[] = { 0x0f, 0x01, 0x1f }; /* lidt [rdi] */
    decode64(lidt, sizeof(lidt), &insn);
    dev_reg = 7;
    assert_false(vexit_mmio_perform(&insn, gprs, &m));
    assert_int_equal(dev_reg, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(efer_takes_its_writable_bits),
        cmocka_unit_test(efer_reserved_bit_is_gp),
        cmocka_unit_test(efer_lme_frozen_while_paging),
        cmocka_unit_test(efer_lma_is_the_cpus),
        cmocka_unit_test(msr_values),
        cmocka_unit_test(fetch_reads_fifteen_bytes),
        cmocka_unit_test(fetch_stops_at_an_unmapped_page),
        cmocka_unit_test(mmio_find_region),
        cmocka_unit_test(mmio_store_and_load),
        cmocka_unit_test(mmio_other_instruction_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
