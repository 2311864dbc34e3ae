/* SPDX-License-Identifier: MIT */
/* options.h - the platform's options, after options_parse() has read the command
 * line against the option table (suites/options.c). */
#ifndef PVSPIN_OPTIONS_H
#define PVSPIN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/cmdline.h"

/* The platform's options; the suites' own are in suites/options.h. */
struct guest_options {
	uint64_t seed;
	uint64_t verbose;
	unsigned int pv;                /* enum pv_choice */
	uint64_t pv_spin_threshold;     /* spins before a pvqspinlock waiter halts */
	uint64_t watchdog_ms;           /* no progress this long: lockup */
	uint64_t smp_init_race;         /* test hook: smp_boot_aps(true) */
	uint64_t exit_reset;            /* test hook: a CPU shuts down as it parks at exit */
	uint64_t max_cpus;              /* bring up at most this many CPUs; 0: every one */
};

extern struct guest_options opt;

/* Parse the command line against table[0..count-1] into opt; on error: KTAP
 * "not ok" naming the option and what is accepted, then
 * guest_exit(EXIT_BAD_INPUT). */
void options_parse(const struct opt_def *table, unsigned int count, const char *cmdline);
/* An option valid as text but not on this machine: the same "not ok" line
 * and EXIT_BAD_INPUT. Only before the KTAP plan (suite_begin()). */
void __attribute__((noreturn)) options_reject(const char *token, const char *what,
					      const char *accepted);

#endif
