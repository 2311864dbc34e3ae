/* SPDX-License-Identifier: MIT */
/*
 * lock.h - pick a spinlock implementation by name at run time.
 *
 * Every implementation is a `struct lock_type`: callers reserve
 * LOCK_MAX_SIZE bytes aligned to LOCK_MAX_ALIGN (e.g. a `lock_storage_t`),
 * call ->init() once, then ->lock()/->unlock()/->trylock() from any CPU.
 */
#ifndef LOCK_LOCK_H
#define LOCK_LOCK_H

#include "platform.h"

struct lock_type {
	const char *name;
	size_t size;                   /* bytes of lock state */
	void (*init)(void *l);
	void (*lock)(void *l);
	void (*unlock)(void *l);
	bool (*trylock)(void *l);      /* true: acquired */
	bool (*is_locked)(void *l);    /* racy snapshot, for asserts/tests */
};

/* Largest ->size of any lock type (the MCS lock: tail + holder pointer). */
#define LOCK_MAX_SIZE 16
/* Strictest alignment any lock type needs. */
#define LOCK_MAX_ALIGN 8

/* Static storage able to hold any lock type. */
typedef union {
	unsigned char bytes[LOCK_MAX_SIZE];
	uint64_t align_;
} lock_storage_t;
_Static_assert(sizeof(lock_storage_t) == LOCK_MAX_SIZE, "lock_storage_t size");
_Static_assert(_Alignof(lock_storage_t) >= LOCK_MAX_ALIGN, "lock_storage_t align");

/*
 * LOCK_TYPE_DEFINE(ident, state, prefix) defines `lock_type_<ident>`, named
 * "<ident>": its hooks are the functions prefix_init, prefix_lock,
 * prefix_unlock, prefix_trylock and prefix_is_locked, each taking a
 * `state *`, behind the void * of struct lock_type. It also checks that a
 * `state` fits lock_storage_t.
 */
#define LOCK_TYPE_DEFINE(ident, state, prefix)                                 \
	_Static_assert(sizeof(state) <= LOCK_MAX_SIZE,                         \
		       #ident ": lock state larger than LOCK_MAX_SIZE");       \
	_Static_assert(_Alignof(state) <= LOCK_MAX_ALIGN,                      \
		       #ident ": lock state aligned beyond LOCK_MAX_ALIGN");   \
	static void ident##_type_init(void *l) { prefix##_init((state *)l); } \
	static void ident##_type_lock(void *l) { prefix##_lock((state *)l); } \
	static void ident##_type_unlock(void *l)                               \
	{                                                                      \
		prefix##_unlock((state *)l);                                   \
	}                                                                      \
	static bool ident##_type_trylock(void *l)                              \
	{                                                                      \
		return prefix##_trylock((state *)l);                           \
	}                                                                      \
	static bool ident##_type_is_locked(void *l)                            \
	{                                                                      \
		return prefix##_is_locked((state *)l);                         \
	}                                                                      \
	const struct lock_type lock_type_##ident = {                           \
		.name = #ident,                                                \
		.size = sizeof(state),                                         \
		.init = ident##_type_init,                                     \
		.lock = ident##_type_lock,                                     \
		.unlock = ident##_type_unlock,                                 \
		.trylock = ident##_type_trylock,                               \
		.is_locked = ident##_type_is_locked,                           \
	}

/* NULL if unknown.  Finds every lock in lock_types[] plus "broken". */
const struct lock_type *lock_type_find(const char *name);

/* NULL-terminated: the set "all" means (correct locks only). */
extern const struct lock_type *const lock_types[];

/* The individual implementations. */
extern const struct lock_type lock_type_tas;
extern const struct lock_type lock_type_ttas;
extern const struct lock_type lock_type_ticket;
extern const struct lock_type lock_type_mcs;
extern const struct lock_type lock_type_qspinlock;
extern const struct lock_type lock_type_pvqspinlock;
extern const struct lock_type lock_type_pvqspinlock_adaptive;
/* Deliberately NOT mutually exclusive: proves the torture tests can fail. */
extern const struct lock_type lock_type_broken;

#endif /* LOCK_LOCK_H */
