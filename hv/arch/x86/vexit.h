/* Exit handling both virtualization backends share (vexit.c). */
#ifndef ELI_ARCH_X86_VEXIT_H
#define ELI_ARCH_X86_VEXIT_H
#include "arch/x86/decode.h"
#include "core/mmio.h"
#include "dev/vlapic.h"
#include <stdbool.h>
#include <stdint.h>

struct guest;

/* A 48-bit canonical address. */
bool vexit_canonical(uint64_t a);
/* Every PAT entry names a memory type. */
bool vexit_pat_valid(uint64_t pat);
/* What a CPU refuses with #GP when written to an MSR eli keeps for the guest (PAT, the
 * SYSCALL and SYSENTER targets); true for any other. */
bool vexit_msr_value_valid(uint32_t msr, uint64_t val);
/* The guest writes val to EFER, now efer, with paging on or off: false for #GP; else *out
 * is the EFER it gets (its writable bits, LMA left as the CPU set it). */
bool vexit_efer_write(uint64_t efer, uint64_t val, bool paging, uint64_t *out);
/* "guest reads/writes MSR ...: why: #GP", once per MSR and direction, at most 32 kinds. */
void vexit_log_msr_once(uint32_t msr, bool write, const char *why);
/* IPIs the guest asked for that never left its CPU: logged, the first few, then every
 * 1000th. */
void vexit_log_dropped_ipis(const struct vlapic *l);

/* The bytes of the instruction at linear address rip as far as they are mapped (one may
 * end just before an unmapped page), read with the backend's read(ctx, ...): how many
 * were read, 0 if none was. */
typedef int (*vexit_read_fn)(void *ctx, uint64_t gva, void *dst, unsigned len, bool fetch);
unsigned vexit_fetch_insn(vexit_read_fn read, void *ctx, uint64_t rip,
                          uint8_t bytes[X86_MAX_INSN_LEN]);

/* Where an MMIO access at a guest-physical address goes. */
struct vexit_mmio {
    void *ctx;
    uint64_t offset;
    mmio_read_fn read;
    mmio_write_fn write;
};
/* The guest's xAPIC page (its ISR as ELI shows it) or a registered region; false: none. */
bool vexit_mmio_find(struct guest *g, uint64_t gpa, struct vexit_mmio *m);
/* Performs the decoded access between the guest's GPRs and the device; false when the
 * instruction is not one of the plain moves eli emulates. */
bool vexit_mmio_perform(const struct x86_insn *insn, uint64_t gprs[16], const struct vexit_mmio *m);

/* The guest's read of an x2APIC MSR, its ISR words as ELI shows them; returns as
 * vlapic_msr_read (-ENOENT: not an APIC MSR). */
int vexit_apic_msr_read(struct guest *g, uint32_t msr, uint64_t *val);

#endif
