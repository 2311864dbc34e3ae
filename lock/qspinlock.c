/* SPDX-License-Identifier: MIT */
/*
 * qspinlock.c - native instantiation of the queued spinlock slow path.
 *
 * The PV hooks are empty inlines: after inlining, the slow path contains no
 * trace of paravirtualisation.
 */
#include "lock.h"
#include "qnode.h"
#include "qspinlock.h"

static inline bool q_pv_enabled(void)
{
	return false;
}

static inline void q_pv_init_node(struct lock_qnode *node)
{
	(void)node;
}

static inline void q_pv_wait_node(struct lock_qnode *node, struct lock_qnode *prev)
{
	(void)node;
	(void)prev;
}

static inline void q_pv_kick_node(struct qspinlock *lock, struct lock_qnode *node)
{
	(void)lock;
	(void)node;
}

static inline uint32_t q_pv_wait_head_or_lock(struct qspinlock *lock,
					      struct lock_qnode *node)
{
	(void)lock;
	(void)node;
	return 0;
}

static inline bool q_queue_trylock(struct qspinlock *lock)
{
	return q_trylock(lock);
}

#define QSPIN_SLOWPATH_FN qspin_lock_slowpath
#include "qspinlock_slowpath.h"

LOCK_TYPE_DEFINE(qspinlock, struct qspinlock, qspin);
