# eli: build the hypervisor image, the test guests and the host unit tests.
# `make run` is the main job, `make test` every test; both run scripts/setup first.

BUILD   := build
CC      := gcc
LD      := ld
OBJCOPY := objcopy
PYTHON  := python3

HV_CFLAGS := -std=c11 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
             -mcmodel=small -fno-stack-protector -fno-asynchronous-unwind-tables \
             -fno-builtin -O2 -g -Wall -Wextra -Werror -Ihv/include -Ihv -I$(BUILD)/include
HV_ASFLAGS := -Ihv -I$(BUILD)/include
HV_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 --no-warn-rwx-segments -T hv/arch/x86/linker.ld

HV_SRCS := $(wildcard hv/core/*.c hv/eli/*.c hv/dev/*.c hv/arch/x86/*.c hv/arch/x86/svm/*.c hv/arch/x86/vmx/*.c)
HV_SRCS := $(filter-out hv/arch/x86/asm-offsets.c,$(HV_SRCS))
HV_ASMS := $(wildcard hv/arch/x86/*.S hv/arch/x86/svm/*.S hv/arch/x86/vmx/*.S)
HV_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(HV_SRCS)) $(patsubst %.S,$(BUILD)/obj/%.o,$(HV_ASMS))
ASM_OFFSETS := $(BUILD)/include/arch/x86/asm-offsets.h

.PHONY: lint all eli guests unit test test-unit test-system run bench bench-coalescing bench-ratio bench-rr-gap demo setup clean
.PHONY: linux-guest run-linux
all: eli guests unit tools

eli: $(BUILD)/eli.elf

# ELF64 link, then ELF32 for multiboot loaders (QEMU's -kernel refuses ELF64)
$(BUILD)/eli64.elf: $(HV_OBJS) hv/arch/x86/linker.ld
	@echo "  LD      $@"
	@$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS)

$(BUILD)/eli.elf: $(BUILD)/eli64.elf
	@echo "  OBJCOPY $@"
	@$(OBJCOPY) -O elf32-i386 $< $@

$(BUILD)/obj/hv/%.o: hv/%.c | $(ASM_OFFSETS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/hv/%.o: hv/%.S $(ASM_OFFSETS)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(HV_ASFLAGS) -MMD -MP -c $< -o $@

$(ASM_OFFSETS): hv/arch/x86/asm-offsets.c hv/arch/x86/regs.h hv/arch/x86/vmx/vmcs.h
	@mkdir -p $(dir $@) $(BUILD)/obj
	@echo "  GEN     $@"
	@$(CC) $(HV_CFLAGS) -S $< -o $(BUILD)/obj/asm-offsets.s
	@{ echo '/* generated from hv/arch/x86/asm-offsets.c: do not edit */'; \
	  sed -n 's/^.*->\([A-Z0-9_]*\) \$$\{0,1\}\([0-9-]*\).*/#define \1 \2/p' $(BUILD)/obj/asm-offsets.s; } > $@

-include $(HV_OBJS:.o=.d)

include tests/guests/guests.mk
include tests/unit/unit.mk
include tools/tools.mk
include tests/fuzz/fuzz.mk

setup:
	@scripts/setup

test: setup
	@$(MAKE) --no-print-directory all linux-guest
	@$(PYTHON) tools/test.py

# make run PLATFORM=qemu-svm (the default): the edu comparison and the network benchmark
# under QEMU (AMD SVM); PLATFORM=bochs-vmx: the comparison under Bochs (Intel VMX) with its
# 82540EM on an IOAPIC line, and the VMX-preemption timer's way back (docs/vmx.md)
PLATFORM ?= qemu-svm
run: setup
	@case "$(PLATFORM)" in qemu-svm|bochs-vmx) ;; *) \
		echo "make run: PLATFORM=$(PLATFORM): not one of qemu-svm, bochs-vmx"; exit 2;; esac
	@$(MAKE) --no-print-directory all
	@if [ "$(PLATFORM)" = bochs-vmx ]; then $(PYTHON) tools/compare_bochs.py; else \
		$(PYTHON) tools/compare.py && $(PYTHON) tools/netbench.py run --name run-net; fi

run-linux: setup
	@$(MAKE) --no-print-directory all linux-guest
	@$(PYTHON) tools/linuxbench.py

bench-coalescing: setup
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tools/netbench.py coalescing

bench-ratio: setup
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tools/netbench.py ratio

# rr under bare, eli and eli on a QEMU with no IOMMU: what eli's distance from bare is made of
bench-rr-gap: setup
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tools/netbench.py gap

bench: setup
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tools/compare.py --count 200000 --rates 1000,10000,50000 --out results/bench.json

demo: setup
	@$(MAKE) --no-print-directory all
	@$(PYTHON) tools/demo.py

# Debian's own kernel and busybox as a guest, in build/linux (docs/linux-guest.md)
linux-guest:
	@scripts/linux-guest

# cppcheck over eli, the host tools and the unit tests: it must stay quiet
lint:
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
		-Ihv -Ihv/include hv
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
		-Ihv tests/unit tools/loadgen.c

clean:
	rm -rf $(BUILD)
