/* SPDX-License-Identifier: MIT */
/*
 * bench.c - our locks vs Concurrency Kit and pthread spinlocks, one run.
 *
 *   uncontended: BENCH_UNC_OPS lock+unlock pairs on one thread; ns/op
 *                (CLOCK_MONOTONIC) and TSC cycles/op (rdtsc: reference
 *                cycles at the nominal frequency).
 *   contended:   BENCH_CONT_THREADS threads hammer one lock (critical
 *                section: one shared counter increment) for
 *                BENCH_CONT_MS; total acquisitions per second.
 *
 * Each figure is the median over repetitions, with the interquartile
 * range as spread.  Repetitions are interleaved across locks (round robin)
 * so background noise hits every lock alike.
 *
 * Threads are pinned to CPUs (main/uncontended thread on CPU 0, contended
 * thread i on CPU i % ncpu).  With BENCH_RT=1 in the environment they also
 * run SCHED_FIFO, so that other load on the machine cannot preempt a lock
 * holder or waiter (opt-in: it starves everything else for seconds).  The
 * report states the scheduling used and the load average before the run.
 *
 * usage: bench [out.md]   (default build/bench-host.md)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "lock.h"

#define BENCH_UNC_OPS 200000U
#define BENCH_UNC_REPS 21U
/* Dependent multiply-adds between pairs in the "think" variant (~3 cyc each). */
#define BENCH_THINK_STEPS 8U
#define BENCH_THINK_MUL 3U
#define BENCH_CONT_THREADS 2U
#define BENCH_CONT_MS 100U
#define BENCH_CONT_REPS 9U
#define BENCH_MAX_LOCKS 16U
#define BENCH_NS_PER_MS 1000000ULL
/* Targets from the issue. */
#define BENCH_UNC_TARGET_RATIO 1.2
#define BENCH_CONT_TARGET_RATIO 1.0

struct bench_stats {
	double median, q1, q3;
};

struct bench_entry {
	struct bench_lock lk;
	double unc_ns[BENCH_UNC_REPS], unc_cyc[BENCH_UNC_REPS];
	double think_cyc[BENCH_UNC_REPS];
	double cont_mops[BENCH_CONT_REPS];
	struct bench_stats ns, cyc, think, mops;
};

static struct bench_entry entries[BENCH_MAX_LOCKS];
static size_t nentries;

static _Alignas(64) unsigned char bench_lock_mem[BENCH_LOCK_BYTES];

/* SCHED_FIFO priorities: the timing main thread must preempt the workers. */
#define BENCH_RT_PRIO_WORKER 1
#define BENCH_RT_PRIO_MAIN 2

static bool bench_rt;        /* BENCH_RT=1 and SCHED_FIFO worked */
static double bench_load[3]; /* load average before the run */

/* Pin the calling thread to `cpu`; with BENCH_RT also make it SCHED_FIFO. */
static void bench_place(unsigned int cpu, int rt_prio)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % (unsigned long)(ncpu > 0 ? ncpu : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (bench_rt) {
		struct sched_param sp = { .sched_priority = rt_prio };

		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
			bench_rt = false;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct bench_stats stats_of(double *v, size_t n)
{
	struct bench_stats s;

	qsort(v, n, sizeof(*v), cmp_double);
	s.median = v[n / 2];
	s.q1 = v[n / 4];
	s.q3 = v[(3 * n) / 4];
	return s;
}

static void bench_uncontended(struct bench_entry *e, unsigned int rep)
{
	void *l = bench_lock_mem;
	uint64_t t0, t1, c0, c1;

	e->lk.init(l);
	for (unsigned int i = 0; i < BENCH_UNC_OPS / 16; i++) { /* warm up */
		e->lk.lock(l);
		e->lk.unlock(l);
	}
	t0 = lock_now_ns();
	c0 = __builtin_ia32_rdtsc();
	for (unsigned int i = 0; i < BENCH_UNC_OPS; i++) {
		e->lk.lock(l);
		e->lk.unlock(l);
	}
	c1 = __builtin_ia32_rdtsc();
	t1 = lock_now_ns();
	e->unc_ns[rep] = (double)(t1 - t0) / BENCH_UNC_OPS;
	e->unc_cyc[rep] = (double)(c1 - c0) / BENCH_UNC_OPS;
}

static volatile uint64_t bench_sink;

/* A few cycles of work that touches no lock memory. */
static inline uint64_t bench_think(uint64_t x)
{
	for (unsigned int j = 0; j < BENCH_THINK_STEPS; j++) {
		x = x * BENCH_THINK_MUL + 1;
		__asm__ volatile("" : "+r"(x)); /* keep the dependency chain */
	}
	return x;
}

/* Same, with think time between pairs: cycles/op minus the think time. */
static void bench_uncontended_think(struct bench_entry *e, unsigned int rep)
{
	void *l = bench_lock_mem;
	uint64_t c0, c1, c2, x = bench_sink;

	e->lk.init(l);
	c0 = __builtin_ia32_rdtsc();
	for (unsigned int i = 0; i < BENCH_UNC_OPS; i++)
		x = bench_think(x);
	c1 = __builtin_ia32_rdtsc();
	for (unsigned int i = 0; i < BENCH_UNC_OPS; i++) {
		e->lk.lock(l);
		e->lk.unlock(l);
		x = bench_think(x);
	}
	c2 = __builtin_ia32_rdtsc();
	bench_sink = x;
	e->think_cyc[rep] = ((double)(c2 - c1) - (double)(c1 - c0)) / BENCH_UNC_OPS;
}

struct cont_shared {
	const struct bench_lock *lk;
	unsigned int started;
	unsigned int stop;
	uint64_t counter;
	uint64_t ops[BENCH_CONT_THREADS];
};

struct cont_arg {
	struct cont_shared *sh;
	unsigned int id;
};

static void *cont_thread(void *arg)
{
	struct cont_arg *a = arg;
	struct cont_shared *sh = a->sh;
	void *l = bench_lock_mem;
	uint64_t n = 0;

	host_cpu_bind(a->id + 1);
	bench_place(a->id, BENCH_RT_PRIO_WORKER);
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->started, __ATOMIC_SEQ_CST) < BENCH_CONT_THREADS)
		lock_cpu_relax();
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		sh->lk->lock(l);
		sh->counter++;
		sh->lk->unlock(l);
		n++;
	}
	sh->ops[a->id] = n;
	return NULL;
}

static void bench_contended(struct bench_entry *e, unsigned int rep)
{
	static struct cont_shared sh;
	struct cont_arg args[BENCH_CONT_THREADS];
	pthread_t tids[BENCH_CONT_THREADS];
	uint64_t t0, t1, total = 0;

	memset(&sh, 0, sizeof(sh));
	sh.lk = &e->lk;
	e->lk.init(bench_lock_mem);
	for (unsigned int i = 0; i < BENCH_CONT_THREADS; i++) {
		args[i].sh = &sh;
		args[i].id = i;
		pthread_create(&tids[i], NULL, cont_thread, &args[i]);
	}
	while (__atomic_load_n(&sh.started, __ATOMIC_SEQ_CST) < BENCH_CONT_THREADS)
		usleep(100);
	t0 = lock_now_ns();
	usleep(BENCH_CONT_MS * 1000U);
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < BENCH_CONT_THREADS; i++) {
		pthread_join(tids[i], NULL);
		total += sh.ops[i];
	}
	t1 = lock_now_ns();
	if (sh.counter != total) {
		fprintf(stderr, "bench: %s lost updates (%llu != %llu)\n", e->lk.name,
			(unsigned long long)sh.counter, (unsigned long long)total);
		exit(1);
	}
	e->cont_mops[rep] = (double)total / ((double)(t1 - t0) / 1e3);
}

static void add_entry(const struct bench_lock *lk)
{
	if (nentries < BENCH_MAX_LOCKS)
		entries[nentries++].lk = *lk;
}

static struct bench_entry *find_entry(const char *name)
{
	for (size_t i = 0; i < nentries; i++)
		if (strcmp(entries[i].lk.name, name) == 0)
			return &entries[i];
	return NULL;
}

static void report(FILE *f)
{
	struct bench_entry *q = find_entry("qspinlock");
	struct bench_entry *fas = find_entry("ck_spinlock_fas");
	struct bench_entry *mcs = find_entry("ck_spinlock_mcs");
	double unc_ratio = q->ns.median / fas->ns.median;
	double cont_ratio = q->mops.median / mcs->mops.median;
	double think_ratio = q->think.median / fas->think.median;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	fprintf(f, "| lock | uncontended ns/op | uncontended cycles/op | "
		   "uncontended cycles/op, think time between | "
		   "%u-thread contended Mops/s |\n", BENCH_CONT_THREADS);
	fprintf(f, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < nentries; i++) {
		struct bench_entry *e = &entries[i];

		fprintf(f, "| %s | %.2f (%.2f-%.2f) | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | "
			   "%.2f (%.2f-%.2f) |\n",
			e->lk.name, e->ns.median, e->ns.q1, e->ns.q3, e->cyc.median,
			e->cyc.q1, e->cyc.q3, e->think.median, e->think.q1, e->think.q3,
			e->mops.median, e->mops.q1, e->mops.q3);
	}
	fprintf(f, "\nMedian (interquartile range) over %u uncontended runs of %u "
		   "lock+unlock pairs and %u contended runs of %u ms; %ld online CPUs; "
		   "threads pinned, %s scheduling; load average before the run "
		   "%.2f %.2f %.2f.\n\n",
		BENCH_UNC_REPS, BENCH_UNC_OPS, BENCH_CONT_REPS, BENCH_CONT_MS, ncpu,
		bench_rt ? "SCHED_FIFO" : "default (SCHED_OTHER)", bench_load[0],
		bench_load[1], bench_load[2]);
	fprintf(f, "- uncontended qspinlock / ck_spinlock_fas = %.2f (target <= %.1f): %s\n",
		unc_ratio, BENCH_UNC_TARGET_RATIO,
		unc_ratio <= BENCH_UNC_TARGET_RATIO ? "met" : "NOT met");
	fprintf(f, "- same, with think time between pairs (%u dependent multiply-adds, "
		   "subtracted) = %.2f\n", BENCH_THINK_STEPS, think_ratio);
	fprintf(f, "- contended qspinlock / ck_spinlock_mcs = %.2f (target >= %.1f): %s\n",
		cont_ratio, BENCH_CONT_TARGET_RATIO,
		cont_ratio >= BENCH_CONT_TARGET_RATIO ? "met" : "NOT met");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "build/bench-host.md";
	FILE *f;

	const char *rt = getenv("BENCH_RT");

	bench_rt = rt && strcmp(rt, "1") == 0;
	if (getloadavg(bench_load, 3) != 3)
		bench_load[0] = bench_load[1] = bench_load[2] = -1;
	host_lock_percpu_place();
	host_cpu_bind(0);
	bench_place(0, BENCH_RT_PRIO_MAIN);
	for (const struct lock_type *const *t = lock_types; *t; t++) {
		struct bench_lock lk = { (*t)->name, (*t)->size, (*t)->init, (*t)->lock,
					 (*t)->unlock };
		add_entry(&lk);
	}
	for (size_t i = 0; i < bench_ref_nlocks; i++)
		add_entry(&bench_ref_locks[i]);

	fprintf(stderr, "bench: uncontended");
	for (unsigned int r = 0; r < BENCH_UNC_REPS; r++) {
		for (size_t i = 0; i < nentries; i++) {
			bench_uncontended(&entries[i], r);
			bench_uncontended_think(&entries[i], r);
		}
		fputc('.', stderr);
	}
	fprintf(stderr, " contended");
	for (unsigned int r = 0; r < BENCH_CONT_REPS; r++) {
		for (size_t i = 0; i < nentries; i++)
			bench_contended(&entries[i], r);
		fputc('.', stderr);
	}
	fputc('\n', stderr);
	for (size_t i = 0; i < nentries; i++) {
		struct bench_entry *e = &entries[i];

		e->ns = stats_of(e->unc_ns, BENCH_UNC_REPS);
		e->cyc = stats_of(e->unc_cyc, BENCH_UNC_REPS);
		e->think = stats_of(e->think_cyc, BENCH_UNC_REPS);
		e->mops = stats_of(e->cont_mops, BENCH_CONT_REPS);
	}

	report(stdout);
	f = fopen(out, "w");
	if (!f) {
		perror(out);
		return 1;
	}
	report(f);
	fclose(f);
	printf("\n(written to %s)\n", out);
	return 0;
}
