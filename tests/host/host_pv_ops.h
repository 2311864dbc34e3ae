/* SPDX-License-Identifier: MIT */
/*
 * host_pv_ops.h - pv_lock_ops for user space: wait/kick with Linux futexes
 * on one futex word per "CPU" (thread), so the PV protocol runs for real.
 */
#ifndef HOST_PV_OPS_H
#define HOST_PV_OPS_H

#include "pv_ops.h"

extern const struct pv_lock_ops host_pv_ops_futex;

/* Waits that ended by timeout (a lost kick would show up here). */
uint64_t host_pv_timeouts(void);
/* Futex waits that actually slept, and kicks that had to wake a sleeper. */
uint64_t host_pv_sleeps(void);
uint64_t host_pv_wakes(void);
void host_pv_stats_reset(void);

#endif /* HOST_PV_OPS_H */
