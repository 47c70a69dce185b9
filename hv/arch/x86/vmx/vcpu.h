/* The VMX backend's per-vCPU state, shared by its files (not outside vmx/). */
#ifndef ELI_ARCH_X86_VMX_VCPU_H
#define ELI_ARCH_X86_VMX_VCPU_H
#include "arch/x86/eli_cpu.h"
#include "arch/x86/regs.h"
#include "arch/x86/vmx/vmcs.h"
#include <stdbool.h>
#include <stdint.h>

struct guest;

struct vmx_vcpu {
    struct guest_gprs gprs;     /* RSP lives in the VMCS */
    struct guest *guest;
    uint64_t vmcs_pa;
    uint64_t ept_root;
    uint64_t eptp;
    struct vmx_msr_bitmap *msr_bitmap;
    bool launched;
    uint64_t cr0_shadow, cr4_shadow;
    uint32_t pin_ctls, cpu_ctls; /* the execution controls as last written */
    uint64_t guest_cr2;         /* loaded into CR2 before the entry that injects a #PF */
    bool set_cr2;

    /* ELI as applied to the VMCS, the EPT and the MSR bitmap (eli_cpu.h); also the IDTR
     * as the guest loaded it, and whether VM_ENTRY_INTR_INFO holds an event the last
     * exit interrupted */
    struct eli_cpu ecpu;
    bool watchdog;              /* the preemption timer expired: eli's tick is overdue */
    uint64_t probation_until;   /* TSC: the next expiry comes sooner (vmx_eli.c) */
};


/* vmx.c */
void vmx_inject_exception(struct vmx_vcpu *v, uint8_t vector, bool has_error, uint32_t error);
void vmx_skip_insn(void);
int vmx_ept_map_page(struct vmx_vcpu *v, uint64_t gpa, uint64_t hpa, bool writable);
void vmx_msr_intercept(struct vmx_msr_bitmap *b, uint32_t msr, bool read, bool write);
void vmx_set_pin(struct vmx_vcpu *v, uint32_t pin);
void vmx_set_cpu(struct vmx_vcpu *v, uint32_t cpu);
__attribute__((noreturn)) void vmx_end_halted_cli(uint64_t hlt_rip);

/* vmx_emul.c: guest memory and the descriptor-table instructions */
int vmx_translate(struct vmx_vcpu *v, uint64_t gva, uint64_t *gpa);
int vmx_read_guest(struct vmx_vcpu *v, uint64_t gva, void *dst, unsigned len, bool fetch);
/* The same for callers that hold the vCPU as a context pointer (eli_cpu_ops, vexit). */
int vmx_read_guest_at(void *v, uint64_t gva, void *dst, unsigned len, bool fetch);
void vmx_handle_dtr(struct vmx_vcpu *v);
/* Emulates the MMIO access at gpa; returns false when no device is there. */
bool vmx_emulate_mmio(struct vmx_vcpu *v, uint64_t gpa);

/* vmx_eli.c: ELI's steps (eli_cpu.c) on VMX */
void vmx_eli_init(struct vmx_vcpu *v);
void vmx_eli_before_entry(struct vmx_vcpu *v);
void vmx_eli_after_exit(struct vmx_vcpu *v);
/* The guest took #NP (exception bitmap bit 11). */
void vmx_handle_np(struct vmx_vcpu *v, uint32_t error);
/* The preemption timer expired; vmx_eli_bound: the TSC cycles the next entry may run. */
void vmx_eli_preempted(struct vmx_vcpu *v);
uint64_t vmx_eli_bound(struct vmx_vcpu *v, uint64_t now);

#endif
