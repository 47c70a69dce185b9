/* eli entry: multiboot v1 (32-bit protected mode, paging off) to long mode.
 * Builds an identity map of the first 4 GiB with 2 MiB pages, loads a
 * temporary GDT and jumps to 64-bit code, which calls kmain(magic, mbi). */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003           /* page-align modules, memory info */
#define STACK_SIZE 0x8000

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    cli
    mov %eax, %edi                  /* multiboot magic */
    mov %ebx, %esi                  /* multiboot info */
    mov $boot_stack_top, %esp

    /* PML4[0] -> PDPT, PDPT[0..3] -> PD[0..3], 2048 2 MiB pages */
    mov $boot_pml4, %eax
    mov $boot_pdpt, %ebx
    or $3, %ebx
    mov %ebx, (%eax)
    mov $boot_pdpt, %eax
    mov $boot_pd, %ebx
    or $3, %ebx
    mov $4, %ecx
1:  mov %ebx, (%eax)
    add $8, %eax
    add $0x1000, %ebx
    loop 1b
    mov $boot_pd, %eax
    xor %ebx, %ebx                  /* physical address low 32 bits */
    xor %edx, %edx                  /* high 32 bits */
    mov $2048, %ecx
2:  mov %ebx, %ebp
    or $0x83, %ebp                  /* P | RW | PS */
    mov %ebp, (%eax)
    mov %edx, 4(%eax)
    add $8, %eax
    add $0x200000, %ebx
    adc $0, %edx
    loop 2b

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax                  /* PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx           /* EFER */
    rdmsr
    or $0x100, %eax                 /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax            /* PG | WP | PE */
    mov %eax, %cr0
    lgdt boot_gdtr
    ljmp $0x08, $long_entry

    .code64
long_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp
    /* edi = magic, esi = info: already the first two arguments */
    call kmain
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .align 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: data */
boot_gdt_end:
boot_gdtr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .align 4096
    .globl boot_pml4
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * 4
    .globl boot_stack_top
boot_stack: .skip STACK_SIZE
boot_stack_top:
    .section .note.GNU-stack, "", @progbits
