/* SPDX-License-Identifier: MIT */
/*
 * broken.c - a deliberately WRONG lock.
 *
 * Test-and-set done as a separate load and store: two CPUs can both read
 * "free" and both store "held".  It exists only so the torture tests can
 * prove they detect a mutual-exclusion violation.  Not part of "all".
 *
 * The accesses are relaxed atomics so that the *lock word* is not a C data
 * race; the violation shows up where it should, in the critical section.
 */
#include "lock.h"

struct broken_lock {
	uint32_t word;
};

#define BROKEN_HELD 1U

_Static_assert(sizeof(struct broken_lock) <= LOCK_MAX_SIZE, "broken size");
_Static_assert(_Alignof(struct broken_lock) <= LOCK_MAX_ALIGN, "broken align");

static void broken_init(void *l)
{
	__atomic_store_n(&((struct broken_lock *)l)->word, 0, __ATOMIC_RELAXED);
}

static bool broken_trylock(void *l)
{
	struct broken_lock *b = l;

	/* ACQUIRE: as a real lock would; the missing atomicity is the bug. */
	if (__atomic_load_n(&b->word, __ATOMIC_ACQUIRE) != 0)
		return false;
	/* The bug: another CPU may store here too.  A pause widens the window. */
	lock_cpu_relax();
	__atomic_store_n(&b->word, BROKEN_HELD, __ATOMIC_RELAXED);
	return true;
}

static void broken_lock(void *l)
{
	while (!broken_trylock(l))
		lock_cpu_relax();
}

static void broken_unlock(void *l)
{
	/* RELEASE: publish the critical section, like a correct lock. */
	__atomic_store_n(&((struct broken_lock *)l)->word, 0, __ATOMIC_RELEASE);
}

static bool broken_is_locked(void *l)
{
	return __atomic_load_n(&((struct broken_lock *)l)->word, __ATOMIC_RELAXED) != 0;
}

const struct lock_type lock_type_broken = {
	.name = "broken",
	.size = sizeof(struct broken_lock),
	.init = broken_init,
	.lock = broken_lock,
	.unlock = broken_unlock,
	.trylock = broken_trylock,
	.is_locked = broken_is_locked,
};
