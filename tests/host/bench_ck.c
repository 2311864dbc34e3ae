/* SPDX-License-Identifier: MIT */
/*
 * bench_ck.c - reference locks behind the same function-pointer interface
 * as ours, so both sides pay the same indirect call.
 */
#include <ck_spinlock.h>
#include <pthread.h>

#include "bench.h"

_Static_assert(sizeof(ck_spinlock_fas_t) <= BENCH_LOCK_BYTES, "fas fits");
_Static_assert(sizeof(ck_spinlock_ticket_t) <= BENCH_LOCK_BYTES, "ticket fits");
_Static_assert(sizeof(ck_spinlock_mcs_t) <= BENCH_LOCK_BYTES, "mcs fits");
_Static_assert(sizeof(pthread_spinlock_t) <= BENCH_LOCK_BYTES, "pthread fits");

static void fas_init(void *l) { ck_spinlock_fas_init(l); }
static void fas_lock(void *l) { ck_spinlock_fas_lock(l); }
static void fas_unlock(void *l) { ck_spinlock_fas_unlock(l); }

static void ticket_init(void *l) { ck_spinlock_ticket_init(l); }
static void ticket_lock(void *l) { ck_spinlock_ticket_lock(l); }
static void ticket_unlock(void *l) { ck_spinlock_ticket_unlock(l); }

/* CK's MCS takes a caller node; one per thread is enough (no nesting). */
static __thread struct ck_spinlock_mcs mcs_node;

static void mcs_init(void *l) { ck_spinlock_mcs_init(l); }
static void mcs_lock(void *l) { ck_spinlock_mcs_lock(l, &mcs_node); }
static void mcs_unlock(void *l) { ck_spinlock_mcs_unlock(l, &mcs_node); }

static void pth_init(void *l) { pthread_spin_init(l, PTHREAD_PROCESS_PRIVATE); }
static void pth_lock(void *l) { pthread_spin_lock(l); }
static void pth_unlock(void *l) { pthread_spin_unlock(l); }

const struct bench_lock bench_ref_locks[] = {
	{ "ck_spinlock_fas", sizeof(ck_spinlock_fas_t), fas_init, fas_lock, fas_unlock },
	{ "ck_spinlock_ticket", sizeof(ck_spinlock_ticket_t), ticket_init, ticket_lock,
	  ticket_unlock },
	{ "ck_spinlock_mcs", sizeof(ck_spinlock_mcs_t), mcs_init, mcs_lock, mcs_unlock },
	{ "pthread_spin_lock", sizeof(pthread_spinlock_t), pth_init, pth_lock, pth_unlock },
};

const size_t bench_ref_nlocks = sizeof(bench_ref_locks) / sizeof(bench_ref_locks[0]);
