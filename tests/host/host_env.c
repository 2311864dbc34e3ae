/* SPDX-License-Identifier: MIT */
/* host_env.c - dense thread ids for the host lock_env.h. */
#include <stdio.h>
#include <stdlib.h>

#include "lock_env.h"

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
