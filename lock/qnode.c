/* SPDX-License-Identifier: MIT */
/* qnode.c - storage of the per-CPU qspinlock queue nodes. */
#include "lock_percpu_carve.h"
#include "qnode.h"

/* CPU 0's nodes until lock_percpu_place() (lock_percpu.h). */
static struct lock_qnode lock_qnodes_one_cpu[1][LOCK_QNODES_PER_CPU];

struct lock_qnode (*lock_qnodes)[LOCK_QNODES_PER_CPU] = lock_qnodes_one_cpu;

size_t lock_qnodes_carve(void *mem, unsigned int nr_cpus)
{
	if (mem)
		lock_qnodes = mem;
	return lock_percpu_bytes(nr_cpus, sizeof(lock_qnodes[0]));
}
