/* SPDX-License-Identifier: MIT */
/* mcs.h - a read-only look into the MCS lock's queue, for lockup reports. */
#ifndef LOCK_MCS_H
#define LOCK_MCS_H

#include "platform.h"

/* Nodes per CPU: MCS locks one CPU may hold or wait for at the same time. */
#define MCS_LOCK_NODES 8

/* Where a node pointer points: a CPU and its node index, or none. */
struct mcs_node_ref {
	bool valid;            /* false: NULL or not one of the library's nodes */
	unsigned int cpu, idx;
};

/* A racy snapshot of one node (CPU cpu, index idx); an empty one (not busy)
 * for a CPU beyond lock_percpu_nr() or an index beyond MCS_LOCK_NODES. */
struct mcs_node_view {
	bool busy;             /* allocated: queued on, or holding, some MCS lock */
	uint32_t locked;       /* the predecessor's handoff flag */
	struct mcs_node_ref next;
};

void mcs_node_view(unsigned int cpu, unsigned int idx, struct mcs_node_view *v);
/* The nodes the lock's tail and holder fields point at. */
struct mcs_node_ref mcs_tail_ref(const void *l);
struct mcs_node_ref mcs_holder_ref(const void *l);

#endif /* LOCK_MCS_H */
