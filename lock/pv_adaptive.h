/* SPDX-License-Identifier: MIT */
/*
 * pv_adaptive.h - the three judgements pvqspinlock_adaptive adds to the PV
 * hooks: a queue head, a predecessor and a lock holder that are not
 * running.
 *
 * Each is a hint: a wrong answer costs time, never correctness.  Stealing
 * is a cmpxchg of the locked byte whatever the judgement (mutual exclusion
 * does not depend on it), and halting early or late is what
 * pv_wait_early() already does (tests/model covers both with every
 * outcome of the judgement).  Neither needs anything from the hypervisor,
 * so they work where it tells nothing (TCG: no steal time, no
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
 * 3. Stale holder (pv_word_stale with PV_STALE_HOLDER_NS): Linux's hybrid
 *    trylock spins, without queueing, as long as there is a queue and no
 *    pending head, hoping to steal; behind a holder that is not running
 *    that spin burns the newcomer's whole time slice.  A lock that this
 *    CPU keeps seeing held with the same word for PV_STALE_HOLDER_NS (a
 *    thousand times a short critical section) has a holder that is not
 *    running, or a hold long enough that queueing costs nothing: the
 *    newcomer stops trying to steal and queues, where it halts like any
 *    queued waiter.
 */
#ifndef LOCK_PV_ADAPTIVE_H
#define LOCK_PV_ADAPTIVE_H

#include "pv_ops.h"
#include "qnode.h"

/* The judgements, bits of PV_ADAPTIVE (pvqspinlock_hooks.h). */
#define PV_ADAPT_STEAL 1U  /* 1: steal past a stale head */
#define PV_ADAPT_BEAT 2U   /* 2: halt behind a predecessor whose beat stood still */
#define PV_ADAPT_HOLDER 4U /* 3: queue, not spin, behind a stale holder */
#define PV_ADAPT_ALL (PV_ADAPT_STEAL | PV_ADAPT_BEAT | PV_ADAPT_HOLDER)

/* Free with pending set this long: the head is not running. */
#define PV_STALE_HEAD_NS 20000U
/* Held with an unchanged word this long: the holder is not running. */
#define PV_STALE_HOLDER_NS 200000U
/* A spinning waiter bumps its node's beat every this many + 1 spins. */
#define PV_BEAT_MASK 0x3fU

/* This CPU's last look at a lock whose word stood still. */
struct pv_stale_seen {
	const void *lock;
	uint32_t word;
	uint64_t since_ns; /* first seen so */
	uint64_t last_ns;  /* last seen so */
} LOCK_CACHE_ALIGNED;

/*
 * pv_stale_seen[cpu], carved by lock_percpu_place() (lock_percpu.h); only
 * that CPU (and its interrupt handlers: a hint) writes it.  A look loads the
 * pointer once: placement happens only while no lock is in use.
 */
extern struct pv_stale_seen *pv_stale_seen;

/*
 * `word` seen on `lock` again: has this CPU seen it so for `ns` without a
 * gap of `ns` between two looks?
 */
static inline bool pv_word_stale(const void *lock, uint32_t word, uint64_t ns)
{
	struct pv_stale_seen *s = &pv_stale_seen[lock_cpu_id()];
	uint64_t now = lock_now_ns();

	if (s->lock != lock || s->word != word || now - s->last_ns > ns) {
		s->lock = lock;
		s->word = word;
		s->since_ns = now;
		s->last_ns = now;
		return false;
	}
	s->last_ns = now;
	return now - s->since_ns >= ns;
}

/* `word` (tail set, pending set, unlocked) seen on `lock`: is its head stale? */
static inline bool pv_head_stale(const void *lock, uint32_t word)
{
	return pv_word_stale(lock, word, PV_STALE_HEAD_NS);
}

/* `word` (tail set, pending clear, locked) seen on `lock`: is its holder stale? */
static inline bool pv_holder_stale(const void *lock, uint32_t word)
{
	return pv_word_stale(lock, word, PV_STALE_HOLDER_NS);
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

#endif /* LOCK_PV_ADAPTIVE_H */
