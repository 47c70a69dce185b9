# Test guests: small freestanding x86-64 kernels that know nothing about eli
# (see tests/guests/README.md). Included by the top-level Makefile; also usable alone:
#   make -f tests/guests/guests.mk BUILD=build guests
#
# For each NAME in GUEST_NAMES:
#   $(BUILD)/guests/NAME.elf     ELF64, entry start64 (eli's 64-bit start)
#   $(BUILD)/guests/NAME.mb.elf  ELF32 copy, entry start32 (multiboot: QEMU -kernel, GRUB, eli)

# An including Makefile's default goal stays its own.
guests_saved_default_goal := $(.DEFAULT_GOAL)

BUILD   ?= build
LD      ?= ld
OBJCOPY ?= objcopy
NM      ?= nm

GUEST_NAMES := boot_exit cpuid_msr uart_console triple_fault oob_access eli_memory spin \
	demo modules edu_irq edu_timer edu_late_eoi eli_idt xapic edu_dma nic \
	hostile_cpu hostile_irq hostile_idt hostile_apic hostile_msi hostile_ops \
	intx_nic

GUEST_SRC := tests/guests
GUEST_OUT := $(BUILD)/guests
GUEST_OBJ := $(GUEST_OUT)/obj

GUEST_CFLAGS := -std=c11 -ffreestanding -nostdlib -fno-pic -fno-pie -mcmodel=small \
	-mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-sse2 \
	-fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables \
	-fno-delete-null-pointer-checks \
	-O2 -g -Wall -Wextra -Werror -I$(GUEST_SRC)/lib -MMD -MP
GUEST_LDSCRIPT := $(GUEST_SRC)/lib/guest.ld
GUEST_LDFLAGS := -nostdlib -static -T $(GUEST_LDSCRIPT) -z max-page-size=0x1000 \
	-z noexecstack --build-id=none

GUEST_LIB_C := cmdline e1000e edu fault idt multiboot net pci pit printf report serial setup string
GUEST_LIB_S := start isr
GUEST_LIB_C_OBJS := $(patsubst %,$(GUEST_OBJ)/lib/%.o,$(GUEST_LIB_C))
GUEST_LIB_S_OBJS := $(patsubst %,$(GUEST_OBJ)/lib/%.o,$(GUEST_LIB_S))
GUEST_LIB_OBJS := $(GUEST_LIB_S_OBJS) $(GUEST_LIB_C_OBJS)
GUEST_MAIN_OBJS := $(patsubst %,$(GUEST_OBJ)/%.o,$(GUEST_NAMES))
GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES))
GUEST_MB_ELFS := $(patsubst %,$(GUEST_OUT)/%.mb.elf,$(GUEST_NAMES))

.PHONY: guests
guests: $(GUEST_ELFS) $(GUEST_MB_ELFS)

$(GUEST_MAIN_OBJS) $(GUEST_LIB_C_OBJS): $(GUEST_OBJ)/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_LIB_S_OBJS): $(GUEST_OBJ)/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_ELFS): $(GUEST_OUT)/%.elf: $(GUEST_OBJ)/%.o $(GUEST_LIB_OBJS) $(GUEST_LDSCRIPT)
	$(LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_OBJS) $<

# QEMU's multiboot loader refuses ELF64, so the multiboot image is the same code as ELF32,
# entered at start32 (whose address nm reads from the ELF64 image).
$(GUEST_MB_ELFS): $(GUEST_OUT)/%.mb.elf: $(GUEST_OUT)/%.elf
	@addr=$$($(NM) $< | awk '$$3 == "start32" { print $$1 }'); \
	if [ -z "$$addr" ]; then echo "$<: no start32 symbol" >&2; exit 1; fi; \
	echo "$(OBJCOPY) -O elf32-i386 --set-start=0x$$addr $< $@"; \
	$(OBJCOPY) -O elf32-i386 --set-start=0x$$addr $< $@

-include $(GUEST_MAIN_OBJS:.o=.d) $(GUEST_LIB_OBJS:.o=.d)

ifneq ($(guests_saved_default_goal),)
.DEFAULT_GOAL := $(guests_saved_default_goal)
endif
