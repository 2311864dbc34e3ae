/* SPDX-License-Identifier: MIT */
/* time.h - one monotonic nanosecond clock for every CPU: the TSC, with its frequency
 * from the hypervisor where it says so, else calibrated against a timer. */
#ifndef PVSPIN_TIME_H
#define PVSPIN_TIME_H

#include <stdint.h>

#define NS_PER_US 1000ul
#define NS_PER_MS 1000000ul
#define NS_PER_S  1000000000ul

void time_init(void);
void time_refine(void);                 /* after the AP bring-up: a longer HPET window */
uint64_t time_ns(void);                 /* since boot_tsc (the BSP's first instruction) */
uint64_t tsc_to_ns(uint64_t tsc_delta);
uint64_t ns_to_tsc(uint64_t ns);
uint64_t tsc_hz(void);
const char *tsc_source(void);           /* how tsc_hz was obtained */
void delay_ns(uint64_t ns);

extern uint64_t boot_tsc;

/* Boot phases: boot_phase_end(name) stamps the raw TSC as the phase `name`
 * ends (each starts where the previous ended, the first at boot_tsc); the
 * stamps are converted to microseconds only when written, so phases before
 * time_init() are measured too. */
#define BOOT_PHASES_MAX 16
struct json;
void boot_phase_end(const char *name);
void boot_phase_end_at(const char *name, uint64_t tsc);
/* Adds "name":us for each phase, then "total":us, to the open object. */
void boot_phases_json(struct json *j);

#endif
