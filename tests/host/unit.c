/* SPDX-License-Identifier: MIT */
/*
 * unit.c - unit tests of the lock library internals.
 *
 * Built twice: with LOCK_NR_CPUS=64 (byte-pending word layout) and with
 * LOCK_NR_CPUS=16384 (bit-pending layout), see the Makefile.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "host_pv_ops.h"
#include "lock.h"
#include "lock_events.h"
#include "lock_percpu.h"
#include "mcs.h"
#include "pv_hash.h"
#include "pvqspinlock.h"
#include "pvqspinlock_hooks.h"
#include "qnode.h"
#include "qspinlock.h"

/* Give a helper thread time to reach its blocking point (µs). */
#define UNIT_SETTLE_US 20000
/* Upper bound for waiting on another thread (only hit on failure). */
#define UNIT_WAIT_LIMIT_NS (10ULL * HOST_NS_PER_SEC)
/* Spin threshold used to make PV waiters halt quickly. */
#define UNIT_PV_THRESHOLD 16U
/* Test CPU ids: main thread and helpers. */
enum { CPU_MAIN = 0, CPU_B = 1, CPU_C = 2, CPU_FAKE_HEAD = 5 };

static struct lock_event_totals ev;

static uint64_t event(enum lock_event e)
{
	lock_events_sum(&ev);
	return ev.count[e];
}

static uint32_t word(struct qspinlock *l)
{
	return __atomic_load_n(&l->val, __ATOMIC_SEQ_CST);
}

/* Poll until pred(arg), or give up after ~10 s (then the CHECK fails). */
static int wait_until(int (*pred)(void *), void *arg)
{
	uint64_t t0 = lock_now_ns();

	while (lock_now_ns() - t0 < UNIT_WAIT_LIMIT_NS) {
		if (pred(arg))
			return 1;
		usleep(1);
	}
	return 0;
}

/* ---- layout ------------------------------------------------------------ */

static void test_tail_encoding(void)
{
	unsigned int cpus[] = { 0, 1, 2, LOCK_NR_CPUS / 2, LOCK_NR_CPUS - 1 };

#if LOCK_NR_CPUS < 16384
	CHECK_EQ(Q_PENDING_BITS, 8);
	CHECK_EQ(Q_TAIL_IDX_OFFSET, 16);
	CHECK_EQ(Q_TAIL_CPU_OFFSET, 18);
	CHECK_EQ(Q_PENDING_MASK, 0xff00);
#else
	CHECK_EQ(Q_PENDING_BITS, 1);
	CHECK_EQ(Q_TAIL_IDX_OFFSET, 9);
	CHECK_EQ(Q_TAIL_CPU_OFFSET, 11);
	CHECK_EQ(Q_PENDING_MASK, 0x100);
#endif
	CHECK_EQ(Q_LOCKED_MASK, 0xff);
	CHECK_EQ(Q_LOCKED_VAL, 1);
	CHECK_EQ(Q_SLOW_VAL, 3);
	CHECK_EQ(q_encode_tail(0, 0), 1U << Q_TAIL_CPU_OFFSET);

	for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
		for (unsigned int idx = 0; idx < LOCK_QNODES_PER_CPU; idx++) {
			uint32_t t = q_encode_tail(cpus[i], idx);

			CHECK(t != 0);
			CHECK_EQ(t & ~Q_TAIL_MASK, 0);
			CHECK_EQ(q_tail_cpu(t), cpus[i]);
			CHECK_EQ(q_tail_idx(t), idx);
			CHECK(lock_qnode_from_tail(lock_qnodes, t) == &lock_qnodes[cpus[i]][idx]);
		}
	}
}

static void test_xchg_tail_keeps_low_bits(void)
{
	struct qspinlock l;
	uint32_t t1 = q_encode_tail(LOCK_NR_CPUS - 1, 3), t2 = q_encode_tail(1, 1);

	l.val = Q_LOCKED_VAL | Q_PENDING_VAL;
	CHECK_EQ(q_xchg_tail(&l, t1), 0);
	CHECK_EQ(word(&l), Q_LOCKED_VAL | Q_PENDING_VAL | t1);
	CHECK_EQ(q_xchg_tail(&l, t2), t1);
	CHECK_EQ(word(&l), Q_LOCKED_VAL | Q_PENDING_VAL | t2);
	q_clear_pending(&l);
	CHECK_EQ(word(&l), Q_LOCKED_VAL | t2);
	q_set_pending(&l);
	CHECK_EQ(word(&l), Q_LOCKED_VAL | Q_PENDING_VAL | t2);
	CHECK(!q_trylock_clear_pending(&l));   /* still locked */
	__atomic_store_n(&l.locked, 0, __ATOMIC_RELAXED);
	CHECK(q_trylock_clear_pending(&l));
	CHECK_EQ(word(&l), Q_LOCKED_VAL | t2);
}

/* ---- registry and basic semantics -------------------------------------- */

static void test_registry(void)
{
	static const char *const all[] = { "tas", "ttas", "ticket", "mcs",
					   "qspinlock", "pvqspinlock",
					   "pvqspinlock_adaptive" };
	size_t n = 0;

	for (const struct lock_type *const *t = lock_types; *t; t++, n++) {
		CHECK((*t)->size <= LOCK_MAX_SIZE);
		CHECK(lock_type_find((*t)->name) == *t);
		CHECK(strcmp((*t)->name, "broken") != 0);
	}
	CHECK_EQ(n, ARRAY_SIZE(all));
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		CHECK(lock_type_find(all[i]) != NULL);
	CHECK(lock_type_find("broken") == &lock_type_broken);
	CHECK(lock_type_find("nosuchlock") == NULL);
	CHECK(lock_type_find("") == NULL);
	CHECK(lock_type_find(NULL) == NULL);
}

static void basic_semantics(const struct lock_type *t)
{
	lock_storage_t s;

	t->init(&s);
	CHECK(!t->is_locked(&s));
	CHECK(t->trylock(&s));
	CHECK(t->is_locked(&s));
	CHECK(!t->trylock(&s));
	t->unlock(&s);
	CHECK(!t->is_locked(&s));
	t->lock(&s);
	CHECK(t->is_locked(&s));
	CHECK(!t->trylock(&s));
	t->unlock(&s);
	CHECK(!t->is_locked(&s));
}

static void test_basic_all(void)
{
	host_cpu_bind(CPU_MAIN);
	for (const struct lock_type *const *t = lock_types; *t; t++)
		basic_semantics(*t);
	basic_semantics(&lock_type_broken);
}

/* ---- MCS: the lockup report's view of the queue --------------------------- */

struct mcs_waiter {
	void *lock;
	volatile int queued, acquired;
};

static void *mcs_waiter_thread(void *arg)
{
	struct mcs_waiter *w = arg;
	host_cpu_bind(CPU_B);
	w->queued = 1;
	lock_type_mcs.lock(w->lock);
	w->acquired = 1;
	lock_type_mcs.unlock(w->lock);
	return NULL;
}

static bool ref_is(struct mcs_node_ref r, unsigned int cpu, unsigned int idx)
{
	return r.valid && r.cpu == cpu && r.idx == idx;
}

static void test_mcs_view(void)
{
	lock_storage_t a, b;
	struct mcs_node_view v;
	host_cpu_bind(CPU_MAIN);
	lock_type_mcs.init(&a);
	lock_type_mcs.init(&b);
	CHECK(!mcs_tail_ref(&a).valid && !mcs_holder_ref(&a).valid);
	lock_type_mcs.lock(&a);
	lock_type_mcs.lock(&b);                 /* nested: the CPU's second node */
	CHECK(ref_is(mcs_tail_ref(&a), CPU_MAIN, 0) && ref_is(mcs_holder_ref(&a), CPU_MAIN, 0));
	CHECK(ref_is(mcs_tail_ref(&b), CPU_MAIN, 1) && ref_is(mcs_holder_ref(&b), CPU_MAIN, 1));
	lock_type_mcs.unlock(&b);
	mcs_node_view(CPU_MAIN, 1, &v);
	CHECK(!v.busy);

	/* A waiter queues behind us: it is the tail and our successor. */
	struct mcs_waiter w = { .lock = &a };
	pthread_t t;
	pthread_create(&t, NULL, mcs_waiter_thread, &w);
	uint64_t end = lock_now_ns() + 10 * HOST_NS_PER_SEC;
	while (!ref_is(mcs_tail_ref(&a), CPU_B, 0) && lock_now_ns() < end)
		lock_cpu_relax();
	CHECK(ref_is(mcs_tail_ref(&a), CPU_B, 0));
	while (!(mcs_node_view(CPU_MAIN, 0, &v), v.next.valid) && lock_now_ns() < end)
		lock_cpu_relax();
	CHECK(v.busy && v.locked == 0 && ref_is(v.next, CPU_B, 0));
	mcs_node_view(CPU_B, 0, &v);
	CHECK(v.busy && v.locked == 0 && !v.next.valid && !w.acquired);
	lock_type_mcs.unlock(&a);
	pthread_join(t, NULL);
	CHECK(w.acquired && !mcs_tail_ref(&a).valid);
	mcs_node_view(CPU_MAIN, 0, &v);
	CHECK(!v.busy);
}

/* ---- placement of the per-CPU arrays (lock_percpu.h) ----------------------- */

/* CPUs of the test placement: not a power of two (the hash table rounds up). */
#define UNIT_PLACE_CPUS 5U
_Static_assert(UNIT_PLACE_CPUS < LOCK_NR_CPUS, "the test places fewer than the maximum");
/* Arrays each CPU writes in test_percpu_place(), one line of its own each at least. */
#define UNIT_PLACE_PARTS 5U
/* What the memory holds before placement, and past its end (where it must stay). */
#define UNIT_GARBAGE 0xa5
#define UNIT_TRAILER_BYTES 4096U

/* What CPU 0 saw using the library before main() placed it. */
static struct {
	unsigned int nr;
	size_t hash_entries;
	bool locks_ok, mcs_ok, qnode_ok, hash_ok, hist_ok;
	uint64_t slowpath_events;
} unplaced;

/* Called by main() before host_lock_percpu_place(): CPU 0 alone, one-CPU arrays. */
static void use_unplaced(void)
{
	static struct qspinlock hashed[LOCK_QNODES_PER_CPU];
	lock_storage_t l;
	struct mcs_node_view v;

	host_cpu_bind(CPU_MAIN);
	unplaced.nr = lock_percpu_nr();
	unplaced.hash_entries = pv_hash_entries();
	unplaced.locks_ok = true;
	for (const struct lock_type *const *t = lock_types; *t; t++) {
		(*t)->init(&l);
		(*t)->lock(&l);
		unplaced.locks_ok &= (*t)->is_locked(&l) && !(*t)->trylock(&l);
		(*t)->unlock(&l);
		unplaced.locks_ok &= !(*t)->is_locked(&l);
	}
	lock_type_mcs.init(&l);
	lock_type_mcs.lock(&l);
	mcs_node_view(CPU_MAIN, 0, &v);
	unplaced.mcs_ok = v.busy && ref_is(mcs_holder_ref(&l), CPU_MAIN, 0);
	mcs_node_view(CPU_B, 0, &v);
	unplaced.mcs_ok &= !v.busy;             /* beyond the one CPU: an empty view */
	lock_type_mcs.unlock(&l);
	unplaced.qnode_ok = lock_qnode_get(lock_qnodes[CPU_MAIN]) == 0;
	lock_qnode_put(lock_qnodes[CPU_MAIN]);
	unplaced.qnode_ok &= lock_qnodes[CPU_MAIN][0].count == 0;
	lock_events_reset();
	lock_event_inc(lock_slowpath);
	lock_events_sum(&ev);
	unplaced.slowpath_events = ev.count[LOCK_EV_lock_slowpath];
	unplaced.hist_ok = lock_events_wake_hist(CPU_MAIN) && !lock_events_wake_hist(CPU_B);
	pv_lock_kick(CPU_MAIN);
	/* As many entries as one CPU can have live: all found, all removed. */
	unplaced.hash_ok = true;
	for (unsigned int i = 0; i < LOCK_QNODES_PER_CPU; i++)
		pv_hash(&hashed[i], &lock_qnodes[CPU_MAIN][i]);
	for (unsigned int i = 0; i < LOCK_QNODES_PER_CPU; i++)
		unplaced.hash_ok &= pv_unhash(&hashed[i]) == &lock_qnodes[CPU_MAIN][i];
}

static void test_percpu_unplaced(void)
{
	CHECK_EQ(unplaced.nr, 1);
	CHECK_EQ(unplaced.hash_entries, pv_hash_entries_for(1));
	CHECK(unplaced.locks_ok);
	CHECK(unplaced.mcs_ok);
	CHECK(unplaced.qnode_ok);
	CHECK_EQ(unplaced.slowpath_events, 1);
	CHECK(unplaced.hist_ok);
	CHECK(unplaced.hash_ok);
}

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static bool inside(const void *p, size_t n, const unsigned char *mem, size_t size)
{
	const unsigned char *b = p;

	return b >= mem && b + n <= mem + size;
}

/*
 * Lines of mem (LOCK_PERCPU_ALIGN bytes) that differ from `was` become CPU
 * cpu's in owner[]; `was` is brought up to date.  Returns how many changed;
 * *shared is set if one of them was another CPU's already.
 */
static unsigned int claim_lines(const unsigned char *mem, unsigned char *was, size_t size,
				int *owner, int cpu, bool *shared)
{
	unsigned int changed = 0;

	for (size_t i = 0; i < size / LOCK_PERCPU_ALIGN; i++) {
		size_t off = i * LOCK_PERCPU_ALIGN;

		if (memcmp(mem + off, was + off, LOCK_PERCPU_ALIGN) == 0)
			continue;
		changed++;
		if (owner[i] >= 0 && owner[i] != cpu)
			*shared = true;
		owner[i] = cpu;
		memcpy(was + off, mem + off, LOCK_PERCPU_ALIGN);
	}
	return changed;
}

/*
 * Placing for UNIT_PLACE_CPUS CPUs in memory full of garbage: refused for
 * bad arguments without a change, then zeroed, every CPU's slices inside
 * the memory and its alone, nothing written past its end; then the
 * program's own placement again.
 */
static void test_percpu_place(void)
{
	const size_t size = lock_percpu_size(UNIT_PLACE_CPUS);
	unsigned char *mem = aligned_alloc(LOCK_PERCPU_ALIGN, size + UNIT_TRAILER_BYTES);
	unsigned char *was = malloc(size);
	int *owner = malloc(size / LOCK_PERCPU_ALIGN * sizeof(*owner));
	struct lock_qnode (*qnodes_before)[LOCK_QNODES_PER_CPU] = lock_qnodes;
	static struct qspinlock hashed[UNIT_PLACE_CPUS][LOCK_QNODES_PER_CPU];
	static const int stale_lock;
	lock_storage_t mcs[UNIT_PLACE_CPUS];
	struct mcs_node_view v;
	bool shared = false;

	/* Sizes: none for a refused count, growing with the count, whole lines. */
	CHECK_EQ(lock_percpu_size(0), 0);
	CHECK_EQ(lock_percpu_size(LOCK_NR_CPUS + 1U), 0);
	CHECK(lock_percpu_size(1) > 0);
	CHECK(lock_percpu_size(1) < lock_percpu_size(2));
	CHECK(lock_percpu_size(2) < size);
	CHECK(size < lock_percpu_size(LOCK_NR_CPUS));
	CHECK_EQ(size % LOCK_PERCPU_ALIGN, 0);
	CHECK(mem && was && owner);
	if (!mem || !was || !owner)
		goto out;
	memset(mem, UNIT_GARBAGE, size + UNIT_TRAILER_BYTES);

	/* Refused: too many CPUs, none, misaligned, no memory; nothing changes. */
	CHECK(!lock_percpu_place(mem, LOCK_NR_CPUS + 1U));
	CHECK(!lock_percpu_place(mem, 0));
	CHECK(!lock_percpu_place(mem + sizeof(uint64_t), UNIT_PLACE_CPUS));
	CHECK(!lock_percpu_place(NULL, UNIT_PLACE_CPUS));
	CHECK(lock_qnodes == qnodes_before);
	CHECK_EQ(lock_percpu_nr(), LOCK_NR_CPUS);
	CHECK(all_bytes(mem, size + UNIT_TRAILER_BYTES, UNIT_GARBAGE));

	/* Placed: zeroed by the library, the counts and the table its size. */
	CHECK(lock_percpu_place(mem, UNIT_PLACE_CPUS));
	CHECK_EQ(lock_percpu_nr(), UNIT_PLACE_CPUS);
	CHECK(all_bytes(mem, size, 0));
	CHECK(all_bytes(mem + size, UNIT_TRAILER_BYTES, UNIT_GARBAGE));
	CHECK_EQ(pv_hash_entries(), pv_hash_entries_for(UNIT_PLACE_CPUS));
	CHECK(pv_hash_entries() >= UNIT_PLACE_CPUS * LOCK_QNODES_PER_CPU * PV_HASH_LOAD_INV);
	CHECK(lock_events_wake_hist(UNIT_PLACE_CPUS - 1U) != NULL);
	CHECK(lock_events_wake_hist(UNIT_PLACE_CPUS) == NULL);
	for (unsigned int c = 0; c < UNIT_PLACE_CPUS; c++) {
		CHECK(inside(lock_qnodes[c], sizeof(lock_qnodes[c]), mem, size));
		CHECK(inside(&lock_event_cpus[c], sizeof(lock_event_cpus[c]), mem, size));
		CHECK(inside(&pv_stale_seen[c], sizeof(pv_stale_seen[c]), mem, size));
	}

	/*
	 * Each CPU in turn writes each array of its own (queue nodes, MCS
	 * nodes, event counters, kick time, stale-word record): the lines it
	 * changes are its alone.
	 */
	memcpy(was, mem, size);
	for (size_t i = 0; i < size / LOCK_PERCPU_ALIGN; i++)
		owner[i] = -1;
	for (unsigned int c = 0; c < UNIT_PLACE_CPUS; c++) {
		host_cpu_bind(c);
		CHECK_EQ(lock_qnode_get(lock_qnodes[c]), 0);
		lock_type_mcs.init(&mcs[c]);
		lock_type_mcs.lock(&mcs[c]);
		lock_event_inc(lock_slowpath);
		pv_lock_kick(c);
		CHECK(!pv_head_stale(&stale_lock, c + 1U));
		CHECK(claim_lines(mem, was, size, owner, (int)c, &shared) >= UNIT_PLACE_PARTS);
	}
	CHECK(!shared);
	lock_events_sum(&ev);
	CHECK_EQ(ev.count[LOCK_EV_lock_slowpath], UNIT_PLACE_CPUS);
	for (unsigned int c = 0; c < UNIT_PLACE_CPUS; c++) {
		mcs_node_view(c, 0, &v);
		CHECK(v.busy && ref_is(mcs_holder_ref(&mcs[c]), c, 0));
	}
	mcs_node_view(UNIT_PLACE_CPUS, 0, &v);
	CHECK(!v.busy);
	for (unsigned int c = 0; c < UNIT_PLACE_CPUS; c++) {
		host_cpu_bind(c);
		lock_type_mcs.unlock(&mcs[c]);
		lock_qnode_put(lock_qnodes[c]);
		CHECK_EQ(lock_qnodes[c][0].count, 0);
	}

	/* The hash table holds every node of the placed CPUs at once. */
	for (unsigned int c = 0; c < UNIT_PLACE_CPUS; c++)
		for (unsigned int i = 0; i < LOCK_QNODES_PER_CPU; i++)
			pv_hash(&hashed[c][i], &lock_qnodes[c][i]);
	for (unsigned int c = 0; c < UNIT_PLACE_CPUS; c++)
		for (unsigned int i = 0; i < LOCK_QNODES_PER_CPU; i++)
			CHECK(pv_unhash(&hashed[c][i]) == &lock_qnodes[c][i]);
	CHECK(all_bytes(mem + size, UNIT_TRAILER_BYTES, UNIT_GARBAGE));

out:
	host_cpu_bind(CPU_MAIN);
	host_lock_percpu_place();
	CHECK_EQ(lock_percpu_nr(), LOCK_NR_CPUS);
	free(owner);
	free(was);
	free(mem);
}

/* ---- trylock only on a zero word ---------------------------------------- */

static void trylock_zero_word(bool (*trylock)(struct qspinlock *))
{
	struct qspinlock l;
	const uint32_t busy[] = { Q_LOCKED_VAL, Q_PENDING_VAL, q_encode_tail(3, 0),
				  q_encode_tail(0, 2) | Q_PENDING_VAL, Q_SLOW_VAL };

	for (size_t i = 0; i < ARRAY_SIZE(busy); i++) {
		l.val = busy[i];
		CHECK(!trylock(&l));
		CHECK_EQ(word(&l), busy[i]);
	}
	l.val = 0;
	CHECK(trylock(&l));
	CHECK_EQ(word(&l), Q_LOCKED_VAL);
}

static void test_trylock_zero_word(void)
{
	trylock_zero_word(qspin_trylock);
	trylock_zero_word(pvqspin_trylock);
}

/* ---- pending path -------------------------------------------------------- */

struct locker {
	struct qspinlock *lock;
	void (*lock_fn)(struct qspinlock *);
	void (*unlock_fn)(struct qspinlock *);
	unsigned int cpu;
	unsigned int *seq;   /* shared acquisition sequence */
	unsigned int order;  /* our position in it */
};

static void *locker_thread(void *arg)
{
	struct locker *k = arg;

	host_cpu_bind(k->cpu);
	k->lock_fn(k->lock);
	/* Under the lock: plain increment is safe. */
	k->order = ++*k->seq;
	k->unlock_fn(k->lock);
	return NULL;
}

static int pending_set(void *l)
{
	return word(l) == (Q_LOCKED_VAL | Q_PENDING_VAL);
}

static int tail_is_c(void *l)
{
	return (word(l) & Q_TAIL_MASK) == q_encode_tail(CPU_C, 0);
}

static void test_pending_path(void)
{
	struct qspinlock l;
	unsigned int seq = 0;
	struct locker b = { &l, qspin_lock, qspin_unlock, CPU_B, &seq, 0 };
	struct locker c = { &l, qspin_lock, qspin_unlock, CPU_C, &seq, 0 };
	pthread_t tb, tc;

	host_cpu_bind(CPU_MAIN);
	qspin_init(&l);
	lock_events_reset();
	qspin_lock(&l);

	pthread_create(&tb, NULL, locker_thread, &b);
	CHECK(wait_until(pending_set, &l));      /* 2nd locker: pending */
	pthread_create(&tc, NULL, locker_thread, &c);
	CHECK(wait_until(tail_is_c, &l));        /* 3rd locker: queued */
	CHECK_EQ(word(&l), Q_LOCKED_VAL | Q_PENDING_VAL | q_encode_tail(CPU_C, 0));

	qspin_unlock(&l);
	pthread_join(tb, NULL);
	pthread_join(tc, NULL);
	CHECK_EQ(b.order, 1);                     /* pending goes first */
	CHECK_EQ(c.order, 2);
	CHECK_EQ(word(&l), 0);
	CHECK_EQ(event(LOCK_EV_lock_pending), 1);
	CHECK_EQ(event(LOCK_EV_lock_slowpath), 1);
	CHECK_EQ(lock_qnodes[CPU_C][0].count, 0);
}

/* ---- node nesting and exhaustion ----------------------------------------- */

struct releaser {
	struct qspinlock *lock;
	uint32_t seen_tail;
	bool want_tail;
};

/* Plays "owner and pending CPU": waits for the queue (if wanted), leaves. */
static void *releaser_thread(void *arg)
{
	struct releaser *r = arg;

	host_cpu_bind(CPU_B);
	if (r->want_tail)
		while (!(word(r->lock) & Q_TAIL_MASK))
			usleep(1);
	else
		usleep(UNIT_SETTLE_US);
	r->seen_tail = word(r->lock) & Q_TAIL_MASK;
	__atomic_fetch_and(&r->lock->val, Q_TAIL_MASK, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Pretend `depth` contexts of this CPU are already queued elsewhere, then
 * lock a word that is owned + pending (forces the queue path).
 */
static void nested_lock(void (*lock_fn)(struct qspinlock *),
			void (*unlock_fn)(struct qspinlock *), unsigned int depth)
{
	struct qspinlock l;
	struct releaser r = { &l, 0, depth < LOCK_QNODES_PER_CPU };
	pthread_t t;

	host_cpu_bind(CPU_MAIN);
	lock_events_reset();
	for (unsigned int i = 0; i < depth; i++)
		CHECK_EQ(lock_qnode_get(lock_qnodes[CPU_MAIN]), i);
	l.val = Q_LOCKED_VAL | Q_PENDING_VAL;
	pthread_create(&t, NULL, releaser_thread, &r);
	lock_fn(&l);
	pthread_join(t, NULL);
	CHECK_EQ(word(&l), Q_LOCKED_VAL);
	CHECK_EQ(lock_qnodes[CPU_MAIN][0].count, depth);
	unlock_fn(&l);
	for (unsigned int i = 0; i < depth; i++)
		lock_qnode_put(lock_qnodes[CPU_MAIN]);
	CHECK_EQ(lock_qnodes[CPU_MAIN][0].count, 0);

	if (depth < LOCK_QNODES_PER_CPU) {
		CHECK_EQ(r.seen_tail, q_encode_tail(CPU_MAIN, depth));
		CHECK_EQ(event(LOCK_EV_lock_no_node), 0);
		for (unsigned int n = 1; n < LOCK_QNODES_PER_CPU; n++)
			CHECK_EQ(event(LOCK_EV_lock_use_node2 + n - 1), n == depth);
	} else {
		CHECK_EQ(r.seen_tail, 0);        /* never queued */
		CHECK_EQ(event(LOCK_EV_lock_no_node), 1);
	}
}

static void test_nesting_nodes(void)
{
	for (unsigned int depth = 0; depth <= LOCK_QNODES_PER_CPU; depth++) {
		nested_lock(qspin_lock, qspin_unlock, depth);
		nested_lock(pvqspin_lock, pvqspin_unlock, depth);
	}
}

/* ---- nesting from a real "interrupt" (signal) while queued -------------------- */

/*
 * Main (CPU_MAIN) queues on lock A; while it sits in the queue a signal
 * arrives (the interrupt) and its handler locks B, which is also contended,
 * so the handler queues too, with node index 1.  The helper thread checks
 * B's tail says (CPU_MAIN, 1), then lets both go.  This is the scenario the
 * node count bookkeeping in qnode.h is built for.
 */
struct irq_nest {
	struct qspinlock a, b;
	void (*lock_fn)(struct qspinlock *);
	void (*unlock_fn)(struct qspinlock *);
	pthread_t main_tid;
	uint32_t b_tail_seen;
	unsigned int handler_ran;
};

static struct irq_nest nest;

static void nest_handler(int sig)
{
	(void)sig;
	nest.lock_fn(&nest.b);
	nest.unlock_fn(&nest.b);
	__atomic_store_n(&nest.handler_ran, 1, __ATOMIC_SEQ_CST);
}

static void *nest_helper(void *arg)
{
	(void)arg;
	host_cpu_bind(CPU_B);
	/* Wait until main is queued on A (its node 0 in use, tail set). */
	while ((word(&nest.a) & Q_TAIL_MASK) != q_encode_tail(CPU_MAIN, 0))
		usleep(1);
	pthread_kill(nest.main_tid, SIGUSR1);
	/* The handler queues on B with the next node. */
	while (!(word(&nest.b) & Q_TAIL_MASK))
		usleep(1);
	nest.b_tail_seen = word(&nest.b) & Q_TAIL_MASK;
	/* Release B (owner + pending leave); then A. */
	__atomic_fetch_and(&nest.b.val, Q_TAIL_MASK, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&nest.handler_ran, __ATOMIC_SEQ_CST))
		usleep(1);
	__atomic_fetch_and(&nest.a.val, Q_TAIL_MASK, __ATOMIC_RELEASE);
	return NULL;
}

static void irq_nested_queueing(void (*lock_fn)(struct qspinlock *),
				void (*unlock_fn)(struct qspinlock *))
{
	struct sigaction sa;
	pthread_t t;

	host_cpu_bind(CPU_MAIN);
	lock_events_reset();
	memset(&nest, 0, sizeof(nest));
	nest.lock_fn = lock_fn;
	nest.unlock_fn = unlock_fn;
	nest.main_tid = pthread_self();
	/* Both locks "owned and pending" by someone else: lockers must queue. */
	nest.a.val = Q_LOCKED_VAL | Q_PENDING_VAL;
	nest.b.val = Q_LOCKED_VAL | Q_PENDING_VAL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nest_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	pthread_create(&t, NULL, nest_helper, NULL);
	lock_fn(&nest.a);
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);

	CHECK_EQ(nest.handler_ran, 1);
	CHECK_EQ(nest.b_tail_seen, q_encode_tail(CPU_MAIN, 1));
	CHECK_EQ(word(&nest.a), Q_LOCKED_VAL);
	CHECK_EQ(word(&nest.b), 0);
	CHECK_EQ(lock_qnodes[CPU_MAIN][0].count, 0);
	CHECK_EQ(event(LOCK_EV_lock_use_node2), 1);
	unlock_fn(&nest.a);
	CHECK_EQ(word(&nest.a), 0);
}

static void test_irq_nested_queueing(void)
{
	irq_nested_queueing(qspin_lock, qspin_unlock);
	irq_nested_queueing(pvqspin_lock, pvqspin_unlock);
}

/* ---- PV: hash table -------------------------------------------------------- */

#define UNIT_HASH_LOCKS 200
_Static_assert(UNIT_HASH_LOCKS <= LOCK_NR_CPUS * LOCK_QNODES_PER_CPU,
	       "no more live entries than the table is sized for");

static void test_pv_hash(void)
{
	static struct qspinlock locks[UNIT_HASH_LOCKS];
	struct lock_qnode *node = &lock_qnodes[1][2];
	struct pv_hash_entry *he;

	lock_events_reset();
	CHECK(pv_hash_lookup(&locks[0]) == NULL);
	CHECK(pv_unhash(&locks[0]) == NULL);

	he = pv_hash(&locks[0], node);
	CHECK(he != NULL);
	CHECK(pv_hash_lookup(&locks[0]) == node);
	CHECK(pv_hash_lookup(&locks[1]) == NULL);
	pv_hash_remove_entry(he);
	CHECK(pv_hash_lookup(&locks[0]) == NULL);

	/* Adjacent locks: many entries, collisions likely. */
	for (unsigned int i = 0; i < UNIT_HASH_LOCKS; i++)
		pv_hash(&locks[i], &lock_qnodes[i % LOCK_NR_CPUS][i % LOCK_QNODES_PER_CPU]);
	for (unsigned int i = 0; i < UNIT_HASH_LOCKS; i++)
		CHECK(pv_hash_lookup(&locks[i]) ==
		      &lock_qnodes[i % LOCK_NR_CPUS][i % LOCK_QNODES_PER_CPU]);
	/* Remove in a scrambled order; the rest must stay findable. */
	for (unsigned int k = 0; k < UNIT_HASH_LOCKS; k++) {
		unsigned int i = (k * 7U + 3U) % UNIT_HASH_LOCKS;

		CHECK(pv_unhash(&locks[i]) ==
		      &lock_qnodes[i % LOCK_NR_CPUS][i % LOCK_QNODES_PER_CPU]);
		CHECK(pv_hash_lookup(&locks[i]) == NULL);
	}
	for (unsigned int i = 0; i < UNIT_HASH_LOCKS; i++)
		CHECK(pv_hash_lookup(&locks[i]) == NULL);
	CHECK(event(LOCK_EV_pv_hash_hops) >= UNIT_HASH_LOCKS + 1);
}

/*
 * A full table (a leaked entry, in real life) must trap after one pass and
 * say why, never probe forever.  In a child: it fills the table; SIGILL's
 * handler exits with UNIT_BUG_SEEN if lock_bug_reason names the full table;
 * an alarm ends an endless probe.
 */
#define UNIT_BUG_SEEN 42
#define UNIT_FULL_ALARM_S 10

static void full_table_sigill(int sig)
{
	const char *why = __atomic_load_n(&lock_bug_reason, __ATOMIC_RELAXED);

	(void)sig;
	_exit(why && strstr(why, "pv_hash") && strstr(why, "full") ? UNIT_BUG_SEEN : 1);
}

static void test_pv_hash_full_traps(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		size_t entries = pv_hash_entries();
		struct qspinlock *locks = calloc(entries + 1, sizeof(*locks));
		struct lock_qnode *node = &lock_qnodes[1][0];
		struct rlimit no_core = { 0, 0 };

		if (!locks)
			_exit(1);
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGILL, full_table_sigill);
		alarm(UNIT_FULL_ALARM_S);
		for (size_t i = 0; i < entries; i++)
			pv_hash(&locks[i], node);
		pv_hash(&locks[entries], node);          /* no free slot left */
		_exit(0);                                /* not reached */
	}
	CHECK(pid > 0);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), UNIT_BUG_SEEN);
}

/* ---- PV: hybrid unfair trylock --------------------------------------------- */

static void test_pv_hybrid_trylock(void)
{
	struct qspinlock l;
	const uint32_t tail = q_encode_tail(CPU_C, 0);

	host_cpu_bind(CPU_MAIN);
	lock_events_reset();
	l.val = 0;                               /* free, no queue: take it */
	CHECK(q_queue_trylock(&l));
	CHECK_EQ(word(&l), Q_LOCKED_VAL);
	l.val = Q_LOCKED_VAL;                    /* owned, no queue: give up */
	CHECK(!q_queue_trylock(&l));
	l.val = tail | Q_PENDING_VAL;            /* head spinning: let it win */
	CHECK(!q_queue_trylock(&l));
	CHECK_EQ(word(&l), tail | Q_PENDING_VAL);
	l.val = tail;                            /* free, head halted: steal */
	CHECK(q_queue_trylock(&l));
	CHECK_EQ(word(&l), tail | Q_LOCKED_VAL);
	CHECK_EQ(event(LOCK_EV_pv_lock_stealing), 2);
}

/* Unlocking a free pvqspinlock is corruption: it must trap, not go on. */
static void test_pv_unlock_corruption_traps(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		struct qspinlock l;

		setrlimit(RLIMIT_CORE, &no_core);   /* expected crash: no core file */
		host_cpu_bind(CPU_MAIN);
		pvqspin_init(&l);
		pvqspin_unlock(&l);  /* locked byte 0: neither LOCKED nor SLOW */
		_exit(0);            /* not reached if the check works */
	}
	CHECK(pid > 0);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : 0, SIGILL);
}

/* ---- PV: slow value and unlock slow path ------------------------------------ */

#define UNIT_MAX_KICKS 8
static unsigned int kicks[UNIT_MAX_KICKS], nkicks;

static void record_wait(uint8_t *ptr, uint8_t val)
{
	(void)ptr;
	(void)val;
}

static void record_kick(unsigned int cpu)
{
	if (nkicks < UNIT_MAX_KICKS)
		kicks[nkicks] = cpu;
	nkicks++;
}

static const struct pv_lock_ops record_ops = { .name = "record", .wait = record_wait, .kick = record_kick };

static void test_pv_unlock_slowpath(void)
{
	struct qspinlock l;
	struct lock_qnode *head = &lock_qnodes[CPU_FAKE_HEAD][0];

	host_cpu_bind(CPU_MAIN);
	lock_events_reset();
	pv_lock_set_ops(&record_ops);
	nkicks = 0;

	pvqspin_init(&l);
	pvqspin_lock(&l);
	CHECK_EQ(word(&l), Q_LOCKED_VAL);
	pvqspin_unlock(&l);                   /* fast: no kick */
	CHECK_EQ(word(&l), 0);
	CHECK_EQ(nkicks, 0);

	/* Fake a halted, hashed queue head of CPU_FAKE_HEAD. */
	pvqspin_lock(&l);
	head->cpu = CPU_FAKE_HEAD;
	pv_hash(&l, head);
	l.locked = Q_SLOW_VAL;
	CHECK(pvqspin_is_locked(&l));
	pvqspin_unlock(&l);
	CHECK_EQ(word(&l), 0);
	CHECK_EQ(nkicks, 1);
	CHECK_EQ(kicks[0], CPU_FAKE_HEAD);
	CHECK(pv_hash_lookup(&l) == NULL);
	CHECK_EQ(event(LOCK_EV_pv_kick_unlock), 1);
	pv_lock_set_ops(NULL);
}

/* ---- PV: real halting with futex ops --------------------------------------- */

static int slow_and_hashed_b(void *l)
{
	return __atomic_load_n(&((struct qspinlock *)l)->locked, __ATOMIC_SEQ_CST) ==
		       Q_SLOW_VAL &&
	       pv_hash_lookup(l) == &lock_qnodes[CPU_B][0];
}

static int c_halted(void *unused)
{
	(void)unused;
	return __atomic_load_n(&lock_qnodes[CPU_C][0].state, __ATOMIC_SEQ_CST) ==
	       PV_VCPU_HALTED;
}

/* A futex PV test's start: on CPU_MAIN, counts zeroed, the futex ops, `threshold`. */
static void pv_test_begin(uint32_t threshold)
{
	host_cpu_bind(CPU_MAIN);
	lock_events_reset();
	host_pv_stats_reset();
	pv_lock_set_ops(&host_pv_ops_futex);
	pv_lock_set_spin_threshold(threshold);
}

static void test_pv_head_halts(void)
{
	struct qspinlock l;
	unsigned int seq = 0;
	struct locker b = { &l, pvqspin_lock, pvqspin_unlock, CPU_B, &seq, 0 };
	pthread_t tb;

	pv_test_begin(UNIT_PV_THRESHOLD);

	pvqspin_init(&l);
	pvqspin_lock(&l);
	pthread_create(&tb, NULL, locker_thread, &b);
	CHECK(wait_until(slow_and_hashed_b, &l));
	usleep(UNIT_SETTLE_US);                /* let it really sleep */
	CHECK_EQ(word(&l) & Q_PENDING_MASK, 0); /* PV skips the pending path */
	pvqspin_unlock(&l);                    /* slow: unhash + kick */
	pthread_join(tb, NULL);

	CHECK_EQ(b.order, 1);
	CHECK_EQ(word(&l), 0);
	CHECK(pv_hash_lookup(&l) == NULL);
	CHECK(event(LOCK_EV_pv_wait_head) >= 1);
	CHECK_EQ(event(LOCK_EV_pv_kick_unlock), 1);
	CHECK(event(LOCK_EV_pv_kick_wake) >= 1);
	CHECK(event(LOCK_EV_pv_latency_wake) > 0);
	CHECK(host_pv_sleeps() >= 1);
	CHECK_EQ(host_pv_timeouts(), 0);

	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
	pv_lock_set_ops(NULL);
}

static void test_pv_wait_node_and_kick_node(void)
{
	struct qspinlock l;
	unsigned int seq = 0;
	struct locker b = { &l, pvqspin_lock, pvqspin_unlock, CPU_B, &seq, 0 };
	struct locker c = { &l, pvqspin_lock, pvqspin_unlock, CPU_C, &seq, 0 };
	pthread_t tb, tc;

	pv_test_begin(UNIT_PV_THRESHOLD);

	pvqspin_init(&l);
	pvqspin_lock(&l);
	pthread_create(&tb, NULL, locker_thread, &b);
	CHECK(wait_until(slow_and_hashed_b, &l));   /* B: halted head */
	/*
	 * With the head halted and pending clear, a newcomer spins in the
	 * hybrid unfair trylock (it hopes to steal) instead of queueing.
	 * Play a pending spinner so C queues behind B and halts there.
	 */
	q_set_pending(&l);
	pthread_create(&tc, NULL, locker_thread, &c);
	CHECK(wait_until(c_halted, NULL));           /* C: halted behind B */
	CHECK_EQ(word(&l) & Q_TAIL_MASK, q_encode_tail(CPU_C, 0));
	usleep(UNIT_SETTLE_US);
	q_clear_pending(&l);

	/* Unlock kicks B; B owns, finds C halted: C -> HASHED, slow value. */
	pvqspin_unlock(&l);
	pthread_join(tb, NULL);
	pthread_join(tc, NULL);

	CHECK_EQ(b.order, 1);
	CHECK_EQ(c.order, 2);
	CHECK_EQ(word(&l), 0);
	CHECK(pv_hash_lookup(&l) == NULL);
	CHECK(event(LOCK_EV_pv_wait_node) >= 1);
	CHECK_EQ(event(LOCK_EV_pv_kick_unlock), 2);  /* B by us, C by B */
	CHECK_EQ(host_pv_timeouts(), 0);

	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
	pv_lock_set_ops(NULL);
}

static int slow_set(void *l)
{
	return __atomic_load_n(&((struct qspinlock *)l)->locked, __ATOMIC_SEQ_CST) ==
	       Q_SLOW_VAL;
}

/* A lock taken (and waited for) under the default ops, released after switching. */
static void test_pv_ops_switch(void)
{
	struct qspinlock l;
	unsigned int seq = 0;
	struct locker b = { &l, pvqspin_lock, pvqspin_unlock, CPU_B, &seq, 0 };
	pthread_t tb;

	host_cpu_bind(CPU_MAIN);
	lock_events_reset();
	host_pv_stats_reset();
	pv_lock_set_ops(NULL);
	CHECK(pv_lock_get_ops() == &pv_lock_ops_spin);
	pv_lock_set_spin_threshold(UNIT_PV_THRESHOLD);

	/* Uncontended: lock with default ops, unlock with futex ops. */
	pvqspin_init(&l);
	pvqspin_lock(&l);
	pv_lock_set_ops(&host_pv_ops_futex);
	pvqspin_unlock(&l);
	CHECK_EQ(word(&l), 0);

	/* Contended: the waiter hashed itself while "wait" was a no-op. */
	pv_lock_set_ops(NULL);
	pvqspin_lock(&l);
	pthread_create(&tb, NULL, locker_thread, &b);
	CHECK(wait_until(slow_set, &l));
	pv_lock_set_ops(&host_pv_ops_futex);
	usleep(UNIT_SETTLE_US);
	pvqspin_unlock(&l);
	pthread_join(tb, NULL);
	CHECK_EQ(b.order, 1);
	CHECK_EQ(word(&l), 0);
	CHECK(pv_hash_lookup(&l) == NULL);
	CHECK_EQ(host_pv_timeouts(), 0);

	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
	pv_lock_set_ops(NULL);
}

/* ---- PV spin hint (lock/pv_ops.h) -------------------------------------------- */

#define UNIT_HINT_LOOPS 16u
#define UNIT_HINT_MAX   8u

static uint64_t hint_calls, hint_spins[UNIT_HINT_MAX];

static void record_hint(uint64_t spins)
{
	/* Relaxed: read after pthread_join(), which orders it. */
	uint64_t n = __atomic_fetch_add(&hint_calls, 1, __ATOMIC_RELAXED);
	if (n < UNIT_HINT_MAX)
		hint_spins[n] = spins;
}

static int b_hashed(void *l)
{
	return pv_hash_lookup(l) == &lock_qnodes[CPU_B][0];
}

/* The countdown calls the op every spin_hint_loops ticks with the spins so
 * far; without the op nothing is called; a spinning queue head calls it. */
static void test_pv_spin_hint(void)
{
	struct pv_lock_ops hint_ops = record_ops;
	struct pv_spin_hint h;

	hint_ops.spin_hint = record_hint;
	hint_ops.spin_hint_loops = 3;
	hint_calls = 0;
	pv_lock_set_ops(&hint_ops);
	pv_spin_hint_init(&h);
	for (unsigned int i = 0; i < 7; i++)
		pv_spin_hint_tick(&h);
	CHECK_EQ(hint_calls, 2);
	CHECK_EQ(hint_spins[0], 3);
	CHECK_EQ(hint_spins[1], 6);

	/* No op (or a period of 0): the countdown starts at UINT32_MAX. */
	hint_ops.spin_hint_loops = 0;
	pv_spin_hint_init(&h);
	CHECK_EQ(h.left, UINT32_MAX);
	pv_lock_set_ops(&record_ops);
	pv_spin_hint_init(&h);
	CHECK_EQ(h.left, UINT32_MAX);
	for (unsigned int i = 0; i < 1000; i++)
		pv_spin_hint_tick(&h);
	CHECK_EQ(hint_calls, 2);

	/* A real queue head: B spins pv_spin_threshold before it halts. */
	struct qspinlock l;
	unsigned int seq = 0;
	struct locker b = { &l, pvqspin_lock, pvqspin_unlock, CPU_B, &seq, 0 };
	pthread_t tb;

	host_cpu_bind(CPU_MAIN);
	host_pv_stats_reset();
	hint_ops = host_pv_ops_futex;
	hint_ops.spin_hint = record_hint;
	hint_ops.spin_hint_loops = UNIT_HINT_LOOPS;
	hint_calls = 0;
	pv_lock_set_ops(&hint_ops);
	pv_lock_set_spin_threshold(UNIT_HINT_LOOPS * 4);
	pvqspin_init(&l);
	pvqspin_lock(&l);
	pthread_create(&tb, NULL, locker_thread, &b);
	CHECK(wait_until(b_hashed, &l));
	pvqspin_unlock(&l);
	pthread_join(tb, NULL);
	CHECK_EQ(b.order, 1);
	CHECK(hint_calls >= 4);
	CHECK_EQ(hint_spins[0], UNIT_HINT_LOOPS);
	CHECK_EQ(host_pv_timeouts(), 0);

	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
	pv_lock_set_ops(NULL);
}

/* ---- PV ops contract (host futex implementation) ---------------------------- */

static void test_host_ops_contract(void)
{
	uint8_t x = 7;
	uint64_t t0;

	host_cpu_bind(CPU_MAIN);
	host_pv_stats_reset();
	/* Condition already false: returns at once. */
	host_pv_ops_futex.wait(&x, 8);
	/* Kick before the wait: not lost, the wait returns at once. */
	host_pv_ops_futex.kick(CPU_MAIN);
	t0 = lock_now_ns();
	host_pv_ops_futex.wait(&x, 7);
	CHECK(lock_now_ns() - t0 < HOST_NS_PER_SEC);
	CHECK_EQ(host_pv_sleeps(), 0);
	CHECK_EQ(host_pv_timeouts(), 0);
	/* Default ops are harmless. */
	pv_lock_ops_spin.kick(CPU_MAIN);
	pv_lock_ops_spin.wait(&x, 7);
}

static void test_spin_threshold(void)
{
	CHECK_EQ(pv_lock_spin_threshold(), PV_SPIN_THRESHOLD);
	pv_lock_set_spin_threshold(0);
	CHECK_EQ(pv_lock_spin_threshold(), PV_SPIN_THRESHOLD_MIN);
	pv_lock_set_spin_threshold(123);
	CHECK_EQ(pv_lock_spin_threshold(), 123);
	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
}

/* ---- PV adaptive: pvqspinlock_adaptive's judgements (pv_adaptive.h) ------------ */

static void adaptive_lock(struct qspinlock *l) { lock_type_pvqspinlock_adaptive.lock(l); }
static void adaptive_unlock(struct qspinlock *l) { lock_type_pvqspinlock_adaptive.unlock(l); }

/* Looks without pause (a lapse of PV_STALE_HEAD_NS starts over) until the judgement comes. */
static int head_judged_stale(struct qspinlock *l)
{
	uint64_t t0 = lock_now_ns();

	while (lock_now_ns() - t0 < UNIT_WAIT_LIMIT_NS)
		if (pv_head_stale(l, word(l)))
			return 1;
	return 0;
}

/* A free lock with pending set: judged stale only after a while, and only for that lock and word. */
static void test_pv_adaptive_stale_head(void)
{
	struct qspinlock l, other;
	const uint32_t w = q_encode_tail(CPU_FAKE_HEAD, 0) | Q_PENDING_VAL;

	host_cpu_bind(CPU_MAIN);
	l.val = w;
	other.val = w;
	CHECK(!pv_head_stale(&l, w));                  /* first look */
	CHECK(head_judged_stale(&l));
	CHECK(pv_head_stale(&l, w));                   /* and it stays made */
	CHECK(!pv_head_stale(&other, w));              /* another lock: start over */
	CHECK(!pv_head_stale(&other, q_encode_tail(CPU_C, 0) | Q_PENDING_VAL));
}

/* The adaptive lock steals past a head that never takes the free lock; pvqspinlock would queue. */
static void test_pv_adaptive_steals_past_stale_head(void)
{
	struct qspinlock l;
	const uint32_t head = q_encode_tail(CPU_FAKE_HEAD, 0) | Q_PENDING_VAL;

	host_cpu_bind(CPU_MAIN);
	lock_events_reset();
	l.val = head;
	adaptive_lock(&l);
	CHECK_EQ(word(&l), head | Q_LOCKED_VAL);       /* the head's pending and tail kept */
	CHECK_EQ(event(LOCK_EV_pv_steal_stale), 1);
	CHECK_EQ(event(LOCK_EV_pv_lock_stealing), 0);
	adaptive_unlock(&l);
	CHECK_EQ(word(&l), head);
	adaptive_lock(&l);                             /* still so: stolen again */
	CHECK_EQ(event(LOCK_EV_pv_steal_stale), 2);
	adaptive_unlock(&l);
	CHECK_EQ(word(&l), head);
	CHECK_EQ(lock_qnodes[CPU_MAIN][0].count, 0);   /* the node was given back */
}

/* A successor sees its predecessor's beat stand still between two looks. */
static void test_pv_adaptive_beat(void)
{
	struct lock_qnode *prev = &lock_qnodes[CPU_FAKE_HEAD][0];
	struct pv_beat_watch w = { 0, false };

	CHECK(!pv_prev_stalled(prev, &w));             /* first look: nothing to compare */
	CHECK(pv_prev_stalled(prev, &w));              /* no beat since */
	pv_beat(prev, PV_BEAT_MASK + 1U);              /* a spin that beats */
	CHECK(!pv_prev_stalled(prev, &w));
	pv_beat(prev, PV_BEAT_MASK);                   /* a spin between beats */
	CHECK(pv_prev_stalled(prev, &w));
}

static int c_halted_or_hashed(void *unused)
{
	(void)unused;
	return __atomic_load_n(&lock_qnodes[CPU_C][0].state, __ATOMIC_SEQ_CST) ==
	       PV_VCPU_HALTED;
}

/*
 * C queues behind a predecessor that is RUNNING by its state but never
 * beats (preempted): it halts at once, without spinning the threshold.
 * Then the predecessor hands over as pvqspinlock's does and the unlock
 * kicks C.  With pending set (the head spins) C queues at once; with it
 * clear, C first spins for a steal, judges the holder stale and queues.
 */
static void halts_behind_stalled_prev(bool pending)
{
	static struct qspinlock l;     /* not on the stack: no other test's hash entry can name it */
	struct lock_qnode *prev = &lock_qnodes[CPU_FAKE_HEAD][0];
	struct lock_qnode *cnode = &lock_qnodes[CPU_C][0];
	unsigned int seq = 0;
	struct locker c = { &l, adaptive_lock, adaptive_unlock, CPU_C, &seq, 0 };
	pthread_t tc;

	pv_test_begin(UINT32_MAX); /* only the beat can halt C */

	/* A fake head of CPU_FAKE_HEAD, spinning with pending on a held lock. */
	prev->next = NULL;
	prev->locked = Q_NODE_HANDOFF;
	prev->cpu = CPU_FAKE_HEAD;
	prev->state = PV_VCPU_RUNNING;
	l.val = q_encode_tail(CPU_FAKE_HEAD, 0) | (pending ? Q_PENDING_VAL : 0) | Q_LOCKED_VAL;
	CHECK(pv_hash_lookup(&l) == NULL);

	pthread_create(&tc, NULL, locker_thread, &c);
	CHECK(wait_until(c_halted_or_hashed, NULL));
	CHECK_EQ(event(LOCK_EV_pv_wait_stale), 1);
	CHECK_EQ(event(LOCK_EV_pv_wait_early), 0);
	CHECK_EQ(event(LOCK_EV_pv_queue_stale), pending ? 0 : 1);
	CHECK(__atomic_load_n(&prev->next, __ATOMIC_SEQ_CST) == cnode);

	/* The head takes the lock and hands the head role to C. */
	q_clear_pending(&l);
	__atomic_store_n(&cnode->locked, Q_NODE_HANDOFF, __ATOMIC_RELEASE);
	q_pv_kick_node(&l, cnode);                     /* C halted: hashed, slow value */
	CHECK_EQ(__atomic_load_n(&l.locked, __ATOMIC_SEQ_CST), Q_SLOW_VAL);
	adaptive_unlock(&l);                           /* unhash, kick C */
	pthread_join(tc, NULL);

	CHECK_EQ(c.order, 1);
	CHECK_EQ(word(&l), 0);
	CHECK(pv_hash_lookup(&l) == NULL);
	CHECK_EQ(event(LOCK_EV_pv_kick_unlock), 1);
	CHECK_EQ(host_pv_timeouts(), 0);

	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
	pv_lock_set_ops(NULL);
}

static void test_pv_adaptive_halts_behind_stalled_prev(void)
{
	halts_behind_stalled_prev(true);
}

static void test_pv_adaptive_queues_behind_stale_holder(void)
{
	halts_behind_stalled_prev(false);
}

/* ---- lock events ---------------------------------------------------------------- */

static void test_events(void)
{
	static const char *const names[] = {
		"lock_pending", "lock_slowpath", "lock_use_node2", "lock_use_node3",
		"lock_use_node4", "lock_no_node", "pv_wait_node", "pv_wait_head",
		"pv_wait_again", "pv_wait_early", "pv_kick_unlock", "pv_kick_wake",
		"pv_spurious_wakeup", "pv_lock_stealing", "pv_steal_stale",
		"pv_wait_stale", "pv_queue_stale", "pv_hash_hops",
		"pv_latency_kick", "pv_latency_wake",
	};

	CHECK_EQ(LOCK_EVENT_NR, ARRAY_SIZE(names));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		CHECK(lock_event_names[i] && strcmp(lock_event_names[i], names[i]) == 0);

	host_cpu_bind(CPU_B);
	lock_event_inc(lock_slowpath);
	lock_event_add(LOCK_EV_pv_hash_hops, 5);
	lock_event_wake_latency(1000);         /* bucket 9: [512, 1024) */
	host_cpu_bind(CPU_MAIN);
	lock_event_inc(lock_slowpath);
	lock_events_sum(&ev);
	CHECK(ev.count[LOCK_EV_lock_slowpath] >= 2);
	CHECK(lock_events_wake_hist(CPU_B)[9] >= 1);
	CHECK(lock_events_wake_hist(LOCK_NR_CPUS) == NULL);
	lock_events_reset();
	lock_events_sum(&ev);
	for (unsigned int e = 0; e < LOCK_EVENT_NR; e++)
		CHECK_EQ(ev.count[e], 0);
	for (unsigned int b = 0; b < LOCK_LAT_BUCKETS; b++)
		CHECK_EQ(ev.wake_hist[b], 0);

	CHECK_EQ(lock_lat_bucket(0), 0);
	CHECK_EQ(lock_lat_bucket(1), 0);
	CHECK_EQ(lock_lat_bucket(2), 1);
	CHECK_EQ(lock_lat_bucket(1023), 9);
	CHECK_EQ(lock_lat_bucket(1024), 10);
	CHECK_EQ(lock_lat_bucket(UINT64_MAX), LOCK_LAT_BUCKETS - 1);
}

static const struct test_case unit_tests[] = {
	TEST_CASE(test_percpu_unplaced),
	TEST_CASE(test_percpu_place),
	TEST_CASE(test_tail_encoding),
	TEST_CASE(test_xchg_tail_keeps_low_bits),
	TEST_CASE(test_registry),
	TEST_CASE(test_basic_all),
	TEST_CASE(test_mcs_view),
	TEST_CASE(test_trylock_zero_word),
	TEST_CASE(test_pending_path),
	TEST_CASE(test_nesting_nodes),
	TEST_CASE(test_irq_nested_queueing),
	TEST_CASE(test_pv_hash),
	TEST_CASE(test_pv_hash_full_traps),
	TEST_CASE(test_pv_hybrid_trylock),
	TEST_CASE(test_pv_unlock_corruption_traps),
	TEST_CASE(test_pv_unlock_slowpath),
	TEST_CASE(test_pv_adaptive_stale_head),
	TEST_CASE(test_pv_adaptive_steals_past_stale_head),
	TEST_CASE(test_pv_adaptive_beat),
	TEST_CASE(test_pv_adaptive_halts_behind_stalled_prev),
	TEST_CASE(test_pv_adaptive_queues_behind_stale_holder),
	TEST_CASE(test_pv_head_halts),
	TEST_CASE(test_pv_wait_node_and_kick_node),
	TEST_CASE(test_pv_ops_switch),
	TEST_CASE(test_pv_spin_hint),
	TEST_CASE(test_host_ops_contract),
	TEST_CASE(test_spin_threshold),
	TEST_CASE(test_events),
};

int main(int argc, char **argv)
{
	use_unplaced();
	host_lock_percpu_place();
	printf("unit tests, LOCK_NR_CPUS=%u (%s pending)\n", LOCK_NR_CPUS,
	       Q_PENDING_BITS == 8 ? "byte" : "bit");
	return test_main(unit_tests, ARRAY_SIZE(unit_tests), argc, argv);
}
