/* SPDX-License-Identifier: MIT */
/* pv_inject.h - fault injection into the PV wait/kick protocol (option inject=):
 *   spurious_wake:PPM  a wait returns at once without halting, and a kick
 *                      also kicks a random CPU, PPM times in a million;
 *   kick_delay_us:N    every kick is sent N microseconds late;
 *   drop_kick:PPM      a kick is not sent, PPM times in a million.
 * The injecting ops wrap the backend's ops, installed once at boot, so no
 * lock path tests a flag. A dropped kick is "recovered" when its target's
 * wait returns anyway (another interrupt woke it); how long it slept past
 * the dropped kick is measured. */
#ifndef PVSPIN_PV_INJECT_H
#define PVSPIN_PV_INJECT_H

#include <stdbool.h>
#include "lib/json.h"

struct pv_inject_config {
	uint64_t spurious_wake_ppm;
	uint64_t kick_delay_us;
	uint64_t drop_kick_ppm;
};

extern struct pv_inject_config pv_inject;

/* OPT_CUSTOM parser of inject=: "none" or a comma-separated list of the
 * NAME:VALUE pairs above. */
const char *pv_inject_parse(const char *value);
/* After pv_backend_init(): wrap the installed ops if anything is injected. */
void pv_inject_install(void);
bool pv_inject_active(void);
/* inject= asked for faults, but pv_inject_install() found no RAM for their
 * per-CPU counters: nothing is injected, and the suites that take locks
 * fail every result rather than pass without the faults asked for. */
bool pv_inject_missing(void);
void pv_inject_reset(void);
/* "inject":{...} with what was injected and the recoveries, if active. */
void pv_inject_report(struct json *j);
/* For the lockup report: each CPU whose dropped kick is still unanswered. */
void pv_inject_describe(void);

#endif
