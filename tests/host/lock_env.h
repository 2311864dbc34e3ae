/* SPDX-License-Identifier: MIT */
/*
 * lock_env.h (host) - the lock library's environment in user space.
 *
 * "CPUs" are threads: each thread gets a dense id from a thread-local, on
 * first use or explicitly with host_cpu_bind() (tests do that so ids stay
 * below LOCK_NR_CPUS however many threads a run creates).
 */
#ifndef HOST_LOCK_ENV_H
#define HOST_LOCK_ENV_H

#include <stdint.h>
#include <time.h>

#ifndef LOCK_NR_CPUS
#define LOCK_NR_CPUS 64
#endif

#define HOST_CPU_UNSET (~0U)
#define HOST_NS_PER_SEC 1000000000ULL

extern __thread unsigned int host_cpu_self;
unsigned int host_cpu_assign(void); /* next free dense id (host_env.c) */

static inline unsigned int lock_cpu_id(void)
{
	unsigned int id = host_cpu_self;

	if (__builtin_expect(id == HOST_CPU_UNSET, 0))
		id = host_cpu_assign();
	return id;
}

/*
 * Every host program: place the lock library's per-CPU arrays for
 * LOCK_NR_CPUS CPUs (lock/lock_percpu.h) before its first lock and before
 * any thread starts; calling it again places the same memory again, from
 * zero.  Aborts if the library refuses or there is no memory (host_env.c).
 */
void host_lock_percpu_place(void);

/* Tests: make this thread CPU `id` (< LOCK_NR_CPUS). */
static inline void host_cpu_bind(unsigned int id)
{
	host_cpu_self = id;
}

static inline void lock_cpu_relax(void)
{
	__builtin_ia32_pause();
}

static inline uint64_t lock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * HOST_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif /* HOST_LOCK_ENV_H */
