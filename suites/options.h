/* SPDX-License-Identifier: MIT */
/* options.h - the suites' own options (lock=, duration_ms=, shape=...), filled by suites/options.c. */
#ifndef PVSPIN_SUITES_OPTIONS_H
#define PVSPIN_SUITES_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define OPT_LIST_MAX 256

struct suite_options {
	char test[OPT_LIST_MAX];        /* suites to run, or "default" / "all" */
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
};

extern struct suite_options suite_opt;

#endif
