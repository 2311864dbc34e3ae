/* SPDX-License-Identifier: MIT */
/* lock_percpu_carve.h - inside the lock library: the carvers lock_percpu_place() calls (lock_percpu.h). */
#ifndef LOCK_LOCK_PERCPU_CARVE_H
#define LOCK_LOCK_PERCPU_CARVE_H

#include "lock_percpu.h"

/*
 * One carver per array, in the file that owns it.  Each returns the bytes
 * its array takes for nr_cpus CPUs (a multiple of LOCK_PERCPU_ALIGN) and,
 * when mem is not NULL, points the array at mem.
 */
size_t lock_qnodes_carve(void *mem, unsigned int nr_cpus);
size_t mcs_nodes_carve(void *mem, unsigned int nr_cpus);
size_t lock_events_carve(void *mem, unsigned int nr_cpus);
size_t pv_hash_carve(void *mem, unsigned int nr_cpus);
size_t pv_kick_time_carve(void *mem, unsigned int nr_cpus);
size_t pv_stale_seen_carve(void *mem, unsigned int nr_cpus);

/* Bytes of n elements of `size`, rounded up to the alignment. */
static inline size_t lock_percpu_bytes(size_t n, size_t size)
{
	return (n * size + LOCK_PERCPU_ALIGN - 1U) & ~(size_t)(LOCK_PERCPU_ALIGN - 1U);
}

#endif /* LOCK_LOCK_PERCPU_CARVE_H */
