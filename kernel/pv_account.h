/* SPDX-License-Identifier: MIT */
/* pv_account.h - what every PV backend records: halts, kicks and hypercalls (counted, and marked for the watchdog), and the rule for a wait in an NMI. */
#ifndef PVSPIN_PV_ACCOUNT_H
#define PVSPIN_PV_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include "percpu.h"
#include "time.h"
#include "watchdog.h"

static inline void pv_halt_begin(void)
{
	this_cpu()->halts++;
	cpu_wd_set_state(CPU_HALTED, time_ns());
}

static inline void pv_halt_end(void)
{
	cpu_wd_set_state(CPU_RUNNING, time_ns());
}

static inline void pv_note_kick(unsigned int cpu)
{
	struct percpu *p = this_cpu();
	p->kicks_sent++;
	p->last_kick_target = cpu;
	p->last_kick_sent_ns = time_ns();
}

/* Around every hypercall: counted, and marked for the watchdog, which
 * names a hypercall that does not return (wd_hypercall: a KVM number, or a
 * Hyper-V call code | WD_HYPERCALL_HYPERV). The previous state is given
 * back: an interrupt handler's hypercall may come between an outer one's
 * begin and its call. */
struct pv_hc_mark { uint32_t state, nr; };

static inline struct pv_hc_mark pv_hypercall_begin(uint32_t nr)
{
	struct percpu *p = this_cpu();
	struct pv_hc_mark outer = { __atomic_load_n(&p->wd_state, __ATOMIC_RELAXED), p->wd_hypercall };
	p->hypercalls++;
	p->wd_hypercall = nr;
	cpu_wd_set_state(CPU_IN_HYPERCALL, time_ns());
	return outer;
}

static inline void pv_hypercall_end(struct pv_hc_mark outer)
{
	cpu_wd_set_state((enum cpu_wd_state)outer.state, time_ns());
	this_cpu()->wd_hypercall = outer.nr;
}

/* In an NMI a wait returns at once and the lock spins (Linux's kvm_wait
 * does the same): the NMI may have interrupted a wait of this CPU, whose
 * single kick a halt here could swallow, and halting must not enable
 * interrupts inside the NMI. True (and counted) when in an NMI. */
static inline bool pv_wait_in_nmi(void)
{
	struct percpu *p = this_cpu();
	if (!p->nmi_depth)
		return false;
	p->nmi_waits++;
	return true;
}

#endif
