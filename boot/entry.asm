; SPDX-License-Identifier: MIT
; entry.asm - pvspin boot entry: Multiboot v1 and v2 headers, 32-bit entry, identity-mapped
; page tables for the low 4 GiB, switch to long mode, call kmain().
;
; Loaders:  QEMU -kernel (Multiboot v1, from the ELF32 image build/pvspin.elf)
;           GRUB multiboot2 (from the ISO).
; Both enter _start in 32-bit protected mode, paging off, EAX = loader magic,
; EBX = physical address of the boot information.
;           PVH (the Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY: QEMU -kernel of
;           build/pvspin-pvh.elf, Cloud Hypervisor, Firecracker) enters
;           pvh_start the same way but with only EBX defined (the hvm_start_info);
;           it puts the start_info magic in EAX and joins _start (docs/boot.md).

%include "layout.inc"      ; generated from lib/layout.h

MB1_MAGIC          equ 0x1BADB002
MB1_FLAG_PAGEALIGN equ 1 << 0
MB1_FLAG_MEMINFO   equ 1 << 1
MB1_FLAGS          equ MB1_FLAG_PAGEALIGN | MB1_FLAG_MEMINFO

MB2_MAGIC          equ 0xE85250D6
MB2_ARCH_I386      equ 0
MB2_TAG_END        equ 0

%include "cpu_regs.inc"

CPUID_EXT_MAX      equ 0x80000000
CPUID_EXT_FEATURES equ 0x80000001
CPUID_EDX_LM       equ 1 << 29

COM1 equ 0x3F8

; PVH: Xen's public elfnote.h and arch-x86/hvm/start_info.h.
XEN_ELFNOTE_PHYS32_ENTRY equ 18
PVH_START_MAGIC          equ 0x336ec578  ; hvm_start_info.magic, also in kernel/multiboot.h

section .multiboot progbits alloc noexec nowrite align=8
align 4
mb1_header:
        dd MB1_MAGIC
        dd MB1_FLAGS
        dd -(MB1_MAGIC + MB1_FLAGS)

align 8
mb2_header:
        dd MB2_MAGIC
        dd MB2_ARCH_I386
        dd mb2_header_end - mb2_header
        dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
        ; end tag
        dw MB2_TAG_END
        dw 0
        dd 8
mb2_header_end:

; The PVH entry note: name "Xen", type 18, the 32-bit physical entry address.
; The descriptor is 8 bytes (the address zero-extended): QEMU reads a 64-bit
; value from an ELF64 image and a 32-bit one from an ELF32 image.
section .note.Xen note alloc noexec nowrite align=4
        dd 4                            ; name size, with its NUL
        dd 8                            ; descriptor size
        dd XEN_ELFNOTE_PHYS32_ENTRY
        db "Xen", 0
        dq pvh_start

section .data
global boot_tsc, boot_mb_magic, boot_mb_info
align 8
boot_tsc:       dq 0    ; TSC at the first instruction of the BSP
boot_mb_magic:  dd 0
boot_mb_info:   dd 0

; Boot GDT: used until each CPU loads its own (kernel/gdt.c).
align 16
gdt64:
        dq 0                            ; null
        dq 0x00AF9A000000FFFF           ; 0x08: 64-bit code, DPL 0
        dq 0x00CF92000000FFFF           ; 0x10: data, DPL 0
gdt64_end:
gdt64_ptr:
        dw gdt64_end - gdt64 - 1
        dq gdt64

section .bss
align 4096
global boot_pml4
boot_pml4:  resb 4096
boot_pdpt:  resb 4096
boot_pd:    resb 4096 * IDMAP_GIB
align 16
boot_stack: resb BOOT_STACK_SIZE
boot_stack_top:

section .text
bits 32
global _start
_start:
        cli
        mov esi, eax                    ; loader magic
        mov edi, ebx                    ; boot information
        rdtsc
        mov [boot_tsc], eax
        mov [boot_tsc + 4], edx
        mov [boot_mb_magic], esi
        mov [boot_mb_info], edi
        mov esp, boot_stack_top

        ; No long mode: say so on COM1 and stop (nothing else can report it).
        mov eax, CPUID_EXT_MAX
        cpuid
        cmp eax, CPUID_EXT_FEATURES
        jb .no_long_mode
        mov eax, CPUID_EXT_FEATURES
        cpuid
        test edx, CPUID_EDX_LM
        jz .no_long_mode

        ; Zero .bss (page tables, stacks, per-CPU data).
        extern __bss_start, __bss_end
        mov edi, __bss_start
        mov ecx, __bss_end
        sub ecx, edi
        shr ecx, 2
        xor eax, eax
        rep stosd

        ; PML4[0] -> PDPT; PDPT[0..IDMAP_GIB-1] -> PDs of 2 MiB pages.
        mov eax, boot_pdpt
        or eax, PTE_P | PTE_W
        mov [boot_pml4], eax
        mov ecx, 0
.fill_pdpt:
        mov eax, ecx
        shl eax, 12
        add eax, boot_pd
        or eax, PTE_P | PTE_W
        mov [boot_pdpt + ecx * 8], eax
        inc ecx
        cmp ecx, IDMAP_GIB
        jb .fill_pdpt

        ; PD entries: physical = index * 2 MiB. The top MMIO window (local APIC,
        ; IOAPIC, HPET, firmware) is mapped uncached.
        xor ecx, ecx
.fill_pd:
        mov eax, ecx
        shl eax, 21
        mov edx, eax
        or eax, PTE_P | PTE_W | PTE_PS
        cmp edx, MMIO_UC_BASE
        jb .cached
        or eax, PTE_PWT | PTE_PCD
.cached:
        mov [boot_pd + ecx * 8], eax
        mov dword [boot_pd + ecx * 8 + 4], 0
        inc ecx
        cmp ecx, IDMAP_GIB * 512
        jb .fill_pd

        ENTER_LONG_MODE boot_pml4
        lgdt [gdt64_ptr]
        jmp 0x08:long_mode_entry

.no_long_mode:
        mov esi, no_lm_msg
.putc:
        lodsb
        test al, al
        jz .halt
        mov dx, COM1
        out dx, al
        jmp .putc
.halt:
        hlt
        jmp .halt

; PVH entry: 32-bit protected mode, paging off, EBX = hvm_start_info. The
; loader's GDT may be gone (the PVH ABI), so no segment register is loaded
; until long_mode_entry has ours; nor is the direction flag promised clear.
pvh_start:
        cld
        mov eax, PVH_START_MAGIC
        jmp _start

no_lm_msg: db "pvspin: this CPU has no long mode (CPUID 0x80000001 EDX.LM=0)", 13, 10, 0

bits 64
long_mode_entry:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        xor ax, ax
        mov fs, ax
        mov gs, ax
        mov rsp, boot_stack_top
        xor rbp, rbp
        extern kmain
        call kmain
.hang:
        cli
        hlt
        jmp .hang

section .note.GNU-stack noalloc noexec nowrite progbits
