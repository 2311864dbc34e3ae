/* SPDX-License-Identifier: MIT */
/* torture_shape.c - shape= for the torture and bench suites: the shape names, their option rules, and shape=locktorture's writer loop of Linux 6.12's locktorture (spin_lock) and result fields.
 *
 * What lock_torture_writer() (kernel/locking/locktorture.c) does in each
 * iteration, run as locktorture.torture_type=spin_lock stutter=0
 * shuffle_interval=0 rt_boost=0 (nested_locks=0, acq_writer_lim=0, their
 * defaults), and what this shape does for it:
 *   - (torture_random() & 0xfffff) == 0: schedule_timeout_uninterruptible(1),
 *     a sleep until the next jiffy (schedule_timeout() sets its timer to
 *     jiffies + 1: up to 4 ms at the HZ=250 it is compared with). Here: a
 *     spin on the clock up to its next multiple of 4 ms. The vCPU would be
 *     idle, but the guest has no one-shot timer to halt on: the only
 *     per-CPU timer is the watchdog's periodic 20 ms LAPIC tick, and an
 *     `sti; hlt` would sleep until it, up to 20 ms.
 *   - cur_ops->task_boost(), torture_rt_boost(): returns at once unless
 *     rt_boost == 2; with rt_boost=0 nothing. pvspin has no scheduler.
 *   - writelock(): spin_lock(); a held lock_is_write_held is a failure.
 *     Here: the lock under test and the torture's owner check.
 *   - n_lock_acquired++. Here: the acquisition count.
 *   - write_delay(), torture_spin_lock_write_delay(): see
 *     locktorture_write_delay() in torture_shape.h.
 *   - writeunlock(): spin_unlock().
 *   - stutter_wait(): with stutter=0 no stutter kthread sets a pause, so
 *     it only offers the scheduler a quiescent point; nothing here.
 *   - loop until torture_must_stop(), no think time.
 * Linux's torture_random() is an LCG; this draws from the suite's
 * per-CPU xorshift with the same probabilities. nwriters is cpus=, which
 * is locktorture's nwriters_stress (one writer per CPU here). The torture
 * runs this loop around its critical-section checks, the bench inside its
 * measured phases. */
#include "kernel/options.h"
#include "lib/fmt.h"
#include "options.h"
#include "torture_shape.h"

#define JIFFY_NS                (NS_PER_S / 250)        /* HZ=250 */
#define LONG_HOLD_PER_WRITER_MS 2000    /* one in nwriters * 2000 * long_hold */
#define SHORT_DELAY_PER_WRITER  400     /* one in nwriters * 200 * shortdelay_us (2) */

static const char *const shape_names[] = {
	[TORTURE_SHAPE_DEFAULT] = "default",
	[TORTURE_SHAPE_LOCKTORTURE] = "locktorture",
};

const char *torture_shape_name(unsigned int i)
{
	return i < sizeof(shape_names) / sizeof(shape_names[0]) ? shape_names[i] : NULL;
}

/* The option as given (in decimal), what is wrong, and what is accepted:
 * `accepted` with %lu for LOCKTORTURE_LONG_HOLD_MS_MAX. */
static void __attribute__((noreturn)) reject(const char *key, uint64_t value, const char *what,
					     const char *accepted)
{
	char token[CMDLINE_TOKEN_MAX], text[CMDLINE_ACCEPTED_MAX];
	snprintf(token, sizeof(token), "%s=%lu", key, value);
	snprintf(text, sizeof(text), accepted, (uint64_t)LOCKTORTURE_LONG_HOLD_MS_MAX);
	options_reject(token, what, text);
}

void torture_shape_options(void)
{
	if (suite_opt.shape != TORTURE_SHAPE_LOCKTORTURE) {
		if (suite_opt.given.long_hold_ms)
			reject("long_hold_ms", suite_opt.long_hold_ms, "only with shape=locktorture",
			       "long_hold_ms=0..%lu with shape=locktorture; with shape=default, the torture's long_hold=N (one hold in N ten times longer)");
		return;
	}
	/* pvspin's own hold and think times: locktorture's writer has
	 * neither, only the random delays of its write_delay(). */
	const struct { const char *key; bool given; uint64_t value; } own[] = {
		{ "hold_ns", suite_opt.given.hold_ns, suite_opt.hold_ns },
		{ "think_ns", suite_opt.given.think_ns, suite_opt.think_ns },
		{ "long_hold", suite_opt.given.long_hold, suite_opt.long_hold },
	};
	for (unsigned int i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (own[i].given)
			reject(own[i].key, own[i].value,
			       "has no meaning with shape=locktorture, whose hold and think times are locktorture's",
			       "hold_ns=, think_ns= and long_hold= with shape=default; with shape=locktorture, long_hold_ms=0..%lu (locktorture's long_hold)");
	if (!suite_opt.given.irq_lock)
		suite_opt.irq_lock = 0;
}

void locktorture_prepare(struct locktorture_params *p, unsigned int nwriters, uint64_t long_hold_ms)
{
	p->long_hold_ms = long_hold_ms;
	p->long_hold_one_in = (uint64_t)nwriters * LONG_HOLD_PER_WRITER_MS * long_hold_ms;
	p->short_delay_one_in = (uint64_t)nwriters * SHORT_DELAY_PER_WRITER;
	p->long_hold_below = p->long_hold_one_in ? UINT64_MAX / p->long_hold_one_in : 0;
	p->short_delay_below = UINT64_MAX / p->short_delay_one_in;
}

void locktorture_sleep(struct locktorture_counts *c)
{
	delay_ns(JIFFY_NS - time_ns() % JIFFY_NS);
	c->jiffy_sleeps++;
}

/* mdelay(long_hold) with the lock held. */
void locktorture_long_hold(const struct locktorture_params *p, struct locktorture_counts *c)
{
	delay_ns(p->long_hold_ms * NS_PER_MS);
	c->long_holds++;
}

void locktorture_describe(char *buf, size_t size, const struct locktorture_params *p)
{
	snprintf(buf, size, "long_hold_ms=%lu long_hold_one_in=%lu short_delay_one_in=%lu jiffy_sleep_one_in=%llu",
		 p->long_hold_ms, p->long_hold_one_in, p->short_delay_one_in,
		 LOCKTORTURE_SLEEP_MASK + 1);
}

void locktorture_json(struct json *j, const struct locktorture_params *p,
		      locktorture_counts_of counts, unsigned int ncpus)
{
	struct locktorture_counts sum = { 0 };
	for (unsigned int c = 0; c < ncpus; c++)
		locktorture_counts_add(&sum, counts(c));
	json_str(j, "shape", shape_names[TORTURE_SHAPE_LOCKTORTURE]);
	json_u64(j, "long_hold_ms", p->long_hold_ms);
	json_u64(j, "long_hold_one_in", p->long_hold_one_in);
	json_u64(j, "short_delay_one_in", p->short_delay_one_in);
	json_u64(j, "long_holds_taken", sum.long_holds);
	json_u64(j, "short_delays", sum.short_delays);
	json_u64(j, "jiffy_sleeps", sum.jiffy_sleeps);
}
