/* SPDX-License-Identifier: MIT */
/* lock_report.h - what the torture and bench suites report alike: the PV counters of a run
 * (per-CPU halts and kicks, the lock library's events, the kick-to-wake
 * histogram) as JSON, percentiles of log2 histograms, steal time, slow
 * handoffs and long holds. */
#ifndef PVSPIN_LOCK_REPORT_H
#define PVSPIN_LOCK_REPORT_H

#include <stdint.h>
#include "lib/json.h"
#include "lock/lock_events.h"

#define PERMILLE        1000
#define P50_PERMILLE    500
#define P99_PERMILLE    990
#define P999_PERMILLE   999

/* A snapshot of every PV counter of CPUs 0..ncpus-1. */
struct pv_snapshot {
	uint64_t halts, kicks_sent, kicks_received, sched_yields, hypercalls;
	uint64_t nmi_waits, irqoff_waits;       /* waits that returned at once */
	uint64_t hv_send_ipi, hv_long_spin_wait, hv_hypercall_errors;   /* hyperv backend */
	uint64_t xen_polls, xen_sends, xen_hypercall_errors;            /* xen backend */
	struct lock_event_totals ev;
};

void pv_snapshot_take(struct pv_snapshot *s, unsigned int ncpus);
/* *after - *before, field by field. */
void pv_snapshot_diff(struct pv_snapshot *out, const struct pv_snapshot *after,
		      const struct pv_snapshot *before);
/* Zero the per-CPU counters and the lock events (CPUs quiescent). */
void pv_counters_reset(unsigned int ncpus);

/* Upper bound of the log2 bucket holding the permille-th percentile. */
uint64_t log2_hist_percentile_ns(const uint64_t *hist, unsigned int buckets, uint64_t permille);
/* Upper bound of the highest non-empty log2 bucket. */
uint64_t log2_hist_max_ns(const uint64_t *hist, unsigned int buckets);

/* "pv":{halts, kicks, sched_yields, kick/wake means, wake_latency_ns,
 * wake_hist_log2_ns} and "events":{every nonzero lock event}. */
void json_pv(struct json *j, const struct pv_snapshot *s);
void json_events(struct json *j, const struct lock_event_totals *ev);
/* "steal_ns_per_cpu":[...], "steal_ns": sum; nothing without steal time. */
void json_steal(struct json *j, const uint64_t *steal_ns, unsigned int ncpus);

/* Why a fair lock collapses: a handoff is one owner's release followed by
 * the next owner's acquisition, counted only when that owner had begun to
 * wait before the release (a lock taken after an idle spell is none). A
 * handoff or a hold (acquired to release) over HANDOFF_SLOW_NS had a vCPU
 * preempted (or halted and woken late, or long in an interrupt). */
#define HANDOFF_SLOW_NS 1000000ull

struct handoff_counts {
	uint64_t handoffs, slow_handoffs, max_handoff_ns, long_holds;
};

/* One acquisition, guest clock: t0 acquire begun, t1 acquired, t2 about to
 * release; released: the previous owner's t2 (0: none yet). */
void handoff_record(struct handoff_counts *c, uint64_t t0, uint64_t t1, uint64_t t2,
		    uint64_t released);
/* *sum += *c (the max stays a max). */
void handoff_add(struct handoff_counts *sum, const struct handoff_counts *c);
/* "slow_limit_ns", "handoffs", "slow_handoffs", "max_handoff_ns", "long_holds". */
void json_handoffs(struct json *j, const struct handoff_counts *c);

#endif
