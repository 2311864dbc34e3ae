/* SPDX-License-Identifier: MIT */
/* pv_hash.c - the lock -> node hash table of pvqspinlock. */
#include "lock_events.h"
#include "pv_hash.h"

static struct pv_hash_entry pv_hash_table[PV_HASH_ENTRIES] LOCK_CACHE_ALIGNED;

/* 2^64 / golden ratio: Fibonacci hashing spreads aligned pointers well. */
#define PV_HASH_MULT 0x9e3779b97f4a7c15ULL
#define PV_HASH_SHIFT 32

static size_t pv_hash_slot(struct qspinlock *lock)
{
	uint64_t h = (uint64_t)(uintptr_t)lock * PV_HASH_MULT;

	return (size_t)((h >> PV_HASH_SHIFT) % PV_HASH_ENTRIES);
}

static size_t pv_hash_next(size_t i)
{
	return i + 1U == PV_HASH_ENTRIES ? 0 : i + 1U;
}

/*
 * One pass over the table finds a free slot unless an entry leaked (the
 * table holds twice the live maximum): then trap, like Linux's BUG(),
 * rather than probe forever.
 */
struct pv_hash_entry *pv_hash(struct qspinlock *lock, struct lock_qnode *node)
{
	uint64_t hops = 1;
	size_t i = pv_hash_slot(lock);

	for (size_t n = 0; n < PV_HASH_ENTRIES; n++, i = pv_hash_next(i), hops++) {
		struct pv_hash_entry *he = &pv_hash_table[i];
		struct qspinlock *expected = NULL;

		/*
		 * ACQUIRE: our store to ->node below must not pass the claim,
		 * nor race with the previous user's read of ->node (it
		 * released the slot with a RELEASE store of lock = NULL).
		 * Publishing the entry to the unlocker is the caller's job
		 * (its xchg of the locked byte to Q_SLOW_VAL is RELEASE).
		 */
		if (__atomic_compare_exchange_n(&he->lock, &expected, lock, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			__atomic_store_n(&he->node, node, __ATOMIC_RELAXED);
			lock_event_add(LOCK_EV_pv_hash_hops, hops);
			return he;
		}
	}
	lock_bug_why("pv_hash: table full after one pass (a leaked entry)");
}

static struct pv_hash_entry *pv_hash_find(struct qspinlock *lock)
{
	size_t i = pv_hash_slot(lock);

	for (size_t n = 0; n < PV_HASH_ENTRIES; n++, i = pv_hash_next(i)) {
		struct pv_hash_entry *he = &pv_hash_table[i];

		/* Relaxed: the caller ordered itself after the insert. */
		if (__atomic_load_n(&he->lock, __ATOMIC_RELAXED) == lock)
			return he;
	}
	return NULL;
}

void pv_hash_remove_entry(struct pv_hash_entry *he)
{
	/* RELEASE: our read of ->node happens before the slot is reused. */
	__atomic_store_n(&he->lock, NULL, __ATOMIC_RELEASE);
}

struct lock_qnode *pv_unhash(struct qspinlock *lock)
{
	struct pv_hash_entry *he = pv_hash_find(lock);
	struct lock_qnode *node;

	if (!he)
		return NULL;
	node = __atomic_load_n(&he->node, __ATOMIC_RELAXED);
	pv_hash_remove_entry(he);
	return node;
}

struct lock_qnode *pv_hash_lookup(struct qspinlock *lock)
{
	struct pv_hash_entry *he = pv_hash_find(lock);

	return he ? __atomic_load_n(&he->node, __ATOMIC_RELAXED) : NULL;
}
