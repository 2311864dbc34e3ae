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

#endif
