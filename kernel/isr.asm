; SPDX-License-Identifier: MIT
; isr.asm - interrupt entry stubs for all 256 vectors. Each stub makes the stack look the
; same (error code, vector), then trap_common saves the general registers in a
; struct trap_frame (kernel/trap.h) and calls trap_dispatch(frame).

%macro STUB_NOERR 1
isr_stub_%1:
        push qword 0
        push qword %1
        jmp trap_common
%endmacro

%macro STUB_ERR 1
isr_stub_%1:
        push qword %1                   ; the CPU pushed the error code
        jmp trap_common
%endmacro

section .text
bits 64

; Vectors for which the CPU pushes an error code (Intel SDM Vol. 3, Table 6-1).
%assign v 0
%rep 256
%if v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30
        STUB_ERR v
%else
        STUB_NOERR v
%endif
%assign v v + 1
%endrep

extern trap_dispatch
trap_common:
        push rax
        push rbx
        push rcx
        push rdx
        push rsi
        push rdi
        push rbp
        push r8
        push r9
        push r10
        push r11
        push r12
        push r13
        push r14
        push r15
        cld
        mov rdi, rsp
        ; Align the stack for the C call; the frame pointer is kept in rbx.
        mov rbx, rsp
        and rsp, -16
        call trap_dispatch
        mov rsp, rbx
        pop r15
        pop r14
        pop r13
        pop r12
        pop r11
        pop r10
        pop r9
        pop r8
        pop rbp
        pop rdi
        pop rsi
        pop rdx
        pop rcx
        pop rbx
        pop rax
        add rsp, 16                     ; vector and error code
        iretq

section .rodata
global isr_stub_table
align 8
isr_stub_table:
%assign v 0
%rep 256
        dq isr_stub_ %+ v
%assign v v + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
