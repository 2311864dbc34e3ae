/* SPDX-License-Identifier: MIT */
/* torture_worker.c - the torture suite's writer loops: take the lock, check the critical section is alone, count (torture_state.h). */
#include "hypercall/steal_time.h"
#include "kernel/options.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/watchdog.h"
#include "lib/xorshift.h"
#include "options.h"
#include "torture_state.h"

#define LONG_HOLD_FACTOR 10             /* one hold in long_hold=N (1024: as locktorture) */

static uint64_t random_ns(uint64_t *rng, uint64_t mean)
{
	return mean ? xorshift(rng) % (2 * mean + 1) : 0;
}

/* The critical section around a shape's hold, which the caller inlines. */
static inline __attribute__((always_inline)) void
critical_section(struct torture_cpu *me, unsigned int id, void (*hold)(struct torture_cpu *))
{
	if (torture.owner != NO_OWNER)
		__atomic_add_fetch(&torture.violations, 1, __ATOMIC_RELAXED);
	torture.owner = id;
	uint64_t a = torture.counter_a, b = torture.counter_b;
	hold(me);
	torture.counter_a = a + 1;
	torture.counter_b = b + 1;
	if (torture.owner != id)
		__atomic_add_fetch(&torture.violations, 1, __ATOMIC_RELAXED);
	torture.owner = NO_OWNER;
}

static struct torture_cpu *worker_start(void)
{
	unsigned int id = cpu_id();
	struct torture_cpu *me = &torture.cpu[id];
	me->acquisitions = 0;
	me->irq_acquisitions = 0;
	me->irq_rng = opt.seed * 0xD1B54A32D192ED03ull + id + 1;
	me->rng = xorshift_cpu_state(opt.seed, id);
	me->steal_start_ns = steal_time_ns(id);
	watchdog_cpu_start();
	return me;
}

static void worker_stop(struct torture_cpu *me)
{
	watchdog_cpu_stop();
	me->steal_ns = steal_time_ns(cpu_id()) - me->steal_start_ns;
}

/* Take the lock, run the critical section around `hold`, release, count.
 * Inlined into each shape's loop, so `hold` is a direct call there. */
static inline __attribute__((always_inline)) void
acquire_once(struct torture_cpu *me, unsigned int id, void (*hold)(struct torture_cpu *))
{
	uint64_t t0 = time_ns();
	struct wd_wait outer = watchdog_wait_begin("lock", t0);
	torture.type->lock(&torture.lock);
	uint64_t t1 = time_ns();
	/* The lock orders the previous owner's store before our load. */
	uint64_t released = __atomic_load_n(&torture.release_ns, __ATOMIC_RELAXED);
	watchdog_wait_end(outer);
	critical_section(me, id, hold);
	uint64_t t2 = time_ns();
	__atomic_store_n(&torture.release_ns, t2, __ATOMIC_RELAXED);
	torture.type->unlock(&torture.lock);
	handoff_record(&me->handoff, t0, t1, t2, released);
	me->acquisitions++;
	watchdog_progress();
}

/* Any CPU may end the run: one that an unfair lock starves (tas at 255
 * vCPUs starved CPU 0 for 10 s) must not keep it going. */
static inline void stop_at_deadline(void)
{
	if (time_ns() > torture.deadline_ns)
		__atomic_store_n(&torture.stop, 1, __ATOMIC_RELAXED);
}

static inline bool stopped(void)
{
	return __atomic_load_n(&torture.stop, __ATOMIC_RELAXED);
}

/* shape=default: hold uniform 0..2x hold_ns, one in long_hold ten times
 * longer; think uniform 0..2x think_ns. */
static void default_hold(struct torture_cpu *me)
{
	uint64_t hold = random_ns(&me->rng, suite_opt.hold_ns);
	if (suite_opt.long_hold && xorshift(&me->rng) % suite_opt.long_hold == 0)
		hold *= LONG_HOLD_FACTOR;
	delay_ns(hold);
}

void torture_default_worker(void *arg)
{
	(void)arg;
	unsigned int id = cpu_id();
	struct torture_cpu *me = worker_start();
	while (!stopped()) {
		acquire_once(me, id, default_hold);
		delay_ns(random_ns(&me->rng, suite_opt.think_ns));
		stop_at_deadline();
	}
	worker_stop(me);
}

/* shape=locktorture: lock_torture_writer() (torture_shape.c), no think time. */
static void locktorture_hold(struct torture_cpu *me)
{
	locktorture_write_delay(&torture.lt, &me->rng, &me->lt);
}

void torture_locktorture_worker(void *arg)
{
	(void)arg;
	unsigned int id = cpu_id();
	struct torture_cpu *me = worker_start();
	while (!stopped()) {
		locktorture_before_lock(&me->rng, &me->lt);
		acquire_once(me, id, locktorture_hold);
		stop_at_deadline();
	}
	worker_stop(me);
}
