/* SPDX-License-Identifier: MIT */
/*
 * pv_ops.h - how pvqspinlock halts and wakes CPUs.
 *
 * The environment picks the ops ONCE (at boot, before locks are contended)
 * with pv_lock_set_ops(); the native qspinlock never looks at them.  Until
 * then the default "spin" ops are in force: wait returns at once (the
 * waiter keeps spinning), kick does nothing.  This is always correct, only
 * slower, so a lock taken before the switch is released correctly after it.
 *
 * Contract for an implementation:
 *   wait(ptr, val): block while *ptr == val.  May return spuriously at any
 *                   time; callers always re-check their condition.
 *   kick(cpu):      make `cpu` return from wait.  A kick that arrives
 *                   before the wait must not be lost: the next wait of
 *                   that CPU returns at once (a harmless spurious wakeup).
 *   spin_hint(spins): optional (NULL: none).  A waiter that is still
 *                   spinning calls it once every spin_hint_loops iterations
 *                   of a PV spin loop (0: never), with the iterations spun
 *                   so far in this acquisition.  A hint to the hypervisor
 *                   ("I am spinning on a lock, run someone else"); it must
 *                   not wait for anything.  The native locks never call it.
 */
#ifndef LOCK_PV_OPS_H
#define LOCK_PV_OPS_H

#include "platform.h"

struct pv_lock_ops {
	const char *name;
	void (*wait)(uint8_t *ptr, uint8_t val);
	void (*kick)(unsigned int cpu);
	void (*spin_hint)(uint64_t spins);
	uint32_t spin_hint_loops;
};

/* The default ops: wait = return (spin), kick = nothing. */
extern const struct pv_lock_ops pv_lock_ops_spin;

/* Install `ops` (NULL restores pv_lock_ops_spin).  Call before contention. */
void pv_lock_set_ops(const struct pv_lock_ops *ops);
const struct pv_lock_ops *pv_lock_get_ops(void);

/*
 * Spin iterations before a waiter halts (Linux: SPIN_THRESHOLD).  Tunable
 * at run time; values below PV_SPIN_THRESHOLD_MIN are raised to it (the
 * guest's pv_spin_threshold= option rejects them as bad input).  The
 * minimum of 1 is essential: q_pv_wait_node() looks at node->locked (and
 * can return) only inside its spin loop; at 0 it would store HALTED over
 * HASHED and never leave.  Both may be given with -D
 * (tests/host/check_spin_threshold.sh); the asserts hold them.
 */
#ifndef PV_SPIN_THRESHOLD
#define PV_SPIN_THRESHOLD (1U << 15)
#endif
#ifndef PV_SPIN_THRESHOLD_MIN
#define PV_SPIN_THRESHOLD_MIN 1U
#endif
_Static_assert(PV_SPIN_THRESHOLD_MIN >= 1,
	       "the spin threshold's minimum must be at least 1 (no double hashing)");
_Static_assert(PV_SPIN_THRESHOLD >= PV_SPIN_THRESHOLD_MIN,
	       "the default spin threshold must not be below its minimum");

void pv_lock_set_spin_threshold(uint32_t loops);
uint32_t pv_lock_spin_threshold(void);

/*
 * Library-internal: the ops wrapped with latency accounting
 * (pv_latency_kick, pv_latency_wake, pv_kick_wake, wake histogram).
 */
void pv_lock_wait(uint8_t *ptr, uint8_t val);
void pv_lock_kick(unsigned int cpu);

/*
 * Library-internal: the spin-hint countdown of one acquisition's PV spin
 * loops.  pv_spin_hint_init() reads the installed ops once; each spin
 * iteration costs one decrement and one predictable branch, and without a
 * spin_hint op the countdown starts at UINT32_MAX (about four billion
 * iterations, then a no-op call).
 */
struct pv_spin_hint {
	uint32_t left;
	uint32_t every;
	uint64_t spins;
};

void pv_spin_hint_init(struct pv_spin_hint *h);
void pv_spin_hint_fire(struct pv_spin_hint *h);

static inline void pv_spin_hint_tick(struct pv_spin_hint *h)
{
	if (lock_unlikely(--h->left == 0))
		pv_spin_hint_fire(h);
}

#endif /* LOCK_PV_OPS_H */
