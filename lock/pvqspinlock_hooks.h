/* SPDX-License-Identifier: MIT */
/*
 * pvqspinlock_hooks.h - the PV hooks of the queued spinlock slow path.
 *
 * Included by pvqspinlock.c and pvqspinlock_adaptive.c, before
 * qspinlock_slowpath.h.  PV_ADAPTIVE (default 0; pvqspinlock_adaptive.c
 * defines it PV_ADAPT_ALL) adds the judgements of pv_adaptive.h, one bit
 * each: PV_ADAPT_STEAL, q_queue_trylock() also steals past a queue head
 * that leaves a free lock untaken; PV_ADAPT_BEAT, q_pv_wait_node() also
 * halts when the predecessor's beat stood still; PV_ADAPT_HOLDER,
 * q_queue_trylock() stops spinning for a steal and queues when the holder
 * keeps the lock too long.  With PV_ADAPTIVE 0 this is Linux's
 * pvqspinlock, step for step.
 *
 * Per-node vCPU state (lock_qnode.state), and who moves it:
 *
 *            waiter spun PV_SPIN_THRESHOLD                kick_node() by the
 *            (or predecessor not running)                 new lock owner
 *   RUNNING ------------------------------> HALTED ---------------------> HASHED
 *      ^                                      |                             |
 *      |   woke up, state still HALTED        |                             |
 *      +--------------------------------------+                             |
 *      |   queue head spins again (keeps "already hashed" in mind)          |
 *      +--------------------------------------------------------------------+
 *
 * Two places a CPU can halt:
 *
 * 1. pv_wait_node(): a queued (non-head) waiter spins on node->locked for
 *    the threshold, sets HALTED and waits on its own state byte.  When its
 *    predecessor becomes owner and hands the head role over
 *    (node->locked = 1), q_pv_kick_node() finds HALTED, moves it to HASHED,
 *    puts (lock -> node) in the hash table and sets the locked byte to
 *    Q_SLOW_VAL.  It does NOT kick: the waiter could not take the lock yet
 *    anyway.  The owner's unlock sees Q_SLOW_VAL and kicks then.
 *
 * 2. pv_wait_head_or_lock(): the queue head sets pending (no stealing while
 *    it spins), spins trying to take the lock, clears pending, and, unless
 *    already hashed, inserts (lock -> node) and xchg's locked to
 *    Q_SLOW_VAL.  If that xchg found the lock free we own it: put back
 *    Q_LOCKED_VAL and remove the entry.  Otherwise wait on the locked byte
 *    while it is Q_SLOW_VAL; the unlocker unhashes, stores 0, kicks.
 *
 * Lost wakeups are impossible by construction: a waiter re-checks its
 * condition after publishing HALTED / Q_SLOW_VAL (full barrier), and the
 * waker changes the condition before it looks at the state, so one of them
 * sees the other.  Spurious wakeups are harmless because every wait sits in
 * a loop that re-checks; a kick that arrives before the wait makes the wait
 * return at once (pv_ops contract), which is just another spurious wakeup.
 *
 * The queue head hashes at most once per stay at the head (like Linux).
 * If it is kicked but a stealer wins the lock first, the locked byte is no
 * longer Q_SLOW_VAL, so its later waits return at once: it keeps spinning
 * until it owns the lock.  Re-hashing would need to know that the unlocker
 * already removed the old entry, which it cannot know race-free.
 */
#ifndef LOCK_PVQSPINLOCK_HOOKS_H
#define LOCK_PVQSPINLOCK_HOOKS_H

#include "lock_events.h"
#include "pv_adaptive.h"
#include "pv_hash.h"
#include "pv_ops.h"
#include "qnode.h"

/* A waiter checks its predecessor's state every this many + 1 spins. */
#define PV_PREV_CHECK_MASK 0xffU

#ifndef PV_ADAPTIVE
#define PV_ADAPTIVE 0U
#endif
#define PV_STEAL_STALE ((PV_ADAPTIVE & PV_ADAPT_STEAL) != 0)
#define PV_BEAT ((PV_ADAPTIVE & PV_ADAPT_BEAT) != 0)
#define PV_QUEUE_STALE ((PV_ADAPTIVE & PV_ADAPT_HOLDER) != 0)
_Static_assert(PV_PREV_CHECK_MASK > PV_BEAT_MASK,
	       "a running predecessor beats between two checks of its beat");

static inline bool q_pv_enabled(void)
{
	return true;
}

static inline void q_pv_init_node(struct lock_qnode *node)
{
	/* Relaxed: published with the rest of the node by q_xchg_tail(). */
	__atomic_store_n(&node->cpu, lock_cpu_id(), __ATOMIC_RELAXED);
	__atomic_store_n(&node->state, (uint8_t)PV_VCPU_RUNNING, __ATOMIC_RELAXED);
}

/*
 * Hybrid unfair trylock (Linux: pv_hybrid_queued_unfair_trylock): take the
 * lock whenever owner and pending are both clear, even with a queue, but
 * give up as soon as there is no queue (then queueing is cheap and fair)
 * or the queue head has set pending (it is actively spinning: let it win).
 * This keeps a preempted queue from stalling the lock for everyone.
 *
 * PV_ADAPTIVE: a head with pending set that leaves the lock free is not
 * running (pv_head_stale()); steal past it too.  The steal is the same
 * cmpxchg of the locked byte: the head's q_trylock_clear_pending() then
 * fails and it spins on, as after any steal.  And a holder that keeps the
 * lock with the word unchanged is not running (pv_holder_stale()): stop
 * spinning for a steal and queue, as when there is no queue.
 */
static inline bool q_queue_trylock(struct qspinlock *lock)
{
	for (;;) {
		uint32_t val = q_read(lock);
		uint8_t free_byte = 0;

		/* ACQUIRE on success: we own the lock. */
		if (!(val & Q_LOCKED_PENDING_MASK) &&
		    __atomic_compare_exchange_n(&lock->locked, &free_byte,
						(uint8_t)Q_LOCKED_VAL, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			lock_event_inc(pv_lock_stealing);
			return true;
		}
		if (!(val & Q_TAIL_MASK))
			return false;
		if (PV_QUEUE_STALE && !(val & Q_PENDING_MASK) && (val & Q_LOCKED_MASK) &&
		    pv_holder_stale(lock, val)) {
			lock_event_inc(pv_queue_stale);
			return false;
		}
		if (val & Q_PENDING_MASK) {
			if (!PV_STEAL_STALE || (val & Q_LOCKED_MASK))
				return false;
			/* ACQUIRE on success, as above. */
			if (pv_head_stale(lock, val) &&
			    __atomic_compare_exchange_n(&lock->locked, &free_byte,
							(uint8_t)Q_LOCKED_VAL, false,
							__ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED)) {
				lock_event_inc(pv_steal_stale);
				return true;
			}
		}
		lock_cpu_relax();
	}
}

/* Halt early if the predecessor is not running: we cannot be next soon. */
static inline bool pv_wait_early(struct lock_qnode *prev, uint32_t loop)
{
	if (loop & PV_PREV_CHECK_MASK)
		return false;
	/* Relaxed: a hint; prev may even have left the queue already. */
	return __atomic_load_n(&prev->state, __ATOMIC_RELAXED) != PV_VCPU_RUNNING;
}

static inline void q_pv_wait_node(struct lock_qnode *node, struct lock_qnode *prev)
{
	struct pv_spin_hint hint;

	pv_spin_hint_init(&hint);
	for (;;) {
		bool early = false, stale = false;
		struct pv_beat_watch watch = { 0, false };

		for (uint32_t loop = pv_lock_spin_threshold(); loop; loop--) {
			/* Relaxed: the caller does the ACQUIRE read after us. */
			if (__atomic_load_n(&node->locked, __ATOMIC_RELAXED))
				return;
			if (pv_wait_early(prev, loop)) {
				early = true;
				break;
			}
			if (PV_BEAT) {
				pv_beat(node, loop);
				stale = !(loop & PV_PREV_CHECK_MASK) &&
					pv_prev_stalled(prev, &watch);
				if (stale)
					break;
			}
			pv_spin_hint_tick(&hint);
			lock_cpu_relax();
		}

		/* Relaxed: ordered against the locked re-check by the fence. */
		__atomic_store_n(&node->state, (uint8_t)PV_VCPU_HALTED,
				 __ATOMIC_RELAXED);
		/*
		 * Full barrier: our store of HALTED vs our load of locked,
		 * against the predecessor's store of locked = 1 vs its load
		 * of our state (fence in q_pv_kick_node()).  At least one of
		 * us sees the other's store: either we see locked and do not
		 * wait, or it sees HALTED and arranges the kick.
		 */
		lock_smp_mb();
		if (!__atomic_load_n(&node->locked, __ATOMIC_RELAXED)) {
			lock_event_inc(pv_wait_node);
			lock_event_cond_inc(pv_wait_early, early);
			lock_event_cond_inc(pv_wait_stale, stale);
			pv_lock_wait(&node->state, (uint8_t)PV_VCPU_HALTED);
		}

		/*
		 * Back to RUNNING unless q_pv_kick_node() moved us to HASHED,
		 * which q_pv_wait_head_or_lock() must see.  Relaxed: only
		 * the state value matters here.
		 */
		uint8_t halted = (uint8_t)PV_VCPU_HALTED;
		__atomic_compare_exchange_n(&node->state, &halted,
					    (uint8_t)PV_VCPU_RUNNING, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);

		/* Woke without the handoff: spin a while before halting again. */
		lock_event_cond_inc(pv_spurious_wakeup,
				    !__atomic_load_n(&node->locked, __ATOMIC_RELAXED));
	}
}

/*
 * We own the lock and just made `node` the queue head (node->locked = 1).
 * If it is halted, make our unlock kick it: HALTED -> HASHED, hash it,
 * locked byte = Q_SLOW_VAL.  If it is running it will see locked itself.
 */
static inline void q_pv_kick_node(struct qspinlock *lock, struct lock_qnode *node)
{
	uint8_t halted = (uint8_t)PV_VCPU_HALTED;

	/* Full barrier: pairs with the one in q_pv_wait_node(). */
	lock_smp_mb();
	if (!__atomic_compare_exchange_n(&node->state, &halted,
					 (uint8_t)PV_VCPU_HASHED, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;

	/*
	 * Relaxed: we own the lock; the only reader of this Q_SLOW_VAL and
	 * of the hash entry is our own unlock, later in program order.
	 */
	__atomic_store_n(&lock->locked, (uint8_t)Q_SLOW_VAL, __ATOMIC_RELAXED);
	(void)pv_hash(lock, node);
}

static inline uint32_t q_pv_wait_head_or_lock(struct qspinlock *lock,
					      struct lock_qnode *node)
{
	/* q_pv_kick_node() may already have hashed us. */
	bool hashed = __atomic_load_n(&node->state, __ATOMIC_RELAXED) ==
		      PV_VCPU_HASHED;
	struct pv_spin_hint hint;

	pv_spin_hint_init(&hint);

	for (uint32_t waits = 0;; waits++) {
		/* Relaxed: read by successors' pv_wait_early() as a hint. */
		__atomic_store_n(&node->state, (uint8_t)PV_VCPU_RUNNING,
				 __ATOMIC_RELAXED);

		/* Pending set: stealers back off while we spin. */
		q_set_pending(lock);
		for (uint32_t loop = pv_lock_spin_threshold(); loop; loop--) {
			if (q_trylock_clear_pending(lock))
				goto gotlock;
			if (PV_BEAT)
				pv_beat(node, loop);
			pv_spin_hint_tick(&hint);
			lock_cpu_relax();
		}
		q_clear_pending(lock);

		if (!hashed) {
			struct pv_hash_entry *he = pv_hash(lock, node);

			hashed = true;
			/*
			 * ACQ_REL: RELEASE makes the hash entry visible to an
			 * unlocker that reads Q_SLOW_VAL (its ACQUIRE fence);
			 * ACQUIRE in case the lock was free and is now ours.
			 */
			if (__atomic_exchange_n(&lock->locked, (uint8_t)Q_SLOW_VAL,
						__ATOMIC_ACQ_REL) == 0) {
				/* It was free: ours.  Undo the slow marking. */
				__atomic_store_n(&lock->locked, (uint8_t)Q_LOCKED_VAL,
						 __ATOMIC_RELAXED);
				pv_hash_remove_entry(he);
				goto gotlock;
			}
		}

		/* Relaxed: a hint for successors (we are not running). */
		__atomic_store_n(&node->state, (uint8_t)PV_VCPU_HASHED,
				 __ATOMIC_RELAXED);
		lock_event_inc(pv_wait_head);
		lock_event_cond_inc(pv_wait_again, waits);
		/* Returns at once if the lock is no longer Q_SLOW_VAL. */
		pv_lock_wait(&lock->locked, (uint8_t)Q_SLOW_VAL);
	}

gotlock:
	/* Never 0: tells the slow path we already own the lock. */
	return q_read(lock) | Q_LOCKED_VAL;
}

#endif /* LOCK_PVQSPINLOCK_HOOKS_H */
