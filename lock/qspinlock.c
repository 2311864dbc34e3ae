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

/* ---- lock_type glue --------------------------------------------------- */

_Static_assert(sizeof(struct qspinlock) <= LOCK_MAX_SIZE, "qspinlock size");
_Static_assert(_Alignof(struct qspinlock) <= LOCK_MAX_ALIGN, "qspinlock align");

static void qspin_type_init(void *l)
{
	qspin_init(l);
}

static void qspin_type_lock(void *l)
{
	qspin_lock(l);
}

static void qspin_type_unlock(void *l)
{
	qspin_unlock(l);
}

static bool qspin_type_trylock(void *l)
{
	return qspin_trylock(l);
}

static bool qspin_type_is_locked(void *l)
{
	return qspin_is_locked(l);
}

const struct lock_type lock_type_qspinlock = {
	.name = "qspinlock",
	.size = sizeof(struct qspinlock),
	.init = qspin_type_init,
	.lock = qspin_type_lock,
	.unlock = qspin_type_unlock,
	.trylock = qspin_type_trylock,
	.is_locked = qspin_type_is_locked,
};
