/* The SVM backend's per-vCPU state, shared by its files (not outside svm/). */
#ifndef ELI_ARCH_X86_SVM_VCPU_H
#define ELI_ARCH_X86_SVM_VCPU_H
#include "arch/x86/eli_cpu.h"
#include "arch/x86/regs.h"
#include "arch/x86/svm/vmcb.h"
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

    /* ELI as applied to the VMCB, the nested page tables and the MSR map (eli_cpu.h);
     * also the IDTR as the guest loaded it, and whether EVENTINJ holds an event the
     * last exit interrupted */
    struct eli_cpu ecpu;
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
/* The same for callers that hold the vCPU as a context pointer (eli_cpu_ops, vexit). */
int svm_read_guest_at(void *v, uint64_t gva, void *dst, unsigned len, bool fetch);
int svm_write_guest(struct svm_vcpu *v, uint64_t gva, const void *src, unsigned len);
int svm_translate(struct svm_vcpu *v, uint64_t gva, uint64_t *gpa);
void svm_handle_dtr(struct svm_vcpu *v);
void svm_handle_cr8(struct svm_vcpu *v, bool write);
/* Emulates the MMIO access at gpa; returns false when no device is there. */
bool svm_emulate_mmio(struct svm_vcpu *v, uint64_t gpa);

/* svm_eli.c: ELI's steps (eli_cpu.c) on SVM */
void svm_eli_init(struct svm_vcpu *v);
void svm_eli_before_entry(struct svm_vcpu *v);
void svm_eli_after_exit(struct svm_vcpu *v);
void svm_handle_np(struct svm_vcpu *v);
void svm_handle_vintr(struct svm_vcpu *v);

#endif
