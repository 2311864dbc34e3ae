/* SPDX-License-Identifier: MIT */
/*
 * qspinlock.h - native queued spinlock (Linux-style word, MCS queue).
 *
 * Fast path inline: one cmpxchg to lock, one byte store to unlock.
 * Word layout and state transitions: qspinlock_word.h, qspinlock_slowpath.h.
 */
#ifndef LOCK_QSPINLOCK_H
#define LOCK_QSPINLOCK_H

#include "qspinlock_word.h"

void qspin_lock_slowpath(struct qspinlock *lock, uint32_t val);

static inline void qspin_init(struct qspinlock *lock)
{
	__atomic_store_n(&lock->val, 0, __ATOMIC_RELAXED);
}

static inline void qspin_lock(struct qspinlock *lock)
{
	q_lock(lock, qspin_lock_slowpath);
}

static inline bool qspin_trylock(struct qspinlock *lock)
{
	return q_trylock(lock);
}

static inline void qspin_unlock(struct qspinlock *lock)
{
	/*
	 * RELEASE: the critical section is visible to the next owner, whose
	 * ACQUIRE read of locked (pending CPU or queue head) pairs with this.
	 */
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

/* Like Linux: any non-zero word (owned, pending or queued) counts. */
static inline bool qspin_is_locked(struct qspinlock *lock)
{
	return q_read(lock) != 0;
}

#endif /* LOCK_QSPINLOCK_H */
