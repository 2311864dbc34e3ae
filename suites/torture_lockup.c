/* SPDX-License-Identifier: MIT */
/* torture_lockup.c - the torture suite's part of the lockup report: the lock words, queues and MCS nodes (torture_state.h). */
#include "kernel/console.h"
#include "kernel/percpu.h"
#include "kernel/pv_inject.h"
#include "lib/string.h"
#include "lock/mcs.h"
#include "lock/qnode.h"
#include "lock/qspinlock.h"
#include "torture_state.h"

static const char *locked_byte_name(uint32_t locked)
{
	switch (locked) {
	case 0: return "free";
	case Q_LOCKED_VAL: return "locked";
	case Q_SLOW_VAL: return "locked, slow (unlock kicks a hashed head)";
	default: return "?";
	}
}

static void describe_one(const char *what, lock_storage_t *l)
{
	uint32_t word = 0;
	memcpy(&word, l, sizeof(word));
	kprintf("# LOCKUP: %s %s: first word 0x%08x, is_locked=%d\n", what, torture.type->name, word,
		torture.type->is_locked(l));
	if (!torture.queued)                  /* no qspinlock word to decode */
		return;
	uint32_t tail = word & Q_TAIL_MASK;
	kprintf("# LOCKUP: %s: locked byte 0x%02x (%s), pending %u, tail %s", what,
		word & Q_LOCKED_MASK, locked_byte_name(word & Q_LOCKED_MASK),
		(word & Q_PENDING_MASK) >> Q_PENDING_OFFSET, tail ? "" : "none\n");
	if (tail)
		kprintf("cpu %u node %u\n", q_tail_cpu(tail), q_tail_idx(tail));
}

/* Every queue node in use, with its successor: the queues, read forwards. */
static void describe_queues(void)
{
	static const char *const states[] = { "running", "halted", "hashed" };
	for (unsigned int c = 0; c < torture.ncpus; c++) {
		uint32_t used = lock_qnodes[c][0].count;
		for (unsigned int i = 0; i < used && i < LOCK_QNODES_PER_CPU; i++) {
			struct lock_qnode *n = &lock_qnodes[c][i];
			struct lock_qnode *next = n->next;
			long k = next ? next - &lock_qnodes[0][0] : -1;
			kprintf("# LOCKUP: queue node cpu %u node %u: handoff %u, pv %s, next %s",
				c, i, n->locked, n->state < 3 ? states[n->state] : "?",
				next ? "" : "none\n");
			if (next)
				kprintf("cpu %ld node %ld\n", k / LOCK_QNODES_PER_CPU,
					k % LOCK_QNODES_PER_CPU);
		}
	}
}

static void describe_ref(const char *what, struct mcs_node_ref r, const char *end)
{
	if (r.valid)
		kprintf("%scpu %u node %u%s", what, r.cpu, r.idx, end);
	else
		kprintf("%snone%s", what, end);
}

/* The MCS queue: its tail and holder, and every node in use. */
static void describe_mcs(void)
{
	kprintf("# LOCKUP: mcs ");
	describe_ref("tail ", mcs_tail_ref(&torture.lock), ", ");
	describe_ref("holder ", mcs_holder_ref(&torture.lock), "\n");
	for (unsigned int c = 0; c < torture.ncpus; c++)
		for (unsigned int i = 0; i < MCS_LOCK_NODES; i++) {
			struct mcs_node_view v;
			mcs_node_view(c, i, &v);
			if (!v.busy)
				continue;
			kprintf("# LOCKUP: mcs node cpu %u node %u: handoff %u, ", c, i, v.locked);
			describe_ref("next ", v.next, "\n");
		}
}

void torture_describe_lock(void)
{
	describe_one("lock", &torture.lock);
	kprintf("# LOCKUP: owner field %d\n", (int)torture.owner);
	for (unsigned int k = 1; k <= torture.irq_levels; k++)
		describe_one(torture_level_lock_name(k), &torture.irq[k - 1].lock);
	if (torture.queued)
		describe_queues();
	if (torture.type == &lock_type_mcs)
		describe_mcs();
	pv_inject_describe();
	for (unsigned int c = 0; c < torture.ncpus; c++)
		if (percpu_irq_depth(percpu_of(c)))
			kprintf("# LOCKUP: cpu %u is in an interrupt handler (depth %u)\n", c,
				percpu_irq_depth(percpu_of(c)));
}
