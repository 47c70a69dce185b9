#!/usr/bin/env python3
"""Writes the seed inputs of eli's fuzz targets into tests/fuzz/seeds/NAME/.

Each seed is a small, meaningful input in the target's own layout (see the comment at the
top of tests/fuzz/fuzz_NAME.c): real instruction bytes, page tables of each paging mode,
LAPIC and PCI programming sequences, images of each kind, a multiboot information block,
command lines, IDTs, ELI event sequences. Run it again after changing a target's input
layout: python3 tests/fuzz/make_seeds.py
"""

import struct
from pathlib import Path

OUT = Path(__file__).resolve().parent / "seeds"


def u8(v): return struct.pack("<B", v & 0xFF)
def u16(v): return struct.pack("<H", v & 0xFFFF)
def u32(v): return struct.pack("<I", v & 0xFFFFFFFF)
def u64(v): return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def write(name, seeds):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    for fname, data in seeds.items():
        (d / fname).write_bytes(data)


# ---- decode: [mode][avail][bytes][next_rip:8][loaded:8][16 gprs] -------------------------

def decode_seed(mode, insn):
    m = {16: 0, 32: 1, 64: 2}[mode]
    regs = b"".join(u64(0x1000 * (i + 1) + i) for i in range(16))
    return u8(m) + u8(len(insn)) + bytes(insn) + u64(0x401000) + u64(0x8877665544332211) + regs


def decode_seeds():
    s = {
        "mov_store_64": (64, [0x89, 0x43, 0x30]),                       # mov %eax,0x30(%rbx)
        "movabs_load_64": (64, [0xa1, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0]),
        "movl_rip_64": (64, [0xc7, 0x05, 0x80, 0, 0, 0, 0x34, 0x12, 0, 0]),
        "rexw_imm_64": (64, [0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff]),  # movq $-1,(%rax)
        "movsbq_64": (64, [0x4c, 0x0f, 0xbe, 0x06]),
        "movzwl_64": (64, [0x0f, 0xb7, 0x48, 0x02]),
        "lidt_64": (64, [0x0f, 0x01, 0x18]),
        "sidt_sib_64": (64, [0x0f, 0x01, 0x4c, 0x24, 0x10]),
        "gs_store_64": (64, [0x65, 0x66, 0x89, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00]),
        "rex_sib_64": (64, [0x47, 0x88, 0x0c, 0x9a]),
        "mov_ah_64": (64, [0x88, 0x21]),
        "mov_store_32": (32, [0x89, 0x18]),
        "lidt_abs_32": (32, [0x0f, 0x01, 0x1d, 0x00, 0x20, 0x00, 0x00]),
        "mov_sib_32": (32, [0x8b, 0x04, 0x24]),
        "mov_store_16": (16, [0x89, 0x07]),
        "lidt_16": (16, [0x0f, 0x01, 0x1e, 0x00, 0x10]),
        "moffs_16": (16, [0xa1, 0x34, 0x12]),
        "addr32_16": (16, [0x67, 0x89, 0x03]),
        "movb_bp_16": (16, [0xc6, 0x46, 0x02, 0x7f]),
    }
    return {k: decode_seed(m, b) for k, (m, b) in s.items()}


# ---- gwalk: [cr0][cr3][cr4][efer][cfg][nops] ops [gva:8][flags][len:2], then RAM ---------

CR0_PE, CR0_WP, CR0_PG = 1, 1 << 16, 1 << 31
CR4_PSE, CR4_PAE = 1 << 4, 1 << 5
EFER_LME, EFER_LMA, EFER_NXE = 1 << 8, 1 << 10, 1 << 11


def gwalk_seed(cr0, cr3, cr4, efer, cfg, ops, ram):
    head = u64(cr0) + u64(cr3) + u64(cr4) + u64(efer) + u8(cfg) + u8(len(ops))
    for gva, flags, length in ops:
        head += u64(gva) + u8(flags) + u16(length)
    return head + bytes(ram)


def put(ram, off, data):
    ram[off:off + len(data)] = data


def gwalk_seeds():
    seeds = {}
    # 4-level: PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000 (identity, 0-2 MiB);
    # PD entry 1 a 2 MiB page, PDPT entry 1 a 1 GiB page (aliased RAM)
    ram = bytearray(0x5000)
    put(ram, 0x1000, u64(0x2000 | 7))
    put(ram, 0x2000, u64(0x3000 | 7) + u64(0x40000000 | 0x87))
    put(ram, 0x3000, u64(0x4000 | 7) + u64(0x200000 | 0x87 | (1 << 63)))
    for i in range(512):
        put(ram, 0x4000 + 8 * i, u64((i << 12) | (7 if i != 3 else 5)))
    ops = [(0x1234, 0, 0), (0x3ff0, 8, 0x40), (0x201000, 2, 0), (0x3008, 1, 0),
           (0x0000800000000000, 0, 0), (0x40001000, 4, 0)]
    seeds["long_mode"] = gwalk_seed(CR0_PE | CR0_WP | CR0_PG, 0x1000, CR4_PAE,
                                    EFER_LME | EFER_LMA | EFER_NXE, 1, ops, ram)
    # 32-bit paging: PD 0x1000 -> PT 0x2000 (identity); PD entry 1 a 4 MiB page (PSE-36 bits)
    ram = bytearray(0x3000)
    put(ram, 0x1000, u32(0x2000 | 7) + u32(0x00400000 | 0x87 | (1 << 13)))
    for i in range(1024):
        put(ram, 0x2000 + 4 * i, u32((i << 12) | 7))
    ops = [(0x1abc, 0, 0), (0x0ff8, 8, 0x10), (0x401000, 0, 0), (0x2000, 5, 0)]
    seeds["paging32"] = gwalk_seed(CR0_PE | CR0_PG, 0x1000, CR4_PSE, 0, 0, ops, ram)
    # PAE: PDPT 0x1000 -> PD 0x2000 -> PT 0x3000; PD entry 1 a 2 MiB page
    ram = bytearray(0x4000)
    put(ram, 0x1000, u64(0x2000 | 1))
    put(ram, 0x2000, u64(0x3000 | 7) + u64(0x200000 | 0x83))
    for i in range(512):
        put(ram, 0x3000 + 8 * i, u64((i << 12) | 7))
    ops = [(0x2468, 0, 0), (0x200123, 4, 0), (0x1ffc, 8, 8), (0xC0000000, 0, 0)]
    seeds["pae"] = gwalk_seed(CR0_PE | CR0_PG, 0x1000, CR4_PAE, 0, 1, ops, ram)
    ops = [(0x12345678, 0, 0), (0xfffffff8, 8, 0x10)]
    seeds["no_paging"] = gwalk_seed(CR0_PE, 0, 0, 0, 0, ops, bytearray(0x100))
    return seeds


# ---- vlapic: [id:4][hz:8][cfg] ops ------------------------------------------------------

def wrmsr(msr, val):
    return u8(1) + u8(0x80) + u32(msr) + u8(0xE0) + u64(val) + u8(0)


def rdmsr(msr):
    return u8(0) + u8(0x80) + u32(msr)


def mmio_w(off, val, size_sel=0):
    return u8(3) + u8(0xC0) + u16(off) + u8(size_sel) + u8(0xC0) + u32(val)


def mmio_r(off, size_sel=0):
    return u8(2) + u8(0xC0) + u16(off) + u8(size_sel)


def vlapic_seeds():
    head = u32(0) + u64(2000000000)
    x2 = (head + u8(0) + wrmsr(0x1B, 0xFEE00D00) + wrmsr(0x80F, 0x1FF) + wrmsr(0x832, 0x20030) +
          wrmsr(0x83E, 0xB) + wrmsr(0x838, 1000) + u8(7) + u8(0) + u16(4000) + u8(5) + rdmsr(0x810) +
          wrmsr(0x80B, 0) + wrmsr(0x83F, 0x40) + u8(5) + u8(6) + rdmsr(0x839) + wrmsr(0x830, 0x40031) +
          u8(9) + u8(0) + u8(3) + u8(11) + u8(0x50) + u8(10) + rdmsr(0x80A) + wrmsr(0x828, 0))
    xapic = (head + u8(1) + mmio_w(0xF0, 0x1FF) + mmio_w(0x80, 0x20) + mmio_w(0x320, 0x40031) +
             wrmsr(0x6E0, 1500000) + u8(10) + mmio_r(0x100) + mmio_r(0x200) + mmio_w(0x300, 0x40031) +
             u8(5) + mmio_w(0xB0, 0) + mmio_w(0x310, 0x03000000) + mmio_w(0x300, 0x4031) +
             mmio_r(0x0A0) + mmio_r(0x022, 1) + mmio_w(0x3E0, 0xB) + mmio_w(0x380, 50) + u8(8) + u32(500) +
             mmio_r(0x390) + mmio_w(0xE0, 0x0FFFFFFF) + mmio_w(0xD0, 0x01000000) + mmio_w(0x300, 0x831))
    disable = (head + u8(0) + wrmsr(0x1B, 0xFEE00D00) + wrmsr(0x80F, 0x1FF) + wrmsr(0x83F, 0x80) +
               u8(5) + wrmsr(0x1B, 0xFEE00100) + wrmsr(0x1B, 0xFEE00900) + mmio_r(0xF0) +
               wrmsr(0x1B, 0xFEE00D00) + rdmsr(0x802))
    return {"x2apic_timer_ipi": x2, "xapic_mmio_deadline": xapic, "disable_reenable": disable}


# ---- vpci: [cfg][msi_ctrl:2][msix_ctrl:2][tsel]...[npatch][slot][refuse] ops -------------

def cfg_w(off, size_sel, val):
    return u8(3) + u8(0x40) + u8(off) + u8(size_sel) + u8(0x80) + u32(val)


def cfg_r(off, size_sel=0):
    return u8(2) + u8(0x40) + u8(off) + u8(size_sel)


def table_w(off, val, size_sel=0):
    return u8(0x0E) + u8(0x00) + u16(off) + u8(size_sel) + u8(1) + u64(val)


def vpci_seeds():
    nic = (u8(1 | 8) + u16(0x0080) + u16(4) + u8(2) + u8(0) + u8(2) + u8(0) +
           cfg_w(0x04, 2, 0x0007) + cfg_w(0x10, 0, 0xFFFFFFFF) + cfg_r(0x10) + cfg_w(0x10, 0, 0xFEB80000) +
           cfg_r(0x34, 1) + cfg_r(0x60) + cfg_w(0x62, 2, 0x8000) +
           table_w(0, 0xFEE00000) + table_w(8, 0x41, 1) + table_w(12, 0, 1) + table_w(16, 0x00000042FEE00000) +
           u8(0x06) + u8(0x80) + u16(0) + u8(0) +
           u8(1) + u8(0x08) + u8(0x10) + u8(0) + u8(0) + u8(0x04) + u8(0) +
           cfg_w(0x62, 2, 0xC000) + cfg_w(0x04, 2, 0) + u8(4) + u8(0x40) + u8(0x00) + u8(0))
    edu = (u8(0) + u16(0x0180) + u16(0) + u8(0) + u8(0) + u8(4) + u8(0) +
           cfg_w(0x04, 2, 0x0406) + cfg_r(0x40) + cfg_w(0x44, 0, 0xFEE00000) + cfg_w(0x48, 0, 0) +
           cfg_w(0x4C, 0, 0x41) + cfg_w(0x42, 2, 1) + cfg_w(0x50, 0, 1) + cfg_r(0x54) + cfg_w(0x50, 0, 0) +
           cfg_w(0x10, 0, 0xFFFFFFFF) + cfg_r(0x10) + cfg_w(0x10, 0, 0xFE000000) + cfg_w(0x42, 2, 0) +
           u8(0x0C) + u8(0x40) + u8(0x00) + u8(0) + u32(0))
    both = (u8(2 | 8) + u16(0x0180) + u16(1) + u8(2) + u8(0) + u8(6) + u8(0x55) +
            cfg_w(0x04, 2, 0x0003) + cfg_w(0x42, 2, 1) + cfg_w(0x62, 2, 0x8000) + cfg_w(0x42, 2, 0) +
            table_w(0, 0xFEE00000) + table_w(12, 0, 1) + cfg_w(0x10, 0, 0) + cfg_w(0x1C, 0, 0xFEC00000) +
            u8(7) + u8(0))
    return {"nic_msix": nic, "edu_msi": edu, "msi_and_msix": both}


# ---- exit: [code sel][code][buflen][info1:8] ops [op][msr sel][delta] -------------------

def exit_seeds():
    def msr_op(op, base_idx, delta):
        return u8(op) + u8(0x10 | base_idx) + u16(delta)
    ops = (msr_op(0x0C, 0, 0x80B) + msr_op(0x04, 1, 0x80) + msr_op(0x08, 2, 0x1FFF) +
           msr_op(0x02, 0, 0x80C) + msr_op(0x00, 0, 0x80B) + msr_op(0x0C, 3, 0))
    return {
        "ioio_in": u8(0) + u16(0x7B) + u8(32) + u64(0x03F80000 | 0x10 | 1) + ops,
        "npf": u8(0) + u16(0x400) + u8(8) + u64(0x0CF80000 | 0x40 | 4 | 8),
        "cr_excp": u8(0) + u16(0x4E) + u8(3) + u64(0x00F40000 | 0x20),
        "invalid": u8(1) + u64(0xFFFFFFFFFFFFFFFF) + u8(39) + u64(0),
    }


# ---- image: the image itself -------------------------------------------------------------

MB_MAGIC = 0x1BADB002


def elf64(entry, segs):
    """segs: (offset, paddr, data, memsz)"""
    phoff = 64
    eh = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack("<HHI", 2, 62, 1) +
          struct.pack("<QQQ", entry, phoff, 0) + struct.pack("<IHHHHHH", 0, 64, 56, len(segs), 64, 0, 0))
    ph = b"".join(struct.pack("<IIQQQQQQ", 1, 5, off, pa, pa, len(d), ms, 0x1000) for off, pa, d, ms in segs)
    img = bytearray(eh + ph)
    for off, _, d, _ in segs:
        if len(img) < off + len(d):
            img += bytes(off + len(d) - len(img))
        img[off:off + len(d)] = d
    return bytes(img)


def mb_header(flags, extra=b""):
    return u32(MB_MAGIC) + u32(flags) + u32(-(MB_MAGIC + flags)) + extra


def elf32_mb(entry, segs):
    phoff = 52
    eh = (b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8) + struct.pack("<HHI", 2, 3, 1) +
          struct.pack("<III", entry, phoff, 0) + struct.pack("<IHHHHHH", 0, 52, 32, len(segs), 40, 0, 0))
    ph = b"".join(struct.pack("<IIIIIIII", 1, off, pa, pa, len(d), ms, 5, 0x1000) for off, pa, d, ms in segs)
    img = bytearray(eh + ph)
    for off, _, d, _ in segs:
        if len(img) < off + len(d):
            img += bytes(off + len(d) - len(img))
        img[off:off + len(d)] = d
    return bytes(img)


def image_seeds():
    code = bytes([0xf4, 0xeb, 0xfd]) + bytes(13)
    aout_load = 0x100000
    hdr_off = 16
    aout = bytearray(0x200)
    aout[hdr_off:hdr_off + 32] = mb_header(1 << 16 | 3, u32(aout_load + hdr_off) + u32(aout_load) +
                                           u32(aout_load + 0x200) + u32(aout_load + 0x1000) +
                                           u32(aout_load + 0x100))
    aout[0x100:0x103] = bytes([0xf4, 0xeb, 0xfd])
    return {
        "elf64": elf64(0x100000, [(0x1000, 0x100000, code, 0x2000)]),
        "elf64_two": elf64(0x200010, [(0x200, 0x200000, code, 0x100), (0x300, 0x300000, code, 0x10)]),
        "elf32_multiboot": elf32_mb(0x100020, [(0x100, 0x100000, mb_header(3) + bytes(20) + code, 0x4000)]),
        "aout_kludge": bytes(aout),
        "header_only": mb_header(0),
    }


# ---- bootinfo: [magic sel][info off:2][cfg][namelen] then memory at 0x100000 -------------

MEM_BASE = 0x100000
MB_IF_CMDLINE, MB_IF_MODS, MB_IF_MMAP = 1 << 2, 1 << 3, 1 << 6


def mb_info(flags, cmdline, mods_count, mods_addr, mmap_length, mmap_addr):
    b = struct.pack("<IIIIIII", flags, 640, 130048, 0, cmdline, mods_count, mods_addr) + bytes(16)
    b += struct.pack("<II", mmap_length, mmap_addr)
    return b + bytes(116 - len(b))


def bootinfo_seeds():
    mem = bytearray(0x400)
    flags = MB_IF_CMDLINE | MB_IF_MODS | MB_IF_MMAP
    put(mem, 0, mb_info(flags, MEM_BASE + 0x200, 2, MEM_BASE + 0x100, 48, MEM_BASE + 0x80))
    put(mem, 0x80, struct.pack("<IQQI", 20, 0, 0x9FC00, 1) + struct.pack("<IQQI", 20, 0x100000, 0x7EE0000, 1))
    put(mem, 0x100, struct.pack("<IIII", 0x200000, 0x230000, MEM_BASE + 0x240, 0) +
        struct.pack("<IIII", 0x230000, 0x260000, MEM_BASE + 0x280, 0))
    put(mem, 0x200, b"build/eli.elf guest=boot_exit quiet\0")
    put(mem, 0x240, b"build/guests/boot_exit.elf a=1 b=2\0")
    put(mem, 0x280, b"demo.elf\0")
    plain = u8(0) + u16(0) + u8(0) + u8(16) + bytes(mem)
    # the same with offsets for addresses, relocated by the target (cfg bit 0)
    rel = bytearray(mem)
    put(rel, 0, mb_info(flags, 0x200, 2, 0x100, 48, 0x80))
    put(rel, 0x100, struct.pack("<IIII", 0x200000, 0x230000, 0x240, 0) +
        struct.pack("<IIII", 0x230000, 0x260000, 0x280, 0))
    reloc = u8(0) + u16(0) + u8(3) + u8(5) + bytes(rel)
    # info not at the start, no modules, memory map only
    mem2 = bytearray(0x100)
    put(mem2, 0x40, mb_info(MB_IF_MMAP, 0, 0, 0, 24, MEM_BASE + 0xC0))
    put(mem2, 0xC0, struct.pack("<IQQI", 20, 0, 0x80000000, 1))
    mmap_only = u8(0) + u16(0x40) + u8(0) + u8(0) + bytes(mem2)
    return {"cmdline_mmap_mods": plain, "relocated": reloc, "mmap_only": mmap_only}


# ---- cmdline: the command line -----------------------------------------------------------

def cmdline_seeds():
    return {
        "full": b"guest=boot_exit mem=64 tick=250 mode=eli quiet",
        "kernel_path": b"build/eli.elf guest=demo assign=00:03.0 mode=eli-delivery",
        "hex": b"guest=x mem=0x100 tick=10000 mode=baseline assign=0000:00:1f.7",
        "tabs": b"\tguest=a_b-c\t\tmem=3072 ",
    }


# ---- shadow: [host sel][nops][ctl g]...[page][offset:2][limit sel...][pages] -------------

def gate(handler, present=True):
    return (u16(handler) + u16(0x08) + u8(0) + u8(0x8E if present else 0x0E) + u16(handler >> 16) +
            u32(handler >> 32) + u32(0))


def shadow_seeds():
    idt = b"".join(gate(0xffffffff81000000 + v * 16, v not in (3, 0x42)) for v in range(256))
    maps = [(0, 0x41), (0, 0xF0), (0, 0xFE), (0, 0x30), (1, 0x30), (0, 0xF5)]
    body = u8(len(maps)) + b"".join(u8(c) + u8(g) for c, g in maps)
    one = u8(0) + body + u8(0x10) + u16(0x000) + u8(0) + idt
    two = u8(1) + u8(0x20) + body + u8(0x10) + u16(0x800) + u8(1) + bytes(0x800) + idt
    short = (u8(0xE2) + u8(0x40) + u8(2) + u8(0) + u8(0x40) + u8(0) + u8(0x41) + u8(0x05) + u16(0xFF0) +
             u8(0x80) + u32(0x21F) + idt)
    return {"one_page": one, "two_pages": two, "short_limit": short}


# ---- eli: [mode][cfg] ops -----------------------------------------------------------------

def eli_seeds():
    def assign(g): return u8(0) + u8(g)
    def raise_(i): return u8(1) + u8(i)
    def deliver(n=3): return u8(3) + u8(n)
    tick = u8(4)
    eoi = u8(5)
    def plan(can): return u8(6) + u8(can)
    def lapic(msr_idx, val_idx): return u8(10) + u8(msr_idx) + u8(val_idx)
    def time(dt): return u8(11) + u32(dt)
    flow = (assign(0x41) + assign(0x51) + plan(1) + raise_(0) + deliver() + plan(1) + eoi + plan(1) +
            tick + lapic(4, 17) + lapic(5, 20) + time(5000) + plan(1) + raise_(1) + deliver() + plan(1) +
            eoi + eoi + plan(1) + u8(9) + plan(1) + plan(1) + u8(12) + u8(1) + plan(1) + u8(12) + u8(0) +
            plan(0) + u8(13) + u8(0x33) + u8(0xF0) + plan(1) + eoi + plan(1))
    lidt = (u8(8) + u8(2) + u32(0x20000) + u16(0x1FF) + plan(1) + u8(8) + u8(4) + u32(0x3000) + plan(1) +
            u8(8) + u8(1) + plan(1) + u8(8) + u8(0) + u32(0x10008) + plan(1))
    seeds = {}
    for mode, name in ((0, "baseline"), (1, "eli_delivery"), (2, "eli")):
        seeds[f"{name}_flow"] = u8(mode) + u8(3) + flow
    seeds["lidt_variants"] = u8(2) + u8(3) + assign(0x60) + lidt
    seeds["xapic_guest"] = (u8(1) + u8(2) + lapic(0, 0) + assign(0x70) + plan(1) + raise_(0) + deliver() +
                            eoi + plan(1) + lapic(1, 6) + plan(1) + raise_(0) + deliver() + plan(1) + eoi)
    # regressions, found by this fuzzer:
    # guest vector 0xF5 carried as physical 0xF5, in eli's timer class ([host-flow])
    seeds["regress_host_class"] = u8(2) + u8(3) + assign(0xF5) + plan(1) + raise_(0) + deliver() + tick
    # an assigned vector eli took (0x51) in service above a direct one (0x41): the
    # guest's EOI of 0x41 must not end 0x51 ([eoi-view], [phys-eoi])
    seeds["regress_eoi_order"] = (u8(2) + u8(3) + assign(0x41) + assign(0x51) + plan(1) + raise_(0) + tick +
                                  lapic(3, 6) + raise_(1) + plan(1) + eoi + tick + eoi + eoi + eoi + plan(1) + eoi)
    # many vectors: eli's class 15 and the top classes fill, remapped vectors cross classes
    seeds["many_vectors"] = (u8(2) + u8(3) + u8(13) + u8(0xC0) + u8(47) + u8(13) + u8(0xF0) + u8(16) + plan(1) +
                             raise_(3) + raise_(40) + raise_(60) + deliver() + plan(1) + eoi + lapic(1, 4) +
                             plan(1) + eoi + eoi + lapic(1, 3) + plan(1) + eoi)
    return seeds


# ---- crashes: reproducers of the bugs found in hv/, tests/fuzz/crashes/NAME/ -------------

CRASHES = OUT.parent / "crashes"


def crashes():
    """Hand-made reproducers of what the fuzzers found (their README says what each shows)."""
    # bootinfo: the module list at a misaligned address (mods_addr = base + 0x101)
    mem = bytearray(0x400)
    put(mem, 0, mb_info(MB_IF_CMDLINE | MB_IF_MODS | MB_IF_MMAP, MEM_BASE + 0x200, 1, MEM_BASE + 0x101, 24,
                        MEM_BASE + 0x80))
    put(mem, 0x80, struct.pack("<IQQI", 20, 0x100000, 0x7EE0000, 1))
    put(mem, 0x101, struct.pack("<IIII", 0x200000, 0x230000, MEM_BASE + 0x240, 0))
    put(mem, 0x200, b"eli.elf guest=demo\0")
    put(mem, 0x240, b"demo.elf\0")
    bootinfo = u8(0) + u16(0) + u8(0) + u8(16) + bytes(mem)
    # eli: mode eli, x2APIC guest; guest vector 0x73 arrives while eli runs (taken by
    # eli's IDT, physical ISR 0x73, virtual IRR 0x73), then the guest writes
    # IA32_APIC_BASE = 0 (APIC off): the virtual IRR is cleared, the physical 0x73
    # stays in service for good
    eli = (u8(0) + u8(1) + u8(0) + u8(0x73) + u8(1) + u8(0) + u8(3) + u8(0) +
           u8(10) + u8(2) + u8(3))
    # eli: mode eli, x2APIC guest with a 64-bit IDT. 0x24 and then 0x41 arrive while eli
    # runs (both taken by eli's IDT); 0x24 is injected, the guest EOIs it while 0x41 is
    # above it physically (its EOI is owed, e->ended); the guest software-disables its
    # APIC (SVR = 0x40), so 0x41 in its IRR no longer counts as pending: eli_plan goes
    # direct with the EOI passed through, and the guest's next EOI ends 0x41 physically.
    # Nothing is left above 0x24 to release its owed EOI: it stays in service for good.
    owed = (u8(2) + u8(3) + u8(0) + u8(0x41) + u8(0) + u8(0x24) + u8(1) + u8(1) + u8(4) + u8(6) + u8(1) +
            u8(1) + u8(0) + u8(4) + u8(5) + u8(10) + u8(0) + u8(5) + u8(6) + u8(1) + u8(5))
    return {"bootinfo": {"misaligned_module_list": bootinfo},
            "eli": {"stuck_isr_apic_disable": eli, "owed_eoi_svr_disable": owed}}


def write_crashes():
    for name, files in crashes().items():
        d = CRASHES / name
        d.mkdir(parents=True, exist_ok=True)
        for fname, data in files.items():
            (d / fname).write_bytes(data)


def main():
    write_crashes()
    write("decode", decode_seeds())
    write("gwalk", gwalk_seeds())
    write("vlapic", vlapic_seeds())
    write("vpci", vpci_seeds())
    write("exit", exit_seeds())
    write("image", image_seeds())
    write("bootinfo", bootinfo_seeds())
    write("cmdline", cmdline_seeds())
    write("shadow", shadow_seeds())
    write("eli", eli_seeds())


if __name__ == "__main__":
    main()
