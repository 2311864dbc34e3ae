/* SPDX-License-Identifier: MIT */
/*
 * lock_percpu.h - where the lock library's per-CPU arrays live: memory the
 * environment gives it at run time, sized by the CPUs that are present.
 *
 * The arrays (queue nodes, MCS nodes, event counters, kick times, the
 * adaptive variant's stale-word records) and the PV hash table are sized by
 * the number of CPUs, so the library keeps none of them for LOCK_NR_CPUS in
 * its own storage.  The environment asks how much memory nr_cpus CPUs need,
 * hands over that much, and the library carves every array from it:
 *
 *   size_t bytes = lock_percpu_size(nr);          (0: nr refused)
 *   void *mem = <bytes, aligned to LOCK_PERCPU_ALIGN, contents anything>;
 *   lock_percpu_place(mem, nr);                   (false: refused)
 *
 * Until then the arrays are a static slice for one CPU: CPU 0 alone may use
 * every lock before placement (a one-CPU environment may never place).
 *
 * Contract:
 *   - nr_cpus is 1..LOCK_NR_CPUS; every lock_cpu_id() that uses the library
 *     afterwards is below it.  LOCK_NR_CPUS stays the compile-time maximum
 *     (the qspinlock tail's CPU field, ticket's 16-bit halves).
 *   - mem is aligned to LOCK_PERCPU_ALIGN and lock_percpu_size(nr_cpus)
 *     bytes long, a multiple of LOCK_PERCPU_ALIGN; its contents may be
 *     anything (RAM after a reset, a boot loader's leftovers): the library
 *     zeroes it.  It belongs to the library from then on.
 *   - Placement happens while no lock of the library is held or waited for
 *     and no other CPU runs library code: the arrays' pointers are plain
 *     variables that the lock paths read without ordering, once per slow
 *     path.  What starts the other CPUs afterwards (the guest's SIPIs after
 *     a full barrier, pthread_create() on the host) orders the placement
 *     before their first use.  Placing again (tests do) starts from zero:
 *     counters, queues and the hash table are all empty.
 */
#ifndef LOCK_LOCK_PERCPU_H
#define LOCK_LOCK_PERCPU_H

#include "platform.h"

/* Alignment of the memory given to lock_percpu_place() (and of each array). */
#define LOCK_PERCPU_ALIGN LOCK_CACHELINE_SIZE

/* Bytes lock_percpu_place() needs for nr_cpus CPUs; 0 if nr_cpus is 0 or
 * above LOCK_NR_CPUS.  Grows with nr_cpus. */
size_t lock_percpu_size(unsigned int nr_cpus);

/* Carve every per-CPU array from mem (see the contract above), zero it and
 * record nr_cpus.  Refused (false, nothing changed) if nr_cpus is 0 or above
 * LOCK_NR_CPUS, or mem is NULL or misaligned. */
bool lock_percpu_place(void *mem, unsigned int nr_cpus);

/* CPUs the arrays hold: 1 until placed, then the placed nr_cpus. */
unsigned int lock_percpu_nr(void);

#endif /* LOCK_LOCK_PERCPU_H */
