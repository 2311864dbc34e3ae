/* SPDX-License-Identifier: MIT */
/* suite.h - the in-guest test suites: a registry, selection by the test=
 * option, the run that prints KTAP and a human summary; and the boot flow's
 * one entry into suites/ (kernel/main.c). docs/suites.md: adding a suite. */
#ifndef PVSPIN_SUITE_H
#define PVSPIN_SUITE_H

#include <stdbool.h>
#include <stddef.h>

/* The groups test= can name besides a suite's own name. A suite in no
 * group runs only when named (the deliberate fault and hang). */
enum suite_group {
	SUITE_IN_ALL = 1u << 0,         /* test=all: every suite that ends normally */
	SUITE_IN_DEFAULT = 1u << 1,     /* test=default (short form); implies SUITE_IN_ALL */
};
#define SUITE_GROUPS_DEFAULT (SUITE_IN_ALL | SUITE_IN_DEFAULT)
#define SUITE_EXPLICIT_ONLY 0u

struct suite {
	const char *name;
	const char *summary;
	unsigned int groups;            /* enum suite_group bits */
	/* How many KTAP results run() will emit with the current options
	 * (NULL: one). The plan line is the sum over the selected suites. */
	unsigned int (*nr_results)(void);
	void (*run)(void);
};

/* The boot flow, in the order kernel/main.c calls it. */
/* Parse the guest command line against the option table (suites/options.c);
 * a bad option ends the run (EXIT_BAD_INPUT). */
void suite_options_parse(const char *cmdline);
/* Print the KTAP header and the plan for the selected suites. */
void suite_begin(void);
/* Around pv_backend_init(): take a pvqspinlock before, release it after
 * (suites/pvswitch.c reports). */
void pvswitch_before(void);
void pvswitch_after(void);
/* Run the selected suites and print the summary; returns the exit status. */
int suite_run(void);

/* Names accepted by test=: every suite, "default" and "all". */
const char *suite_selector_name(unsigned int i);
/* For a suite giving one result per selected lock (torture, bench): the CPUs
 * taking part (cpus=, 0: every online CPU). If that many are not online, or
 * inject= found no RAM for its counters (pv_inject_missing), a "not ok" for
 * every lock and false. */
bool suite_lock_cpus(const char *suite, unsigned int *ncpus);
/* Per-CPU records of `size` bytes for n CPUs, from the RAM after the image
 * (kernel/ram.h): `have` when the *room CPUs it holds are enough, else a new
 * block (*room becomes n), else NULL with every result of `suite` failed. */
void *suite_cpu_room(const char *suite, void *have, unsigned int *room, unsigned int n, size_t size);
/* Run fn on the last online CPU and wait for it (on CPU 0 itself when it is
 * the only one): the deliberate failures (fault, reset) happen on an AP. */
void suite_on_last_cpu(void (*fn)(void *arg));

/* Each suite, defined in its own file. */
extern const struct suite suite_smp;
extern const struct suite suite_nesting;
extern const struct suite suite_bench;
extern const struct suite suite_fault;
extern const struct suite suite_hang;
extern const struct suite suite_starve;
extern const struct suite suite_reset;
extern const struct suite suite_torture;
extern const struct suite suite_pvswitch;
extern const struct suite suite_pvwait;

#endif
