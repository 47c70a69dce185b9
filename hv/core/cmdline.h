/* eli's configuration, parsed from the multiboot command line (pure, host-testable). */
#ifndef ELI_CORE_CMDLINE_H
#define ELI_CORE_CMDLINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "eli/mode.h"

#define CONFIG_NAME_MAX 32

struct config {
    char guest[CONFIG_NAME_MAX]; /* module name of the guest image */
    uint32_t mem_mib;            /* guest RAM */
    uint32_t tick_hz;            /* host LAPIC timer frequency */
    uint32_t direct_tick_hz;     /* the same while the guest is in direct mode */
    uint32_t watchdog_ms;        /* NMI when no tick came for this long; 0: off */
    char assign[16];             /* PCI function for the guest, "BB:DD.F"; empty: none */
    enum eli_mode mode;          /* interrupt delivery: baseline, eli-delivery, eli */
    bool quiet;                  /* fewer log lines */
    bool unsafe_no_iommu;        /* assign a device even without an IOMMU to confine it */
    bool unsafe_dma_offset;      /* tell the guest dma_offset=: its RAM's host address */
    bool keep_timer;             /* never lend the APIC timer to the guest (docs/eli.md, 11) */
    bool bochs_shutdown;         /* also end the run through Bochs's shutdown port 0x8900 */
    bool kvm_signature;          /* CPUID says KVM, with no paravirtual features (docs/linux-guest.md) */
};

/* Defaults, then every `key=value` word of `cmdline` in order. On error, writes one
 * line naming the problem into `err` and returns a negative errno value. */
int config_parse(struct config *cfg, const char *cmdline, char *err, size_t errlen);

#endif
