/* Declarations shared between library files only; guests do not include this. */
#ifndef GUEST_INTERNAL_H
#define GUEST_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "idt.h"

/* start.S -> setup.c: the C entry of both starts. */
_Noreturn void guest_start(uint32_t magic, uint64_t info);

/* isr.S -> idt.c: every interrupt and exception. */
void idt_dispatch(struct int_frame *frame);

/* idt.c -> fault.c: redirects the frame to expect_fault's recovery point if one is armed. */
bool fault_recover(struct int_frame *frame);

/* setup.c -> cmdline.c: copies and splits the command line once, before main. */
void cmdline_init(const char *cmdline);

#endif
