/* SPDX-License-Identifier: MIT */
/*
 * pv_hash.h - lock -> halted queue-head node, for the PV unlock slow path.
 *
 * A queue head that halts stores (lock, node) here before it sets the
 * locked byte to Q_SLOW_VAL; the unlocker that finds Q_SLOW_VAL looks the
 * lock up, removes the entry and kicks node->cpu.  At most one entry per
 * lock exists at a time (only the queue head inserts), and at most one per
 * node, so the table (open addressing, linear probing) can never fill up;
 * pv_hash() traps (lock_bug_why()) if it finds it full all the same.
 */
#ifndef LOCK_PV_HASH_H
#define LOCK_PV_HASH_H

#include "qnode.h"

struct pv_hash_entry {
	struct qspinlock *lock; /* NULL: free slot */
	struct lock_qnode *node;
};

/*
 * At least twice the maximum number of live entries (one per node of the
 * CPUs placed, lock_percpu.h): short probe sequences.  The table is carved
 * by lock_percpu_place(), pv_hash_entries_for() entries: a power of two,
 * because the slot is the upper half of the hash under a mask.
 */
#define PV_HASH_LOAD_INV 2U

_Static_assert(PV_HASH_LOAD_INV >= 2U, "hash table must never fill");

static inline size_t pv_hash_entries_for(unsigned int nr_cpus)
{
	size_t want = (size_t)nr_cpus * LOCK_QNODES_PER_CPU * PV_HASH_LOAD_INV;
	size_t n = 1;

	while (n < want)
		n <<= 1;
	return n;
}

/* Entries of the table in use (tests). */
size_t pv_hash_entries(void);

/* Insert; returns the entry (for pv_hash_remove_entry()). */
struct pv_hash_entry *pv_hash(struct qspinlock *lock, struct lock_qnode *node);
/* Find and remove lock's entry; NULL if there is none. */
struct lock_qnode *pv_unhash(struct qspinlock *lock);
/* Remove an entry we inserted ourselves. */
void pv_hash_remove_entry(struct pv_hash_entry *he);
/* Find without removing (tests and debugging). */
struct lock_qnode *pv_hash_lookup(struct qspinlock *lock);

#endif /* LOCK_PV_HASH_H */
