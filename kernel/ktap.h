/* SPDX-License-Identifier: MIT */
/* ktap.h - KTAP version 1 output (Documentation/dev-tools/ktap.rst): header, plan,
 * one "ok N name" / "not ok N name # reason" line per result, "# SKIP",
 * and diagnostics as "# ..." lines. Results also go out as JSON on a
 * "# result: {...}" line. docs/output.md describes every line. */
#ifndef PVSPIN_KTAP_H
#define PVSPIN_KTAP_H

#include <stdbool.h>
#include "lib/json.h"

void ktap_begin(unsigned int plan);
void ktap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ktap_ok(const char *name);
void ktap_fail(const char *name, const char *reason_fmt, ...) __attribute__((format(printf, 2, 3)));
void ktap_skip(const char *name, const char *reason_fmt, ...) __attribute__((format(printf, 2, 3)));
void ktap_result_json(const struct json *j);
/* The name of the result being produced, for a crash report. */
void ktap_set_current(const char *name);
/* Name the next `count` planned results (before ktap_begin(), in plan
 * order), so that a run cut short can still account for each of them. */
void ktap_plan_add(const char *name, unsigned int count);
/* After a crash or lockup: "not ok" for the current result with `reason`,
 * then "not ok N NAME # ERROR not run: <not_run_why>" for every planned
 * result not yet emitted, so the plan holds to the end. */
void ktap_abort_current(const char *reason, const char *not_run_why);

struct ktap_totals { unsigned int passed, failed, skipped, emitted, planned; };
struct ktap_totals ktap_totals(void);

#endif
