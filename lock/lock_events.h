/* SPDX-License-Identifier: MIT */
/*
 * lock_events.h - per-CPU lock event counters (Linux lock-event names).
 *
 * Only slow paths count; fast paths never touch these.  An increment is a
 * plain load + add + store of this CPU's own counter (relaxed atomics, which
 * compile to ordinary moves: no lock prefix).  The one cost of not using a
 * locked RMW: an interrupt on the same CPU that bumps the *same* event
 * between the load and the store loses its increment.  These are statistics;
 * that is accepted.
 *
 * Define LOCK_NO_EVENTS to compile every increment out.
 */
#ifndef LOCK_LOCK_EVENTS_H
#define LOCK_LOCK_EVENTS_H

#include "platform.h"

/* X-macro: the one list from which the enum and the name table are built. */
#define LOCK_EVENT_LIST(X)                                                     \
	X(lock_pending)       /* took the lock via the pending bit */          \
	X(lock_slowpath)      /* entered the MCS queue part of the slow path */\
	X(lock_use_node2)     /* queued with nesting node 2 (1 is the norm) */ \
	X(lock_use_node3)                                                      \
	X(lock_use_node4)                                                      \
	X(lock_no_node)       /* all nodes busy: spun on trylock instead */    \
	X(pv_wait_node)       /* queued waiter (not head) halted */            \
	X(pv_wait_head)       /* queue head halted */                          \
	X(pv_wait_again)      /* queue head halted more than once */           \
	X(pv_wait_early)      /* waiter halted early: predecessor not running */\
	X(pv_kick_unlock)     /* unlocker kicked a halted queue head */        \
	X(pv_kick_wake)       /* a wait ended after a kick was sent to us */   \
	X(pv_spurious_wakeup) /* waiter woke with nothing to do */             \
	X(pv_lock_stealing)   /* lock taken unfairly ahead of the queue */     \
	X(pv_steal_stale)     /* adaptive: stole past a head that is not running */\
	X(pv_wait_stale)      /* adaptive: halted early: predecessor's beat stood still */\
	X(pv_queue_stale)     /* adaptive: queued instead of spinning: holder not running */\
	X(pv_hash_hops)       /* hash table slots probed by inserts */         \
	X(pv_latency_kick)    /* sum of ns spent in pv_ops->kick */            \
	X(pv_latency_wake)    /* sum of ns from kick to the waiter running */

enum lock_event {
#define LOCK_EVENT_ENUM(name) LOCK_EV_##name,
	LOCK_EVENT_LIST(LOCK_EVENT_ENUM)
#undef LOCK_EVENT_ENUM
	LOCK_EVENT_NR
};

/* lock_event_names[LOCK_EV_x] == "x" */
extern const char *const lock_event_names[LOCK_EVENT_NR];

/*
 * Kick-to-wake latency histogram: bucket b counts wakes that took
 * [2^b, 2^(b+1)) ns (bucket 0 also takes 0 ns, the last bucket everything
 * longer).  32 buckets reach ~4 s.
 */
#define LOCK_LAT_BUCKETS 32

struct lock_event_totals {
	uint64_t count[LOCK_EVENT_NR];
	uint64_t wake_hist[LOCK_LAT_BUCKETS];
};

/* One CPU's counters, alone in its cache lines. */
struct lock_event_cpu {
	uint64_t count[LOCK_EVENT_NR];
	uint64_t wake_hist[LOCK_LAT_BUCKETS];
} LOCK_CACHE_ALIGNED;

/*
 * lock_event_cpus[cpu], carved by lock_percpu_place() for the CPUs present
 * (lock_percpu.h).  An increment loads the pointer once: placement happens
 * only while no lock is in use, so there is nothing to re-read it for.
 */
extern struct lock_event_cpu *lock_event_cpus;

/* Sum every placed CPU's counters into *out (racy snapshot while CPUs run). */
void lock_events_sum(struct lock_event_totals *out);
/* Zero all counters.  Meant for quiescent moments (between test phases). */
void lock_events_reset(void);
/* CPU `cpu`'s histogram: LOCK_LAT_BUCKETS entries (NULL if cpu >= lock_percpu_nr()). */
const uint64_t *lock_events_wake_hist(unsigned int cpu);

/* Bucket index for a latency of `ns` nanoseconds. */
static inline unsigned int lock_lat_bucket(uint64_t ns)
{
	/* floor(log2(ns)); ns|1 keeps clz defined for 0 */
	unsigned int b = 63U - (unsigned int)__builtin_clzll(ns | 1U);

	return b < LOCK_LAT_BUCKETS ? b : LOCK_LAT_BUCKETS - 1U;
}

/* Plain per-CPU add: only this CPU writes its own counters. */
static inline void lock_counter_add(uint64_t *c, uint64_t n)
{
	/*
	 * Relaxed: nothing is ordered by a statistic.  Atomic only so that a
	 * concurrent lock_events_sum() is not a data race; compiles to mov/add.
	 */
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

#ifndef LOCK_NO_EVENTS
static inline void lock_event_add(enum lock_event ev, uint64_t n)
{
	lock_counter_add(&lock_event_cpus[lock_cpu_id()].count[ev], n);
}

static inline void lock_event_wake_latency(uint64_t ns)
{
	struct lock_event_cpu *c = &lock_event_cpus[lock_cpu_id()];

	lock_counter_add(&c->count[LOCK_EV_pv_latency_wake], ns);
	lock_counter_add(&c->wake_hist[lock_lat_bucket(ns)], 1);
}
#else
static inline void lock_event_add(enum lock_event ev, uint64_t n)
{
	(void)ev;
	(void)n;
}

static inline void lock_event_wake_latency(uint64_t ns)
{
	(void)ns;
}
#endif

#define lock_event_inc(name) lock_event_add(LOCK_EV_##name, 1)
#define lock_event_cond_inc(name, cond)                                        \
	do {                                                                   \
		if (cond)                                                      \
			lock_event_inc(name);                                  \
	} while (0)

#endif /* LOCK_LOCK_EVENTS_H */
