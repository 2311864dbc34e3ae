/* SPDX-License-Identifier: MIT */
/* phys.c - phys_map for the guest: the low IDMAP_GIB GiB are identity mapped (phys.h). */
#include "phys.h"

const void *phys_map(uint64_t addr, uint64_t len)
{
	if (!addr || addr >= IDMAP_END || len > IDMAP_END - addr)
		return 0;
	return (const void *)(uintptr_t)addr;
}
