/* SPDX-License-Identifier: MIT */
/* backtrace.h - walk and print a frame-pointer chain after a crash. */
#ifndef PVSPIN_BACKTRACE_H
#define PVSPIN_BACKTRACE_H

#include <stdint.h>

/* Deepest chain printed: a longer one ends with a note. */
#define BACKTRACE_MAX_DEPTH 32

/*
 * Print "# backtrace: #N 0x..." lines: #0 is rip (where the CPU stopped);
 * #1 the return address at rsp if the function at rip has no frame of its
 * own (frame_walk_leaf_return()); then the return address of each frame of
 * the chain that starts at rbp, walked by lib/frame_walk.c over the
 * kernel's stacks (.bss and the AP stacks after the image). A frame
 * pointer that fails a check ends the walk with "# backtrace: stopped: ...";
 * the walk never faults. The last line is always "# backtrace: end (...)".
 */
void backtrace_print(uint64_t rip, uint64_t rsp, uint64_t rbp);

/* Up to max return addresses of the chain at rbp, into ret; their number.
 * The same walk and checks as backtrace_print(), silently. */
unsigned int backtrace_collect(uint64_t rbp, uint64_t *ret, unsigned int max);

#endif
