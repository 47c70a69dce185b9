/* The SVM backend's per-vCPU state, shared by its files (not outside svm/). */
#ifndef ELI_ARCH_X86_SVM_VCPU_H
#define ELI_ARCH_X86_SVM_VCPU_H
#include "arch/x86/regs.h"
#include "arch/x86/svm/vmcb.h"
#include "eli/shadow_idt.h"
#include <stdbool.h>
#include <stdint.h>

struct guest;

struct svm_vcpu {
    struct vmcb *vmcb;
    uint64_t vmcb_pa;
    struct guest_gprs gprs;   /* RAX and RSP live in the VMCB */
    uint64_t host_save_pa;
    uint64_t npt_root;
    uint8_t *msrpm;
    struct guest *guest;

    /* the IDTR as the guest loaded it (the VMCB's differs in direct mode) */
    uint64_t idtr_base;
    uint32_t idtr_limit;

    /* ELI direct mode as applied to the VMCB, nested page tables and MSR map */
    bool direct;
    bool eoi_passthrough;
    bool shadow_mapped;           /* the shadow pages replace the guest's in the NPT */
    struct shadow_window window;  /* where the shadow is (or would be) mapped */
    uint64_t shadow_hpa;          /* two pages */
    uint64_t idt_write_tsc;       /* for telling a guest that keeps writing the IDT page */
    unsigned idt_write_streak;

    bool reinject;                /* EVENTINJ holds an event interrupted by the last exit */
};

extern struct svm_vcpu vcpu;

/* svm.c */
void svm_inject_exception(struct svm_vcpu *v, uint8_t vector, bool has_error, uint32_t error);
void svm_dump_vmcb(const struct vmcb *vm);
/* The guest ran HLT at hlt_rip with IF = 0: nothing can wake it; ends the run. */
__attribute__((noreturn)) void svm_end_halted_cli(uint64_t hlt_rip);
int svm_npt_map_page(struct svm_vcpu *v, uint64_t gpa, uint64_t hpa, bool writable);

/* svm_emul.c: guest memory and instruction emulation */
int svm_cpu_mode(const struct svm_vcpu *v);
void svm_sync_gprs_in(struct svm_vcpu *v);
void svm_sync_gprs_out(struct svm_vcpu *v);
int svm_read_guest(struct svm_vcpu *v, uint64_t gva, void *dst, unsigned len, bool fetch);
int svm_write_guest(struct svm_vcpu *v, uint64_t gva, const void *src, unsigned len);
int svm_translate(struct svm_vcpu *v, uint64_t gva, uint64_t *gpa);
void svm_handle_dtr(struct svm_vcpu *v);
void svm_handle_cr8(struct svm_vcpu *v, bool write);
/* Emulates the MMIO access at gpa; returns false when no device is there. */
bool svm_emulate_mmio(struct svm_vcpu *v, uint64_t gpa);

/* svm_eli.c: direct and injection modes */
void svm_eli_init(struct svm_vcpu *v);
/* The guest loaded v->idtr_base/limit. */
void svm_eli_lidt(struct svm_vcpu *v);
void svm_eli_before_entry(struct svm_vcpu *v);
void svm_eli_after_exit(struct svm_vcpu *v);
void svm_handle_np(struct svm_vcpu *v);
void svm_handle_vintr(struct svm_vcpu *v);
/* A write fault on the write-protected page of the guest's IDT. */
bool svm_eli_idt_write(struct svm_vcpu *v, uint64_t gpa);

#endif
