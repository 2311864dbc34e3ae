; SPDX-License-Identifier: MIT
; tiny.asm - a minimal Multiboot v1 guest for testing the nested bed
; (tools/nested/nested-run.sh) without the real pvspin image.
;
; Build, from the top of the tree (tools/pvspin/floors.py does it):
;   nasm -f bin -I tests/nested/ -o tiny.elf tests/nested/tiny.asm (a flat image with the Multiboot
; "a.out kludge": the header carries the load addresses, so no linker is needed.)
;
; Behaviour, in 32-bit protected mode as Multiboot leaves it:
;   - prints "tiny: hello" and the hypervisor CPUID leaves over COM1:
;       "tiny: hv=<12-char signature of 0x40000000> feat=<EAX of 0x40000001 in hex>"
;   - prints a line of awkward bytes (NUL, ESC, 0xFF, a lone CR) so callers can
;     check that the output path is byte-exact
;   - prints the KTAP-like line "ok 1 tiny"
;   - kernel command line "hang"   : never exits (to test timeouts)
;     kernel command line "exit=D" : exits with value D (one decimal digit)
;     otherwise                    : exits with value 0
;     Exit is a 32-bit write to isa-debug-exit at port 0xf4, so QEMU's
;     status is (D << 1) | 1.
;
; make bench-boot's unit costs assemble it with one of (nasm -D, default 0):
;   EXTRA_BLOCKS=N    N more distinct code blocks of 5 instructions, run once
;   EXTRA_BYTES=N     N more bytes of serial output (one line of dots)
;   EXTRA_IMAGE_KB=N  N KiB more .bss, which the loader copies like the rest
; The blocks and the bytes come after the first line, so that they fall
; between the first serial byte and the last line.

bits 32

%include "mb_guest.inc"

MB_INFO_CMDLINE equ 1 << 2              ; mbi.flags bit: cmdline present
MBI_FLAGS       equ 0                   ; offsets in the Multiboot info
MBI_CMDLINE     equ 16

STACK_SIZE      equ 4096

CPUID_HV_BASE   equ 0x40000000
CPUID_HV_FEAT   equ 0x40000001

        MB_HEADER

start:
        cli
        mov esp, stack_top
        mov [mbi_ptr], ebx

        mov esi, msg_hello
        call puts

%ifdef EXTRA_BLOCKS
%assign blk 0
%rep EXTRA_BLOCKS
        add eax, 1
        add ebx, eax
        xor ecx, ebx
        ror edx, 3
        jmp extra_block_%[blk]          ; ends the block: each is translated on its own
extra_block_%[blk]:
%assign blk blk + 1
%endrep
%endif
%ifdef EXTRA_BYTES
%if EXTRA_BYTES < 2
%error "EXTRA_BYTES: at least 2 (the dots and their newline)"
%endif
        mov ecx, EXTRA_BYTES - 1
.dots:  mov al, '.'
        call putc
        loop .dots
        mov al, 10
        call putc
%endif

        ; hypervisor signature and features
        mov eax, CPUID_HV_BASE
        cpuid
        mov [sig], ebx
        mov [sig + 4], ecx
        mov [sig + 8], edx
        mov esi, msg_hv
        call puts
        mov esi, sig
        call puts
        mov esi, msg_feat
        call puts
        mov eax, CPUID_HV_FEAT
        cpuid
        call puthex
        mov al, 10
        call putc

        ; awkward bytes, written one by one (the string holds a NUL)
        mov esi, raw_bytes
        mov ecx, raw_bytes_len
.raw:   mov al, [esi]
        call putc
        inc esi
        loop .raw

        mov esi, msg_ok
        call puts

        ; command line: "hang" or "exit=D"
        xor edx, edx                    ; exit value
        mov ebx, [mbi_ptr]
        test dword [ebx + MBI_FLAGS], MB_INFO_CMDLINE
        jz .exit
        mov esi, [ebx + MBI_CMDLINE]
.scan:  mov al, [esi]
        test al, al
        jz .exit
        cmp dword [esi], 'hang'
        je .hang
        cmp dword [esi], 'exit'
        jne .next
        cmp byte [esi + 4], '='
        jne .next
        movzx edx, byte [esi + 5]
        sub edx, '0'
        jmp .exit
.next:  inc esi
        jmp .scan

.exit:  mov eax, edx
        mov dx, DEBUG_EXIT_PORT
        out dx, eax
.hang:  hlt
        jmp .hang

        COM1_ROUTINES

; puthex: EAX as 8 hex digits
puthex:
        push ecx
        push ebx
        mov ebx, eax
        mov ecx, 8
.digit: rol ebx, 4
        mov eax, ebx
        and eax, 0xF
        mov al, [hexdigits + eax]
        call putc
        loop .digit
        pop ebx
        pop ecx
        ret

msg_hello:  db "tiny: hello", 10, 0
msg_hv:     db "tiny: hv=", 0
msg_feat:   db " feat=", 0
msg_ok:     db "ok 1 tiny", 10, 0
hexdigits:  db "0123456789abcdef"
raw_bytes:  db "tiny: raw", 9, 0, 1, 27, 0x7F, 0xFF, 13, 13, 10
raw_bytes_len equ $ - raw_bytes
sig:        times 12 db 0
            db 0
image_end:

section .bss
        alignb 16
mbi_ptr:    resd 1
stack:      resb STACK_SIZE
stack_top:
%ifdef EXTRA_IMAGE_KB
        resb EXTRA_IMAGE_KB * 1024
%endif
bss_end:
