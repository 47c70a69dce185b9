/* The VMX backend's per-vCPU state, shared by its files (not outside vmx/). */
#ifndef ELI_ARCH_X86_VMX_VCPU_H
#define ELI_ARCH_X86_VMX_VCPU_H
#include "arch/x86/regs.h"
#include "arch/x86/vmx/vmcs.h"
#include "eli/shadow_idt.h"
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
    bool reinject;              /* VM_ENTRY_INTR_INFO holds an event the exit interrupted */
    uint64_t cr0_shadow, cr4_shadow;
    uint32_t pin_ctls, cpu_ctls; /* the execution controls as last written */
    uint64_t guest_cr2;         /* loaded into CR2 before the entry that injects a #PF */
    bool set_cr2;

    /* the IDTR as the guest loaded it (the VMCS's limit differs in direct mode) */
    uint64_t idtr_base;
    uint32_t idtr_limit;

    /* ELI direct mode as applied to the VMCS, the EPT and the MSR bitmap */
    bool direct;
    bool eoi_passthrough;
    bool shadow_mapped;
    struct shadow_window window;
    uint64_t shadow_hpa;        /* two pages */
    uint64_t idt_write_tsc;
    unsigned idt_write_streak;
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
void vmx_handle_dtr(struct vmx_vcpu *v);
/* Emulates the MMIO access at gpa; returns false when no device is there. */
bool vmx_emulate_mmio(struct vmx_vcpu *v, uint64_t gpa);

/* vmx_eli.c: direct and injection modes */
void vmx_eli_init(struct vmx_vcpu *v);
void vmx_eli_lidt(struct vmx_vcpu *v);
void vmx_eli_before_entry(struct vmx_vcpu *v);
void vmx_eli_after_exit(struct vmx_vcpu *v);
/* The guest took #NP (exception bitmap bit 11). */
void vmx_handle_np(struct vmx_vcpu *v, uint32_t error);
bool vmx_eli_idt_write(struct vmx_vcpu *v, uint64_t gpa);
/* The preemption timer expired; returns the TSC cycles the next entry may run. */
void vmx_eli_preempted(struct vmx_vcpu *v);
uint64_t vmx_eli_bound(struct vmx_vcpu *v, uint64_t now);

#endif
