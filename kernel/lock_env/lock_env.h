/* SPDX-License-Identifier: MIT */
/*
 * lock_env.h - the guest's side of lock/platform.h: what the lock library may
 * know of the machine it runs on, and nothing more.  This directory is on
 * the include path alone (Makefile: -Ikernel/lock_env), so lock/ finds this
 * file by its short name and no other kernel header.  It includes only lib/
 * headers; the clock is declared here, defined in kernel/time.c.
 */
#ifndef PVSPIN_LOCK_ENV_H
#define PVSPIN_LOCK_ENV_H

#include <stdint.h>
#include "lib/layout.h"
#include "lib/x86.h"

#define LOCK_NR_CPUS MAX_CPUS

/* kernel/percpu.h: every CPU's GS base points at its struct percpu. */
static inline unsigned int lock_cpu_id(void) { return gs_load_u32(PERCPU_CPU_OFFSET); }
static inline void lock_cpu_relax(void) { cpu_pause(); }

uint64_t time_ns(void);                 /* kernel/time.h */
static inline uint64_t lock_now_ns(void) { return time_ns(); }

#endif
