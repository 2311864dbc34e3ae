/* SPDX-License-Identifier: MIT */
/* bench.c - the bench suite: throughput, fairness and acquire latency of each selected lock,
 * one after the other on the same CPUs, so one boot compares them. Every
 * CPU loops: acquire (timed), a critical section that writes shared cache
 * lines and waits as its shape says, release. shape=default waits hold_ns
 * inside and think_ns outside; shape=locktorture is Linux locktorture's
 * writer (torture_shape.h), no think time. A warm-up runs first and is not
 * counted; the PV counters and steal time cover the measured window only.
 * A critical section that takes over OVERRUN_FACTOR times its intended
 * wait had its holder preempted (or interrupted for that long). Slow
 * handoffs and long holds (lock_report.h) reuse the latency's clock reads. */
#include "hypercall/steal_time.h"
#include "kernel/console.h"
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/pv_backend.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/watchdog.h"
#include "lib/cmdline.h"
#include "lib/fmt.h"
#include "lib/json.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "lib/xorshift.h"
#include "lock/lock.h"
#include "lock_report.h"
#include "options.h"
#include "suite.h"
#include "torture.h"
#include "torture_shape.h"

#define NAME_MAX         64
#define SHARED_LINES     4              /* cache lines the critical section writes */
#define OVERRUN_FACTOR   10
#define OVERRUN_MIN_NS   1000           /* floor of the limit when hold_ns is ~0 */
#define NO_OWNER         (~0u)
#define TABLE_ROWS       16
#define FAIRNESS_DECIMALS 4
#define FAIRNESS_SCALE   10000
#define JAIN_X_MAX       (1ul << 27)    /* MAX_CPUS * x^2 < 2^64 */
#define TPUT_DECIMALS    1
#define TPUT_SCALE       10

/* Acquire latency: log2 buckets split in 2^SUB_BITS linear steps, so a
 * percentile is off by at most 1/2^SUB_BITS (12.5%). Values below 2^SUB_BITS
 * ns get a bucket each; the last bucket takes everything from 2^MAX_LOG2. */
#define SUB_BITS         3
#define SUB_STEPS        (1u << SUB_BITS)
#define MAX_LOG2         40             /* 2^40 ns: 18 minutes */
#define LAT_BUCKETS      ((MAX_LOG2 - SUB_BITS + 2) * SUB_STEPS)
#define LOG2_BUCKETS     LOCK_LAT_BUCKETS

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

struct bench_cpu {
	uint64_t acquisitions, overruns, max_ns;
	struct handoff_counts handoff;
	uint64_t steal_start_ns, steal_ns;
	bool measuring;
	uint64_t rng;                   /* shape=locktorture's draws */
	struct locktorture_counts lt_now;       /* drawn for the acquisition under way */
	struct locktorture_counts lt;   /* of the counted acquisitions */
	uint64_t lat[LAT_BUCKETS];
} __attribute__((aligned(CACHE_LINE)));

struct shared_line {
	volatile uint64_t v;
} __attribute__((aligned(CACHE_LINE)));

struct bench_row {
	const char *lock;
	uint64_t tput_x10, fairness_x10000, p50, p99, p999, max, overruns, halts, kicks, steal_ns;
	struct handoff_counts handoff;
};

/* A loop shape (shape=), chosen once per suite run: the loops test no
 * shape. */
struct bench_shape {
	void (*worker)(void *arg);
	uint64_t (*usual_wait_ns)(void);        /* in the critical section, rare delays aside */
	void (*params)(char *buf, size_t size); /* its options, for the "# bench:" line */
	void (*json)(struct json *j);           /* "shape" and its parameters and counts */
};

static struct {
	const struct bench_shape *shape;
	struct locktorture_params lt;   /* shape=locktorture, for this CPU count */
	const struct lock_type *type;
	lock_storage_t lock __attribute__((aligned(CACHE_LINE)));
	struct shared_line shared[SHARED_LINES];
	volatile uint32_t owner;
	uint64_t release_ns;            /* the owner's last clock read before its unlock */
	uint64_t violations;            /* atomic */
	uint32_t phase;                 /* atomic: enum phase */
	uint64_t start_ns, warmup_end_ns, measure_start_ns, measure_end_ns, stop_ns;
	struct pv_snapshot pv_start;
	unsigned int ncpus;
	uint64_t overrun_ns;            /* a critical section's overrun limit */
	uint64_t long_overrun_ns;       /* shape=locktorture: one with a long hold */
	struct bench_cpu *cpu;          /* [ncpus], from ram_alloc: not in .bss (kernel/ram.h) */
	unsigned int cpu_room;          /* entries allocated at cpu */
	struct bench_row rows[TABLE_ROWS];
	unsigned int nrows;
} b;

static unsigned int lat_bucket(uint64_t ns)
{
	if (ns < SUB_STEPS)
		return (unsigned int)ns;
	unsigned int msb = 63u - (unsigned int)__builtin_clzll(ns);
	if (msb >= MAX_LOG2)
		return LAT_BUCKETS - 1;
	unsigned int sub = (unsigned int)(ns >> (msb - SUB_BITS)) & (SUB_STEPS - 1);
	return ((msb - SUB_BITS + 1) << SUB_BITS) + sub;
}

/* Smallest latency that falls in bucket i. */
static uint64_t lat_bucket_low(unsigned int i)
{
	if (i < SUB_STEPS)
		return i;
	unsigned int octave = i >> SUB_BITS, sub = i & (SUB_STEPS - 1);
	return (uint64_t)(SUB_STEPS | sub) << (octave - 1);
}

_Static_assert(LAT_BUCKETS <= 2 * 64 * SUB_STEPS, "latency buckets cover 64-bit ns");

/* Move to the next phase when its time has come; any CPU may call this
 * (the loop of CPU 0 and every CPU's tick), the first one wins. */
static void advance_phase(void)
{
	uint32_t ph = __atomic_load_n(&b.phase, __ATOMIC_ACQUIRE);
	uint64_t now = time_ns();
	uint32_t next;
	if (ph == PHASE_WARMUP && now >= b.warmup_end_ns)
		next = PHASE_MEASURE;
	else if (ph == PHASE_MEASURE && now >= b.measure_end_ns)
		next = PHASE_STOP;
	else
		return;
	static uint32_t switching;      /* one switcher, so the stamps are its own */
	uint32_t idle = 0;
	if (!__atomic_compare_exchange_n(&switching, &idle, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	if (__atomic_load_n(&b.phase, __ATOMIC_RELAXED) == ph) {
		if (next == PHASE_MEASURE) {
			pv_snapshot_take(&b.pv_start, b.ncpus);
			b.measure_start_ns = time_ns();
		} else {
			b.stop_ns = time_ns();
		}
		/* RELEASE: the stamps and the snapshot before the new phase. */
		__atomic_store_n(&b.phase, next, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&switching, 0, __ATOMIC_RELEASE);
}

/* The critical section around a shape's `hold`, which waits inside it and
 * returns this critical section's overrun limit. */
static inline __attribute__((always_inline)) uint64_t
critical_section(struct bench_cpu *me, unsigned int id, uint64_t (*hold)(struct bench_cpu *))
{
	if (b.owner != NO_OWNER)
		__atomic_add_fetch(&b.violations, 1, __ATOMIC_RELAXED);
	b.owner = id;
	for (unsigned int i = 0; i < SHARED_LINES; i++)
		b.shared[i].v++;
	uint64_t overrun_ns = hold(me);
	if (b.owner != id)
		__atomic_add_fetch(&b.violations, 1, __ATOMIC_RELAXED);
	b.owner = NO_OWNER;
	return overrun_ns;
}

/* t0: acquire begun, t1: acquired, t2: about to release; released: the
 * previous owner's t2; overrun_ns: this critical section's limit. */
static inline __attribute__((always_inline)) void
record(struct bench_cpu *me, unsigned int id, uint64_t t0, uint64_t t1, uint64_t t2,
       uint64_t released, uint64_t overrun_ns)
{
	uint64_t wait_ns = t1 - t0;
	if (!me->measuring) {
		me->measuring = true;
		me->steal_start_ns = steal_time_ns(id);
	}
	me->acquisitions++;
	me->lat[lat_bucket(wait_ns)]++;
	if (wait_ns > me->max_ns)
		me->max_ns = wait_ns;
	if (t2 - t1 > overrun_ns)
		me->overruns++;
	handoff_record(&me->handoff, t0, t1, t2, released);
}

/* Take the lock (timed), run the critical section around `hold`, release;
 * record it if the lock was taken inside the measured window, and say so.
 * Inlined into each shape's loop, so `hold` is a direct call there. */
static inline __attribute__((always_inline)) bool
acquire_once(struct bench_cpu *me, unsigned int id, uint64_t (*hold)(struct bench_cpu *))
{
	struct wd_wait outer = watchdog_wait_begin("lock", time_ns());
	uint64_t t0 = time_ns();
	b.type->lock(&b.lock);
	uint64_t t1 = time_ns();
	/* The lock orders the previous owner's store before our load. */
	uint64_t released = __atomic_load_n(&b.release_ns, __ATOMIC_RELAXED);
	watchdog_wait_end(outer);
	uint64_t overrun_ns = critical_section(me, id, hold);
	uint64_t t2 = time_ns();
	__atomic_store_n(&b.release_ns, t2, __ATOMIC_RELAXED);
	b.type->unlock(&b.lock);
	watchdog_progress();
	if (__atomic_load_n(&b.phase, __ATOMIC_ACQUIRE) != PHASE_MEASURE ||
	    t1 < b.measure_start_ns)
		return false;
	record(me, id, t0, t1, t2, released, overrun_ns);
	return true;
}

static inline bool running(void)
{
	return __atomic_load_n(&b.phase, __ATOMIC_ACQUIRE) != PHASE_STOP;
}

static struct bench_cpu *worker_start(unsigned int id)
{
	struct bench_cpu *me = &b.cpu[id];
	me->rng = xorshift_cpu_state(opt.seed, id);
	watchdog_cpu_start();
	return me;
}

static void worker_stop(struct bench_cpu *me, unsigned int id)
{
	watchdog_cpu_stop();
	if (me->measuring)
		me->steal_ns = steal_time_ns(id) - me->steal_start_ns;
}

/* shape=default: hold_ns inside, think_ns outside. */
static uint64_t default_hold(struct bench_cpu *me)
{
	(void)me;
	delay_ns(suite_opt.hold_ns);
	return b.overrun_ns;
}

static void default_worker(void *arg)
{
	(void)arg;
	unsigned int id = cpu_id();
	struct bench_cpu *me = worker_start(id);
	while (running()) {
		acquire_once(me, id, default_hold);
		delay_ns(suite_opt.think_ns);
		if (id == 0)
			advance_phase();
	}
	worker_stop(me, id);
}

/* shape=locktorture: torture_spin_lock_write_delay() inside. A critical
 * section with a long hold overruns only past OVERRUN_FACTOR long holds. */
static uint64_t locktorture_hold(struct bench_cpu *me)
{
	locktorture_write_delay(&b.lt, &me->rng, &me->lt_now);
	return me->lt_now.long_holds ? b.long_overrun_ns : b.overrun_ns;
}

/* lock_torture_writer(), no think time. The draws of an acquisition count
 * when it does, so they and the acquisitions cover the same window. */
static void locktorture_worker(void *arg)
{
	(void)arg;
	unsigned int id = cpu_id();
	struct bench_cpu *me = worker_start(id);
	while (running()) {
		me->lt_now = (struct locktorture_counts){ 0 };
		locktorture_before_lock(&me->rng, &me->lt_now);
		if (acquire_once(me, id, locktorture_hold))
			locktorture_counts_add(&me->lt, &me->lt_now);
		if (id == 0)
			advance_phase();
	}
	worker_stop(me, id);
}

/* Jain's fairness index (sum x)^2 / (n sum x^2), times FAIRNESS_SCALE. */
static uint64_t jain_x10000(void)
{
	uint64_t max = 0, sum = 0, sq = 0;      /* no floating point in the kernel */
	unsigned int shift = 0;
	for (unsigned int c = 0; c < b.ncpus; c++)
		max = b.cpu[c].acquisitions > max ? b.cpu[c].acquisitions : max;
	while ((max >> shift) > JAIN_X_MAX)     /* keep the sum of squares in 64 bits */
		shift++;
	for (unsigned int c = 0; c < b.ncpus; c++) {
		uint64_t x = b.cpu[c].acquisitions >> shift;
		sum += x;
		sq += x * x;
	}
	return sq ? mul_div_u64(sum * FAIRNESS_SCALE / b.ncpus, sum, sq) : 0;
}

/* The upper end of the bucket holding the percentile, but never above the
 * largest latency seen. */
static uint64_t lat_percentile(const uint64_t *hist, uint64_t total, uint64_t max,
			       uint64_t permille)
{
	uint64_t want = (total * permille + PERMILLE - 1) / PERMILLE, seen = 0;
	for (unsigned int i = 0; i < LAT_BUCKETS; i++) {
		seen += hist[i];
		if (hist[i] && seen >= want) {
			uint64_t end = i + 1 < LAT_BUCKETS ? lat_bucket_low(i + 1) : max;
			return end < max ? end : max;
		}
	}
	return 0;
}

static void report(const char *name)
{
	static uint64_t hist[LAT_BUCKETS];
	uint64_t log2[LOG2_BUCKETS] = { 0 }, steal[MAX_CPUS];
	uint64_t total = 0, overruns = 0, max = 0, steal_sum = 0;
	struct handoff_counts handoff = { 0 };
	memset(hist, 0, sizeof(hist));
	for (unsigned int c = 0; c < b.ncpus; c++) {
		const struct bench_cpu *p = &b.cpu[c];
		total += p->acquisitions;
		overruns += p->overruns;
		max = p->max_ns > max ? p->max_ns : max;
		handoff_add(&handoff, &p->handoff);
		steal[c] = p->steal_ns;
		steal_sum += p->steal_ns;
		for (unsigned int i = 0; i < LAT_BUCKETS; i++)
			hist[i] += p->lat[i];
	}
	for (unsigned int i = 0; i < LAT_BUCKETS; i++)
		if (hist[i])
			log2[lock_lat_bucket(lat_bucket_low(i))] += hist[i];
	uint64_t ns = b.stop_ns - b.measure_start_ns;
	uint64_t tput_x10 = ns ? mul_div_u64(total, NS_PER_S * TPUT_SCALE, ns) : 0;
	struct pv_snapshot end, pv;
	pv_snapshot_take(&end, b.ncpus);
	pv_snapshot_diff(&pv, &end, &b.pv_start);

	struct bench_row *r = b.nrows < TABLE_ROWS ? &b.rows[b.nrows++] : 0;
	struct json j;
	json_begin(&j);
	json_str(&j, "test", "bench");
	json_str(&j, "lock", b.type->name);
	json_u64(&j, "cpus", b.ncpus);
	json_u64(&j, "duration_ns", ns);
	json_u64(&j, "warmup_ns", b.measure_start_ns - b.start_ns);
	b.shape->json(&j);
	json_u64(&j, "acquisitions", total);
	json_fixed(&j, "throughput_per_s", tput_x10, TPUT_DECIMALS);
	json_arr(&j, "per_cpu");
	for (unsigned int c = 0; c < b.ncpus; c++)
		json_arr_u64(&j, b.cpu[c].acquisitions);
	json_arr_end(&j);
	json_fixed(&j, "fairness", jain_x10000(), FAIRNESS_DECIMALS);
	json_obj(&j, "latency_ns");
	json_u64(&j, "p50", lat_percentile(hist, total, max, P50_PERMILLE));
	json_u64(&j, "p99", lat_percentile(hist, total, max, P99_PERMILLE));
	json_u64(&j, "p999", lat_percentile(hist, total, max, P999_PERMILLE));
	json_u64(&j, "max", max);
	json_obj_end(&j);
	json_arr(&j, "latency_hist_log2_ns");
	for (unsigned int i = 0; i < LOG2_BUCKETS; i++)
		json_arr_u64(&j, log2[i]);
	json_arr_end(&j);
	json_u64(&j, "overrun_limit_ns", b.overrun_ns);
	json_u64(&j, "overruns", overruns);
	json_handoffs(&j, &handoff);
	json_u64(&j, "violations", b.violations);
	json_str(&j, "pv_backend", pv_backend_name());
	json_pv(&j, &pv);
	json_steal(&j, steal, b.ncpus);
	json_events(&j, &pv.ev);
	json_end(&j);
	ktap_result_json(&j);
	if (r)
		*r = (struct bench_row){
			b.type->name, tput_x10, jain_x10000(), lat_percentile(hist, total, max, P50_PERMILLE),
			lat_percentile(hist, total, max, P99_PERMILLE),
			lat_percentile(hist, total, max, P999_PERMILLE), max, overruns, pv.halts,
			pv.kicks_sent, steal_sum, handoff,
		};
	if (b.violations)
		ktap_fail(name, "violations=%lu", b.violations);
	else if (!total)
		ktap_fail(name, "no acquisition in the measured window");
	else
		ktap_ok(name);
}

static void tick(void)
{
	advance_phase();
}

static void bench_one(const char *lock_name, void *ctx)
{
	(void)ctx;
	char name[NAME_MAX];
	snprintf(name, sizeof(name), "bench:%s", lock_name);
	ktap_set_current("bench");
	memset(b.cpu, 0, b.ncpus * sizeof(*b.cpu));
	b.type = lock_type_find(lock_name);
	b.type->init(&b.lock);
	b.owner = NO_OWNER;
	b.release_ns = 0;               /* no release yet: no handoff */
	b.violations = 0;
	uint64_t wait_ns = b.shape->usual_wait_ns();
	b.overrun_ns = OVERRUN_FACTOR * (wait_ns > OVERRUN_MIN_NS ? wait_ns : OVERRUN_MIN_NS);
	b.long_overrun_ns = OVERRUN_FACTOR * b.lt.long_hold_ms * NS_PER_MS;
	pv_counters_reset(b.ncpus);
	b.start_ns = time_ns();
	b.warmup_end_ns = b.start_ns + suite_opt.warmup_ms * NS_PER_MS;
	b.measure_end_ns = b.warmup_end_ns + suite_opt.duration_ms * NS_PER_MS;
	b.measure_start_ns = b.stop_ns = 0;
	__atomic_store_n(&b.phase, PHASE_WARMUP, __ATOMIC_RELEASE);
	watchdog_arm(b.ncpus, watchdog_timeout_ns(opt.watchdog_ms, b.ncpus), 0);
	watchdog_set_tick_hook(tick);
	smp_run_on_first(b.ncpus, b.shape->worker, 0, SMP_NO_LIMIT);
	watchdog_disarm();
	report(name);
}

/* The same numbers as the JSON, for people; docs/output.md has the columns. */
static void print_table(void)
{
	kprintf("# bench-table: %-12s %5s %4s %13s %8s %10s %10s %10s %10s %8s %8s %8s %9s %9s %9s %10s\n",
		"lock", "pv", "cpus", "acquire/s", "fairness", "p50_ns", "p99_ns", "p99.9_ns",
		"max_us", "overruns", "halts", "kicks", "steal_ms", "slow_hoff", "long_hold",
		"max_hoff_us");
	for (unsigned int i = 0; i < b.nrows; i++) {
		const struct bench_row *r = &b.rows[i];
		kprintf("# bench-table: %-12s %5s %4u %11lu.%lu %6lu.%04lu %10lu %10lu %10lu %10lu %8lu %8lu %8lu %9lu %9lu %9lu %10lu\n",
			r->lock, pv_backend_name(), b.ncpus, r->tput_x10 / TPUT_SCALE,
			r->tput_x10 % TPUT_SCALE, r->fairness_x10000 / FAIRNESS_SCALE,
			r->fairness_x10000 % FAIRNESS_SCALE, r->p50, r->p99, r->p999, r->max / NS_PER_US, r->overruns, r->halts, r->kicks,
			r->steal_ns / NS_PER_MS, r->handoff.slow_handoffs,
			r->handoff.long_holds, r->handoff.max_handoff_ns / NS_PER_US);
	}
}

static uint64_t default_wait_ns(void) { return suite_opt.hold_ns; }

static void default_params(char *buf, size_t size)
{
	snprintf(buf, size, "hold_ns=%lu think_ns=%lu", suite_opt.hold_ns, suite_opt.think_ns);
}

static void default_json(struct json *j)
{
	json_str(j, "shape", torture_shape_name(TORTURE_SHAPE_DEFAULT));
	json_u64(j, "hold_ns", suite_opt.hold_ns);
	json_u64(j, "think_ns", suite_opt.think_ns);
}

/* No wait but the rare delays, the 2 us one below the overrun limit's floor. */
static uint64_t locktorture_wait_ns(void) { return 0; }

static void locktorture_params(char *buf, size_t size) { locktorture_describe(buf, size, &b.lt); }

/* The draws of the counted acquisitions only. */
static const struct locktorture_counts *cpu_lt(unsigned int c) { return &b.cpu[c].lt; }

static void locktorture_json_fields(struct json *j) { locktorture_json(j, &b.lt, cpu_lt, b.ncpus); }

static const struct bench_shape shapes[] = {
	[TORTURE_SHAPE_DEFAULT] = { default_worker, default_wait_ns, default_params, default_json },
	[TORTURE_SHAPE_LOCKTORTURE] = { locktorture_worker, locktorture_wait_ns, locktorture_params,
					locktorture_json_fields },
};

/* The "# bench:" line: the shape, then the options. */
static void describe(void)
{
	char params[LOCKTORTURE_DESCRIBE_MAX];
	b.shape->params(params, sizeof(params));
	ktap_diag("bench: shape=%s lock=%s cpus=%u warmup_ms=%lu duration_ms=%lu %s pv=%s",
		  torture_shape_name(suite_opt.shape), suite_opt.lock, b.ncpus, suite_opt.warmup_ms, suite_opt.duration_ms,
		  params, pv_backend_name());
}

/* Room for n CPUs' counters; false (every result failed) when RAM has none. */
static bool cpu_room(unsigned int n)
{
	b.cpu = suite_cpu_room("bench", b.cpu, &b.cpu_room, n, sizeof(*b.cpu));
	return b.cpu != 0;
}

static unsigned int bench_nr_results(void) { return torture_nr_locks(); }

static void bench_run(void)
{
	if (!suite_lock_cpus("bench", &b.ncpus) || !cpu_room(b.ncpus))
		return;
	b.shape = &shapes[suite_opt.shape];
	locktorture_prepare(&b.lt, b.ncpus, suite_opt.long_hold_ms);
	describe();
	b.nrows = 0;
	cmdline_list_each(torture_lock_selection(), bench_one, 0);
	print_table();
}

const struct suite suite_bench = {
	.name = "bench",
	.summary = "throughput, fairness and acquire latency of every selected lock",
	.groups = SUITE_IN_ALL,
	.nr_results = bench_nr_results,
	.run = bench_run,
};
