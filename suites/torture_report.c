/* SPDX-License-Identifier: MIT */
/* torture_report.c - the torture suite's results: one JSON result and KTAP line per lock, the PV table after the last (torture_state.h). */
#include "kernel/console.h"
#include "kernel/ktap.h"
#include "kernel/pv_backend.h"
#include "kernel/pv_inject.h"
#include "kernel/time.h"
#include "lib/json.h"
#include "lock/lock_events.h"
#include "options.h"
#include "torture_state.h"

#define TABLE_ROWS      16

/* One line of the human PV table printed after the last lock. */
struct pv_row {
	const char *lock;
	uint64_t acquisitions, halts, kicks, wait_node, wait_head, kick_unlock, spurious, stealing;
	uint64_t kick_mean_ns, wake_p50_ns, wake_p99_ns, steal_ns;
};

static struct pv_row pv_table[TABLE_ROWS];
static unsigned int pv_rows;

void torture_pv_table_reset(void) { pv_rows = 0; }

static void add_pv_row(uint64_t acquisitions, const struct pv_snapshot *pv)
{
	const struct lock_event_totals *ev = &pv->ev;
	if (pv_rows == TABLE_ROWS)
		return;
	struct pv_row *r = &pv_table[pv_rows++];
	uint64_t unlock_kicks = ev->count[LOCK_EV_pv_kick_unlock];
	r->lock = torture.type->name;
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
	for (unsigned int c = 0; c < torture.ncpus; c++)
		r->steal_ns += torture.cpu[c].steal_ns;
}

/* The same numbers as the JSON, for people; docs/output.md has the columns. */
void torture_pv_table_print(void)
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

void torture_report(const char *name, uint64_t ns)
{
	uint64_t total = 0, min = UINT64_MAX, max = 0, irq = 0, irq_skipped = 0, nest_ipis = 0;
	uint64_t steal[MAX_CPUS];
	struct handoff_counts handoff = { 0 };
	for (unsigned int c = 0; c < torture.ncpus; c++) {
		uint64_t n = torture.cpu[c].acquisitions;
		handoff_add(&handoff, &torture.cpu[c].handoff);
		total += n;
		min = n < min ? n : min;
		max = n > max ? n : max;
		irq += torture.cpu[c].irq_acquisitions;
		irq_skipped += torture.cpu[c].irq_skipped;
		nest_ipis += torture.cpu[c].nest_ipis;
		steal[c] = torture.cpu[c].steal_ns;
	}
	uint64_t lost = (total - torture.counter_a) + (total - torture.counter_b);
	for (unsigned int k = 0; k < torture.irq_levels; k++)
		lost += torture.irq[k].acquired - torture.irq[k].counter;
	struct pv_snapshot pv;
	pv_snapshot_take(&pv, torture.ncpus);

	struct json j;
	json_begin(&j);
	json_str(&j, "test", "torture");
	json_str(&j, "lock", torture.type->name);
	torture.shape->json(&j);
	json_u64(&j, "cpus", torture.ncpus);
	json_u64(&j, "duration_ns", ns);
	json_u64(&j, "acquisitions", total);
	json_u64(&j, "per_cpu_min", min);
	json_u64(&j, "per_cpu_max", max);
	json_u64(&j, "irq_levels", torture.irq_levels);
	json_u64(&j, "irq_acquisitions", irq);
	json_arr(&j, "irq_acquisitions_per_level");
	for (unsigned int k = 0; k < torture.irq_levels; k++)
		json_arr_u64(&j, torture.irq[k].acquired);
	json_arr_end(&j);
	json_u64(&j, "irq_skipped", irq_skipped);
	json_u64(&j, "nest_ipis", nest_ipis);
	json_u64(&j, "violations", torture.violations);
	json_u64(&j, "lost_updates", lost);
	json_handoffs(&j, &handoff);
	json_str(&j, "pv_backend", pv_backend_name());
	json_pv(&j, &pv);
	pv_inject_report(&j);
	json_steal(&j, steal, torture.ncpus);
	json_events(&j, &pv.ev);
	json_end(&j);
	ktap_result_json(&j);
	add_pv_row(total, &pv);
	if (torture.violations || lost)
		ktap_fail(name, "violations=%lu lost_updates=%lu", torture.violations, lost);
	else
		ktap_ok(name);
}


void torture_default_describe(void)
{
	ktap_diag("torture: lock=%s cpus=%u duration_ms=%lu hold_ns=%lu think_ns=%lu irq_lock=%lu pv=%s",
		  suite_opt.lock, torture.ncpus, suite_opt.duration_ms, suite_opt.hold_ns, suite_opt.think_ns, suite_opt.irq_lock,
		  pv_backend_name());
}

void torture_default_json(struct json *j)
{
	json_str(j, "shape", torture_shape_name(TORTURE_SHAPE_DEFAULT));
}

void torture_locktorture_describe(void)
{
	char params[LOCKTORTURE_DESCRIBE_MAX];
	locktorture_describe(params, sizeof(params), &torture.lt);
	ktap_diag("torture: shape=locktorture lock=%s cpus=%u duration_ms=%lu %s irq_lock=%lu pv=%s",
		  suite_opt.lock, torture.ncpus, suite_opt.duration_ms, params, suite_opt.irq_lock, pv_backend_name());
}

static const struct locktorture_counts *cpu_lt(unsigned int c) { return &torture.cpu[c].lt; }

void torture_locktorture_json(struct json *j) { locktorture_json(j, &torture.lt, cpu_lt, torture.ncpus); }
