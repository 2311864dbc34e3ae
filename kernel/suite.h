/* In-guest test suites: a registry, selection by the test= option, and the
 * run that prints KTAP and a human summary. */
#ifndef PVSPIN_SUITE_H
#define PVSPIN_SUITE_H

#include <stdbool.h>

struct suite {
	const char *name;
	const char *summary;
	bool in_default;                /* part of the default run (short form) */
	/* How many KTAP results run() will emit with the current options
	 * (NULL: one). The plan line is the sum over the selected suites. */
	unsigned int (*nr_results)(void);
	void (*run)(void);
};

/* Names accepted by test=: every suite, "default" and "all". */
const char *suite_selector_name(unsigned int i);
/* Print the KTAP header and the plan for the selected suites. */
void suite_begin(void);
/* Run the selected suites and print the summary; returns the exit status. */
int suite_run(void);

/* Each suite, defined in its own file. */
extern const struct suite suite_smp;
extern const struct suite suite_nesting;
extern const struct suite suite_bench;
extern const struct suite suite_fault;
extern const struct suite suite_hang;
extern const struct suite suite_torture;
extern const struct suite suite_pvswitch;
extern const struct suite suite_pvwait;

#endif
