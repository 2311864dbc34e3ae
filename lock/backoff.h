/* SPDX-License-Identifier: MIT */
/* backoff.h - bounded exponential backoff for the test-and-set locks. */
#ifndef LOCK_BACKOFF_H
#define LOCK_BACKOFF_H

#include "platform.h"

/* Pause iterations of the first backoff round, and the cap. */
#define LOCK_BACKOFF_MIN 1U
#define LOCK_BACKOFF_MAX 1024U

_Static_assert(LOCK_BACKOFF_MIN > 0 && LOCK_BACKOFF_MIN <= LOCK_BACKOFF_MAX,
	       "backoff bounds");

/* Spin *delay pauses, then double *delay up to LOCK_BACKOFF_MAX. */
static inline void lock_backoff(unsigned int *delay)
{
	for (unsigned int i = 0; i < *delay; i++)
		lock_cpu_relax();
	if (*delay < LOCK_BACKOFF_MAX)
		*delay *= 2;
}

#endif /* LOCK_BACKOFF_H */
