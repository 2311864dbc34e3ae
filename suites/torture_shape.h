/* SPDX-License-Identifier: MIT */
/* torture_shape.h - the writer loop shapes (shape=) of the torture and bench suites: pvspin's own, or Linux 6.12 locktorture's spin_lock writer. */
#ifndef PVSPIN_TORTURE_SHAPE_H
#define PVSPIN_TORTURE_SHAPE_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/time.h"
#include "lib/json.h"
#include "lib/xorshift.h"

enum torture_shape { TORTURE_SHAPE_DEFAULT, TORTURE_SHAPE_LOCKTORTURE };

/* The names shape= accepts, by enum torture_shape; NULL past the last. */
const char *torture_shape_name(unsigned int i);

/* After the command line is parsed, before the KTAP plan: hold_ns=,
 * think_ns= or long_hold= given with shape=locktorture, or long_hold_ms=
 * given without it, is bad input (status 2). Under shape=locktorture
 * irq_lock defaults to 0: locktorture takes no lock in interrupt context. */
void torture_shape_options(void);

/* locktorture's long_hold (ms) and what lock_torture_writer() and
 * torture_spin_lock_write_delay() (kernel/locking/locktorture.c) draw
 * against. Linux draws torture_random() % N == 0; a draw below
 * UINT64_MAX / N has the same probability, 1/N, without a division. */
#define LOCKTORTURE_LONG_HOLD_MS_DEFAULT 100
#define LOCKTORTURE_LONG_HOLD_MS_MAX     1000   /* far below the watchdog's 10 s */
#define LOCKTORTURE_SLEEP_MASK           0xfffffull  /* (torture_random() & 0xfffff) == 0 */
#define LOCKTORTURE_SHORT_DELAY_NS       (2 * NS_PER_US)  /* shortdelay_us = 2 */

struct locktorture_params {
	uint64_t long_hold_ms;
	uint64_t long_hold_one_in;      /* nwriters * 2000 * long_hold; 0: no long holds */
	uint64_t short_delay_one_in;    /* nwriters * 200 * shortdelay_us */
	uint64_t long_hold_below, short_delay_below;    /* UINT64_MAX / one_in */
};

/* What one writer did. */
struct locktorture_counts {
	uint64_t long_holds, short_delays, jiffy_sleeps;
};

/* Before each run: `nwriters` CPUs take the lock (locktorture's
 * nrealwriters_stress, which its probabilities scale with). */
void locktorture_prepare(struct locktorture_params *p, unsigned int nwriters,
			 uint64_t long_hold_ms);
/* Out of line, rare: the jiffy sleep and the long hold. */
void locktorture_sleep(struct locktorture_counts *c);
void locktorture_long_hold(const struct locktorture_params *p, struct locktorture_counts *c);

/* lock_torture_writer()'s first step, before the lock: one iteration in
 * 2^20 sleeps one jiffy. */
static inline void locktorture_before_lock(uint64_t *rng, struct locktorture_counts *c)
{
	if (__builtin_expect((xorshift(rng) & LOCKTORTURE_SLEEP_MASK) == 0, 0))
		locktorture_sleep(c);
}

/* torture_spin_lock_write_delay(), inside the lock: a long hold of
 * long_hold ms one time in nwriters * 2000 * long_hold, a 2 us delay one
 * time in nwriters * 400. Its third draw, torture_preempt_schedule() one
 * time in nwriters * 20000, does nothing while a spinlock is held:
 * spin_lock() disabled preemption, and preempt_schedule() returns when
 * preemptible() is false. pvspin has no scheduler, so it is left out. */
static inline void locktorture_write_delay(const struct locktorture_params *p, uint64_t *rng,
					   struct locktorture_counts *c)
{
	if (p->long_hold_below && __builtin_expect(xorshift(rng) < p->long_hold_below, 0))
		locktorture_long_hold(p, c);
	if (__builtin_expect(xorshift(rng) < p->short_delay_below, 0)) {
		delay_ns(LOCKTORTURE_SHORT_DELAY_NS);
		c->short_delays++;
	}
}

/* *sum += *c; inline, as bench adds each counted acquisition's draws. */
static inline void locktorture_counts_add(struct locktorture_counts *sum,
					  const struct locktorture_counts *c)
{
	sum->long_holds += c->long_holds;
	sum->short_delays += c->short_delays;
	sum->jiffy_sleeps += c->jiffy_sleeps;
}

/* The parameters as the suites' "# torture:" and "# bench:" lines give
 * them: "long_hold_ms=L long_hold_one_in=A short_delay_one_in=B
 * jiffy_sleep_one_in=1048576". */
#define LOCKTORTURE_DESCRIBE_MAX 128
void locktorture_describe(char *buf, size_t size, const struct locktorture_params *p);
/* The counts of CPU `cpu`, wherever the suite keeps them. */
typedef const struct locktorture_counts *(*locktorture_counts_of)(unsigned int cpu);
/* "shape":"locktorture", the parameters ("long_hold_ms", "long_hold_one_in",
 * "short_delay_one_in") and the counts of CPUs 0..ncpus-1 summed
 * ("long_holds_taken", "short_delays", "jiffy_sleeps"). */
void locktorture_json(struct json *j, const struct locktorture_params *p,
		      locktorture_counts_of counts, unsigned int ncpus);

#endif
