/* SPDX-License-Identifier: MIT */
/* e820.h - the PC memory map's entry (e820), as a hypervisor hands it over, and its check. */
#ifndef PVSPIN_E820_H
#define PVSPIN_E820_H

#include <stdint.h>

/* Packed, 20 bytes: the BIOS layout that Xen's XENMEM_memory_map keeps. */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;                  /* 1: usable RAM */
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry is 20 bytes");

/* Of `n` entries written into a buffer of `cap` (a count from the writer,
 * not to be trusted past the buffer), keep those that describe memory:
 * `n` is clamped to `cap`; an entry of size 0, or one that runs past 2^64,
 * is dropped (one ending exactly at 2^64 is kept). The kept ones move to the front of `e`, in order;
 * returns how many; *dropped (if not NULL) counts the others. */
unsigned int e820_clean(struct e820_entry *e, unsigned int n, unsigned int cap,
			unsigned int *dropped);

#endif
