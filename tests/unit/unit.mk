# Host unit tests of eli's pure modules (cmocka, AddressSanitizer + UBSan).
# Included by the top-level Makefile, which provides BUILD.
#
#   make unit        builds $(BUILD)/unit/test_NAME for each tests/unit/test_NAME.c
#   make test-unit   builds them and runs them all (fails if any test fails)
#
# The hv sources a test needs are compiled again for the host, into $(BUILD)/unit/obj/,
# never mixed with the freestanding objects of $(BUILD)/obj. hv/include is NOT on the
# include path: hv/include/string.h is eli's freestanding libc, the host uses its own.

BUILD ?= build

UNIT_CC      := gcc
UNIT_CFLAGS  := -std=c11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -Wall -Wextra -Werror -Ihv -DELI_HOST_TEST
UNIT_LDFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_LDLIBS  := -lcmocka

UNIT_SRC_DIR := tests/unit
UNIT_OUT     := $(BUILD)/unit
UNIT_OBJ     := $(UNIT_OUT)/obj

# The hv sources each test links against (besides its own tests/unit/test_NAME.c).
UNIT_HV_fmt      := hv/core/fmt.c
UNIT_HV_cmdline  := hv/core/cmdline.c hv/core/fmt.c $(wildcard hv/eli/mode.c)
UNIT_HV_palloc   := hv/core/palloc.c
UNIT_HV_pt       := hv/arch/x86/pt.c
UNIT_HV_bootinfo := hv/core/bootinfo.c hv/core/fmt.c
UNIT_HV_image    := hv/core/image.c hv/core/fmt.c
UNIT_HV_mbguest  := hv/core/mbguest.c hv/core/fmt.c
UNIT_HV_stats    := hv/core/stats.c hv/core/fmt.c
UNIT_HV_exitcode := hv/arch/x86/svm/exitcode.c hv/core/fmt.c
UNIT_HV_exitreason := hv/arch/x86/vmx/exitreason.c hv/core/fmt.c
UNIT_HV_cpuid    := hv/arch/x86/cpuid.c
UNIT_HV_vuart    := hv/dev/vuart.c
UNIT_HV_vlapic   := hv/dev/vlapic.c
UNIT_HV_decode   := hv/arch/x86/decode.c
UNIT_HV_gwalk    := hv/arch/x86/gwalk.c
UNIT_HV_acpi     := hv/arch/x86/acpi.c
UNIT_HV_vacpi    := hv/dev/vacpi.c hv/arch/x86/acpi.c
UNIT_HV_vpci     := hv/dev/vpci.c hv/arch/x86/pci.c hv/core/fmt.c
UNIT_HV_amd_iommu := hv/arch/x86/amd_iommu_tables.c hv/core/fmt.c
UNIT_HV_shadow_idt := hv/eli/shadow_idt.c hv/eli/vecmap.c
UNIT_HV_eli      := hv/eli/eli.c hv/eli/vecmap.c hv/eli/mode.c hv/dev/vlapic.c
UNIT_HV_vexit    := hv/arch/x86/vexit.c hv/arch/x86/decode.c $(UNIT_HV_eli)

# A test without a UNIT_HV_NAME line links hv/*/NAME.c (from the directories below) and
# fmt.c; give UNIT_HV_NAME when it needs more.
UNIT_HV_DIRS := hv/core hv/dev hv/eli hv/arch/x86 hv/arch/x86/svm
unit_hv_srcs = $(if $(UNIT_HV_$(1)),$(UNIT_HV_$(1)),\
                 $(sort $(wildcard $(patsubst %,%/$(1).c,$(UNIT_HV_DIRS))) hv/core/fmt.c))

UNIT_NAMES := $(sort $(patsubst $(UNIT_SRC_DIR)/test_%.c,%,$(wildcard $(UNIT_SRC_DIR)/test_*.c)))
UNIT_TESTS := $(patsubst %,$(UNIT_OUT)/test_%,$(UNIT_NAMES))

unit_hv_objs = $(patsubst %.c,$(UNIT_OBJ)/%.o,$(call unit_hv_srcs,$(1)))
UNIT_ALL_OBJS := $(patsubst %,$(UNIT_OBJ)/$(UNIT_SRC_DIR)/test_%.o,$(UNIT_NAMES)) \
                 $(sort $(foreach t,$(UNIT_NAMES),$(call unit_hv_objs,$(t))))

.PHONY: unit test-unit
unit: $(UNIT_TESTS)

# Each test's extra prerequisites: the host objects of the hv sources it needs.
$(foreach t,$(UNIT_NAMES),$(eval $(UNIT_OUT)/test_$(t): $(call unit_hv_objs,$(t))))

$(UNIT_TESTS): $(UNIT_OUT)/test_%: $(UNIT_OBJ)/$(UNIT_SRC_DIR)/test_%.o
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_LDFLAGS) -o $@ $^ $(UNIT_LDLIBS)

$(UNIT_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) -MMD -MP -c $< -o $@

# Runs every test executable (from the repository root, so that test_image finds the
# guest images) and fails if any of them fails.
test-unit: unit
	@failed=; for t in $(UNIT_TESTS); do \
		echo "== $$t"; \
		$$t || failed="$$failed $$(basename $$t)"; \
	done; \
	if [ -n "$$failed" ]; then echo "unit tests failed:$$failed"; exit 1; fi; \
	echo "all unit tests passed"

-include $(UNIT_ALL_OBJS:.o=.d)
