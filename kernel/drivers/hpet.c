/* SPDX-License-Identifier: MIT */
/* hpet.c - the HPET's main counter: enable it, read it (hpet.h). */
#include "hpet.h"

/* Registers (IA-PC HPET spec 1.0a, 2.3), as 64-bit word offsets. */
#define HPET_CAPABILITIES 0x000         /* bits 63:32: period in femtoseconds */
#define HPET_CONFIG       0x010
#define HPET_COUNTER      0x0F0
#define HPET_CONFIG_ENABLE 1ull
#define HPET_PERIOD_SHIFT 32
#define REG(off) ((off) / sizeof(uint64_t))

static volatile uint64_t *hpet;

uint64_t hpet_enable(uint64_t base)
{
	hpet = (volatile uint64_t *)(uintptr_t)base;
	uint64_t period_fs = hpet[REG(HPET_CAPABILITIES)] >> HPET_PERIOD_SHIFT;
	if (period_fs)
		hpet[REG(HPET_CONFIG)] |= HPET_CONFIG_ENABLE;
	return period_fs;
}

uint64_t hpet_counter(void) { return hpet[REG(HPET_COUNTER)]; }
