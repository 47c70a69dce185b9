# Coverage-guided fuzzing of eli's pure modules with libFuzzer (clang, ASan, UBSan).
# Included by the top-level Makefile; also usable alone:
#   make -f tests/fuzz/fuzz.mk BUILD=build fuzz-build
#
#   make fuzz-build   builds $(BUILD)/fuzz/fuzz_NAME for each tests/fuzz/fuzz_NAME.c
#   make fuzz         runs every target for FUZZ_SECONDS (default: 600 s / number of
#                     targets, rounded up, so the whole run takes at least 10 minutes)
#   make fuzz-short   runs every target for FUZZ_SHORT_SECONDS (default 10 s): `make test`
#
# FUZZ_TARGETS="decode vlapic" limits the runs to some targets. Corpora grow under
# $(BUILD)/fuzz/corpus/NAME (seeded from tests/fuzz/seeds/NAME), crash inputs land in
# $(BUILD)/fuzz/crashes/NAME/, logs in $(BUILD)/fuzz/logs/ (tools/fuzz.py).
#
# As for the unit tests, the hv sources are compiled again for the host, here with
# clang and the fuzzer's coverage instrumentation, into $(BUILD)/fuzz/obj/; hv/include
# (eli's freestanding libc) is NOT on the include path.

# An including Makefile's default goal stays its own.
fuzz_saved_default_goal := $(.DEFAULT_GOAL)

BUILD   ?= build
PYTHON  ?= python3
FUZZ_CC ?= clang
OBJCOPY ?= objcopy

# FUZZ_EXTRA_CFLAGS: e.g. -fno-sanitize=alignment to look past a known finding
FUZZ_EXTRA_CFLAGS ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                -Wall -Wextra -Werror -Ihv -DELI_HOST_TEST $(FUZZ_EXTRA_CFLAGS)
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_EXTRA_CFLAGS)

FUZZ_SRC_DIR := tests/fuzz
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_OBJ     := $(FUZZ_OUT)/obj

# The hv sources each target links against (besides its own tests/fuzz/fuzz_NAME.c).
FUZZ_HV_decode   := hv/arch/x86/decode.c
FUZZ_HV_gwalk    := hv/arch/x86/gwalk.c
FUZZ_HV_vlapic   := hv/dev/vlapic.c
FUZZ_HV_vpci     := hv/dev/vpci.c hv/arch/x86/pci.c hv/core/fmt.c
FUZZ_HV_exit     := hv/arch/x86/svm/exitcode.c hv/arch/x86/svm/msrpm.c hv/core/fmt.c
FUZZ_HV_image    := hv/core/image.c hv/core/fmt.c
FUZZ_HV_bootinfo := hv/core/bootinfo.c hv/core/fmt.c
FUZZ_HV_cmdline  := hv/core/cmdline.c hv/eli/mode.c hv/core/fmt.c
FUZZ_HV_shadow   := hv/eli/shadow_idt.c hv/eli/vecmap.c
FUZZ_HV_eli      := hv/eli/eli.c hv/eli/vecmap.c hv/eli/mode.c hv/dev/vlapic.c

FUZZ_NAMES   := $(sort $(patsubst $(FUZZ_SRC_DIR)/fuzz_%.c,%,$(wildcard $(FUZZ_SRC_DIR)/fuzz_*.c)))
FUZZ_BINS    := $(patsubst %,$(FUZZ_OUT)/fuzz_%,$(FUZZ_NAMES))
FUZZ_TARGETS ?= $(FUZZ_NAMES)

# ceil(600 / number of targets): `make fuzz` runs at least 10 minutes in all
FUZZ_SECONDS       ?= $(shell echo $$(( (600 + $(words $(FUZZ_NAMES)) - 1) / $(words $(FUZZ_NAMES)) )))
FUZZ_SHORT_SECONDS ?= 10

fuzz_hv_objs = $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(FUZZ_HV_$(1)))
FUZZ_ALL_OBJS := $(patsubst %,$(FUZZ_OBJ)/$(FUZZ_SRC_DIR)/fuzz_%.o,$(FUZZ_NAMES)) \
                 $(sort $(foreach t,$(FUZZ_NAMES),$(call fuzz_hv_objs,$(t))))

# Seeds made at build time from the test guests, when they are built: their ELF64
# and multiboot ELF32 images, stripped (tools/fuzz.py adds them to the image corpus).
FUZZ_GUEST_SEEDS := $(patsubst $(BUILD)/guests/%.elf,$(FUZZ_OUT)/seeds/image/%.elf,\
                      $(wildcard $(BUILD)/guests/boot_exit.elf $(BUILD)/guests/boot_exit.mb.elf))

.PHONY: fuzz-build fuzz fuzz-short
fuzz-build: $(FUZZ_BINS) $(FUZZ_GUEST_SEEDS)

$(foreach t,$(FUZZ_NAMES),$(eval $(FUZZ_OUT)/fuzz_$(t): $(call fuzz_hv_objs,$(t))))

$(FUZZ_BINS): $(FUZZ_OUT)/fuzz_%: $(FUZZ_OBJ)/$(FUZZ_SRC_DIR)/fuzz_%.o
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^

$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OUT)/seeds/image/%.elf: $(BUILD)/guests/%.elf
	@mkdir -p $(@D)
	$(OBJCOPY) --strip-all $< $@

FUZZ_RUN = $(PYTHON) tools/fuzz.py --build $(BUILD) $(FUZZ_TARGETS)

fuzz: fuzz-build
	$(FUZZ_RUN) --seconds $(FUZZ_SECONDS)

fuzz-short: fuzz-build
	$(FUZZ_RUN) --seconds $(FUZZ_SHORT_SECONDS)

-include $(FUZZ_ALL_OBJS:.o=.d)

.DEFAULT_GOAL := $(if $(fuzz_saved_default_goal),$(fuzz_saved_default_goal),fuzz-build)
