/* SPDX-License-Identifier: MIT */
/* phys.c - phys_map for the guest: the low IDMAP_GIB GiB are identity mapped (phys.h). */
#include "lib/layout.h"
#include "phys.h"

#define PHYS_LIMIT ((uint64_t)IDMAP_GIB << 30)

const void *phys_map(uint64_t addr, uint64_t len)
{
	if (!addr || addr >= PHYS_LIMIT || len > PHYS_LIMIT - addr)
		return 0;
	return (const void *)(uintptr_t)addr;
}
