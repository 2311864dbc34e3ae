/* SPDX-License-Identifier: MIT */
/*
 * pvqspinlock.h - paravirtual queued spinlock.
 *
 * Same word as qspinlock (qspinlock_word.h), same fast path; the slow path
 * is the one in qspinlock_slowpath.h with the PV hooks of
 * pvqspinlock_hooks.h.  Differences visible here:
 *   - unlock is a RELEASE cmpxchg of the locked byte Q_LOCKED_VAL -> 0; if
 *     it finds Q_SLOW_VAL, a halted queue head is hashed and must be kicked
 *     (pvqspin_unlock_slowpath()).
 */
#ifndef LOCK_PVQSPINLOCK_H
#define LOCK_PVQSPINLOCK_H

#include "pv_ops.h"
#include "qspinlock_word.h"

void pvqspin_lock_slowpath(struct qspinlock *lock, uint32_t val);
/* pvqspinlock_adaptive's (pvqspinlock_adaptive.c); its unlock is ours. */
void pvqspin_adaptive_lock_slowpath(struct qspinlock *lock, uint32_t val);
void pvqspin_unlock_slowpath(struct qspinlock *lock, uint8_t locked);

static inline void pvqspin_init(struct qspinlock *lock)
{
	__atomic_store_n(&lock->val, 0, __ATOMIC_RELAXED);
}

static inline void pvqspin_lock(struct qspinlock *lock)
{
	q_lock(lock, pvqspin_lock_slowpath);
}

static inline bool pvqspin_trylock(struct qspinlock *lock)
{
	return q_trylock(lock);
}

static inline void pvqspin_unlock(struct qspinlock *lock)
{
	uint8_t locked = (uint8_t)Q_LOCKED_VAL;

	/*
	 * RELEASE: publish the critical section to the next owner.  Failure
	 * is relaxed; the slow path does the ACQUIRE read it needs.  Never
	 * unlock blindly: with Q_SLOW_VAL we must unhash first, or a stale
	 * entry for this lock would stay in the table.
	 */
	if (lock_likely(__atomic_compare_exchange_n(&lock->locked, &locked, 0, false,
						    __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED)))
		return;
	pvqspin_unlock_slowpath(lock, locked);
}

static inline bool pvqspin_is_locked(struct qspinlock *lock)
{
	return q_read(lock) != 0;
}

#endif /* LOCK_PVQSPINLOCK_H */
