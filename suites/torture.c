/* SPDX-License-Identifier: MIT */
/* torture.c - the torture suite: every selected CPU takes the lock over and over; the critical
 * section checks that it is alone (owner field on entry and exit) and does
 * non-atomic read-modify-write updates of shared counters that only mutual
 * exclusion keeps exact. A second owner is a violation; a shared counter
 * below the sum of the per-CPU acquisitions is a lost update. Hold and think
 * times come from a seeded per-CPU PRNG, with an occasional long hold; with
 * shape=locktorture the loop is Linux locktorture's writer instead
 * (torture_shape.c). While it runs, each CPU's LAPIC tick (the watchdog's)
 * takes a second lock of the same type in interrupt context, so qspinlock
 * nodes 1-3 are really used. */
#include "hypercall/steal_time.h"
#include "kernel/apic.h"
#include "kernel/console.h"
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/pv_backend.h"
#include "kernel/pv_inject.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/trap.h"
#include "kernel/watchdog.h"
#include "lib/cmdline.h"
#include "lib/fmt.h"
#include "lib/json.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "lib/xorshift.h"
#include "lock/lock.h"
#include "lock/lock_events.h"
#include "lock/mcs.h"
#include "lock/pv_ops.h"
#include "lock/qnode.h"
#include "lock_report.h"
#include "options.h"
#include "suite.h"
#include "torture.h"
#include "torture_shape.h"

#define NO_OWNER        (~0u)
#define LONG_HOLD_FACTOR 10             /* one hold in long_hold=N (1024: as locktorture) */
#define NAME_MAX        64
#define IRQ_LOCK_MAX_WAITERS 4
#define IRQ_HOLD_NS     100000

#define TABLE_ROWS      16

/* One line of the human PV table printed after the last lock. */
struct pv_row {
	const char *lock;
	uint64_t acquisitions, halts, kicks, wait_node, wait_head, kick_unlock, spurious, stealing;
	uint64_t kick_mean_ns, wake_p50_ns, wake_p99_ns, steal_ns;
};

static struct pv_row pv_table[TABLE_ROWS];
static unsigned int pv_rows;

struct irq_level {
	lock_storage_t lock __attribute__((aligned(CACHE_LINE)));
	volatile uint64_t counter;      /* updated under the lock, non-atomically */
	uint64_t acquired;              /* atomic */
	uint32_t waiters;               /* atomic: CPUs in this level's handler */
} __attribute__((aligned(CACHE_LINE)));

static const uint8_t level_vector[IRQ_LEVELS_MAX + 1] = {
	[2] = VEC_NEST2, [3] = VEC_NEST3, [4] = VEC_NEST4,
};
static const char *const level_lock_name[IRQ_LEVELS_MAX + 1] = {
	"lock", "irq_lock1", "irq_lock2", "irq_lock3", "irq_lock4",
};

struct torture_cpu {
	uint64_t acquisitions;
	uint64_t irq_acquisitions;
	uint64_t irq_skipped;
	uint64_t nest_ipis;             /* nesting IPIs this CPU sent */
	uint64_t irq_done_ns[IRQ_LEVELS_MAX + 1];   /* last IRQ-lock release, per level */
	uint64_t irq_rng;               /* interrupt context's own PRNG */
	bool irqs_on_in_wait;           /* nest_self: a handler waits, see nest_wait() */
	uint64_t rng;
	uint64_t steal_start_ns, steal_ns;
	struct handoff_counts handoff;  /* of the thread-context lock */
	struct locktorture_counts lt;   /* shape=locktorture's delays taken */
} __attribute__((aligned(CACHE_LINE)));

/* A writer loop (shape=), chosen once per suite run: the loop itself tests
 * no shape. */
struct shape_ops {
	void (*worker)(void *arg);
	void (*describe)(void);         /* the "# torture:" line */
	void (*json)(struct json *j);   /* the shape's result fields */
};

static struct {
	const struct shape_ops *shape;
	struct locktorture_params lt;   /* shape=locktorture, for this CPU count */
	const struct lock_type *type;
	lock_storage_t lock __attribute__((aligned(CACHE_LINE)));
	struct irq_level irq[IRQ_LEVELS_MAX];
	bool queued;                    /* qspinlock word and queue nodes */
	unsigned int irq_levels;        /* interrupt levels taking a lock now */
	bool nest_self;                 /* handlers nest into ourselves, see nest_wait() */
	uint32_t irq_running;           /* atomic: handlers may take their locks */
	volatile uint32_t owner __attribute__((aligned(CACHE_LINE)));
	uint64_t release_ns;            /* the owner's last clock read before its unlock */
	volatile uint64_t counter_a, counter_b;
	uint64_t violations;            /* atomic */
	uint32_t stop;                  /* atomic */
	uint64_t deadline_ns;
	unsigned int ncpus;
	struct torture_cpu cpu[MAX_CPUS];
} t;

static uint64_t random_ns(uint64_t *rng, uint64_t mean)
{
	return mean ? xorshift(rng) % (2 * mean + 1) : 0;
}

/* The critical section around a shape's hold, which the caller inlines. */
static inline __attribute__((always_inline)) void
critical_section(struct torture_cpu *me, unsigned int id, void (*hold)(struct torture_cpu *))
{
	if (t.owner != NO_OWNER)
		__atomic_add_fetch(&t.violations, 1, __ATOMIC_RELAXED);
	t.owner = id;
	uint64_t a = t.counter_a, b = t.counter_b;
	hold(me);
	t.counter_a = a + 1;
	t.counter_b = b + 1;
	if (t.owner != id)
		__atomic_add_fetch(&t.violations, 1, __ATOMIC_RELAXED);
	t.owner = NO_OWNER;
}

/* Send the IPI of interrupt level `level` to a CPU that is waiting for a
 * lock one level below right now, so the new handler queues with its next
 * node. A CPU whose every context below is queued (nodes in use == level)
 * is preferred: that is how the deepest nesting comes about. */
static void nest_into_a_waiter(struct torture_cpu *me, unsigned int level)
{
	unsigned int self = cpu_id(), start = (unsigned int)(xorshift(&me->irq_rng) % t.ncpus);
	int fallback = -1;
	for (unsigned int i = 0; i < t.ncpus; i++) {
		unsigned int c = (start + i) % t.ncpus;
		const struct percpu *p = percpu_of(c);
		if (c == self || p->irq_depth != level - 1 || !p->wd_waiting_on)
			continue;
		if (__atomic_load_n(&lock_qnodes[c][0].count, __ATOMIC_RELAXED) >= level) {
			fallback = (int)c;
			break;
		}
		if (fallback < 0)
			fallback = (int)c;
	}
	if (fallback >= 0) {
		apic_send_ipi(percpu_of((unsigned int)fallback)->apic_id, level_vector[level]);
		me->nest_ipis++;
	}
}

/* nest_self (pvqspinlock, ipi or hyperv backend: a kick is an interrupt): a handler keeps interrupts off,
 * sends the next level's IPI to its own CPU (it stays pending) and turns
 * interrupts on only around its PV waits, through this wrapper of the
 * installed ops: the next level then nests exactly while this one is
 * queued. The handler turns them on, not the wait, which never enables
 * interrupts its caller disabled (docs/pv.md). */
static const struct pv_lock_ops *nest_inner;
static struct pv_lock_ops nest_ops;

static void nest_wait(uint8_t *ptr, uint8_t val)
{
	if (!t.cpu[cpu_id()].irqs_on_in_wait) {
		nest_inner->wait(ptr, val);
		return;
	}
	sti();
	nest_inner->wait(ptr, val);
	cli();
}

static void nest_kick(unsigned int cpu) { nest_inner->kick(cpu); }

/* Interrupt context at `level`, possibly while this CPU holds or queues on
 * the locks of the levels below. Interrupts are on while it waits, so the
 * next level can nest. */
static void irq_level_lock(unsigned int level)
{
	struct irq_level *l = &t.irq[level - 1];
	struct torture_cpu *me = &t.cpu[cpu_id()];
	/* Bound the interrupt-context work: with many vCPUs on few host CPUs,
	 * a handler that waits longer than a tick period is re-entered at
	 * once, and the CPU never gets back to thread context (an interrupt
	 * storm, not a lock bug: a lockup with 8 vCPUs on one host CPU).
	 * So a CPU takes a level's lock at most once per tick period,
	 * and at most a few CPUs wait at one level. */
	uint64_t now = time_ns();
	if (now - me->irq_done_ns[level] < WATCHDOG_TICK_NS) {
		me->irq_skipped++;
		return;
	}
	if (__atomic_fetch_add(&l->waiters, 1, __ATOMIC_ACQUIRE) >= IRQ_LOCK_MAX_WAITERS ||
	    !__atomic_load_n(&t.irq_running, __ATOMIC_ACQUIRE) || level > t.irq_levels) {
		__atomic_sub_fetch(&l->waiters, 1, __ATOMIC_RELEASE);
		me->irq_skipped++;
		return;
	}
	/* Nesting, two ways. With nest_self, interrupts stay off here and
	 * the next level's IPI to ourselves stays pending until nest_wait()
	 * turns them on: it then nests exactly while we are queued. Otherwise
	 * interrupts go on while we wait and the IPI goes to another CPU that
	 * is waiting right now. */
	if (level < t.irq_levels) {
		if (t.nest_self) {
			apic_send_ipi(percpu_of(cpu_id())->apic_id, level_vector[level + 1]);
			me->nest_ipis++;
		} else {
			nest_into_a_waiter(me, level + 1);
		}
	}
	bool irqs_on_in_wait = me->irqs_on_in_wait;
	if (t.nest_self)
		me->irqs_on_in_wait = true;
	else
		sti();
	struct wd_wait outer = watchdog_wait_begin(level_lock_name[level], time_ns());
	t.type->lock(&l->lock);
	watchdog_wait_end(outer);
	uint64_t v = l->counter;
	delay_ns(IRQ_HOLD_NS);          /* long enough that others queue behind */
	l->counter = v + 1;
	t.type->unlock(&l->lock);
	cli();
	me->irqs_on_in_wait = irqs_on_in_wait;
	me->irq_done_ns[level] = time_ns();
	__atomic_add_fetch(&l->acquired, 1, __ATOMIC_RELAXED);
	me->irq_acquisitions++;
	/* RELEASE: our updates are done before the run may end. */
	__atomic_sub_fetch(&l->waiters, 1, __ATOMIC_RELEASE);
}

static void irq_lock_tick(void) { irq_level_lock(1); }
static void nest2_handler(struct trap_frame *f) { (void)f; irq_level_lock(2); }
static void nest3_handler(struct trap_frame *f) { (void)f; irq_level_lock(3); }
static void nest4_handler(struct trap_frame *f) { (void)f; irq_level_lock(4); }

/* After the workers: no handler may still be inside its lock. */
static void irq_levels_quiesce(void)
{
	__atomic_store_n(&t.irq_running, 0, __ATOMIC_RELEASE);
	for (unsigned int k = 0; k < IRQ_LEVELS_MAX; k++)
		while (__atomic_load_n(&t.irq[k].waiters, __ATOMIC_ACQUIRE))
			cpu_pause();
}

static struct torture_cpu *worker_start(void)
{
	unsigned int id = cpu_id();
	struct torture_cpu *me = &t.cpu[id];
	me->acquisitions = 0;
	me->irq_acquisitions = 0;
	me->irq_rng = opt.seed * 0xD1B54A32D192ED03ull + id + 1;
	me->rng = xorshift_cpu_state(opt.seed, id);
	me->steal_start_ns = steal_time_ns(id);
	watchdog_cpu_start();
	return me;
}

static void worker_stop(struct torture_cpu *me)
{
	watchdog_cpu_stop();
	me->steal_ns = steal_time_ns(cpu_id()) - me->steal_start_ns;
}

/* Take the lock, run the critical section around `hold`, release, count.
 * Inlined into each shape's loop, so `hold` is a direct call there. */
static inline __attribute__((always_inline)) void
acquire_once(struct torture_cpu *me, unsigned int id, void (*hold)(struct torture_cpu *))
{
	uint64_t t0 = time_ns();
	struct wd_wait outer = watchdog_wait_begin("lock", t0);
	t.type->lock(&t.lock);
	uint64_t t1 = time_ns();
	/* The lock orders the previous owner's store before our load. */
	uint64_t released = __atomic_load_n(&t.release_ns, __ATOMIC_RELAXED);
	watchdog_wait_end(outer);
	critical_section(me, id, hold);
	uint64_t t2 = time_ns();
	__atomic_store_n(&t.release_ns, t2, __ATOMIC_RELAXED);
	t.type->unlock(&t.lock);
	handoff_record(&me->handoff, t0, t1, t2, released);
	me->acquisitions++;
	watchdog_progress();
}

/* Any CPU may end the run: one that an unfair lock starves (tas at 255
 * vCPUs starved CPU 0 for 10 s) must not keep it going. */
static inline void stop_at_deadline(void)
{
	if (time_ns() > t.deadline_ns)
		__atomic_store_n(&t.stop, 1, __ATOMIC_RELAXED);
}

static inline bool stopped(void)
{
	return __atomic_load_n(&t.stop, __ATOMIC_RELAXED);
}

/* shape=default: hold uniform 0..2x hold_ns, one in long_hold ten times
 * longer; think uniform 0..2x think_ns. */
static void default_hold(struct torture_cpu *me)
{
	uint64_t hold = random_ns(&me->rng, suite_opt.hold_ns);
	if (suite_opt.long_hold && xorshift(&me->rng) % suite_opt.long_hold == 0)
		hold *= LONG_HOLD_FACTOR;
	delay_ns(hold);
}

static void default_worker(void *arg)
{
	(void)arg;
	unsigned int id = cpu_id();
	struct torture_cpu *me = worker_start();
	while (!stopped()) {
		acquire_once(me, id, default_hold);
		delay_ns(random_ns(&me->rng, suite_opt.think_ns));
		stop_at_deadline();
	}
	worker_stop(me);
}

/* shape=locktorture: lock_torture_writer() (torture_shape.c), no think time. */
static void locktorture_hold(struct torture_cpu *me)
{
	locktorture_write_delay(&t.lt, &me->rng, &me->lt);
}

static void locktorture_worker(void *arg)
{
	(void)arg;
	unsigned int id = cpu_id();
	struct torture_cpu *me = worker_start();
	while (!stopped()) {
		locktorture_before_lock(&me->rng, &me->lt);
		acquire_once(me, id, locktorture_hold);
		stop_at_deadline();
	}
	worker_stop(me);
}

static const char *locked_byte_name(uint32_t locked)
{
	switch (locked) {
	case 0: return "free";
	case Q_LOCKED_VAL: return "locked";
	case Q_SLOW_VAL: return "locked, slow (unlock kicks a hashed head)";
	default: return "?";
	}
}

static void describe_one(const char *what, lock_storage_t *l)
{
	uint32_t word = 0;
	memcpy(&word, l, sizeof(word));
	kprintf("# LOCKUP: %s %s: first word 0x%08x, is_locked=%d\n", what, t.type->name, word,
		t.type->is_locked(l));
	if (!t.queued)                  /* no qspinlock word to decode */
		return;
	uint32_t tail = word & Q_TAIL_MASK;
	kprintf("# LOCKUP: %s: locked byte 0x%02x (%s), pending %u, tail %s", what,
		word & Q_LOCKED_MASK, locked_byte_name(word & Q_LOCKED_MASK),
		(word & Q_PENDING_MASK) >> Q_PENDING_OFFSET, tail ? "" : "none\n");
	if (tail)
		kprintf("cpu %u node %u\n", q_tail_cpu(tail), q_tail_idx(tail));
}

/* Every queue node in use, with its successor: the queues, read forwards. */
static void describe_queues(void)
{
	static const char *const states[] = { "running", "halted", "hashed" };
	for (unsigned int c = 0; c < t.ncpus; c++) {
		uint32_t used = lock_qnodes[c][0].count;
		for (unsigned int i = 0; i < used && i < LOCK_QNODES_PER_CPU; i++) {
			struct lock_qnode *n = &lock_qnodes[c][i];
			struct lock_qnode *next = n->next;
			long k = next ? next - &lock_qnodes[0][0] : -1;
			kprintf("# LOCKUP: queue node cpu %u node %u: handoff %u, pv %s, next %s",
				c, i, n->locked, n->state < 3 ? states[n->state] : "?",
				next ? "" : "none\n");
			if (next)
				kprintf("cpu %ld node %ld\n", k / LOCK_QNODES_PER_CPU,
					k % LOCK_QNODES_PER_CPU);
		}
	}
}

static void describe_ref(const char *what, struct mcs_node_ref r, const char *end)
{
	if (r.valid)
		kprintf("%scpu %u node %u%s", what, r.cpu, r.idx, end);
	else
		kprintf("%snone%s", what, end);
}

/* The MCS queue: its tail and holder, and every node in use. */
static void describe_mcs(void)
{
	kprintf("# LOCKUP: mcs ");
	describe_ref("tail ", mcs_tail_ref(&t.lock), ", ");
	describe_ref("holder ", mcs_holder_ref(&t.lock), "\n");
	for (unsigned int c = 0; c < t.ncpus; c++)
		for (unsigned int i = 0; i < MCS_LOCK_NODES; i++) {
			struct mcs_node_view v;
			mcs_node_view(c, i, &v);
			if (!v.busy)
				continue;
			kprintf("# LOCKUP: mcs node cpu %u node %u: handoff %u, ", c, i, v.locked);
			describe_ref("next ", v.next, "\n");
		}
}

static void describe_lock(void)
{
	describe_one("lock", &t.lock);
	kprintf("# LOCKUP: owner field %d\n", (int)t.owner);
	for (unsigned int k = 1; k <= t.irq_levels; k++)
		describe_one(level_lock_name[k], &t.irq[k - 1].lock);
	if (t.queued)
		describe_queues();
	if (t.type == &lock_type_mcs)
		describe_mcs();
	pv_inject_describe();
	for (unsigned int c = 0; c < t.ncpus; c++)
		if (percpu_irq_depth(percpu_of(c)))
			kprintf("# LOCKUP: cpu %u is in an interrupt handler (depth %u)\n", c,
				percpu_irq_depth(percpu_of(c)));
}

static void add_pv_row(uint64_t acquisitions, const struct pv_snapshot *pv)
{
	const struct lock_event_totals *ev = &pv->ev;
	if (pv_rows == TABLE_ROWS)
		return;
	struct pv_row *r = &pv_table[pv_rows++];
	uint64_t unlock_kicks = ev->count[LOCK_EV_pv_kick_unlock];
	r->lock = t.type->name;
	r->acquisitions = acquisitions;
	r->halts = pv->halts;
	r->kicks = pv->kicks_sent;
	r->wait_node = ev->count[LOCK_EV_pv_wait_node];
	r->wait_head = ev->count[LOCK_EV_pv_wait_head];
	r->kick_unlock = unlock_kicks;
	r->spurious = ev->count[LOCK_EV_pv_spurious_wakeup];
	r->stealing = ev->count[LOCK_EV_pv_lock_stealing];
	r->kick_mean_ns = unlock_kicks ? ev->count[LOCK_EV_pv_latency_kick] / unlock_kicks : 0;
	r->wake_p50_ns = log2_hist_percentile_ns(ev->wake_hist, LOCK_LAT_BUCKETS, P50_PERMILLE);
	r->wake_p99_ns = log2_hist_percentile_ns(ev->wake_hist, LOCK_LAT_BUCKETS, P99_PERMILLE);
	r->steal_ns = 0;
	for (unsigned int c = 0; c < t.ncpus; c++)
		r->steal_ns += t.cpu[c].steal_ns;
}

/* The same numbers as the JSON, for people; docs/output.md has the columns. */
static void print_pv_table(void)
{
	kprintf("# pv-table: %-12s %5s %11s %7s %7s %9s %9s %11s %8s %10s %9s %9s %9s %9s\n",
		"lock", "pv", "acquisitions", "halts", "kicks", "wait_node", "wait_head",
		"kick_unlock", "spurious", "stealing", "kick_us", "wake50_us", "wake99_us",
		"steal_ms");
	for (unsigned int i = 0; i < pv_rows; i++) {
		const struct pv_row *r = &pv_table[i];
		kprintf("# pv-table: %-12s %5s %11lu %7lu %7lu %9lu %9lu %11lu %8lu %10lu %9lu %9lu %9lu %9lu\n",
			r->lock, pv_backend_name(), r->acquisitions, r->halts, r->kicks,
			r->wait_node, r->wait_head, r->kick_unlock, r->spurious, r->stealing,
			r->kick_mean_ns / NS_PER_US, r->wake_p50_ns / NS_PER_US,
			r->wake_p99_ns / NS_PER_US, r->steal_ns / NS_PER_MS);
	}
}

static void report(const char *name, uint64_t ns)
{
	uint64_t total = 0, min = UINT64_MAX, max = 0, irq = 0, irq_skipped = 0, nest_ipis = 0;
	uint64_t steal[MAX_CPUS];
	struct handoff_counts handoff = { 0 };
	for (unsigned int c = 0; c < t.ncpus; c++) {
		uint64_t n = t.cpu[c].acquisitions;
		handoff_add(&handoff, &t.cpu[c].handoff);
		total += n;
		min = n < min ? n : min;
		max = n > max ? n : max;
		irq += t.cpu[c].irq_acquisitions;
		irq_skipped += t.cpu[c].irq_skipped;
		nest_ipis += t.cpu[c].nest_ipis;
		steal[c] = t.cpu[c].steal_ns;
	}
	uint64_t lost = (total - t.counter_a) + (total - t.counter_b);
	for (unsigned int k = 0; k < t.irq_levels; k++)
		lost += t.irq[k].acquired - t.irq[k].counter;
	struct pv_snapshot pv;
	pv_snapshot_take(&pv, t.ncpus);

	struct json j;
	json_begin(&j);
	json_str(&j, "test", "torture");
	json_str(&j, "lock", t.type->name);
	t.shape->json(&j);
	json_u64(&j, "cpus", t.ncpus);
	json_u64(&j, "duration_ns", ns);
	json_u64(&j, "acquisitions", total);
	json_u64(&j, "per_cpu_min", min);
	json_u64(&j, "per_cpu_max", max);
	json_u64(&j, "irq_levels", t.irq_levels);
	json_u64(&j, "irq_acquisitions", irq);
	json_arr(&j, "irq_acquisitions_per_level");
	for (unsigned int k = 0; k < t.irq_levels; k++)
		json_arr_u64(&j, t.irq[k].acquired);
	json_arr_end(&j);
	json_u64(&j, "irq_skipped", irq_skipped);
	json_u64(&j, "nest_ipis", nest_ipis);
	json_u64(&j, "violations", t.violations);
	json_u64(&j, "lost_updates", lost);
	json_handoffs(&j, &handoff);
	json_str(&j, "pv_backend", pv_backend_name());
	json_pv(&j, &pv);
	pv_inject_report(&j);
	json_steal(&j, steal, t.ncpus);
	json_events(&j, &pv.ev);
	json_end(&j);
	ktap_result_json(&j);
	add_pv_row(total, &pv);
	if (t.violations || lost)
		ktap_fail(name, "violations=%lu lost_updates=%lu", t.violations, lost);
	else
		ktap_ok(name);
}

static void torture_one(const char *lock_name, void *ctx)
{
	(void)ctx;
	char name[NAME_MAX];
	snprintf(name, sizeof(name), "torture:%s", lock_name);
	ktap_set_current("torture");
	memset(&t.cpu, 0, sizeof(t.cpu));
	t.type = lock_type_find(lock_name);
	t.type->init(&t.lock);
	memset(t.irq, 0, sizeof(t.irq));
	for (unsigned int k = 0; k < IRQ_LEVELS_MAX; k++)
		t.type->init(&t.irq[k].lock);
	t.owner = NO_OWNER;
	t.release_ns = 0;
	t.counter_a = t.counter_b = 0;
	t.violations = 0;
	t.stop = 0;
	/* The interrupt-context lock nests only in the queued locks, which
	 * have per-CPU nodes for it; test-and-set style locks would deadlock
	 * against their own thread context on the same CPU. */
	t.queued = !strcmp(lock_name, "qspinlock") || !strcmp(lock_name, "pvqspinlock");
	t.irq_levels = t.queued ? (unsigned int)suite_opt.irq_lock : 0;
	t.nest_self = !strcmp(lock_name, "pvqspinlock") && pv_backend_kick_is_interrupt();
	if (t.nest_self) {
		/* No CPU is waiting between runs: the ops may change. The
		 * copy keeps the backend's name and spin hint. */
		nest_inner = pv_lock_get_ops();
		nest_ops = *nest_inner;
		nest_ops.wait = nest_wait;
		nest_ops.kick = nest_kick;
		pv_lock_set_ops(&nest_ops);
	}
	pv_counters_reset(t.ncpus);
	pv_inject_reset();
	watchdog_arm(t.ncpus, watchdog_timeout_ns(opt.watchdog_ms, t.ncpus), describe_lock);
	__atomic_store_n(&t.irq_running, t.irq_levels > 0, __ATOMIC_RELEASE);
	watchdog_set_tick_hook(t.irq_levels ? irq_lock_tick : 0);
	uint64_t t0 = time_ns();
	t.deadline_ns = t0 + suite_opt.duration_ms * NS_PER_MS;
	smp_run_on_first(t.ncpus, t.shape->worker, 0, SMP_NO_LIMIT);
	uint64_t ns = time_ns() - t0;
	watchdog_disarm();
	irq_levels_quiesce();
	if (t.nest_self)
		pv_lock_set_ops(nest_inner);
	report(name, ns);
}

static void default_describe(void)
{
	ktap_diag("torture: lock=%s cpus=%u duration_ms=%lu hold_ns=%lu think_ns=%lu irq_lock=%lu pv=%s",
		  suite_opt.lock, t.ncpus, suite_opt.duration_ms, suite_opt.hold_ns, suite_opt.think_ns, suite_opt.irq_lock,
		  pv_backend_name());
}

static void default_json(struct json *j)
{
	json_str(j, "shape", torture_shape_name(TORTURE_SHAPE_DEFAULT));
}

static void locktorture_shape_describe(void)
{
	char params[LOCKTORTURE_DESCRIBE_MAX];
	locktorture_describe(params, sizeof(params), &t.lt);
	ktap_diag("torture: shape=locktorture lock=%s cpus=%u duration_ms=%lu %s irq_lock=%lu pv=%s",
		  suite_opt.lock, t.ncpus, suite_opt.duration_ms, params, suite_opt.irq_lock, pv_backend_name());
}

static const struct locktorture_counts *cpu_lt(unsigned int c) { return &t.cpu[c].lt; }

static void locktorture_json_fields(struct json *j) { locktorture_json(j, &t.lt, cpu_lt, t.ncpus); }

static const struct shape_ops shapes[] = {
	[TORTURE_SHAPE_DEFAULT] = { default_worker, default_describe, default_json },
	[TORTURE_SHAPE_LOCKTORTURE] = { locktorture_worker, locktorture_shape_describe,
					locktorture_json_fields },
};

static unsigned int torture_nr_results(void) { return torture_nr_locks(); }

static void torture_run(void)
{
	if (!suite_lock_cpus("torture", &t.ncpus))
		return;
	trap_set_handler(VEC_NEST2, nest2_handler);
	trap_set_handler(VEC_NEST3, nest3_handler);
	trap_set_handler(VEC_NEST4, nest4_handler);
	t.shape = &shapes[suite_opt.shape];
	locktorture_prepare(&t.lt, t.ncpus, suite_opt.long_hold_ms);
	t.shape->describe();
	pv_rows = 0;
	cmdline_list_each(torture_lock_selection(), torture_one, 0);
	print_pv_table();
}

const struct suite suite_torture = {
	.name = "torture",
	.summary = "mutual exclusion and lost updates of every selected lock, on every CPU",
	.groups = SUITE_GROUPS_DEFAULT,
	.nr_results = torture_nr_results,
	.run = torture_run,
};
