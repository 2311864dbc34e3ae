/* SPDX-License-Identifier: MIT */
/* phys.h - the one way the firmware parsers (ACPI, MP table, Multiboot, PVH) reach physical memory. */
#ifndef PVSPIN_PHYS_H
#define PVSPIN_PHYS_H

#include <stdint.h>
#include "lib/layout.h"

/* The end of the identity map: every address below it is mapped. */
#define IDMAP_END ((uint64_t)IDMAP_GIB << 30)

/*
 * A pointer to the `len` bytes at physical address `addr`, or NULL when they
 * are not all readable: address 0 (every firmware structure uses it for
 * "absent"), a range that wraps, or one outside the identity map of the low
 * IDMAP_GIB GiB (kernel/phys.c). A parser reads nothing beyond the bytes it
 * mapped: it maps a structure's fixed header, checks the length field, then
 * maps that length. The fuzz harness (tests/fuzz/physmem.c) implements the
 * same call over its input, with each mapping an allocation of exactly `len`
 * bytes, so that AddressSanitizer catches any read past what was mapped.
 */
const void *phys_map(uint64_t addr, uint64_t len);

#endif
