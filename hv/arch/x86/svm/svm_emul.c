/* The instructions eli emulates for an SVM guest: LIDT/SIDT (IDTR intercepts),
 * MOV CR8, and MMIO accesses to devices eli models. QEMU's SVM has no decode
 * assists and no NRIP (docs/eli.md 3a): eli fetches and decodes the instruction
 * itself and advances RIP by its length. */
#include "arch/x86/cpu.h"
#include "arch/x86/decode.h"
#include "arch/x86/gwalk.h"
#include "arch/x86/svm/vcpu.h"
#include "arch/x86/vexit.h"
#include "core/console.h"
#include "core/errno.h"
#include "core/guest.h"
#include "core/mmio.h"
#include "core/panic.h"
#include "dev/vlapic.h"
#include <string.h>

#define EXCP_UD 6
#define EXCP_GP 13
#define EXCP_PF 14
#define SEG_ATTR_L (1u << 9)
#define SEG_ATTR_D (1u << 10)
#define PF_ERR_PRESENT 1u
#define PF_ERR_WRITE 2u

static const void *read_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
    const struct guest *g = opaque;
    return gmem_ptr(&g->mem, gpa, len);
}

static struct gwalk_ctx walk_ctx(const struct svm_vcpu *v)
{
    const struct vmcb_save *s = &v->vmcb->save;
    return (struct gwalk_ctx){ s->cr0, s->cr3, s->cr4, s->efer, read_gpa, v->guest };
}

int svm_cpu_mode(const struct svm_vcpu *v)
{
    const struct vmcb_save *s = &v->vmcb->save;
    if ((s->efer & EFER_LMA) && (s->cs.attrib & SEG_ATTR_L))
        return 64;
    return s->cs.attrib & SEG_ATTR_D ? 32 : 16;
}

void svm_sync_gprs_in(struct svm_vcpu *v)
{
    v->gprs.r[GPR_RAX] = v->vmcb->save.rax;
    v->gprs.r[GPR_RSP] = v->vmcb->save.rsp;
}

void svm_sync_gprs_out(struct svm_vcpu *v)
{
    v->vmcb->save.rax = v->gprs.r[GPR_RAX];
    v->vmcb->save.rsp = v->gprs.r[GPR_RSP];
}

int svm_translate(struct svm_vcpu *v, uint64_t gva, uint64_t *gpa)
{
    struct gwalk_ctx c = walk_ctx(v);
    return gwalk_translate(&c, gva, false, false, false, gpa);
}

int svm_read_guest(struct svm_vcpu *v, uint64_t gva, void *dst, unsigned len, bool fetch)
{
    struct gwalk_ctx c = walk_ctx(v);
    return gwalk_read(&c, gva, dst, len, fetch);
}

/* A store that crosses into a page it may not write writes nothing (gwalk_write). */
int svm_write_guest(struct svm_vcpu *v, uint64_t gva, const void *src, unsigned len)
{
    struct gwalk_ctx c = walk_ctx(v);
    return gwalk_write(&c, &v->guest->mem, gva, src, len);
}

int svm_read_guest_at(void *v, uint64_t gva, void *dst, unsigned len, bool fetch)
{
    return svm_read_guest(v, gva, dst, len, fetch);
}

/* Fetches and decodes the instruction at the guest's RIP. On failure the guest
 * gets the fault it would have got (#PF when its code is not mapped, #UD when eli
 * cannot make sense of it) and false is returned. */
static bool fetch_decode(struct svm_vcpu *v, struct x86_insn *insn)
{
    uint8_t bytes[X86_MAX_INSN_LEN];
    uint64_t rip = v->vmcb->save.rip + v->vmcb->save.cs.base;
    unsigned avail = vexit_fetch_insn(svm_read_guest_at, v, rip, bytes);
    if (!avail) {
        v->vmcb->save.cr2 = rip;
        svm_inject_exception(v, EXCP_PF, true, 0x10);
        return false;
    }
    if (x86_decode(bytes, avail, svm_cpu_mode(v), insn)) {
        log_line("cannot emulate the instruction at rip 0x%llx (%02x %02x %02x %02x): #UD",
                 (unsigned long long)v->vmcb->save.rip, bytes[0], bytes[1], bytes[2], bytes[3]);
        svm_inject_exception(v, EXCP_UD, false, 0);
        return false;
    }
    return true;
}

static uint64_t segment_base(const struct svm_vcpu *v, int seg)
{
    const struct vmcb_save *s = &v->vmcb->save;
    bool long_mode = svm_cpu_mode(v) == 64;
    switch (seg) {
    case X86_SEG_FS: return s->fs.base;
    case X86_SEG_GS: return s->gs.base;
    case X86_SEG_ES: return long_mode ? 0 : s->es.base;
    case X86_SEG_CS: return long_mode ? 0 : s->cs.base;
    case X86_SEG_SS: return long_mode ? 0 : s->ss.base;
    default: return long_mode ? 0 : s->ds.base;
    }
}

static uint64_t linear_address(struct svm_vcpu *v, const struct x86_insn *insn)
{
    uint64_t next = v->vmcb->save.rip + insn->length;
    uint64_t ea = x86_effective_address(insn, v->gprs.r, next);
    uint64_t la = ea + segment_base(v, x86_memop_segment(&insn->mem));
    return svm_cpu_mode(v) == 64 ? la : (uint32_t)la;
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* The fault an access of len bytes at la takes: #GP for a non-canonical address in
 * 64-bit mode, else #PF at the first byte whose page is not mapped (CR2). */
static void memory_fault(struct svm_vcpu *v, uint64_t la, unsigned len, bool write)
{
    if (svm_cpu_mode(v) == 64 && (!canonical(la) || !canonical(la + len - 1))) {
        svm_inject_exception(v, EXCP_GP, true, 0);
        return;
    }
    uint64_t gpa, fault = la;
    uint64_t next_page = (la | 0xfff) + 1;
    if (!svm_translate(v, la, &gpa) && next_page < la + len)
        fault = next_page; /* the first page is there: the second one faulted */
    v->vmcb->save.cr2 = fault;
    svm_inject_exception(v, EXCP_PF, true, write ? PF_ERR_WRITE : 0);
}

/* LIDT / SIDT: the guest loads and reads back its own IDTR; what the CPU uses in
 * direct mode (the shadow's limit) is eli's business (eli_cpu.c). */
void svm_handle_dtr(struct svm_vcpu *v)
{
    struct x86_insn insn;
    svm_sync_gprs_in(v);
    if (!fetch_decode(v, &insn))
        return;
    if (insn.kind != INSN_LIDT && insn.kind != INSN_SIDT) {
        log_line("IDTR exit on an instruction that is neither LIDT nor SIDT at rip 0x%llx: #UD",
                 (unsigned long long)v->vmcb->save.rip);
        svm_inject_exception(v, EXCP_UD, false, 0);
        return;
    }
    if (v->vmcb->save.cpl != 0 && insn.kind == INSN_LIDT) {
        svm_inject_exception(v, EXCP_GP, true, 0);
        return;
    }
    uint64_t la = linear_address(v, &insn);
    uint8_t buf[10] = { 0 };
    unsigned base_bytes = insn.mem_size - 2;
    if (insn.kind == INSN_LIDT) {
        if (svm_read_guest(v, la, buf, insn.mem_size, false)) {
            memory_fault(v, la, insn.mem_size, false);
            return;
        }
        uint64_t base = 0;
        uint16_t limit;
        memcpy(&limit, buf, 2);
        memcpy(&base, buf + 2, base_bytes);
        if (insn.op_size == 2)
            base &= 0xffffff; /* a 16-bit operand size loads 24 bits of base */
        v->ecpu.idtr_base = base;
        v->ecpu.idtr_limit = limit;
        eli_cpu_lidt(&v->ecpu);
    } else {
        uint16_t limit = (uint16_t)v->ecpu.idtr_limit;
        memcpy(buf, &limit, 2);
        memcpy(buf + 2, &v->ecpu.idtr_base, base_bytes);
        if (svm_write_guest(v, la, buf, insn.mem_size)) {
            memory_fault(v, la, insn.mem_size, true);
            return;
        }
    }
    v->vmcb->save.rip += insn.length;
}

/* MOV to or from CR8: [REX] 0F 22 /r or 0F 20 /r, register operands only. */
void svm_handle_cr8(struct svm_vcpu *v, bool write)
{
    uint8_t b[4];
    uint64_t rip = v->vmcb->save.rip + v->vmcb->save.cs.base;
    svm_sync_gprs_in(v);
    if (svm_read_guest(v, rip, b, sizeof(b), true)) {
        memory_fault(v, rip, sizeof(b), false);
        return;
    }
    unsigned i = 0, rex_b = 0;
    if ((b[0] & 0xf0) == 0x40) {
        rex_b = b[0] & 1;
        i = 1;
    }
    if (b[i] != 0x0f || (b[i + 1] != 0x20 && b[i + 1] != 0x22) || (b[i + 2] & 0xc0) != 0xc0) {
        svm_inject_exception(v, EXCP_UD, false, 0);
        return;
    }
    unsigned reg = (b[i + 2] & 7) | rex_b << 3;
    if (write) {
        if (vlapic_cr8_write(&v->guest->lapic, v->gprs.r[reg])) {
            svm_inject_exception(v, EXCP_GP, true, 0);
            return;
        }
    } else {
        v->gprs.r[reg] = vlapic_cr8_read(&v->guest->lapic);
    }
    svm_sync_gprs_out(v);
    v->vmcb->save.rip += i + 3;
}

/* Decodes the access and hands it to the device model. */
bool svm_emulate_mmio(struct svm_vcpu *v, uint64_t gpa)
{
    struct vexit_mmio m;
    if (!vexit_mmio_find(v->guest, gpa, &m))
        return false;
    struct x86_insn insn;
    svm_sync_gprs_in(v);
    if (!fetch_decode(v, &insn))
        return true;
    if (!vexit_mmio_perform(&insn, v->gprs.r, &m)) {
        log_line("MMIO access by an instruction eli does not emulate at rip 0x%llx: #UD",
                 (unsigned long long)v->vmcb->save.rip);
        svm_inject_exception(v, EXCP_UD, false, 0);
        return true;
    }
    svm_sync_gprs_out(v);
    v->vmcb->save.rip += insn.length;
    return true;
}
