; SPDX-License-Identifier: MIT
; trampoline.asm - AP trampoline. kernel/smp.c copies [trampoline_start, trampoline_end) to
; TRAMPOLINE_BASE (below 1 MiB, page aligned) and fills the parameter block at
; its start; the two counters the APs write are on the next page. A SIPI with
; vector TRAMPOLINE_BASE >> 12 starts each AP here in real mode with
; CS = TRAMPOLINE_BASE >> 4, IP = 0.
;
; Each AP: real mode -> protected mode -> long mode with the BSP's page tables,
; takes the next free stack slot with one atomic add, and jumps to ap_entry64.
; Everything else (its own GDT, IDT, GS base, APIC mode) is done in C.

%include "layout.inc"

%include "cpu_regs.inc"

%define T(label) (TRAMPOLINE_BASE + (label) - trampoline_start)

section .rodata
global trampoline_start, trampoline_end
align 16
trampoline_start:
        jmp short tramp_code            ; 2 bytes, then the parameter block
        times TRAMP_PARAMS_START - ($ - trampoline_start) db 0
        times TRAMP_PARAMS_SIZE - TRAMP_PARAMS_START db 0
%if TRAMP_OFF_CR3 < TRAMP_PARAMS_START || TRAMP_OFF_STACKS + 8 > TRAMP_PARAMS_SIZE
%error "trampoline parameters overlap its first jump or run past the block"
%endif
%if TRAMP_OFF_COUNTER < TRAMP_DATA_OFFSET || TRAMP_OFF_ARRIVED + 4 > TRAMP_DATA_OFFSET + TRAMP_DATA_SIZE
%error "the APs' counters must be on the page after the code"
%endif

bits 16
tramp_code:
        cli
        cld
        mov ax, cs
        mov ds, ax
        lock inc dword [TRAMP_OFF_ARRIVED]  ; tells the BSP this AP took the SIPI
        lgdt [tramp_gdt_ptr - trampoline_start]
        mov eax, cr0
        or eax, CR0_PE
        mov cr0, eax
        jmp dword 0x08:T(tramp_pm)

bits 32
tramp_pm:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        ENTER_LONG_MODE [T(trampoline_start) + TRAMP_OFF_CR3]
        jmp 0x18:T(tramp_lm)

bits 64
tramp_lm:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        ; Slot = arrival order. The atomic add is the only shared write here, so
        ; any number of APs may run this code at once.
        mov eax, 1
        lock xadd [T(trampoline_start) + TRAMP_OFF_COUNTER], eax
        inc eax                         ; stacks grow down: slot n uses [n*S, (n+1)*S)
        imul rax, rax, AP_STACK_SIZE
        add rax, [T(trampoline_start) + TRAMP_OFF_STACKS]
        mov rsp, rax
        xor rbp, rbp
        mov rax, [T(trampoline_start) + TRAMP_OFF_ENTRY]
        jmp rax

align 16
tramp_gdt:
        dq 0                            ; null
        dq 0x00CF9A000000FFFF           ; 0x08: 32-bit code
        dq 0x00CF92000000FFFF           ; 0x10: data
        dq 0x00AF9A000000FFFF           ; 0x18: 64-bit code
tramp_gdt_end:
tramp_gdt_ptr:
        dw tramp_gdt_end - tramp_gdt - 1
        dd T(tramp_gdt)
trampoline_end:
; The code must end before the counters' page (TRAMP_DATA_OFFSET): a
; negative count is an assembly error.
        times -((trampoline_end - trampoline_start) > TRAMP_DATA_OFFSET) db 0

section .note.GNU-stack noalloc noexec nowrite progbits
