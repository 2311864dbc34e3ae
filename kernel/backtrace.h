/* SPDX-License-Identifier: MIT */
/* backtrace.h - walk and print a frame-pointer chain after a crash. */
#ifndef PVSPIN_BACKTRACE_H
#define PVSPIN_BACKTRACE_H

#include <stdint.h>

/* Deepest chain printed: a longer one ends with a note. */
#define BACKTRACE_MAX_DEPTH 32

/*
 * Print "# backtrace: #N 0x..." lines: #0 is rip (where the CPU stopped),
 * then the return address of every frame whose pointer chain starts at rbp.
 * Every frame pointer is checked before it is read: 8-byte aligned, inside
 * the kernel's stack area (.bss) and above the previous one (stacks grow
 * down, so a chain that does not climb is corrupt). A check that fails ends
 * the walk with a "# backtrace: stopped: ..." note; the walk itself never
 * faults. The last line is always "# backtrace: end ...".
 */
void backtrace_print(uint64_t rip, uint64_t rbp);

#endif
