/* SPDX-License-Identifier: MIT */
/* bench.h - a lock as the benchmark drives it (ours or a reference one). */
#ifndef HOST_BENCH_H
#define HOST_BENCH_H

#include <stddef.h>

/* Room for any benchmarked lock, ours or a library's. */
#define BENCH_LOCK_BYTES 64

struct bench_lock {
	const char *name;
	size_t size;
	void (*init)(void *l);
	void (*lock)(void *l);
	void (*unlock)(void *l);
};

/* Reference locks: Concurrency Kit and pthread (bench_ck.c). */
extern const struct bench_lock bench_ref_locks[];
extern const size_t bench_ref_nlocks;

#endif /* HOST_BENCH_H */
