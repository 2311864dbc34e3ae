/* SPDX-License-Identifier: MIT */
/* ktap.c - KTAP output: plan, results, diagnostics and their totals (ktap.h). */
#include <stdarg.h>
#include "lib/fmt.h"
#include "console.h"
#include "exit.h"
#include "ktap.h"
#include "reset_guard.h"

#define REASON_MAX 256
#define PLAN_ENTRIES_MAX 32     /* suites in one run */

static struct ktap_totals totals;
static const char *current = "boot";

/* What the plan promised, in order: `count` results named `name`. */
static struct plan_entry {
	const char *name;
	unsigned int count;
} plan_entries[PLAN_ENTRIES_MAX];
static unsigned int nr_plan_entries;

void ktap_plan_add(const char *name, unsigned int count)
{
	if (nr_plan_entries < PLAN_ENTRIES_MAX)
		plan_entries[nr_plan_entries++] = (struct plan_entry){ name, count };
}

/* The name the plan gave result n (1-based), or "not_run" past the entries. */
static const char *planned_name(unsigned int n)
{
	unsigned int first = 1;
	for (unsigned int i = 0; i < nr_plan_entries; i++) {
		if (n < first + plan_entries[i].count)
			return plan_entries[i].name;
		first += plan_entries[i].count;
	}
	return "not_run";
}

/* This boot is the firmware's restart of a run the machine reset under
 * (reset_guard.h): finish that run's KTAP document and stop. */
static void __attribute__((noreturn)) end_after_reset(struct reset_seen prev)
{
	if (!prev.plan_printed)
		kprintf("KTAP version 1\n1..%u\n", totals.planned);
	totals.emitted = prev.emitted < totals.planned ? prev.emitted : totals.planned;
	kprintf("# RESET: the machine reset while pvspin ran (a triple fault, or a reset through port 0xcf9 or 0x64) after %u of %u results; this is the firmware's restart\n",
		totals.emitted, totals.planned);
	current = planned_name(totals.emitted + 1);
	ktap_abort_current("crash: the machine reset", "machine reset");
	guest_exit(EXIT_GUEST_CRASH);
}

void ktap_begin(unsigned int plan)
{
	totals.planned = plan;
	struct reset_seen prev = reset_guard_check();
	if (prev.seen)
		end_after_reset(prev);
	kprintf("KTAP version 1\n1..%u\n", plan);
	reset_guard_plan_printed();
}

void ktap_diag(const char *fmt, ...)
{
	char buf[REASON_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("# %s\n", buf);
}

void ktap_set_current(const char *name) { current = name; }

void ktap_ok(const char *name)
{
	totals.passed++;
	kprintf("ok %u %s\n", ++totals.emitted, name);
	reset_guard_emitted(totals.emitted);
}

/* "STATUS N NAME # PREFIXREASON" with the reason formatted from fmt. */
static void emit(const char *status, const char *name, const char *prefix,
		 const char *fmt, va_list ap)
{
	char reason[REASON_MAX];
	vsnprintf(reason, sizeof(reason), fmt, ap);
	kprintf("%s %u %s # %s%s\n", status, ++totals.emitted, name, prefix, reason);
	reset_guard_emitted(totals.emitted);
}

void ktap_fail(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	totals.failed++;
	emit("not ok", name, "", fmt, ap);
	va_end(ap);
}

void ktap_skip(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	totals.skipped++;
	emit("ok", name, "SKIP ", fmt, ap);
	va_end(ap);
}

void ktap_abort_current(const char *reason, const char *not_run_why)
{
	if (totals.emitted < totals.planned)
		ktap_fail(current, "%s", reason);
	else
		ktap_diag("%s (after the last planned result)", reason);
	while (totals.emitted < totals.planned) {
		totals.failed++;
		kprintf("not ok %u %s # ERROR not run: %s\n", totals.emitted + 1,
			planned_name(totals.emitted + 1), not_run_why);
		totals.emitted++;
	}
}

void ktap_result_json(const struct json *j)
{
	console_write("# result: ", 10);
	console_write(j->buf, j->len);
	console_write("\n", 1);
}

struct ktap_totals ktap_totals(void) { return totals; }
