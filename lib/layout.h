/* SPDX-License-Identifier: MIT */
/* layout.h - memory layout and boot constants shared by C and NASM.
 * The Makefile turns every #define here into build/layout.inc for the
 * assembler, so both languages read the same numbers: keep each value a plain
 * integer expression that NASM also understands. */
#ifndef PVSPIN_LAYOUT_H
#define PVSPIN_LAYOUT_H

#define IDMAP_GIB        4            /* identity map of the low 4 GiB, 2 MiB pages */
#define MMIO_UC_BASE     0xFE000000   /* LAPIC, IOAPIC, HPET up to 4 GiB: uncached */
#define BOOT_STACK_SIZE  16384
#define AP_STACK_SIZE    16384
#define IST_STACK_SIZE   8192
#define MAX_CPUS         512          /* above QEMU's 288 on q35 */
#define TRAMPOLINE_BASE  0x8000       /* real-mode AP entry: SIPI vector = base >> 12 */
#define PAGE_SIZE        4096
#define PERCPU_CPU_OFFSET 8           /* struct percpu: the dense CPU index, read as GS:8 */

#define PTE_P    (1 << 0)
#define PTE_W    (1 << 1)
#define PTE_PWT  (1 << 3)
#define PTE_PCD  (1 << 4)
#define PTE_PS   (1 << 7)

/* Trampoline parameter block, filled by the BSP at TRAMPOLINE_BASE + offset
 * and only read by the APs. Offsets 0-7 hold the jump over the block
 * (boot/trampoline.asm checks). */
#define TRAMP_PARAMS_START  0x08
#define TRAMP_OFF_CR3       0x08      /* u32: page table root for the AP */
#define TRAMP_OFF_ENTRY     0x10      /* u64: 64-bit C entry */
#define TRAMP_OFF_STACKS    0x18      /* u64: base of the AP stack array */
#define TRAMP_PARAMS_SIZE   0x20
/* The counters the APs write live on the page after the trampoline's code
 * (which must fit in one page): a store to a page other CPUs run code from
 * makes an emulator such as QEMU's TCG invalidate and translate that code
 * again, and costs hardware a self-modifying-code pipeline flush. */
#define TRAMP_DATA_OFFSET   PAGE_SIZE
#define TRAMP_OFF_COUNTER   (TRAMP_DATA_OFFSET + 0x00) /* u32: APs in long mode, one stack slot each */
#define TRAMP_OFF_ARRIVED   (TRAMP_DATA_OFFSET + 0x04) /* u32: APs that executed the first instruction */
#define TRAMP_DATA_SIZE     0x08

#endif
