/* SPDX-License-Identifier: MIT */
/* lock_report.c - PV counters, lock events, percentiles, steal time and handoffs as JSON (lock_report.h). */
#include "hypercall/steal_time.h"
#include "kernel/percpu.h"
#include "lib/string.h"
#include "lock_report.h"

void pv_snapshot_take(struct pv_snapshot *s, unsigned int ncpus)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int c = 0; c < ncpus; c++) {
		const struct percpu *p = percpu_of(c);
		s->halts += p->halts;
		s->kicks_sent += p->kicks_sent;
		s->kicks_received += p->kicks_received;
		s->sched_yields += p->sched_yields;
		s->hypercalls += p->hypercalls;
		s->nmi_waits += p->nmi_waits;
		s->irqoff_waits += p->irqoff_waits;
		s->hv_send_ipi += p->hv_send_ipi;
		s->hv_long_spin_wait += p->hv_long_spin_wait;
		s->hv_hypercall_errors += p->hv_hypercall_errors;
		s->xen_polls += p->xen_polls;
		s->xen_sends += p->xen_sends;
		s->xen_hypercall_errors += p->xen_hypercall_errors;
	}
	lock_events_sum(&s->ev);
}

void pv_snapshot_diff(struct pv_snapshot *out, const struct pv_snapshot *after,
		      const struct pv_snapshot *before)
{
	out->halts = after->halts - before->halts;
	out->kicks_sent = after->kicks_sent - before->kicks_sent;
	out->kicks_received = after->kicks_received - before->kicks_received;
	out->sched_yields = after->sched_yields - before->sched_yields;
	out->hypercalls = after->hypercalls - before->hypercalls;
	out->nmi_waits = after->nmi_waits - before->nmi_waits;
	out->irqoff_waits = after->irqoff_waits - before->irqoff_waits;
	out->hv_send_ipi = after->hv_send_ipi - before->hv_send_ipi;
	out->hv_long_spin_wait = after->hv_long_spin_wait - before->hv_long_spin_wait;
	out->hv_hypercall_errors = after->hv_hypercall_errors - before->hv_hypercall_errors;
	out->xen_polls = after->xen_polls - before->xen_polls;
	out->xen_sends = after->xen_sends - before->xen_sends;
	out->xen_hypercall_errors = after->xen_hypercall_errors - before->xen_hypercall_errors;
	for (unsigned int e = 0; e < LOCK_EVENT_NR; e++)
		out->ev.count[e] = after->ev.count[e] - before->ev.count[e];
	for (unsigned int b = 0; b < LOCK_LAT_BUCKETS; b++)
		out->ev.wake_hist[b] = after->ev.wake_hist[b] - before->ev.wake_hist[b];
}

void pv_counters_reset(unsigned int ncpus)
{
	for (unsigned int c = 0; c < ncpus; c++) {
		struct percpu *p = percpu_of(c);
		p->halts = p->kicks_sent = p->kicks_received = p->sched_yields = p->hypercalls = 0;
		p->nmi_waits = p->irqoff_waits = 0;
		p->hv_send_ipi = p->hv_long_spin_wait = p->hv_hypercall_errors = 0;
		p->xen_polls = p->xen_sends = p->xen_hypercall_errors = 0;
	}
	lock_events_reset();
}

uint64_t log2_hist_percentile_ns(const uint64_t *hist, unsigned int buckets, uint64_t permille)
{
	uint64_t total = 0, below = 0;
	for (unsigned int b = 0; b < buckets; b++)
		total += hist[b];
	uint64_t want = (total * permille + PERMILLE - 1) / PERMILLE;
	for (unsigned int b = 0; b < buckets; b++) {
		below += hist[b];
		if (below >= want && hist[b])
			return 2ull << b;
	}
	return 0;
}

uint64_t log2_hist_max_ns(const uint64_t *hist, unsigned int buckets)
{
	uint64_t max = 0;
	for (unsigned int b = 0; b < buckets; b++)
		if (hist[b])
			max = 2ull << b;
	return max;
}

void json_pv(struct json *j, const struct pv_snapshot *s)
{
	const struct lock_event_totals *ev = &s->ev;
	uint64_t kicks = ev->count[LOCK_EV_pv_kick_unlock];
	uint64_t wakes = ev->count[LOCK_EV_pv_kick_wake];
	json_obj(j, "pv");
	json_u64(j, "halts", s->halts);
	json_u64(j, "kicks_sent", s->kicks_sent);
	json_u64(j, "kicks_received", s->kicks_received);
	json_u64(j, "sched_yields", s->sched_yields);
	json_u64(j, "hypercalls", s->hypercalls);
	json_u64(j, "nmi_waits", s->nmi_waits);
	json_u64(j, "irqoff_waits", s->irqoff_waits);
	json_u64(j, "hv_send_ipi", s->hv_send_ipi);
	json_u64(j, "hv_long_spin_wait", s->hv_long_spin_wait);
	json_u64(j, "hv_hypercall_errors", s->hv_hypercall_errors);
	json_u64(j, "xen_polls", s->xen_polls);
	json_u64(j, "xen_sends", s->xen_sends);
	json_u64(j, "xen_hypercall_errors", s->xen_hypercall_errors);
	/* Linux's reading: time in the kick per unlock kick, and kick-to-run
	 * time per woken waiter. */
	json_u64(j, "kick_mean_ns", kicks ? ev->count[LOCK_EV_pv_latency_kick] / kicks : 0);
	json_u64(j, "wake_mean_ns", wakes ? ev->count[LOCK_EV_pv_latency_wake] / wakes : 0);
	json_obj(j, "wake_latency_ns");
	json_u64(j, "p50", log2_hist_percentile_ns(ev->wake_hist, LOCK_LAT_BUCKETS, P50_PERMILLE));
	json_u64(j, "p99", log2_hist_percentile_ns(ev->wake_hist, LOCK_LAT_BUCKETS, P99_PERMILLE));
	json_u64(j, "max", log2_hist_max_ns(ev->wake_hist, LOCK_LAT_BUCKETS));
	json_obj_end(j);
	json_arr(j, "wake_hist_log2_ns");
	for (unsigned int b = 0; b < LOCK_LAT_BUCKETS; b++)
		json_arr_u64(j, ev->wake_hist[b]);
	json_arr_end(j);
	json_obj_end(j);
}

void json_events(struct json *j, const struct lock_event_totals *ev)
{
	json_obj(j, "events");
	for (unsigned int e = 0; e < LOCK_EVENT_NR; e++)
		if (ev->count[e])
			json_u64(j, lock_event_names[e], ev->count[e]);
	json_obj_end(j);
}

void json_steal(struct json *j, const uint64_t *steal_ns, unsigned int ncpus)
{
	if (!steal_time_available())
		return;
	uint64_t sum = 0;
	json_arr(j, "steal_ns_per_cpu");
	for (unsigned int c = 0; c < ncpus; c++) {
		json_arr_u64(j, steal_ns[c]);
		sum += steal_ns[c];
	}
	json_arr_end(j);
	json_u64(j, "steal_ns", sum);
}

void handoff_record(struct handoff_counts *c, uint64_t t0, uint64_t t1, uint64_t t2,
		    uint64_t released)
{
	if (t2 - t1 > HANDOFF_SLOW_NS)
		c->long_holds++;
	if (t0 >= released)             /* not waiting when the lock was released */
		return;
	uint64_t gap = t1 > released ? t1 - released : 0;
	c->handoffs++;
	if (gap > HANDOFF_SLOW_NS)
		c->slow_handoffs++;
	if (gap > c->max_handoff_ns)
		c->max_handoff_ns = gap;
}

void handoff_add(struct handoff_counts *sum, const struct handoff_counts *c)
{
	sum->handoffs += c->handoffs;
	sum->slow_handoffs += c->slow_handoffs;
	sum->long_holds += c->long_holds;
	if (c->max_handoff_ns > sum->max_handoff_ns)
		sum->max_handoff_ns = c->max_handoff_ns;
}

void json_handoffs(struct json *j, const struct handoff_counts *c)
{
	json_u64(j, "slow_limit_ns", HANDOFF_SLOW_NS);
	json_u64(j, "handoffs", c->handoffs);
	json_u64(j, "slow_handoffs", c->slow_handoffs);
	json_u64(j, "max_handoff_ns", c->max_handoff_ns);
	json_u64(j, "long_holds", c->long_holds);
}
