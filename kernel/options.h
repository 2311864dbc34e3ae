/* SPDX-License-Identifier: MIT */
/* options.h - the guest's options, after options_parse() has read the command
 * line against the option table (suites/options.c). */
#ifndef PVSPIN_OPTIONS_H
#define PVSPIN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/cmdline.h"

#define OPT_LIST_MAX 256

struct guest_options {
	char test[OPT_LIST_MAX];        /* suites to run, or "default" / "all" */
	uint64_t seed;
	uint64_t verbose;
	unsigned int pv;                /* enum pv_choice */
	uint64_t pv_spin_threshold;     /* spins before a pvqspinlock waiter halts */
	uint64_t watchdog_ms;           /* no progress this long: lockup */
	char lock[OPT_LIST_MAX];        /* torture: locks, or "all" */
	uint64_t duration_ms;
	uint64_t warmup_ms;             /* bench: not counted */
	uint64_t cpus;                  /* 0: every online CPU */
	uint64_t hold_ns;
	uint64_t think_ns;
	uint64_t long_hold;             /* torture: 1 hold in N is 10x longer; 0 = none */
	uint64_t irq_lock;              /* 1: the timer tick also takes a lock */
	unsigned int shape;             /* torture: enum torture_shape (suites/torture_shape.h) */
	uint64_t long_hold_ms;          /* torture, shape=locktorture: locktorture's long_hold */
	struct {                        /* the command line gave it: for rules between options */
		bool hold_ns, think_ns, long_hold, long_hold_ms, irq_lock;
	} given;
	uint64_t smp_stall;             /* test hook: this CPU stops in the smp suite */
	uint64_t smp_init_race;         /* test hook: smp_boot_aps(true) */
	uint64_t exit_reset;            /* test hook: a CPU shuts down as it parks at exit */
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
