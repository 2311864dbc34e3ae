/* SPDX-License-Identifier: MIT */
/* lock_percpu.c - placement of the lock library's per-CPU arrays (lock_percpu.h). */
#include "lock_percpu_carve.h"

/* The arrays in memory order; each carver keeps its part aligned. */
static size_t (*const lock_percpu_parts[])(void *mem, unsigned int nr_cpus) = {
	lock_qnodes_carve,
	mcs_nodes_carve,
	lock_events_carve,
	pv_hash_carve,
	pv_kick_time_carve,
	pv_stale_seen_carve,
};

#define LOCK_PERCPU_NR_PARTS (sizeof(lock_percpu_parts) / sizeof(lock_percpu_parts[0]))

/* The word the zeroing loop stores. may_alias: the arrays read this memory
 * through their own types afterwards, which a store of a plain uint64_t
 * would not allow under C's aliasing rules. */
typedef uint64_t __attribute__((may_alias)) lock_zero_word;
_Static_assert(LOCK_PERCPU_ALIGN % sizeof(lock_zero_word) == 0,
	       "placed memory is zeroed in whole words");

static unsigned int lock_percpu_cpus = 1;

size_t lock_percpu_size(unsigned int nr_cpus)
{
	size_t total = 0;

	if (nr_cpus == 0 || nr_cpus > LOCK_NR_CPUS)
		return 0;
	for (size_t i = 0; i < LOCK_PERCPU_NR_PARTS; i++)
		total += lock_percpu_parts[i](NULL, nr_cpus);
	return total;
}

bool lock_percpu_place(void *mem, unsigned int nr_cpus)
{
	size_t total = lock_percpu_size(nr_cpus);
	lock_zero_word *w = mem;
	char *p = mem;

	if (!total || !mem || (uintptr_t)mem % LOCK_PERCPU_ALIGN)
		return false;
	/*
	 * Relaxed atomic stores on purpose: gcc must not fold this loop into
	 * memset() (the library links against nothing).  Nothing else reads
	 * the memory yet (lock_percpu.h: placement is quiescent).
	 */
	for (size_t i = 0; i < total / sizeof(*w); i++)
		__atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
	for (size_t i = 0; i < LOCK_PERCPU_NR_PARTS; i++)
		p += lock_percpu_parts[i](p, nr_cpus);
	lock_percpu_cpus = nr_cpus;
	return true;
}

unsigned int lock_percpu_nr(void)
{
	return lock_percpu_cpus;
}
