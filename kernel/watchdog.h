/* Lockup watchdog. While armed, every CPU taking part gets a periodic LAPIC
 * timer tick (WATCHDOG_TICK_NS); the tick of any CPU checks all of them. A
 * CPU whose progress counter has not moved for the timeout (a waiter that is
 * never woken, a hypercall that never returns) ends the run: the report
 * prints each CPU's state, the last kicks sent and received, what the
 * running test adds (the lock word and queue), then EXIT_LOCKUP.
 * The check runs on CPUs other than the stuck one, so a stuck CPU cannot
 * block it; only all CPUs stuck with interrupts off at once would. */
#ifndef PVSPIN_WATCHDOG_H
#define PVSPIN_WATCHDOG_H

#include <stdint.h>
#include "percpu.h"

#define WATCHDOG_TICK_NS 20000000ul    /* 20 ms */

enum cpu_wd_state { CPU_RUNNING, CPU_HALTED, CPU_IN_HYPERCALL };

/* On the CPU that starts the work: arm for CPUs 0..ncpus-1. */
void watchdog_arm(unsigned int ncpus, uint64_t timeout_ns, void (*describe)(void));
void watchdog_disarm(void);
/* On each participating CPU, at the start and the end of its work. */
void watchdog_cpu_start(void);
void watchdog_cpu_stop(void);
/* Extra work on every tick of a participating CPU (e.g. an IRQ-context lock). */
void watchdog_set_tick_hook(void (*hook)(void));

static inline void watchdog_progress(void)
{
	this_cpu()->wd_progress++;
}

static inline void cpu_wd_set_state(enum cpu_wd_state s, uint64_t now_ns)
{
	struct percpu *p = this_cpu();
	p->wd_state_since_ns = now_ns;
	__atomic_store_n(&p->wd_state, s, __ATOMIC_RELEASE);
}

#endif
