/* SPDX-License-Identifier: MIT */
/*
 * qnode.h - the per-CPU MCS queue nodes of qspinlock and pvqspinlock.
 *
 * Each CPU owns LOCK_QNODES_PER_CPU nodes, one per nesting context: a
 * thread queued on lock A can be interrupted by a handler that queues on
 * lock B, and so on.  node[0].count says how many are in use; a slow path
 * takes node[count++] and gives it back (count--) when it owns the lock.
 *
 * Interrupt safety of count++ without an atomic RMW: a handler that runs
 * between our load and store of count takes the same index, but it also
 * gives the node back before it returns (handlers nest strictly), so count
 * is the same when we resume and our store is still right.  The compiler
 * barrier after the store makes sure count is updated in memory *before* we
 * write to the node, so a handler arriving later picks the next node.
 *
 * Both lock flavours share the nodes and the count, so nesting native and
 * PV locks on one CPU is fine.
 */
#ifndef LOCK_QNODE_H
#define LOCK_QNODE_H

#include "qspinlock_word.h"

/* pv_vcpu_state values of lock_qnode.state (PV only). */
enum pv_vcpu_state {
	PV_VCPU_RUNNING = 0, /* spinning (or not PV at all) */
	PV_VCPU_HALTED,      /* about to wait / waiting in pv_ops->wait */
	PV_VCPU_HASHED,      /* queue head with a hash entry: unlock kicks it */
};

struct lock_qnode {
	struct lock_qnode *next; /* successor; written by the successor */
	uint32_t locked;         /* MCS handoff: set by the predecessor */
	uint32_t count;          /* node[0] only: nodes in use on this CPU */
	uint32_t cpu;            /* PV: CPU that owns this node, for kicks */
	uint32_t beat;           /* adaptive PV: bumped while this node's CPU spins */
	uint8_t state;           /* PV: enum pv_vcpu_state */
} LOCK_CACHE_ALIGNED;

_Static_assert(sizeof(struct lock_qnode) == LOCK_CACHELINE_SIZE,
	       "one queue node per cache line");

/* MCS handoff value of lock_qnode.locked. */
#define Q_NODE_HANDOFF 1U

/*
 * Every CPU's nodes: lock_qnodes[cpu][idx], carved by lock_percpu_place()
 * for the CPUs present (a one-CPU static slice until then, lock_percpu.h).
 * A slow path loads this pointer once and passes it on rather than
 * reading the global again after each compiler barrier (which would make
 * the compiler load it again): placement happens only while no lock is in
 * use, so every later load would find the same value.
 */
extern struct lock_qnode (*lock_qnodes)[LOCK_QNODES_PER_CPU];

/* Take the next node index of this CPU's nodes `mine` (may be >= LOCK_QNODES_PER_CPU). */
static inline unsigned int lock_qnode_get(struct lock_qnode *mine)
{
	uint32_t *count = &mine[0].count;
	/* Relaxed: only this CPU and its interrupt handlers touch count. */
	uint32_t idx = __atomic_load_n(count, __ATOMIC_RELAXED);

	__atomic_store_n(count, idx + 1U, __ATOMIC_RELAXED);
	/* Compiler barrier: count in memory before node[idx] is touched. */
	lock_compiler_barrier();
	return idx;
}

static inline void lock_qnode_put(struct lock_qnode *mine)
{
	uint32_t *count = &mine[0].count;

	/* Compiler barrier: all node accesses done before the node is free. */
	lock_compiler_barrier();
	__atomic_store_n(count, __atomic_load_n(count, __ATOMIC_RELAXED) - 1U,
			 __ATOMIC_RELAXED);
}

/* The node a tail names, in the nodes `qnodes` (the loaded lock_qnodes). */
static inline struct lock_qnode *lock_qnode_from_tail(struct lock_qnode (*qnodes)[LOCK_QNODES_PER_CPU],
						      uint32_t tail)
{
	return &qnodes[q_tail_cpu(tail)][q_tail_idx(tail)];
}

#endif /* LOCK_QNODE_H */
