; SPDX-License-Identifier: MIT
; floor_smp.asm - make bench-boot's SMP floor: the least a guest does to bring every AP to long mode.
;
; Build, from the top of the tree (tools/pvspin/floors.py does it):
;   nasm -f bin -I tests/nested/ -o floor_smp.elf tools/bench/floor_smp.asm (a flat Multiboot v1 image
; with the "a.out kludge", as tests/nested/tiny.asm).
;
; The BSP, in the 32-bit protected mode Multiboot leaves it in, reads the
; number of CPUs from QEMU's fw_cfg, copies the AP start-up code below 1 MiB
; and sends one SIPI to all but itself: under TCG, qboot (bench-boot's
; firmware) leaves its APs waiting for one (SeaBIOS parks them in a HLT
; loop, and KVM's in-kernel APIC needs an INIT first: there they are
; reported missing). Each AP goes from real mode through
; protected mode to long mode with paging, counts itself with a locked add
; and halts. Once every AP has counted, the BSP prints
;   ok 1 floor-smp aps=N
; and exits through isa-debug-exit (port 0xf4) with 0: QEMU's status 1.
; If they do not all count within WAIT_LOOPS pauses it prints
;   not ok 1 floor-smp aps=K of N
; and exits with 1 (QEMU's status 3). Nothing else: no ACPI, no APIC set-up,
; no per-CPU memory, so what it costs beyond tests/nested/tiny.asm is QEMU's
; own price of starting the APs.

bits 32

%include "mb_guest.inc"

TRAMPOLINE      equ 0x8000              ; SIPI vector = TRAMPOLINE >> 12
STACK_SIZE      equ 4096
WAIT_LOOPS      equ 1 << 26             ; PAUSEs before the BSP gives up (seconds under TCG)

FW_CFG_PORT_SEL  equ 0x510              ; QEMU's fw_cfg, I/O port interface
FW_CFG_PORT_DATA equ 0x511
FW_CFG_NB_CPUS   equ 0x05               ; u16, little endian: CPUs present

APIC_ICR_LOW    equ 0xFEE00300          ; xAPIC at its reset base
APIC_ICR_HIGH   equ 0xFEE00310
ICR_DM_STARTUP  equ 6 << 8
ICR_LEVEL_ASSERT equ 1 << 14
ICR_ALL_BUT_SELF equ 3 << 18

CR0_PE          equ 1 << 0
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xC0000080
EFER_LME        equ 1 << 8
PTE_P           equ 1 << 0
PTE_W           equ 1 << 1
PTE_PS          equ 1 << 7

SEL_CODE32      equ 0x08
SEL_DATA        equ 0x10
SEL_CODE64      equ 0x18

; An address in the trampoline's copy at TRAMPOLINE.
%define T(label) (TRAMPOLINE + (label) - trampoline_start)

        MB_HEADER

start:
        cli
        cld
        mov esp, stack_top

        mov dx, FW_CFG_PORT_SEL
        mov ax, FW_CFG_NB_CPUS
        out dx, ax
        mov dx, FW_CFG_PORT_DATA
        in al, dx
        movzx ebx, al
        in al, dx
        movzx eax, al
        shl eax, 8
        or ebx, eax
        dec ebx                         ; EBX: APs to wait for
        mov [aps_expected], ebx

        mov esi, trampoline_start
        mov edi, TRAMPOLINE
        mov ecx, trampoline_end - trampoline_start
        rep movsb

        test ebx, ebx
        jz .all_in
        mov dword [APIC_ICR_HIGH], 0
        mov dword [APIC_ICR_LOW], ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_DM_STARTUP | (TRAMPOLINE >> 12)
        mov ecx, WAIT_LOOPS
.wait:  cmp [aps_arrived], ebx
        je .all_in
        pause
        loop .wait

        mov esi, msg_not_ok             ; not all of them within WAIT_LOOPS
        call puts
        mov eax, [aps_arrived]
        call putdec
        mov esi, msg_of
        call puts
        mov eax, [aps_expected]
        call putdec
        mov al, 10
        call putc
        mov eax, 1
        jmp exit

.all_in:
        mov esi, msg_ok
        call puts
        mov eax, [aps_expected]
        call putdec
        mov al, 10
        call putc
        xor eax, eax

exit:   mov dx, DEBUG_EXIT_PORT
        out dx, eax
.hang:  hlt
        jmp .hang

        COM1_ROUTINES

; putdec: EAX in decimal
putdec:
        push ebx
        push ecx
        push edx
        mov ebx, 10
        xor ecx, ecx
.div:   xor edx, edx
        div ebx
        push edx
        inc ecx
        test eax, eax
        jnz .div
.out:   pop eax
        add al, '0'
        call putc
        loop .out
        pop edx
        pop ecx
        pop ebx
        ret

; The APs' start-up code, run from its copy at TRAMPOLINE.
align 8
trampoline_start:
bits 16
        cli
        xor ax, ax
        mov ds, ax
        o32 lgdt [T(tramp_gdt_ptr)]
        mov eax, cr0
        or eax, CR0_PE
        mov cr0, eax
        jmp dword SEL_CODE32:T(tramp_pm)
bits 32
tramp_pm:
        mov ax, SEL_DATA
        mov ds, ax
        mov ss, ax
        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, pml4
        mov cr3, eax
        mov ecx, MSR_EFER
        rdmsr
        or eax, EFER_LME
        wrmsr
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp SEL_CODE64:T(tramp_lm)
bits 64
tramp_lm:
        lock inc dword [aps_arrived]
.halt:  cli
        hlt
        jmp .halt
align 8
tramp_gdt:
        dq 0                            ; null
        dq 0x00CF9A000000FFFF           ; SEL_CODE32
        dq 0x00CF92000000FFFF           ; SEL_DATA
        dq 0x00AF9A000000FFFF           ; SEL_CODE64
tramp_gdt_ptr:
        dw tramp_gdt_ptr - tramp_gdt - 1
        dd T(tramp_gdt)
trampoline_end:

msg_ok:     db "ok 1 floor-smp aps=", 0
msg_not_ok: db "not ok 1 floor-smp aps=", 0
msg_of:     db " of ", 0

; Identity map of the first 2 MiB (the image, the trampoline, the counter)
; for the APs' long mode, one 2 MiB page.
align 4096
pml4:   dq pdpt + PTE_P + PTE_W
        times 511 dq 0
pdpt:   dq pd + PTE_P + PTE_W
        times 511 dq 0
pd:     dq 0 + PTE_P + PTE_W + PTE_PS
        times 511 dq 0
aps_arrived:  dd 0
aps_expected: dd 0
image_end:

section .bss
        alignb 16
stack:      resb STACK_SIZE
stack_top:
bss_end:
