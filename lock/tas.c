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

_Static_assert(sizeof(struct tas_lock) <= LOCK_MAX_SIZE, "tas size");
_Static_assert(_Alignof(struct tas_lock) <= LOCK_MAX_ALIGN, "tas align");

static void tas_init(void *l)
{
	__atomic_store_n(&((struct tas_lock *)l)->word, 0, __ATOMIC_RELAXED);
}

static bool tas_trylock(void *l)
{
	/* ACQUIRE: the critical section cannot start before we own the word. */
	return __atomic_exchange_n(&((struct tas_lock *)l)->word, TAS_HELD,
				   __ATOMIC_ACQUIRE) == 0;
}

static void tas_lock(void *l)
{
	unsigned int delay = LOCK_BACKOFF_MIN;

	while (!tas_trylock(l))
		lock_backoff(&delay);
}

static void tas_unlock(void *l)
{
	/* RELEASE: the critical section's accesses happen before the next owner's. */
	__atomic_store_n(&((struct tas_lock *)l)->word, 0, __ATOMIC_RELEASE);
}

static bool tas_is_locked(void *l)
{
	return __atomic_load_n(&((struct tas_lock *)l)->word, __ATOMIC_RELAXED) != 0;
}

const struct lock_type lock_type_tas = {
	.name = "tas",
	.size = sizeof(struct tas_lock),
	.init = tas_init,
	.lock = tas_lock,
	.unlock = tas_unlock,
	.trylock = tas_trylock,
	.is_locked = tas_is_locked,
};
