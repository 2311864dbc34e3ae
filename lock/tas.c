/* SPDX-License-Identifier: MIT */
/*
 * tas.c - test-and-set lock with exponential backoff.
 *
 * Every attempt is an atomic exchange, even while the lock is held, so
 * waiters keep the line bouncing; backoff limits the damage.
 */
#include "backoff.h"
#include "lock.h"

struct tas_lock {
	uint32_t word; /* 0 free, TAS_HELD held */
};

#define TAS_HELD 1U

static void tas_init(struct tas_lock *l)
{
	__atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}

static bool tas_trylock(struct tas_lock *l)
{
	/* ACQUIRE: the critical section cannot start before we own the word. */
	return __atomic_exchange_n(&l->word, TAS_HELD, __ATOMIC_ACQUIRE) == 0;
}

static void tas_lock(struct tas_lock *l)
{
	unsigned int delay = LOCK_BACKOFF_MIN;

	while (!tas_trylock(l))
		lock_backoff(&delay);
}

static void tas_unlock(struct tas_lock *l)
{
	/* RELEASE: the critical section's accesses happen before the next owner's. */
	__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
}

static bool tas_is_locked(struct tas_lock *l)
{
	return __atomic_load_n(&l->word, __ATOMIC_RELAXED) != 0;
}

LOCK_TYPE_DEFINE(tas, struct tas_lock, tas);
