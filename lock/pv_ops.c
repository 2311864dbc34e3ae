/* SPDX-License-Identifier: MIT */
/* pv_ops.c - the installed PV ops, the spin threshold, latency accounting. */
#include "lock_events.h"
#include "lock_percpu_carve.h"
#include "pv_ops.h"

static void pv_spin_wait(uint8_t *ptr, uint8_t val)
{
	(void)ptr;
	(void)val;
}

static void pv_spin_kick(unsigned int cpu)
{
	(void)cpu;
}

const struct pv_lock_ops pv_lock_ops_spin = {
	.name = "spin",
	.wait = pv_spin_wait,
	.kick = pv_spin_kick,
};

static const struct pv_lock_ops *pv_ops_current = &pv_lock_ops_spin;
static uint32_t pv_spin_threshold_loops = PV_SPIN_THRESHOLD;

/* Time the last kick to each CPU was sent (0: none since it began waiting). */
struct pv_kick_stamp {
	uint64_t ns;
} LOCK_CACHE_ALIGNED;

/*
 * pv_kick_time[cpu], carved by lock_percpu_place() (CPU 0's stamp until
 * then).  Loaded once per wait or kick: placement happens only while no lock
 * is in use (lock_percpu.h).
 */
static struct pv_kick_stamp pv_kick_time_one_cpu[1];
static struct pv_kick_stamp *pv_kick_time = pv_kick_time_one_cpu;

size_t pv_kick_time_carve(void *mem, unsigned int nr_cpus)
{
	if (mem)
		pv_kick_time = mem;
	return lock_percpu_bytes(nr_cpus, sizeof(pv_kick_time[0]));
}

void pv_lock_set_ops(const struct pv_lock_ops *ops)
{
	/* RELEASE: a CPU that sees the pointer also sees the ops' contents. */
	__atomic_store_n(&pv_ops_current, ops ? ops : &pv_lock_ops_spin,
			 __ATOMIC_RELEASE);
}

const struct pv_lock_ops *pv_lock_get_ops(void)
{
	/* ACQUIRE: pairs with pv_lock_set_ops(). */
	return __atomic_load_n(&pv_ops_current, __ATOMIC_ACQUIRE);
}

void pv_lock_set_spin_threshold(uint32_t loops)
{
	/* Relaxed: a tuning knob; waiters pick it up whenever they next look. */
	__atomic_store_n(&pv_spin_threshold_loops,
			 loops < PV_SPIN_THRESHOLD_MIN ? PV_SPIN_THRESHOLD_MIN : loops,
			 __ATOMIC_RELAXED);
}

uint32_t pv_lock_spin_threshold(void)
{
	return __atomic_load_n(&pv_spin_threshold_loops, __ATOMIC_RELAXED);
}

void pv_lock_wait(uint8_t *ptr, uint8_t val)
{
	uint64_t *stamp = &pv_kick_time[lock_cpu_id()].ns;
	uint64_t kicked;

	/* Relaxed: statistics only; a kick racing with this is just not timed. */
	__atomic_store_n(stamp, 0, __ATOMIC_RELAXED);
	pv_lock_get_ops()->wait(ptr, val);
	kicked = __atomic_load_n(stamp, __ATOMIC_RELAXED);
	if (kicked) {
		uint64_t now = lock_now_ns();

		lock_event_inc(pv_kick_wake);
		lock_event_wake_latency(now > kicked ? now - kicked : 0);
	}
}

void pv_spin_hint_init(struct pv_spin_hint *h)
{
	const struct pv_lock_ops *ops = pv_lock_get_ops();

	h->every = ops->spin_hint && ops->spin_hint_loops ? ops->spin_hint_loops : UINT32_MAX;
	h->left = h->every;
	h->spins = 0;
}

void pv_spin_hint_fire(struct pv_spin_hint *h)
{
	const struct pv_lock_ops *ops = pv_lock_get_ops();

	h->spins += h->every;
	h->left = h->every;
	/* The ops may have been switched since init: check again. */
	if (ops->spin_hint)
		ops->spin_hint(h->spins);
}

void pv_lock_kick(unsigned int cpu)
{
	uint64_t start = lock_now_ns();

	/* Relaxed: statistics only (see pv_lock_wait()). */
	__atomic_store_n(&pv_kick_time[cpu].ns, start ? start : 1U, __ATOMIC_RELAXED);
	pv_lock_get_ops()->kick(cpu);
	lock_event_add(LOCK_EV_pv_latency_kick, lock_now_ns() - start);
}
