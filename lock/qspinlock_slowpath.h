/* SPDX-License-Identifier: MIT */
/*
 * qspinlock_slowpath.h - THE queued spinlock slow path, written once.
 *
 * Included by exactly three files, each after defining the PV hooks and
 * QSPIN_SLOWPATH_FN (the function name):
 *
 *   qspinlock.c    native: hooks are empty inlines and compile to nothing,
 *                  q_queue_trylock() is the plain trylock.
 *   pvqspinlock.c  paravirt: hooks halt/kick/hash (pvqspinlock_hooks.h),
 *                  q_queue_trylock() is the hybrid unfair trylock.
 *   pvqspinlock_adaptive.c  the same hooks with PV_ADAPTIVE PV_ADAPT_ALL
 *                  (pv_adaptive.h).
 *
 * Hooks each includer must provide:
 *   bool     q_pv_enabled(void)
 *   void     q_pv_init_node(struct lock_qnode *node)
 *   void     q_pv_wait_node(struct lock_qnode *node, struct lock_qnode *prev)
 *   void     q_pv_kick_node(struct qspinlock *lock, struct lock_qnode *node)
 *   uint32_t q_pv_wait_head_or_lock(struct qspinlock *lock, struct lock_qnode *node)
 *   bool     q_queue_trylock(struct qspinlock *lock)
 *
 * State transitions of the word, written (tail, pending, locked); x means
 * "anything", * "non-zero".  Fast path (in the callers): (0,0,0) -> (0,0,1).
 *
 *  pending path (native only; uncontended but owned):
 *    (0,0,1) -> (0,1,1)        we set pending and are "next"
 *    (0,1,1) -> (0,1,0)        owner unlocks (a byte store)
 *    (0,1,0) -> (0,0,1)        we clear pending, set locked: we own it
 *    if anyone else is already pending or queued we undo our pending bit
 *    (only if we were the one to set it) and queue.
 *
 *  queue path:
 *    (n,x,y) -> (us,x,y)       xchg_tail: we are the new tail; if n was
 *                              set, link into n's node and spin on our
 *                              own node until n hands the queue head over
 *    head waits for (x,0,0)    owner and pending CPU both gone
 *    (us,0,0) -> (0,0,1)       we are also the tail: take it, queue empty
 *    (n,0,0)  -> (n,0,1)       others behind us: take it, then hand the
 *                              head role to our successor (its node.locked)
 */
#ifndef QSPIN_SLOWPATH_FN
#error "define QSPIN_SLOWPATH_FN and the PV hooks before including this"
#endif

#include "lock_events.h"
#include "qnode.h"

/*
 * A pending->locked handover is a couple of instructions; wait this many
 * reads for it rather than queueing behind it.
 */
#define QSPIN_PENDING_LOOPS 512U

__attribute__((noinline)) void QSPIN_SLOWPATH_FN(struct qspinlock *lock,
						 uint32_t val)
{
	struct lock_qnode (*qnodes)[LOCK_QNODES_PER_CPU], *node, *prev, *next;
	unsigned int cpu, idx;
	uint32_t old, tail;

	/* PV never uses the pending path: a halted pending CPU would stall it. */
	if (q_pv_enabled())
		goto queue;

	/* (0,1,0): a handover to the pending CPU is in flight; let it finish. */
	if (val == Q_PENDING_VAL) {
		unsigned int loops = QSPIN_PENDING_LOOPS;

		while ((val = q_read(lock)) == Q_PENDING_VAL && loops--)
			lock_cpu_relax();
	}

	/* Someone pending or queued already: get in line. */
	if (val & ~Q_LOCKED_MASK)
		goto queue;

	/* (0,0,x) -> (0,1,x): become the pending waiter. */
	val = q_fetch_set_pending_acquire(lock);
	if (lock_unlikely(val & ~Q_LOCKED_MASK)) {
		/* Lost a race.  Undo pending only if it was we who set it. */
		if (!(val & Q_PENDING_MASK))
			q_clear_pending(lock);
		goto queue;
	}

	/*
	 * We are pending: wait for the owner to go.  ACQUIRE pairs with the
	 * owner's RELEASE store of locked = 0 in unlock.
	 */
	if (val & Q_LOCKED_MASK)
		while (__atomic_load_n(&lock->locked, __ATOMIC_ACQUIRE))
			lock_cpu_relax();

	/* (0,1,0) -> (0,0,1) */
	q_clear_pending_set_locked(lock);
	lock_event_inc(lock_pending);
	return;

queue:
	lock_event_inc(lock_slowpath);
	cpu = lock_cpu_id();
	/* The nodes' base, loaded once for the whole slow path (qnode.h). */
	qnodes = lock_qnodes;
	idx = lock_qnode_get(qnodes[cpu]);
	tail = q_encode_tail(cpu, idx);

	/*
	 * Every node of this CPU is busy (deeper nesting than we planned
	 * for): spin on trylock instead.  Unfair, but needs no node.
	 */
	if (lock_unlikely(idx >= LOCK_QNODES_PER_CPU)) {
		lock_event_inc(lock_no_node);
		while (!q_queue_trylock(lock))
			lock_cpu_relax();
		goto release;
	}

	node = &qnodes[cpu][idx];
	if (idx)
		lock_event_add(LOCK_EV_lock_use_node2 + idx - 1U, 1);

	/* Relaxed: published by the RELEASE half of q_xchg_tail() below. */
	__atomic_store_n(&node->locked, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&node->next, NULL, __ATOMIC_RELAXED);
	q_pv_init_node(node);

	/* The owner may have left while we were getting the node ready. */
	if (q_queue_trylock(lock))
		goto release;

	old = q_xchg_tail(lock, tail);
	next = NULL;

	if (old & Q_TAIL_MASK) {
		prev = lock_qnode_from_tail(qnodes, old);
		/* RELEASE: prev reads our initialised node through next. */
		__atomic_store_n(&prev->next, node, __ATOMIC_RELEASE);

		q_pv_wait_node(node, prev);
		/* ACQUIRE: pairs with prev's RELEASE handoff below. */
		while (!__atomic_load_n(&node->locked, __ATOMIC_ACQUIRE))
			lock_cpu_relax();

		/* Optional peek: saves a wait later if a successor is linked. */
		next = __atomic_load_n(&node->next, __ATOMIC_ACQUIRE);
	}

	/*
	 * We are the queue head.  PV: returns the word with the lock already
	 * taken by us (possibly after halting).  Native: returns 0, and we
	 * wait for owner and pending to clear; ACQUIRE pairs with unlock.
	 */
	val = q_pv_wait_head_or_lock(lock, node);
	if (!val)
		while ((val = __atomic_load_n(&lock->val, __ATOMIC_ACQUIRE)) &
		       Q_LOCKED_PENDING_MASK)
			lock_cpu_relax();

	/*
	 * (us,0,0) -> (0,0,1): last in the queue, take lock and clear tail in
	 * one go.  Relaxed: ordering came from the ACQUIRE read above (or from
	 * the PV acquisition).  Fails if someone queued behind us meanwhile.
	 */
	if ((val & Q_TAIL_MASK) == tail &&
	    __atomic_compare_exchange_n(&lock->val, &val, Q_LOCKED_VAL, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		goto release;

	/* (n,0,0) -> (n,0,1): nobody else can touch locked now. */
	q_set_locked(lock);

	/* The successor swapped the tail; wait for it to link its node. */
	if (!next)
		while (!(next = __atomic_load_n(&node->next, __ATOMIC_ACQUIRE)))
			lock_cpu_relax();

	/* RELEASE: the successor becomes head after seeing our updates. */
	__atomic_store_n(&next->locked, Q_NODE_HANDOFF, __ATOMIC_RELEASE);
	q_pv_kick_node(lock, next);

release:
	lock_qnode_put(qnodes[cpu]);
}
