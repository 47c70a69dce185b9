/*
 * Entry points of a test guest.
 *
 * start32: multiboot v1 entry (32-bit protected mode, paging off, EAX = magic, EBX = info),
 *          used by QEMU -kernel, GRUB and eli's multiboot start.
 * start64: eli's 64-bit entry (docs/guest-abi.md: long mode, RAX = magic, RBX = RDI = info).
 *
 * Both switch to the guest's own GDT, page tables and stack, so nothing the loader built is
 * used after the first instructions, then meet in common64, which calls
 * guest_start(magic, info) in C.
 */

#define MB_HEADER_MAGIC      0x1BADB002
#define MB_FLAG_PAGE_ALIGN   0x00000001	/* modules page aligned */
#define MB_FLAG_MEMORY_INFO  0x00000002	/* mem_lower/mem_upper and the memory map */
#define MB_HEADER_FLAGS      (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO)

#define SEL_CODE64  0x08
#define SEL_DATA    0x10

#define CR0_MP      0x00000002
#define CR0_NE      0x00000020
#define CR0_WP      0x00010000
#define CR0_PG      0x80000000
#define CR4_PAE     0x00000020
#define MSR_EFER    0xC0000080
#define EFER_LME    0x00000100

#define PTE_P       0x001
#define PTE_W       0x002
#define PTE_PWT     0x008
#define PTE_PCD     0x010
#define PTE_PS      0x080	/* 2 MiB page in a page directory */
#define PAGE_2M     0x200000

#define STACK_SIZE  0x4000

/* The multiboot header; guest.ld puts it first so it lies within the file's first 8 KiB. */
	.section .multiboot, "a"
	.balign 4
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

	.section .text.start, "ax"

	.code32
	.globl start32
	.type start32, @function
start32:
	cld
	/* Keep the loader's arguments in the registers guest_start takes them in. */
	movl %eax, %edi
	movl %ebx, %esi
	movl $stack_top, %esp

	lgdt gdt_descriptor
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss

	/* Long mode = PAE paging + EFER.LME + CR0.PG; then a far jump into a 64-bit segment. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP | CR0_NE | CR0_MP), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $start32_long
	.size start32, . - start32

	.code64
start32_long:
	/* The upper halves of registers are undefined after the switch to 64-bit mode. */
	movl %edi, %edi
	movl %esi, %esi
	jmp common64

	.globl start64
	.type start64, @function
start64:
	cld
	movl %eax, %edi			/* magic */
	movq %rbx, %rsi			/* info (RBX = RDI per the ABI) */
	leaq stack_top(%rip), %rsp

	lgdt gdt_descriptor(%rip)
	pushq $SEL_CODE64
	leaq 1f(%rip), %rcx
	pushq %rcx
	lretq				/* reload CS from our own GDT */
1:	movl $SEL_DATA, %ecx
	movl %ecx, %ds
	movl %ecx, %es
	movl %ecx, %fs
	movl %ecx, %gs
	movl %ecx, %ss
	/* Our tables map the same identity as the loader's, so switching is seamless. */
	leaq pml4(%rip), %rcx
	movq %rcx, %cr3
	jmp common64
	.size start64, . - start64

/* EDI = magic, RSI = info pointer, RSP = our stack (still empty). */
common64:
	movl %edi, %r12d
	movq %rsi, %r13
	/* Zero .bss ourselves rather than trust every loader; the stack lives there but is empty. */
	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movl %r12d, %edi
	movq %r13, %rsi
	call guest_start
2:	cli
	hlt
	jmp 2b

/* Flat GDT with docs/guest-abi.md's selectors; accessed bits preset: the CPU never writes it. */
	.section .data, "aw"
	.balign 16
gdt:
	.quad 0
	.quad 0x00AF9B000000FFFF	/* 0x08: 64-bit code (L = 1), DPL 0 */
	.quad 0x00CF93000000FFFF	/* 0x10: flat 4 GiB read/write data, DPL 0 */
gdt_end:
	.balign 8
gdt_descriptor:
	.word gdt_end - gdt - 1
	.quad gdt			/* lgdt in 32-bit mode reads only the low 4 bytes: fine below 4 GiB */

/*
 * Page tables identity-mapping the first 4 GiB with 2 MiB pages, built at assembly time so both
 * entries can use them as they are. The fourth GiB holds the PC's device windows (APIC, IOAPIC,
 * PCI BARs, firmware), so it is mapped uncached like an ordinary OS would.
 */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad pdpt + (PTE_P | PTE_W)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + (PTE_P | PTE_W)
	.quad pd + 0x1000 + (PTE_P | PTE_W)
	.quad pd + 0x2000 + (PTE_P | PTE_W)
	.quad pd + 0x3000 + (PTE_P | PTE_W)
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 3 * 512
	.quad page + (PTE_P | PTE_W | PTE_PS)
	.set page, page + PAGE_2M
	.endr
	.rept 512
	.quad page + (PTE_P | PTE_W | PTE_PS | PTE_PWT | PTE_PCD)
	.set page, page + PAGE_2M
	.endr

	.section .bss, "aw", @nobits
	.balign 16
stack:
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
