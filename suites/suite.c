/* SPDX-License-Identifier: MIT */
/* suite.c - the suite table, selection by test= and the run with its summary (suite.h). */
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/pv_inject.h"
#include "kernel/ram.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "lib/cmdline.h"
#include "options.h"
#include "suite.h"
#include "torture.h"

static const struct suite *const suites[] = {
	&suite_smp,
	&suite_pvswitch,
	&suite_pvwait,
	&suite_torture,
	&suite_nesting,
	&suite_bench,
	&suite_fault,
	&suite_hang,
	&suite_reset,
	&suite_starve,
};
#define NR_SUITES (sizeof(suites) / sizeof(suites[0]))

#define SELECT_DEFAULT "default"
#define SELECT_ALL     "all"

const char *suite_selector_name(unsigned int i)
{
	if (i < NR_SUITES)
		return suites[i]->name;
	if (i == NR_SUITES)
		return SELECT_DEFAULT;
	if (i == NR_SUITES + 1)
		return SELECT_ALL;
	return 0;
}

/* A suite runs when test= names it or one of its groups. */
static bool selected(const struct suite *s)
{
	if (cmdline_list_has(suite_opt.test, s->name))
		return true;
	if (cmdline_list_has(suite_opt.test, SELECT_ALL))
		return s->groups & SUITE_IN_ALL;
	return (s->groups & SUITE_IN_DEFAULT) && cmdline_list_has(suite_opt.test, SELECT_DEFAULT);
}

void suite_on_last_cpu(void (*fn)(void *arg))
{
	unsigned int last = smp.online - 1;
	if (last == 0) {
		fn(0);
		return;
	}
	smp_call(last, fn, 0);
	smp_wait(last, SMP_NO_LIMIT);
}

bool suite_lock_cpus(const char *suite, unsigned int *ncpus)
{
	*ncpus = suite_opt.cpus ? (unsigned int)suite_opt.cpus : smp.online;
	if (pv_inject_missing()) {
		for (unsigned int i = 0; i < torture_nr_locks(); i++)
			ktap_fail(suite, "inject= asked for faults, but there was no RAM for their counters");
		return false;
	}
	if (*ncpus <= smp.online && smp.online == smp.expected)
		return true;
	for (unsigned int i = 0; i < torture_nr_locks(); i++)
		ktap_fail(suite, "cpus=%u but %u of %u CPUs are online", *ncpus, smp.online,
			  smp.expected);
	return false;
}

void *suite_cpu_room(const char *suite, void *have, unsigned int *room, unsigned int n, size_t size)
{
	if (have && *room >= n)
		return have;
	void *p = ram_alloc((uint64_t)n * size, CACHE_LINE);
	*room = p ? n : 0;
	if (!p)
		for (unsigned int i = 0; i < torture_nr_locks(); i++)
			ktap_fail(suite, "no RAM after the image for %u CPUs' counters", n);
	return p;
}

struct suite_time {
	const struct suite *s;
	unsigned int failed_before, failed_after;
	uint64_t ns;
};

void suite_begin(void)
{
	unsigned int plan = 0;
	for (unsigned int i = 0; i < NR_SUITES; i++) {
		if (!selected(suites[i]))
			continue;
		unsigned int n = suites[i]->nr_results ? suites[i]->nr_results() : 1;
		ktap_plan_add(suites[i]->name, n);
		plan += n;
	}
	ktap_begin(plan);
	kprintf("# pvspin: test=%s seed=%lu verbose=%lu\n", suite_opt.test, opt.seed, opt.verbose);
}

int suite_run(void)
{
	struct suite_time times[NR_SUITES];
	unsigned int ran = 0;
	uint64_t t0 = time_ns();
	for (unsigned int i = 0; i < NR_SUITES; i++) {
		if (!selected(suites[i]))
			continue;
		struct suite_time *t = &times[ran++];
		t->s = suites[i];
		t->failed_before = ktap_totals().failed;
		uint64_t s0 = time_ns();
		ktap_set_current(suites[i]->name);
		suites[i]->run();
		t->ns = time_ns() - s0;
		t->failed_after = ktap_totals().failed;
	}
	struct ktap_totals k = ktap_totals();
	kprintf("# summary: %-12s %-6s %10s\n", "suite", "result", "time_ms");
	for (unsigned int i = 0; i < ran; i++)
		kprintf("# summary: %-12s %-6s %10lu\n", times[i].s->name,
			times[i].failed_after > times[i].failed_before ? "FAIL" : "ok",
			times[i].ns / 1000000);
	if (k.emitted != k.planned)
		kprintf("# summary: plan said %u results, %u were emitted\n", k.planned, k.emitted);
	kprintf("# summary: %u passed, %u failed, %u skipped in %lu ms\n", k.passed, k.failed,
		k.skipped, (time_ns() - t0) / 1000000);
	return (k.failed || k.emitted != k.planned) ? EXIT_TEST_FAILURE : EXIT_PASS;
}
