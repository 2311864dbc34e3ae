/* SPDX-License-Identifier: MIT */
/* torture_locks.c - the lock= selection shared by the torture and bench suites (torture.h). */
#include "lib/cmdline.h"
#include "lib/string.h"
#include "lock/lock.h"
#include "options.h"
#include "torture.h"

#define SELECT_ALL    "all"
#define BROKEN_LOCK   "broken"

char torture_all_locks[OPT_LIST_MAX];

const char *torture_lock_name(unsigned int i)
{
	unsigned int n = 0;
	while (lock_types[n])
		n++;
	if (i < n)
		return lock_types[i]->name;
	if (i == n)
		return BROKEN_LOCK;
	if (i == n + 1)
		return SELECT_ALL;
	return 0;
}

void torture_expand_all(void)
{
	size_t len = 0;
	for (unsigned int i = 0; lock_types[i]; i++) {
		size_t n = strlen(lock_types[i]->name);
		if (len + n + 2 >= sizeof(torture_all_locks))
			break;
		if (len)
			torture_all_locks[len++] = ',';
		memcpy(torture_all_locks + len, lock_types[i]->name, n);
		len += n;
	}
	torture_all_locks[len] = '\0';
}

const char *torture_lock_selection(void)
{
	return cmdline_list_has(suite_opt.lock, SELECT_ALL) ? TORTURE_ALL_LOCKS : suite_opt.lock;
}

static void count_one(const char *name, void *ctx)
{
	(void)name;
	(*(unsigned int *)ctx)++;
}

unsigned int torture_nr_locks(void)
{
	unsigned int n = 0;
	torture_expand_all();
	cmdline_list_each(torture_lock_selection(), count_one, &n);
	return n;
}
