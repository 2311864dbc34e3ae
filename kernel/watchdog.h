/* SPDX-License-Identifier: MIT */
/* watchdog.h - lockup watchdog. While armed, every CPU taking part gets a periodic LAPIC
 * timer tick (WATCHDOG_TICK_NS); the tick of any CPU checks all of them.
 * The PIT, routed through the I/O APIC as an NMI to CPU 0, checks too: it
 * gets through even when every CPU is halted with interrupts off (pv=kvm
 * waiters whose kick was lost). A
 * CPU whose progress counter has not moved for the timeout (a waiter that is
 * never woken, a hypercall that never returns) ends the run if no CPU made
 * progress meanwhile or the others passed it by (watchdog.c): the report
 * prints each CPU's state, the last kicks sent and received, what the
 * running test adds (the lock word and queue), then EXIT_LOCKUP.
 * The check runs on CPUs other than the stuck one, or in the NMI, so a
 * stuck CPU cannot block it. */
#ifndef PVSPIN_WATCHDOG_H
#define PVSPIN_WATCHDOG_H

#include <stdint.h>
#include "percpu.h"

#define WATCHDOG_TICK_NS 20000000ul    /* 20 ms */

enum cpu_wd_state { CPU_RUNNING, CPU_HALTED, CPU_IN_HYPERCALL };
/* percpu.wd_hypercall of a Hyper-V hypercall: its call code | this (KVM's
 * hypercall numbers go there as they are). */
#define WD_HYPERCALL_HYPERV 0x10000u
/* ... of a Xen event-channel operation: its EVTCHNOP_ number | this. */
#define WD_HYPERCALL_XEN_EVTCHN 0x20000u

/* watchdog_ms=0 means automatic: a fair lock's queue of N waiters drains
 * in about N host time slices when the vCPUs are overcommitted, so the
 * limit grows with the CPU count: 10 s, plus 200 ms per CPU above 16. */
#define WATCHDOG_AUTO_BASE_MS    10000ul
#define WATCHDOG_AUTO_FREE_CPUS  16u
#define WATCHDOG_AUTO_PER_CPU_MS 200ul
uint64_t watchdog_timeout_ns(uint64_t option_ms, unsigned int ncpus);

/* On the CPU that starts the work: arm for CPUs 0..ncpus-1. Only CPUs
 * between watchdog_cpu_start() and watchdog_cpu_stop() are judged. */
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

/* Around a lock acquisition, so the report says who waits on what. An
 * interrupt handler that takes a lock saves and restores the outer one. */
struct wd_wait { const char *what; uint64_t since_ns; };

static inline struct wd_wait watchdog_wait_begin(const char *what, uint64_t now_ns)
{
	struct percpu *p = this_cpu();
	struct wd_wait outer = { p->wd_waiting_on, p->wd_wait_since_ns };
	p->wd_wait_since_ns = now_ns;
	p->wd_waiting_on = what;
	return outer;
}

static inline void watchdog_wait_end(struct wd_wait outer)
{
	struct percpu *p = this_cpu();
	p->wd_waiting_on = outer.what;
	p->wd_wait_since_ns = outer.since_ns;
}

static inline void cpu_wd_set_state(enum cpu_wd_state s, uint64_t now_ns)
{
	struct percpu *p = this_cpu();
	p->wd_state_since_ns = now_ns;
	__atomic_store_n(&p->wd_state, s, __ATOMIC_RELEASE);
}

#endif
