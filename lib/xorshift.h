/* SPDX-License-Identifier: MIT */
/* xorshift.h - Marsaglia's xorshift64 (shifts 13, 7, 17): the suites' seeded per-CPU pseudo-random source. */
#ifndef PVSPIN_XORSHIFT_H
#define PVSPIN_XORSHIFT_H

#include <stdint.h>

/* The next value of the state *s, which must not be 0 (0 stays 0). */
static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* The first state of CPU `cpu`'s stream under seed=`seed`: the writer
 * loops' draws (torture's and bench's), repeatable per seed, distinct per
 * CPU, never 0. */
static inline uint64_t xorshift_cpu_state(uint64_t seed, unsigned int cpu)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + cpu + 1;
	return s ? s : 1;
}

#endif
