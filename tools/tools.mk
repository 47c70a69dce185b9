# Host tools: the network load generator (tools/loadgen.c, see tools/README.md).
# Included by the top-level Makefile, which provides BUILD; also usable alone:
#   make -f tools/tools.mk BUILD=build tools
#
#   make tools    builds $(BUILD)/tools/loadgen

# An including Makefile's default goal stays its own.
tools_saved_default_goal := $(.DEFAULT_GOAL)

BUILD ?= build

TOOLS_CC     := gcc
TOOLS_CFLAGS := -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE
TOOLS_OUT    := $(BUILD)/tools

.PHONY: tools
tools: $(TOOLS_OUT)/loadgen

$(TOOLS_OUT)/loadgen: tools/loadgen.c tools/tools.mk
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(TOOLS_CC) $(TOOLS_CFLAGS) -o $@ $<

ifneq ($(tools_saved_default_goal),)
.DEFAULT_GOAL := $(tools_saved_default_goal)
endif
