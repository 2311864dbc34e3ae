/* SPDX-License-Identifier: MIT */
/* pm_timer.h - the ACPI power-management timer: a 24- or 32-bit counter at
 * 3.579545 MHz, read from the I/O port the FADT names. */
#ifndef PVSPIN_PM_TIMER_H
#define PVSPIN_PM_TIMER_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/x86.h"

#define PM_TIMER_HZ 3579545ull
#define PM_TIMER_MASK_24 0xFFFFFFu
#define PM_TIMER_MASK_32 0xFFFFFFFFu

/* The bits of the count that are valid: differences wrap at this mask. */
static inline uint32_t pm_timer_mask(bool is_32bit)
{
	return is_32bit ? PM_TIMER_MASK_32 : PM_TIMER_MASK_24;
}

static inline uint32_t pm_timer_read(uint16_t port, uint32_t mask) { return inl(port) & mask; }

#endif
