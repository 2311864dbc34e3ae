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

static void broken_init(struct broken_lock *b)
{
	__atomic_store_n(&b->word, 0, __ATOMIC_RELAXED);
}

static bool broken_trylock(struct broken_lock *b)
{
	/* ACQUIRE: as a real lock would; the missing atomicity is the bug. */
	if (__atomic_load_n(&b->word, __ATOMIC_ACQUIRE) != 0)
		return false;
	/* The bug: another CPU may store here too.  A pause widens the window. */
	lock_cpu_relax();
	__atomic_store_n(&b->word, BROKEN_HELD, __ATOMIC_RELAXED);
	return true;
}

static void broken_lock(struct broken_lock *b)
{
	while (!broken_trylock(b))
		lock_cpu_relax();
}

static void broken_unlock(struct broken_lock *b)
{
	/* RELEASE: publish the critical section, like a correct lock. */
	__atomic_store_n(&b->word, 0, __ATOMIC_RELEASE);
}

static bool broken_is_locked(struct broken_lock *b)
{
	return __atomic_load_n(&b->word, __ATOMIC_RELAXED) != 0;
}

LOCK_TYPE_DEFINE(broken, struct broken_lock, broken);
