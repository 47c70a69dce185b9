/* Guest memory through the guest's page tables, MMIO to the devices eli models, and the
 * descriptor-table instructions (LGDT, LIDT, SGDT, SIDT) that descriptor-table exiting
 * traps. Unlike QEMU's SVM, VMX
 * gives the operand in the VM-exit instruction information and the displacement in the
 * exit qualification (SDM vol. 3, 28.2.5), so nothing is fetched or decoded. */
#include "arch/x86/cpu.h"
#include "arch/x86/decode.h"
#include "arch/x86/gwalk.h"
#include "arch/x86/vexit.h"
#include "arch/x86/vmx/vcpu.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/guest.h"
#include "core/mmio.h"
#include "dev/vlapic.h"
#include <string.h>

#define EXCP_GP 13
#define EXCP_PF 14
#define PF_ERR_WRITE 2u
#define VMX_AR_L (1u << 13)
#define VMX_AR_DPL(ar) (((ar) >> 5) & 3)

static const void *read_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
    const struct guest *g = opaque;
    return gmem_ptr(&g->mem, gpa, len);
}

static struct gwalk_ctx walk_ctx(const struct vmx_vcpu *v)
{
    return (struct gwalk_ctx){ vmread(GUEST_CR0), vmread(GUEST_CR3), vmread(GUEST_CR4),
                               vmread(GUEST_IA32_EFER), read_gpa, v->guest };
}

static bool long_mode(void)
{
    return (vmread(GUEST_IA32_EFER) & EFER_LMA) && (vmread(GUEST_CS_AR_BYTES) & VMX_AR_L);
}

int vmx_translate(struct vmx_vcpu *v, uint64_t gva, uint64_t *gpa)
{
    struct gwalk_ctx c = walk_ctx(v);
    return gwalk_translate(&c, gva, false, false, false, gpa);
}

int vmx_read_guest(struct vmx_vcpu *v, uint64_t gva, void *dst, unsigned len, bool fetch)
{
    struct gwalk_ctx c = walk_ctx(v);
    return gwalk_read(&c, gva, dst, len, fetch);
}

int vmx_read_guest_at(void *v, uint64_t gva, void *dst, unsigned len, bool fetch)
{
    return vmx_read_guest(v, gva, dst, len, fetch);
}

/* A store that crosses into a page it may not write writes nothing (gwalk_write). */
static int write_guest(struct vmx_vcpu *v, uint64_t gva, const void *src, unsigned len)
{
    struct gwalk_ctx c = walk_ctx(v);
    return gwalk_write(&c, &v->guest->mem, gva, src, len);
}

/* The fault an access of len bytes at la takes: #GP for a non-canonical address in
 * 64-bit mode, else #PF at the first byte whose page is not mapped (CR2). */
static void memory_fault(struct vmx_vcpu *v, uint64_t la, unsigned len, bool write)
{
    if (long_mode() && (!vexit_canonical(la) || !vexit_canonical(la + len - 1))) {
        vmx_inject_exception(v, EXCP_GP, true, 0);
        return;
    }
    uint64_t gpa, fault = la;
    uint64_t next_page = (la | 0xfff) + 1;
    if (!vmx_translate(v, la, &gpa) && next_page < la + len)
        fault = next_page; /* the first page is there: the second one faulted */
    v->guest_cr2 = fault;
    v->set_cr2 = true;
    vmx_inject_exception(v, EXCP_PF, true, write ? PF_ERR_WRITE : 0);
}

/* VM-exit instruction information for LIDT and the like (table 28-10). */
#define DTI_SCALE(i) ((i) & 3)
#define DTI_ADDR_SIZE(i) (((i) >> 7) & 7) /* 0: 16-bit, 1: 32-bit, 2: 64-bit */
#define DTI_OP32 (1u << 11)
#define DTI_SEG(i) (((i) >> 15) & 7)
#define DTI_INDEX(i) (((i) >> 18) & 15)
#define DTI_NO_INDEX (1u << 22)
#define DTI_BASE(i) (((i) >> 23) & 15)
#define DTI_NO_BASE (1u << 27)
#define DTI_IDENTITY(i) (((i) >> 28) & 3)
enum { DT_SGDT, DT_SIDT, DT_LGDT, DT_LIDT };

static const enum vmcs_field seg_base_field[6] = { GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
                                                    GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE };

static uint64_t reg(struct vmx_vcpu *v, unsigned r)
{
    return r == GPR_RSP ? vmread(GUEST_RSP) : v->gprs.r[r];
}

static uint64_t operand_address(struct vmx_vcpu *v, uint32_t info)
{
    uint64_t ea = vmread(EXIT_QUALIFICATION); /* the displacement */
    if (!(info & DTI_NO_BASE))
        ea += reg(v, DTI_BASE(info));
    if (!(info & DTI_NO_INDEX))
        ea += reg(v, DTI_INDEX(info)) << DTI_SCALE(info);
    unsigned asz = DTI_ADDR_SIZE(info);
    ea = asz == 0 ? (uint16_t)ea : asz == 1 ? (uint32_t)ea : ea;
    unsigned seg = DTI_SEG(info);
    bool lm = long_mode();
    /* in 64-bit mode only FS and GS have a base (SDM vol. 1, 3.4.2.1) */
    uint64_t base = seg < 6 && (!lm || seg >= 4) ? vmread(seg_base_field[seg]) : 0;
    uint64_t la = ea + base;
    return lm ? la : (uint32_t)la;
}

/* LGDT, LIDT, SGDT, SIDT: the guest loads and reads back its own registers; what the CPU
 * uses for the IDT in direct mode (the shadow's limit) is eli's business (vmx_eli.c). */
void vmx_handle_dtr(struct vmx_vcpu *v)
{
    uint32_t info = (uint32_t)vmread(VMX_INSTRUCTION_INFO);
    unsigned id = DTI_IDENTITY(info);
    bool load = id == DT_LGDT || id == DT_LIDT, idt = id == DT_SIDT || id == DT_LIDT;
    if (load && VMX_AR_DPL(vmread(GUEST_SS_AR_BYTES)) != 0) {
        vmx_inject_exception(v, EXCP_GP, true, 0);
        return;
    }
    uint64_t la = operand_address(v, info);
    unsigned size = long_mode() ? 10 : 6, base_bytes = size - 2;
    uint8_t buf[10] = { 0 };
    if (load) {
        if (vmx_read_guest(v, la, buf, size, false)) {
            memory_fault(v, la, size, false);
            return;
        }
        uint64_t base = 0;
        uint16_t limit;
        memcpy(&limit, buf, 2);
        memcpy(&base, buf + 2, base_bytes);
        if (!long_mode() && !(info & DTI_OP32))
            base &= 0xffffff; /* a 16-bit operand size loads 24 bits of base */
        if (idt) {
            v->ecpu.idtr_base = base;
            v->ecpu.idtr_limit = limit;
            eli_cpu_lidt(&v->ecpu);
        } else {
            vmwrite(GUEST_GDTR_BASE, base);
            vmwrite(GUEST_GDTR_LIMIT, limit);
        }
    } else {
        uint64_t base = idt ? v->ecpu.idtr_base : vmread(GUEST_GDTR_BASE);
        uint16_t limit = (uint16_t)(idt ? v->ecpu.idtr_limit : vmread(GUEST_GDTR_LIMIT));
        memcpy(buf, &limit, 2);
        memcpy(buf + 2, &base, base_bytes);
        if (write_guest(v, la, buf, size)) {
            memory_fault(v, la, size, true);
            return;
        }
    }
    vmx_skip_insn();
}

/* ---- MMIO: the xAPIC page of the virtual LAPIC, and the devices the core models ---- */

#define EXCP_UD 6
#define VMX_AR_D (1u << 14)

static int cpu_mode(void)
{
    if (long_mode())
        return 64;
    return vmread(GUEST_CS_AR_BYTES) & VMX_AR_D ? 32 : 16;
}

/* Fetches and decodes the instruction at the guest's RIP (an EPT violation reports no
 * instruction length or operand). On failure the guest gets the fault it would have got
 * (#PF when its code is not mapped, #UD when eli cannot make sense of it). */
static bool fetch_decode(struct vmx_vcpu *v, struct x86_insn *insn)
{
    uint8_t bytes[X86_MAX_INSN_LEN];
    uint64_t rip = vmread(GUEST_RIP) + vmread(GUEST_CS_BASE);
    unsigned avail = vexit_fetch_insn(vmx_read_guest_at, v, rip, bytes);
    if (!avail) {
        v->guest_cr2 = rip;
        v->set_cr2 = true;
        vmx_inject_exception(v, EXCP_PF, true, 0x10);
        return false;
    }
    if (x86_decode(bytes, avail, cpu_mode(), insn)) {
        log_line("cannot emulate the instruction at rip 0x%llx (%02x %02x %02x %02x): #UD",
                 (unsigned long long)vmread(GUEST_RIP), bytes[0], bytes[1], bytes[2], bytes[3]);
        vmx_inject_exception(v, EXCP_UD, false, 0);
        return false;
    }
    return true;
}

/* Decodes the access and hands it to the device model. */
bool vmx_emulate_mmio(struct vmx_vcpu *v, uint64_t gpa)
{
    struct vexit_mmio m;
    if (!vexit_mmio_find(v->guest, gpa, &m))
        return false;
    struct x86_insn insn;
    if (!fetch_decode(v, &insn))
        return true;
    v->gprs.r[GPR_RSP] = vmread(GUEST_RSP);
    if (!vexit_mmio_perform(&insn, v->gprs.r, &m)) {
        log_line("MMIO access by an instruction eli does not emulate at rip 0x%llx: #UD",
                 (unsigned long long)vmread(GUEST_RIP));
        vmx_inject_exception(v, EXCP_UD, false, 0);
        return true;
    }
    vmwrite(GUEST_RSP, v->gprs.r[GPR_RSP]);
    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + insn.length);
    return true;
}
