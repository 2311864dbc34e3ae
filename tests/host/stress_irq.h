/* SPDX-License-Identifier: MIT */
/* stress_irq.h - locks nested from signal handlers ("interrupts"). */
#ifndef HOST_STRESS_IRQ_H
#define HOST_STRESS_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct lock_type;

#define STRESS_IRQ_LEVELS 3

struct stress_irq_result {
	uint64_t acquisitions[STRESS_IRQ_LEVELS];
	uint64_t counter[STRESS_IRQ_LEVELS];
	uint64_t violations[STRESS_IRQ_LEVELS];
};

/* true if every level kept mutual exclusion and an exact count. */
bool stress_irq_run(const struct lock_type *type, unsigned int nthreads,
		    unsigned int iters, struct stress_irq_result *res);

#endif /* HOST_STRESS_IRQ_H */
