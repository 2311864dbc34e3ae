/* SPDX-License-Identifier: MIT */
/*
 * ttas.c - test-and-test-and-set lock with exponential backoff.
 *
 * Waiters spin on a plain load (the line stays shared in their caches) and
 * only try the exchange when the lock looks free; a lost race backs off.
 */
#include "backoff.h"
#include "lock.h"

struct ttas_lock {
	uint32_t word; /* 0 free, TTAS_HELD held */
};

#define TTAS_HELD 1U

static void ttas_init(struct ttas_lock *t)
{
	__atomic_store_n(&t->word, 0, __ATOMIC_RELAXED);
}

static bool ttas_trylock(struct ttas_lock *t)
{
	/*
	 * The relaxed peek orders nothing; the ACQUIRE exchange orders the
	 * critical section after taking ownership.
	 */
	return __atomic_load_n(&t->word, __ATOMIC_RELAXED) == 0 &&
	       __atomic_exchange_n(&t->word, TTAS_HELD, __ATOMIC_ACQUIRE) == 0;
}

static void ttas_lock(struct ttas_lock *t)
{
	unsigned int delay = LOCK_BACKOFF_MIN;

	for (;;) {
		/* Relaxed: just waiting for "looks free"; the exchange decides. */
		while (__atomic_load_n(&t->word, __ATOMIC_RELAXED) != 0)
			lock_cpu_relax();
		/* ACQUIRE: pairs with ttas_unlock()'s RELEASE store. */
		if (__atomic_exchange_n(&t->word, TTAS_HELD, __ATOMIC_ACQUIRE) == 0)
			return;
		lock_backoff(&delay);
	}
}

static void ttas_unlock(struct ttas_lock *t)
{
	/* RELEASE: publish the critical section to the next owner's ACQUIRE. */
	__atomic_store_n(&t->word, 0, __ATOMIC_RELEASE);
}

static bool ttas_is_locked(struct ttas_lock *t)
{
	return __atomic_load_n(&t->word, __ATOMIC_RELAXED) != 0;
}

LOCK_TYPE_DEFINE(ttas, struct ttas_lock, ttas);
