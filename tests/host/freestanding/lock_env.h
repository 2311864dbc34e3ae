/* SPDX-License-Identifier: MIT */
/*
 * Stub lock_env.h for the freestanding compile check only (never run):
 * the same contract the guest's kernel/lock_env/lock_env.h fulfils.
 */
#ifndef STUB_LOCK_ENV_H
#define STUB_LOCK_ENV_H

#include <stdint.h>

#define LOCK_NR_CPUS 512

extern unsigned int stub_cpu_id;
extern uint64_t stub_tsc_ns;

static inline unsigned int lock_cpu_id(void)
{
	return stub_cpu_id;
}

static inline void lock_cpu_relax(void)
{
	__builtin_ia32_pause();
}

static inline uint64_t lock_now_ns(void)
{
	return stub_tsc_ns;
}

#endif
