/* SPDX-License-Identifier: MIT */
/* host_env.c - dense thread ids and the per-CPU arrays' memory for the host lock_env.h. */
#include <stdio.h>
#include <stdlib.h>

#include "lock_env.h"
#include "lock_percpu.h"

__thread unsigned int host_cpu_self = HOST_CPU_UNSET;
static unsigned int host_cpu_next;

unsigned int host_cpu_assign(void)
{
	unsigned int id = __atomic_fetch_add(&host_cpu_next, 1, __ATOMIC_RELAXED);

	if (id >= LOCK_NR_CPUS) {
		fprintf(stderr, "host_env: more than %u threads\n", LOCK_NR_CPUS);
		abort();
	}
	host_cpu_self = id;
	return id;
}

void host_lock_percpu_place(void)
{
	static void *mem;
	size_t size = lock_percpu_size(LOCK_NR_CPUS);

	if (!mem && size)
		mem = aligned_alloc(LOCK_PERCPU_ALIGN, size);
	if (!mem || !lock_percpu_place(mem, LOCK_NR_CPUS)) {
		fprintf(stderr, "host_env: cannot place the lock arrays for %u CPUs (%zu bytes)\n",
			LOCK_NR_CPUS, size);
		abort();
	}
}
