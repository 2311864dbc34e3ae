/* SPDX-License-Identifier: MIT */
/* time.h - one monotonic nanosecond clock for every CPU: the TSC, with its frequency
 * from the hypervisor where it says so, else calibrated against a timer. */
#ifndef PVSPIN_TIME_H
#define PVSPIN_TIME_H

#include <stdint.h>

void time_init(void);
uint64_t time_ns(void);                 /* since boot_tsc (the BSP's first instruction) */
uint64_t tsc_to_ns(uint64_t tsc_delta);
uint64_t ns_to_tsc(uint64_t ns);
uint64_t tsc_hz(void);
const char *tsc_source(void);           /* how tsc_hz was obtained */
void delay_ns(uint64_t ns);

extern uint64_t boot_tsc;

#endif
