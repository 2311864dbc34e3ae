/* SPDX-License-Identifier: MIT */
/*
 * pv_adaptive.h - the three judgements pvqspinlock_adaptive adds to the PV
 * hooks: a queue head that is not running, a predecessor that is not
 * running, and a spin that has cost more than halting would.
 *
 * Each is a hint: a wrong answer costs time, never correctness.  Stealing
 * is a cmpxchg of the locked byte whatever the judgement (mutual exclusion
 * does not depend on it), and halting early or late is what
 * pv_wait_early() already does (tests/model covers both with every
 * outcome of the judgement).  None needs anything from the hypervisor, so
 * they work where it tells nothing (TCG: no steal time, no
 * vcpu_is_preempted).
 *
 * 1. Stale head (pv_head_stale): the queue head sets pending while it
 *    spins, and stealers back off so it wins (Linux).  A running head
 *    takes a free lock within a few of its spins; a lock that this CPU
 *    keeps seeing free with the same tail and pending set for
 *    PV_STALE_HEAD_NS has a head that is not running (preempted, frozen,
 *    throttled), and stealing it lets a running CPU work instead of
 *    queueing behind it.  The judgement stays made while this CPU keeps
 *    seeing the same word (no new wait for each acquisition) and lapses
 *    when it has not looked for PV_STALE_HEAD_NS.
 *
 * 2. Beat (pv_beat, pv_prev_stalled): a spinning waiter bumps its node's
 *    beat every PV_BEAT_MASK + 1 spins; its successor reads it every
 *    PV_PREV_CHECK_MASK + 1 spins (4 beats of a running predecessor) and
 *    halts at once when it stood still: the predecessor is not running,
 *    so the successor cannot be next soon.  This is Linux's pv_wait_early()
 *    with a "running" stamp the vCPUs keep themselves, where Linux asks
 *    vcpu_is_preempted() (steal time).
 *
 * 3. Budget (pv_budget_*): a spin ends when it has lasted as long as one
 *    halt and kick costs (pv_lock_wake_cost_ns(), measured), and not
 *    before PV_BUDGET_MIN_NS: spinning for the cost of blocking, then
 *    blocking, is within 2x of the better choice made in hindsight.  The
 *    loop count (pv_lock_spin_threshold()) still bounds it; until a first
 *    kick has been measured it is the only bound.
 */
#ifndef LOCK_PV_ADAPTIVE_H
#define LOCK_PV_ADAPTIVE_H

#include "pv_ops.h"
#include "qnode.h"

/* The judgements, bits of PV_ADAPTIVE (pvqspinlock_hooks.h). */
#define PV_ADAPT_STEAL 1U  /* 1: steal past a stale head */
#define PV_ADAPT_BEAT 2U   /* 2: halt behind a predecessor whose beat stood still */
#define PV_ADAPT_BUDGET 4U /* 3: end a spin that lasted a halt and kick */
#define PV_ADAPT_ALL (PV_ADAPT_STEAL | PV_ADAPT_BEAT | PV_ADAPT_BUDGET)

/* Free with pending set this long: the head is not running. */
#define PV_STALE_HEAD_NS 20000U
/* The shortest spin budget, whatever a halt and kick was measured at. */
#define PV_BUDGET_MIN_NS 10000U
/* A spinning waiter bumps its node's beat every this many + 1 spins. */
#define PV_BEAT_MASK 0x3fU

/* This CPU's last look at a lock whose head seemed to leave it free. */
struct pv_stale_seen {
	const void *lock;
	uint32_t word;
	uint64_t since_ns; /* first seen so */
	uint64_t last_ns;  /* last seen so */
} LOCK_CACHE_ALIGNED;

/* Per CPU; only that CPU (and its interrupt handlers: a hint) writes it. */
extern struct pv_stale_seen pv_stale_seen[LOCK_NR_CPUS];

/* `word` (tail set, pending set, unlocked) seen on `lock`: is its head stale? */
static inline bool pv_head_stale(const void *lock, uint32_t word)
{
	struct pv_stale_seen *s = &pv_stale_seen[lock_cpu_id()];
	uint64_t now = lock_now_ns();

	if (s->lock != lock || s->word != word || now - s->last_ns > PV_STALE_HEAD_NS) {
		s->lock = lock;
		s->word = word;
		s->since_ns = now;
		s->last_ns = now;
		return false;
	}
	s->last_ns = now;
	return now - s->since_ns >= PV_STALE_HEAD_NS;
}

static inline void pv_beat(struct lock_qnode *node, uint32_t loop)
{
	/* Relaxed: a hint read by the successor; only this CPU writes it. */
	if (!(loop & PV_BEAT_MASK))
		__atomic_store_n(&node->beat,
				 __atomic_load_n(&node->beat, __ATOMIC_RELAXED) + 1U,
				 __ATOMIC_RELAXED);
}

/* What a successor remembers of its predecessor's beat. */
struct pv_beat_watch {
	uint32_t seen;
	bool valid;
};

/* Call every PV_PREV_CHECK_MASK + 1 spins: true if prev's beat stood still. */
static inline bool pv_prev_stalled(struct lock_qnode *prev, struct pv_beat_watch *w)
{
	/* Relaxed: a hint; prev may even have left the queue already. */
	uint32_t beat = __atomic_load_n(&prev->beat, __ATOMIC_RELAXED);
	bool still = w->valid && beat == w->seen;

	w->seen = beat;
	w->valid = true;
	return still;
}

struct pv_budget {
	uint64_t start_ns;
	uint64_t limit_ns; /* UINT64_MAX: no halt and kick measured yet */
};

static inline void pv_budget_start(struct pv_budget *b)
{
	uint64_t cost = pv_lock_wake_cost_ns();

	b->limit_ns = !cost ? UINT64_MAX : cost < PV_BUDGET_MIN_NS ? PV_BUDGET_MIN_NS : cost;
	b->start_ns = lock_now_ns();
}

static inline bool pv_budget_spent(const struct pv_budget *b)
{
	return b->limit_ns != UINT64_MAX && lock_now_ns() - b->start_ns >= b->limit_ns;
}

#endif /* LOCK_PV_ADAPTIVE_H */
