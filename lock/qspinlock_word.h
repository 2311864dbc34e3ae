/* SPDX-License-Identifier: MIT */
/*
 * qspinlock_word.h - the 32-bit queued spinlock word and its atomic helpers.
 *
 * Layout, chosen at compile time from LOCK_NR_CPUS (same as Linux):
 *
 * LOCK_NR_CPUS < 16K  ("byte pending": pending and tail are whole bytes/halves)
 *
 *   31                  18 17  16 15           8 7            0
 *  +----------------------+------+--------------+--------------+
 *  |   tail CPU (cpu+1)   | idx  |   pending    |    locked    |
 *  +----------------------+------+--------------+--------------+
 *  |<-------- tail: the high 16-bit half ------>|<- locked_pending ->|
 *
 *   The tail is one aligned 16-bit half, so queueing is a 16-bit xchg and
 *   pending/locked can be written with plain byte/half stores.
 *
 * LOCK_NR_CPUS >= 16K ("bit pending": more CPU bits in the tail)
 *
 *   31                         11 10  9   8  7            0
 *  +------------------------------+------+---+--------------+
 *  |      tail CPU (cpu+1)        | idx  | P |    locked    |
 *  +------------------------------+------+---+--------------+
 *
 *   Pending is one bit; tail and pending updates need full-word cmpxchg.
 *
 * locked : Q_LOCKED_VAL when owned; the PV variant may also store
 *          Q_SLOW_VAL ("owned, and a halted waiter is in the hash table").
 * pending: one CPU that spins for the owner without queueing (native), or
 *          the PV queue head blocking lock stealers while it spins.
 * tail   : 0 = no queue; else (cpu + 1, idx) of the last queued MCS node,
 *          idx being the nesting level (0-3) of that CPU's node.
 *
 * Everything here is `static inline`: both slow-path instantiations
 * (native, PV) use it.
 */
#ifndef LOCK_QSPINLOCK_WORD_H
#define LOCK_QSPINLOCK_WORD_H

#include "platform.h"

struct qspinlock {
	union {
		uint32_t val;
		struct {
			uint8_t locked;
			uint8_t pending; /* byte-pending layout only */
		};
		struct {
			uint16_t locked_pending;
			uint16_t tail;   /* byte-pending layout only */
		};
	};
};

_Static_assert(sizeof(struct qspinlock) == sizeof(uint32_t), "qspinlock is one word");
_Static_assert(offsetof(struct qspinlock, locked) == 0, "locked is byte 0");
_Static_assert(offsetof(struct qspinlock, pending) == 1, "pending is byte 1");
_Static_assert(offsetof(struct qspinlock, locked_pending) == 0, "locked_pending is low half");
_Static_assert(offsetof(struct qspinlock, tail) == 2, "tail is high half");

/* Per-CPU MCS nodes: one per nesting context (thread, soft irq, irq, nmi). */
#define LOCK_QNODES_PER_CPU 4

/* Below this CPU count the tail CPU field fits in 14 bits: byte pending. */
#define Q_BYTE_PENDING_CPU_LIMIT (1U << 14)

#define Q_LOCKED_OFFSET 0
#define Q_LOCKED_BITS 8
#define Q_PENDING_OFFSET (Q_LOCKED_OFFSET + Q_LOCKED_BITS)
#if LOCK_NR_CPUS < Q_BYTE_PENDING_CPU_LIMIT
#define Q_PENDING_BITS 8
#else
#define Q_PENDING_BITS 1
#endif
#define Q_TAIL_IDX_OFFSET (Q_PENDING_OFFSET + Q_PENDING_BITS)
#define Q_TAIL_IDX_BITS 2
#define Q_TAIL_CPU_OFFSET (Q_TAIL_IDX_OFFSET + Q_TAIL_IDX_BITS)
#define Q_WORD_BITS 32
#define Q_TAIL_CPU_BITS (Q_WORD_BITS - Q_TAIL_CPU_OFFSET)
#define Q_TAIL_OFFSET Q_TAIL_IDX_OFFSET

#define Q_FIELD_MASK(bits, offset) ((uint32_t)((1ULL << (bits)) - 1U) << (offset))
#define Q_LOCKED_MASK Q_FIELD_MASK(Q_LOCKED_BITS, Q_LOCKED_OFFSET)
#define Q_PENDING_MASK Q_FIELD_MASK(Q_PENDING_BITS, Q_PENDING_OFFSET)
#define Q_LOCKED_PENDING_MASK (Q_LOCKED_MASK | Q_PENDING_MASK)
#define Q_TAIL_IDX_MASK Q_FIELD_MASK(Q_TAIL_IDX_BITS, Q_TAIL_IDX_OFFSET)
#define Q_TAIL_CPU_MASK Q_FIELD_MASK(Q_TAIL_CPU_BITS, Q_TAIL_CPU_OFFSET)
#define Q_TAIL_MASK (Q_TAIL_IDX_MASK | Q_TAIL_CPU_MASK)

#define Q_LOCKED_VAL (1U << Q_LOCKED_OFFSET)
#define Q_PENDING_VAL (1U << Q_PENDING_OFFSET)
/* PV only: locked, and the queue head is hashed and may be halted. */
#define Q_SLOW_VAL (3U << Q_LOCKED_OFFSET)

_Static_assert((1U << Q_TAIL_IDX_BITS) >= LOCK_QNODES_PER_CPU,
	       "tail idx field must address every per-CPU node");
/* cpu + 1 is stored, so LOCK_NR_CPUS itself must fit. */
_Static_assert((uint64_t)LOCK_NR_CPUS < (1ULL << Q_TAIL_CPU_BITS),
	       "tail CPU field too small for LOCK_NR_CPUS");
_Static_assert((Q_LOCKED_MASK & Q_PENDING_MASK) == 0 &&
	       (Q_LOCKED_PENDING_MASK & Q_TAIL_MASK) == 0 &&
	       (Q_LOCKED_PENDING_MASK | Q_TAIL_MASK) == 0xffffffffU,
	       "fields must tile the word");
_Static_assert(Q_SLOW_VAL <= Q_LOCKED_MASK, "slow value fits the locked byte");
#if Q_PENDING_BITS == 8
_Static_assert(Q_TAIL_OFFSET == 16, "byte pending: tail is exactly the high half");
#endif

/* ---- tail encoding ---------------------------------------------------- */

static inline uint32_t q_encode_tail(unsigned int cpu, unsigned int idx)
{
	return ((uint32_t)(cpu + 1U) << Q_TAIL_CPU_OFFSET) |
	       ((uint32_t)idx << Q_TAIL_IDX_OFFSET);
}

static inline unsigned int q_tail_cpu(uint32_t tail)
{
	return ((tail & Q_TAIL_CPU_MASK) >> Q_TAIL_CPU_OFFSET) - 1U;
}

static inline unsigned int q_tail_idx(uint32_t tail)
{
	return (tail & Q_TAIL_IDX_MASK) >> Q_TAIL_IDX_OFFSET;
}

/* ---- whole-word operations ------------------------------------------- */

static inline uint32_t q_read(struct qspinlock *lock)
{
	return __atomic_load_n(&lock->val, __ATOMIC_RELAXED);
}

/* Succeeds only on an all-zero word: no owner, no pending, no queue. */
static inline bool q_trylock(struct qspinlock *lock)
{
	uint32_t val = q_read(lock);

	if (val)
		return false;
	/* ACQUIRE on success: the critical section starts after this. */
	return __atomic_compare_exchange_n(&lock->val, &val, Q_LOCKED_VAL, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/*
 * Every qspinlock's lock(): (0,0,0) -> (0,0,1), else `slowpath` with the
 * word seen.  Each caller passes its own slow path as a constant, so the
 * call is direct once inlined.
 */
static inline void q_lock(struct qspinlock *lock,
			  void (*slowpath)(struct qspinlock *lock, uint32_t val))
{
	uint32_t val = 0;

	/* ACQUIRE: critical section after the (0,0,0) -> (0,0,1) transition. */
	if (lock_likely(__atomic_compare_exchange_n(&lock->val, &val, Q_LOCKED_VAL,
						    false, __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED)))
		return;
	slowpath(lock, val);
}

/* Owner-only: take the lock once we are queue head and the word allows. */
static inline void q_set_locked(struct qspinlock *lock)
{
	/* Relaxed: our ACQUIRE read of the word already ordered the section. */
	__atomic_store_n(&lock->locked, (uint8_t)Q_LOCKED_VAL, __ATOMIC_RELAXED);
}

/* Set pending and return the previous word. */
static inline uint32_t q_fetch_set_pending_acquire(struct qspinlock *lock)
{
	/* ACQUIRE: if the lock was free we may go on to own it. */
	return __atomic_fetch_or(&lock->val, Q_PENDING_VAL, __ATOMIC_ACQUIRE);
}

#if Q_PENDING_BITS == 8

/* We are the only CPU that may own pending; plain byte stores suffice. */
static inline void q_set_pending(struct qspinlock *lock)
{
	__atomic_store_n(&lock->pending, 1, __ATOMIC_RELAXED);
}

static inline void q_clear_pending(struct qspinlock *lock)
{
	__atomic_store_n(&lock->pending, 0, __ATOMIC_RELAXED);
}

/* pending,locked: 1,0 -> 0,1.  Only the pending owner calls this. */
static inline void q_clear_pending_set_locked(struct qspinlock *lock)
{
	__atomic_store_n(&lock->locked_pending, (uint16_t)Q_LOCKED_VAL,
			 __ATOMIC_RELAXED);
}

/*
 * Put our tail in, return the previous tail (as word bits).
 * ACQ_REL: RELEASE publishes our node initialisation to whoever finds it
 * through the tail; ACQUIRE orders our later write into the predecessor's
 * node after that predecessor's own initialisation of it.
 */
static inline uint32_t q_xchg_tail(struct qspinlock *lock, uint32_t tail)
{
	return (uint32_t)__atomic_exchange_n(&lock->tail,
					     (uint16_t)(tail >> Q_TAIL_OFFSET),
					     __ATOMIC_ACQ_REL)
	       << Q_TAIL_OFFSET;
}

/* PV head: pending set, locked clear -> take it. */
static inline bool q_trylock_clear_pending(struct qspinlock *lock)
{
	uint16_t expected = (uint16_t)Q_PENDING_VAL;

	if (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
		return false;
	/* ACQUIRE on success: we own the lock. */
	return __atomic_compare_exchange_n(&lock->locked_pending, &expected,
					   (uint16_t)Q_LOCKED_VAL, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

#else /* Q_PENDING_BITS == 1: pending shares a byte with the tail */

static inline void q_set_pending(struct qspinlock *lock)
{
	__atomic_fetch_or(&lock->val, Q_PENDING_VAL, __ATOMIC_RELAXED);
}

static inline void q_clear_pending(struct qspinlock *lock)
{
	__atomic_fetch_and(&lock->val, ~Q_PENDING_VAL, __ATOMIC_RELAXED);
}

static inline void q_clear_pending_set_locked(struct qspinlock *lock)
{
	/* Unsigned wrap: adds LOCKED_VAL and subtracts PENDING_VAL at once. */
	__atomic_fetch_add(&lock->val, Q_LOCKED_VAL - Q_PENDING_VAL,
			   __ATOMIC_RELAXED);
}

static inline uint32_t q_xchg_tail(struct qspinlock *lock, uint32_t tail)
{
	uint32_t old = q_read(lock), new;

	do {
		new = (old & Q_LOCKED_PENDING_MASK) | tail;
		/* ACQ_REL: see the byte-pending q_xchg_tail(). */
	} while (!__atomic_compare_exchange_n(&lock->val, &old, new, true,
					      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return old & Q_TAIL_MASK;
}

static inline bool q_trylock_clear_pending(struct qspinlock *lock)
{
	uint32_t old = q_read(lock), new;

	do {
		if (old & Q_LOCKED_MASK)
			return false;
		new = (old & ~Q_PENDING_MASK) | Q_LOCKED_VAL;
		/* ACQUIRE on success: we own the lock. */
	} while (!__atomic_compare_exchange_n(&lock->val, &old, new, true,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return true;
}

#endif /* Q_PENDING_BITS */

#endif /* LOCK_QSPINLOCK_WORD_H */
