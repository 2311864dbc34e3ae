/* SPDX-License-Identifier: MIT */
/* lock_types.c - the registry of lock implementations. */
#include "lock.h"

const char *lock_bug_reason; /* set by lock_bug_why() (platform.h) */

const struct lock_type *const lock_types[] = {
	&lock_type_tas,
	&lock_type_ttas,
	&lock_type_ticket,
	&lock_type_mcs,
	&lock_type_qspinlock,
	&lock_type_pvqspinlock,
	&lock_type_pvqspinlock_adaptive,
	NULL,
};

/* Looked up by name but never part of "all". */
static const struct lock_type *const lock_types_hidden[] = {
	&lock_type_broken,
	NULL,
};

/* No libc here: a tiny strcmp() == 0. */
static bool lock_name_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static const struct lock_type *
lock_type_search(const struct lock_type *const *set, const char *name)
{
	for (; *set; set++)
		if (lock_name_eq((*set)->name, name))
			return *set;
	return NULL;
}

const struct lock_type *lock_type_find(const char *name)
{
	const struct lock_type *t;

	if (!name)
		return NULL;
	t = lock_type_search(lock_types, name);
	return t ? t : lock_type_search(lock_types_hidden, name);
}
