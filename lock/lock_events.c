/* SPDX-License-Identifier: MIT */
/* lock_events.c - storage, summing and reset of the per-CPU lock events. */
#include "lock_events.h"
#include "lock_percpu_carve.h"

const char *const lock_event_names[LOCK_EVENT_NR] = {
#define LOCK_EVENT_NAME(name) [LOCK_EV_##name] = #name,
	LOCK_EVENT_LIST(LOCK_EVENT_NAME)
#undef LOCK_EVENT_NAME
};

/* CPU 0's counters until lock_percpu_place() (lock_percpu.h). */
static struct lock_event_cpu lock_event_cpus_one_cpu[1];

struct lock_event_cpu *lock_event_cpus = lock_event_cpus_one_cpu;

size_t lock_events_carve(void *mem, unsigned int nr_cpus)
{
	if (mem)
		lock_event_cpus = mem;
	return lock_percpu_bytes(nr_cpus, sizeof(lock_event_cpus[0]));
}

/* Relaxed loads: a statistics snapshot orders nothing. */
static uint64_t lock_sum_count(unsigned int ev)
{
	uint64_t sum = 0;

	for (unsigned int cpu = 0, nr = lock_percpu_nr(); cpu < nr; cpu++)
		sum += __atomic_load_n(&lock_event_cpus[cpu].count[ev],
				       __ATOMIC_RELAXED);
	return sum;
}

static uint64_t lock_sum_bucket(unsigned int bucket)
{
	uint64_t sum = 0;

	for (unsigned int cpu = 0, nr = lock_percpu_nr(); cpu < nr; cpu++)
		sum += __atomic_load_n(&lock_event_cpus[cpu].wake_hist[bucket],
				       __ATOMIC_RELAXED);
	return sum;
}

void lock_events_sum(struct lock_event_totals *out)
{
	/* Each store writes a computed sum: no memset pattern for gcc to emit. */
	for (unsigned int e = 0; e < LOCK_EVENT_NR; e++)
		out->count[e] = lock_sum_count(e);
	for (unsigned int b = 0; b < LOCK_LAT_BUCKETS; b++)
		out->wake_hist[b] = lock_sum_bucket(b);
}

void lock_events_reset(void)
{
	/* Atomic stores on purpose: gcc must not fold this loop into memset(). */
	for (unsigned int cpu = 0, nr = lock_percpu_nr(); cpu < nr; cpu++) {
		struct lock_event_cpu *c = &lock_event_cpus[cpu];

		for (unsigned int e = 0; e < LOCK_EVENT_NR; e++)
			__atomic_store_n(&c->count[e], 0, __ATOMIC_RELAXED);
		for (unsigned int b = 0; b < LOCK_LAT_BUCKETS; b++)
			__atomic_store_n(&c->wake_hist[b], 0, __ATOMIC_RELAXED);
	}
}

const uint64_t *lock_events_wake_hist(unsigned int cpu)
{
	return cpu < lock_percpu_nr() ? lock_event_cpus[cpu].wake_hist : NULL;
}
