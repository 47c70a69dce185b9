/* What the arch-neutral core asks of the virtualization backend for the guest's
 * memory: device MMIO mapped straight through nested paging, or removed. */
#ifndef ELI_CORE_VM_H
#define ELI_CORE_VM_H
#include <stdint.h>

/* Maps guest-physical [gpa, gpa + size) onto host-physical [hpa, ...), uncached,
 * in 4 KiB pages. Returns 0 or a negative errno (-EINVAL over guest RAM). */
int vm_map_mmio(uint64_t gpa, uint64_t hpa, uint64_t size);
int vm_unmap(uint64_t gpa, uint64_t size);

#endif
