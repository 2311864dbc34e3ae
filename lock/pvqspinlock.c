/* SPDX-License-Identifier: MIT */
/*
 * pvqspinlock.c - paravirtual instantiation of the queued spinlock slow
 * path, its unlock slow path, and its lock_type.
 */
#include "lock.h"
#include "pvqspinlock.h"
#include "pvqspinlock_hooks.h"

#define QSPIN_SLOWPATH_FN pvqspin_lock_slowpath
#include "qspinlock_slowpath.h"

/*
 * The locked byte was not Q_LOCKED_VAL.  It must be Q_SLOW_VAL: a queue
 * head is hashed (and possibly halted).  Anything else is corruption
 * (e.g. unlocking a free lock).
 */
__attribute__((noinline)) void pvqspin_unlock_slowpath(struct qspinlock *lock,
						       uint8_t locked)
{
	struct lock_qnode *node;
	unsigned int cpu;

	/*
	 * ACQUIRE re-read: pairs with the RELEASE xchg that stored Q_SLOW_VAL
	 * (or we stored it ourselves in q_pv_kick_node()), so the hash entry
	 * inserted before it is visible to the lookup below.  Nobody else
	 * changes a Q_SLOW_VAL locked byte while we own the lock, so this
	 * reads the same value the failed cmpxchg did.
	 */
	if (lock_unlikely(locked != Q_SLOW_VAL ||
			  __atomic_load_n(&lock->locked, __ATOMIC_ACQUIRE) != Q_SLOW_VAL))
		lock_bug();

	node = pv_unhash(lock);
	if (lock_unlikely(!node))
		lock_bug();

	/* Read before unlocking; the node may be reused right after. */
	cpu = __atomic_load_n(&node->cpu, __ATOMIC_RELAXED);

	/* RELEASE: the critical section, then the lock is free. */
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);

	/* The head re-checks after waking: kicking after the release is fine. */
	lock_event_inc(pv_kick_unlock);
	pv_lock_kick(cpu);
}

LOCK_TYPE_DEFINE(pvqspinlock, struct qspinlock, pvqspin);
