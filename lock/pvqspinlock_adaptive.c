/* SPDX-License-Identifier: MIT */
/*
 * pvqspinlock_adaptive.c - pvqspinlock with the judgements of pv_adaptive.h:
 * the same word, fast paths, unlock and slow path, the PV hooks with
 * PV_ADAPTIVE PV_ADAPT_ALL, and its lock_type.
 */
#include "lock.h"
#include "lock_percpu_carve.h"
#include "pvqspinlock.h"

#include "pv_adaptive.h"
#define PV_ADAPTIVE PV_ADAPT_ALL
#include "pvqspinlock_hooks.h"

#define QSPIN_SLOWPATH_FN pvqspin_adaptive_lock_slowpath
#include "qspinlock_slowpath.h"

/* CPU 0's record until lock_percpu_place() (lock_percpu.h). */
static struct pv_stale_seen pv_stale_seen_one_cpu[1];

struct pv_stale_seen *pv_stale_seen = pv_stale_seen_one_cpu;

size_t pv_stale_seen_carve(void *mem, unsigned int nr_cpus)
{
	if (mem)
		pv_stale_seen = mem;
	return lock_percpu_bytes(nr_cpus, sizeof(pv_stale_seen[0]));
}

static inline void pvqspin_adaptive_lock(struct qspinlock *lock)
{
	q_lock(lock, pvqspin_adaptive_lock_slowpath);
}

/* The rest is pvqspinlock's: the unlock slow path kicks whoever is hashed. */
#define pvqspin_adaptive_init pvqspin_init
#define pvqspin_adaptive_unlock pvqspin_unlock
#define pvqspin_adaptive_trylock pvqspin_trylock
#define pvqspin_adaptive_is_locked pvqspin_is_locked

LOCK_TYPE_DEFINE(pvqspinlock_adaptive, struct qspinlock, pvqspin_adaptive);
