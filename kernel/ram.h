/* SPDX-License-Identifier: MIT */
/* ram.h - the usable RAM after the image, handed out at run time and never freed. */
#ifndef PVSPIN_RAM_H
#define PVSPIN_RAM_H

#include <stdint.h>

/*
 * Large per-CPU records, sized by the CPUs that exist, live here rather than
 * in .bss (arrays of a few KiB may stay there). QEMU writes every byte of the
 * image, .bss included, into guest RAM at load, the guest zeroes .bss again,
 * and the host backs each 2 MiB of guest RAM so touched with a transparent
 * huge page, cleared at first touch (docs/bench.md "Boot time").
 * Memory from here is neither loaded nor zeroed: only what is used is
 * touched.
 *
 * ram_alloc: `size` bytes aligned to `align` (a power of two), NOT zeroed, or
 * NULL when the usable region that holds the image's end has no room. The
 * boot loader's information there must have been copied out first
 * (multiboot_parse does). Called by CPU 0 only: boot, and suites' set-up.
 */
void *ram_alloc(uint64_t size, uint64_t align);
/* End of what was handed out, 0 before the first ram_alloc. */
uint64_t ram_end(void);

#endif
