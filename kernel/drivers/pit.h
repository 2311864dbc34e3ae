/* SPDX-License-Identifier: MIT */
/* pit.h - the 8254 programmable interval timer: channel 0 as a rate generator. */
#ifndef PVSPIN_PIT_H
#define PVSPIN_PIT_H

#include <stdint.h>

#define PIT_HZ        1193182ull
#define PIT_RELOAD_MAX 0xFFFFu

/* Channel 0 in mode 2 (rate generator), counting down from `reload` and
 * starting over: its output (IRQ 0) fires PIT_HZ / reload times a second.
 * Needs no speaker gate (port 0x61), which some machines (microvm) lack. */
void pit_start_rate(uint16_t reload);
/* Channel 0's current count, latched. */
uint16_t pit_read(void);

#endif
