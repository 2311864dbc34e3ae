/* SPDX-License-Identifier: MIT */
/* hpet.h - the HPET's main counter (IA-PC HPET specification 1.0a). */
#ifndef PVSPIN_HPET_H
#define PVSPIN_HPET_H

#include <stdint.h>

#define FS_PER_NS 1000000ull

/* Start the main counter of the HPET at `base` (from the ACPI HPET table);
 * returns its period in femtoseconds, 0 if it reports none. */
uint64_t hpet_enable(uint64_t base);
/* The main counter of the HPET hpet_enable() started. */
uint64_t hpet_counter(void);

#endif
