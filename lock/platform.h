/* SPDX-License-Identifier: MIT */
/*
 * platform.h - the ONLY window the lock library has on its environment.
 *
 * Everything environment specific comes from "lock_env.h", found on the
 * include path: the guest kernel ships kernel/lock_env/lock_env.h, the host tests ship
 * tests/host/lock_env.h.  Its contract (keep it this small):
 *
 *   #define LOCK_NR_CPUS <n>                       compile-time max CPUs
 *   static inline unsigned int lock_cpu_id(void);  dense 0..LOCK_NR_CPUS-1
 *   static inline void lock_cpu_relax(void);       x86 pause
 *   static inline uint64_t lock_now_ns(void);      monotonic ns (PV stats)
 *
 * In the other direction the environment gives the library the memory of
 * its per-CPU arrays once it knows how many CPUs there are: lock_percpu.h.
 *
 * Besides that the library uses only <stdint.h>, <stdbool.h>, <stddef.h>:
 * it must build freestanding (no libc calls, no struct copies that gcc could
 * turn into memcpy/memset).
 */
#ifndef LOCK_PLATFORM_H
#define LOCK_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lock_env.h"

#ifndef LOCK_NR_CPUS
#error "lock_env.h must define LOCK_NR_CPUS"
#endif

_Static_assert(LOCK_NR_CPUS >= 1, "LOCK_NR_CPUS must be at least 1");

/* x86-64 cache line; per-CPU data is padded to it to avoid false sharing. */
#define LOCK_CACHELINE_SIZE 64
#define LOCK_CACHE_ALIGNED __attribute__((aligned(LOCK_CACHELINE_SIZE)))

/* The word layouts below (qspinlock bytes, ticket halves) assume this. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "lock library assumes a little-endian target (x86-64)");

#define lock_likely(x) __builtin_expect(!!(x), 1)
#define lock_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Compiler-only barrier: orders memory accesses of this CPU against an
 * interrupt handler running on the same CPU (a signal, on the host).  It
 * emits no instruction.
 */
#define lock_compiler_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/*
 * Full memory barrier (store->load ordering included).  gcc rejects
 * atomic_thread_fence under -fsanitize=thread (__SANITIZE_THREAD__); there
 * a seq_cst RMW on a private word stands in: a full barrier on x86 as well
 * (locked instruction), and TSan does not model fences anyway.
 */
#if defined(__SANITIZE_THREAD__)
#define lock_smp_mb()                                                          \
	do {                                                                   \
		static uint32_t lock_mb_word_;                                 \
		__atomic_fetch_or(&lock_mb_word_, 0, __ATOMIC_SEQ_CST);        \
	} while (0)
#else
#define lock_smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* Report an impossible state (a broken invariant) and stop this CPU. */
#define lock_bug() __builtin_trap()

/*
 * The same, saying why: the reason is left in lock_bug_reason for the
 * environment's trap report (the guest's crash report prints it).
 */
extern const char *lock_bug_reason;
#define lock_bug_why(why)                                                      \
	do {                                                                   \
		__atomic_store_n(&lock_bug_reason, (why), __ATOMIC_RELAXED);   \
		__builtin_trap();                                              \
	} while (0)

#endif /* LOCK_PLATFORM_H */
