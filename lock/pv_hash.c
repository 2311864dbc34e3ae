/* SPDX-License-Identifier: MIT */
/* pv_hash.c - the lock -> node hash table of pvqspinlock. */
#include "lock_events.h"
#include "lock_percpu_carve.h"
#include "pv_hash.h"

/* 2^64 / golden ratio: Fibonacci hashing spreads aligned pointers well. */
#define PV_HASH_MULT 0x9e3779b97f4a7c15ULL
#define PV_HASH_SHIFT 32

/* The table is the entries below rounded up to a power of two: at most twice them. */
_Static_assert(2ULL * LOCK_NR_CPUS * LOCK_QNODES_PER_CPU * PV_HASH_LOAD_INV <=
		       1ULL << (64 - PV_HASH_SHIFT),
	       "the slot comes from the hash's top 64 - PV_HASH_SHIFT bits");

/*
 * The table and its mask (entries - 1), carved by lock_percpu_place(); CPU
 * 0's table until then.  Side by side in one line: a lookup loads them once
 * (placement happens only while no lock is in use, lock_percpu.h).
 */
#define PV_HASH_ONE_CPU_ENTRIES (LOCK_QNODES_PER_CPU * PV_HASH_LOAD_INV)
_Static_assert((PV_HASH_ONE_CPU_ENTRIES & (PV_HASH_ONE_CPU_ENTRIES - 1U)) == 0,
	       "the one-CPU table is already a power of two");

static struct pv_hash_entry pv_hash_one_cpu[PV_HASH_ONE_CPU_ENTRIES] LOCK_CACHE_ALIGNED;

static struct {
	struct pv_hash_entry *table;
	size_t mask;
} pv_hash_tab LOCK_CACHE_ALIGNED = { pv_hash_one_cpu, PV_HASH_ONE_CPU_ENTRIES - 1U };

size_t pv_hash_carve(void *mem, unsigned int nr_cpus)
{
	size_t entries = pv_hash_entries_for(nr_cpus);

	if (mem) {
		pv_hash_tab.table = mem;
		pv_hash_tab.mask = entries - 1U;
	}
	return lock_percpu_bytes(entries, sizeof(struct pv_hash_entry));
}

size_t pv_hash_entries(void)
{
	return pv_hash_tab.mask + 1U;
}

static size_t pv_hash_slot(struct qspinlock *lock, size_t mask)
{
	uint64_t h = (uint64_t)(uintptr_t)lock * PV_HASH_MULT;

	return (size_t)(h >> PV_HASH_SHIFT) & mask;
}

/*
 * One pass over the table finds a free slot unless an entry leaked (the
 * table holds twice the live maximum): then trap, like Linux's BUG(),
 * rather than probe forever.
 */
struct pv_hash_entry *pv_hash(struct qspinlock *lock, struct lock_qnode *node)
{
	struct pv_hash_entry *table = pv_hash_tab.table;
	size_t mask = pv_hash_tab.mask;
	uint64_t hops = 1;
	size_t i = pv_hash_slot(lock, mask);

	for (size_t n = 0; n <= mask; n++, i = (i + 1U) & mask, hops++) {
		struct pv_hash_entry *he = &table[i];
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
	struct pv_hash_entry *table = pv_hash_tab.table;
	size_t mask = pv_hash_tab.mask;
	size_t i = pv_hash_slot(lock, mask);

	for (size_t n = 0; n <= mask; n++, i = (i + 1U) & mask) {
		struct pv_hash_entry *he = &table[i];

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
