/* SPDX-License-Identifier: MIT */
/*
 * ticket.c - FIFO ticket lock.
 *
 *   31            16 15             0
 *  +----------------+----------------+
 *  |  next ticket   |  now serving   |
 *  +----------------+----------------+
 *
 * lock: take a ticket with fetch_add on `next`, spin until `owner` equals
 * it.  unlock: the owner (and only the owner) advances `owner` with a
 * 16-bit store, so the carry can never spill into `next`.
 */
#include "lock.h"

struct ticket_lock {
	union {
		uint32_t val;
		struct {
			uint16_t owner; /* ticket being served */
			uint16_t next;  /* next ticket to hand out */
		};
	};
};

#define TICKET_SHIFT 16
#define TICKET_ONE (1U << TICKET_SHIFT)  /* +1 on `next` in the 32-bit word */
#define TICKET_MASK 0xffffU

_Static_assert(sizeof(struct ticket_lock) == sizeof(uint32_t), "ticket size");
_Static_assert(offsetof(struct ticket_lock, owner) == 0, "owner is low half");
_Static_assert(offsetof(struct ticket_lock, next) == TICKET_SHIFT / 8,
	       "next is high half");
/* Tickets are 16 bits: all CPUs waiting at once must fit. */
_Static_assert(LOCK_NR_CPUS <= TICKET_MASK, "too many CPUs for 16-bit tickets");

static void ticket_init(struct ticket_lock *t)
{
	__atomic_store_n(&t->val, 0, __ATOMIC_RELAXED);
}

static void ticket_lock(struct ticket_lock *t)
{
	/* ACQUIRE: if our ticket is served at once, this is the acquisition. */
	uint32_t v = __atomic_fetch_add(&t->val, TICKET_ONE, __ATOMIC_ACQUIRE);
	uint16_t me = (uint16_t)(v >> TICKET_SHIFT);

	if ((uint16_t)(v & TICKET_MASK) == me)
		return;
	/* ACQUIRE: pairs with the previous owner's RELEASE in ticket_unlock(). */
	while (__atomic_load_n(&t->owner, __ATOMIC_ACQUIRE) != me)
		lock_cpu_relax();
}

static bool ticket_trylock(struct ticket_lock *t)
{
	uint32_t v = __atomic_load_n(&t->val, __ATOMIC_RELAXED);

	if ((uint16_t)(v >> TICKET_SHIFT) != (uint16_t)(v & TICKET_MASK))
		return false;
	/* ACQUIRE on success: we own the lock from the cmpxchg on. */
	return __atomic_compare_exchange_n(&t->val, &v, v + TICKET_ONE, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void ticket_unlock(struct ticket_lock *t)
{
	/* Relaxed read: only the owner writes `owner`, and we are the owner. */
	uint16_t o = __atomic_load_n(&t->owner, __ATOMIC_RELAXED);

	/* RELEASE: hand the critical section to the next ticket's ACQUIRE. */
	__atomic_store_n(&t->owner, (uint16_t)(o + 1U), __ATOMIC_RELEASE);
}

static bool ticket_is_locked(struct ticket_lock *t)
{
	uint32_t v = __atomic_load_n(&t->val, __ATOMIC_RELAXED);

	return (uint16_t)(v >> TICKET_SHIFT) != (uint16_t)(v & TICKET_MASK);
}

LOCK_TYPE_DEFINE(ticket, struct ticket_lock, ticket);
