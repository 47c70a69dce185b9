/* A checksum of eli's own image, so that a run can show that nothing (a device's DMA,
 * a guest) wrote into eli's code, read-only data or initialized data. */
#ifndef ELI_CORE_INTEGRITY_H
#define ELI_CORE_INTEGRITY_H
#include <stddef.h>
#include <stdint.h>

/* FNV-1a (64-bit) of eli's image from __image_start to __data_end: .text, .rodata and
 * .data, not .bss or the stacks, which change as eli runs. .data holds a few variables
 * set while eli brings the machine up (PCI's access method), so a baseline is taken
 * after the set-up, right before the guest first runs, and compared at the end. */
uint64_t eli_image_checksum(void);

/* The same over any bytes (pure, host-testable). */
uint64_t integrity_fnv1a64(const void *p, size_t len);

#endif
