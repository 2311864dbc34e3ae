/* The guest's side of lock/platform.h: what the lock library may know of the
 * machine it runs on. Nothing else of the kernel is visible to lock/. */
#ifndef PVSPIN_LOCK_ENV_H
#define PVSPIN_LOCK_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "layout.h"
#include "percpu.h"
#include "time.h"
#include "x86.h"

#define LOCK_NR_CPUS MAX_CPUS

static inline unsigned int lock_cpu_id(void) { return cpu_id(); }
static inline void lock_cpu_relax(void) { cpu_pause(); }
static inline uint64_t lock_now_ns(void) { return time_ns(); }

#endif
