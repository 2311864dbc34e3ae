/* SPDX-License-Identifier: MIT */
/* torture_state.h - the torture suite's state, shared by its run (torture.c), worker, interrupt nesting, lockup description and report. */
#ifndef PVSPIN_TORTURE_STATE_H
#define PVSPIN_TORTURE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/percpu.h"
#include "lib/json.h"
#include "lib/layout.h"
#include "lib/xorshift.h"
#include "lock/lock.h"
#include "lock_report.h"
#include "torture.h"
#include "torture_shape.h"

#define NO_OWNER        (~0u)

struct irq_level {
	lock_storage_t lock __attribute__((aligned(CACHE_LINE)));
	volatile uint64_t counter;      /* updated under the lock, non-atomically */
	uint64_t acquired;              /* atomic */
	uint32_t waiters;               /* atomic: CPUs in this level's handler */
} __attribute__((aligned(CACHE_LINE)));

struct torture_cpu {
	uint64_t acquisitions;
	uint64_t irq_acquisitions;
	uint64_t irq_skipped;
	uint64_t nest_ipis;             /* nesting IPIs this CPU sent */
	uint64_t irq_done_ns[IRQ_LEVELS_MAX + 1];   /* last IRQ-lock release, per level */
	uint64_t irq_rng;               /* interrupt context's own PRNG */
	bool irqs_on_in_wait;           /* nest_self: a handler waits (torture_irq.c) */
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

struct torture_state {
	const struct shape_ops *shape;
	struct locktorture_params lt;   /* shape=locktorture, for this CPU count */
	const struct lock_type *type;
	lock_storage_t lock __attribute__((aligned(CACHE_LINE)));
	struct irq_level irq[IRQ_LEVELS_MAX];
	bool queued;                    /* qspinlock word and queue nodes */
	unsigned int irq_levels;        /* interrupt levels taking a lock now */
	bool nest_self;                 /* handlers nest into ourselves (torture_irq.c) */
	uint32_t irq_running;           /* atomic: handlers may take their locks */
	volatile uint32_t owner __attribute__((aligned(CACHE_LINE)));
	uint64_t release_ns;            /* the owner's last clock read before its unlock */
	volatile uint64_t counter_a, counter_b;
	uint64_t violations;            /* atomic */
	uint32_t stop;                  /* atomic */
	uint64_t deadline_ns;
	unsigned int ncpus;
	/* [cpu_room], from ram_alloc: not in .bss (kernel/ram.h). Indexed by
	 * worker (cpu_id() < ncpus) and by interrupt handlers on any online
	 * CPU, so one per online CPU. */
	struct torture_cpu *cpu;
	unsigned int cpu_room;
};

extern struct torture_state torture;

/* torture_worker.c: the writer loops of shape=default and shape=locktorture. */
void torture_default_worker(void *arg);
void torture_locktorture_worker(void *arg);

/* torture_irq.c: the locks taken in interrupt context (irq_lock=). */
void torture_irq_handlers_install(void);        /* once per suite run */
/* Before the workers, the watchdog armed: the levels' locks go live (and
 * with nest_self the PV ops are wrapped, see nest_wait()). */
void torture_irq_start(void);
void torture_irq_stop(void);                    /* after them: no handler in its lock */
/* "lock" for level 0 (thread context), "irq_lockN" for level N. */
const char *torture_level_lock_name(unsigned int level);

/* torture_lockup.c: the lockup report's description of the locks. */
void torture_describe_lock(void);

/* torture_report.c: the result of one lock, the PV table after the last,
 * and each shape's "# torture:" line and result fields. */
void torture_report(const char *name, uint64_t ns);
void torture_pv_table_reset(void);
void torture_pv_table_print(void);
void torture_default_describe(void);
void torture_default_json(struct json *j);
void torture_locktorture_describe(void);
void torture_locktorture_json(struct json *j);

#endif
