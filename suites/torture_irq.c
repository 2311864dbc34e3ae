/* SPDX-License-Identifier: MIT */
/* torture_irq.c - the torture suite's locks in interrupt context: the tick's, and the nesting IPIs' levels 2-4 (irq_lock=; torture_state.h). */
#include "kernel/apic.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/trap.h"
#include "kernel/watchdog.h"
#include "lib/x86.h"
#include "lib/xorshift.h"
#include "lock/pv_ops.h"
#include "lock/qnode.h"
#include "torture_state.h"

#define IRQ_LOCK_MAX_WAITERS 4
#define IRQ_HOLD_NS     100000

static const uint8_t level_vector[IRQ_LEVELS_MAX + 1] = {
	[2] = VEC_NEST2, [3] = VEC_NEST3, [4] = VEC_NEST4,
};
static const char *const level_lock_name[IRQ_LEVELS_MAX + 1] = {
	"lock", "irq_lock1", "irq_lock2", "irq_lock3", "irq_lock4",
};

const char *torture_level_lock_name(unsigned int level)
{
	return level <= IRQ_LEVELS_MAX ? level_lock_name[level] : "?";
}

/* Send the IPI of interrupt level `level` to a CPU that is waiting for a
 * lock one level below right now, so the new handler queues with its next
 * node. A CPU whose every context below is queued (nodes in use == level)
 * is preferred: that is how the deepest nesting comes about. */
static void nest_into_a_waiter(struct torture_cpu *me, unsigned int level)
{
	unsigned int self = cpu_id(), start = (unsigned int)(xorshift(&me->irq_rng) % torture.ncpus);
	int fallback = -1;
	for (unsigned int i = 0; i < torture.ncpus; i++) {
		unsigned int c = (start + i) % torture.ncpus;
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
	if (!torture.cpu[cpu_id()].irqs_on_in_wait) {
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
	struct irq_level *l = &torture.irq[level - 1];
	struct torture_cpu *me = &torture.cpu[cpu_id()];
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
	    !__atomic_load_n(&torture.irq_running, __ATOMIC_ACQUIRE) || level > torture.irq_levels) {
		__atomic_sub_fetch(&l->waiters, 1, __ATOMIC_RELEASE);
		me->irq_skipped++;
		return;
	}
	/* Nesting, two ways. With nest_self, interrupts stay off here and
	 * the next level's IPI to ourselves stays pending until nest_wait()
	 * turns them on: it then nests exactly while we are queued. Otherwise
	 * interrupts go on while we wait and the IPI goes to another CPU that
	 * is waiting right now. */
	if (level < torture.irq_levels) {
		if (torture.nest_self) {
			apic_send_ipi(percpu_of(cpu_id())->apic_id, level_vector[level + 1]);
			me->nest_ipis++;
		} else {
			nest_into_a_waiter(me, level + 1);
		}
	}
	bool irqs_on_in_wait = me->irqs_on_in_wait;
	if (torture.nest_self)
		me->irqs_on_in_wait = true;
	else
		sti();
	struct wd_wait outer = watchdog_wait_begin(level_lock_name[level], time_ns());
	torture.type->lock(&l->lock);
	watchdog_wait_end(outer);
	uint64_t v = l->counter;
	delay_ns(IRQ_HOLD_NS);          /* long enough that others queue behind */
	l->counter = v + 1;
	torture.type->unlock(&l->lock);
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
	__atomic_store_n(&torture.irq_running, 0, __ATOMIC_RELEASE);
	for (unsigned int k = 0; k < IRQ_LEVELS_MAX; k++)
		while (__atomic_load_n(&torture.irq[k].waiters, __ATOMIC_ACQUIRE))
			cpu_pause();
}

void torture_irq_handlers_install(void)
{
	trap_set_handler(VEC_NEST2, nest2_handler);
	trap_set_handler(VEC_NEST3, nest3_handler);
	trap_set_handler(VEC_NEST4, nest4_handler);
}

void torture_irq_start(void)
{
	if (torture.nest_self) {
		/* No CPU is waiting between runs: the ops may change. The
		 * copy keeps the backend's name and spin hint. */
		nest_inner = pv_lock_get_ops();
		nest_ops = *nest_inner;
		nest_ops.wait = nest_wait;
		nest_ops.kick = nest_kick;
		pv_lock_set_ops(&nest_ops);
	}
	__atomic_store_n(&torture.irq_running, torture.irq_levels > 0, __ATOMIC_RELEASE);
	watchdog_set_tick_hook(torture.irq_levels ? irq_lock_tick : 0);
}

void torture_irq_stop(void)
{
	irq_levels_quiesce();
	if (torture.nest_self)
		pv_lock_set_ops(nest_inner);
}
