/* SPDX-License-Identifier: MIT */
/* reset_guard.h - notice that the machine reset while pvspin ran, from CMOS bytes that survive a reset. */
#ifndef PVSPIN_RESET_GUARD_H
#define PVSPIN_RESET_GUARD_H

#include <stdbool.h>

/*
 * A triple fault (or a reset through port 0xcf9 or 0x64) restarts the
 * machine unless QEMU runs with -no-reboot, and the firmware boots pvspin
 * again with the same command line. The RTC's CMOS RAM keeps its contents
 * over such a reset (a new QEMU starts with it clear), so pvspin marks it
 * while it runs: booting, then the plan printed and how many results, and
 * clears the mark on its way out, after its EXIT line, as the last thing
 * before the exit port write (kernel/exit.c): a reset while the other CPUs
 * are being stopped is reported too. A boot that finds the mark
 * is that restart: ktap_begin() then ends the first boot's KTAP document
 * (every result it did not print becomes "not ok ... # ERROR not run:
 * machine reset") and exits with status 3. Under the nested bed L2 runs
 * without -no-reboot for this, so QEMU's -d cpu_reset log holds every CPU's
 * state from just before the reset (docs/nested.md).
 *
 * A machine without an RTC (microvm) reads 0xff: no mark is ever found.
 */
struct reset_seen {
	bool seen;              /* this boot follows a reset of a run */
	bool plan_printed;      /* the first boot printed its KTAP plan */
	unsigned int emitted;   /* results it printed */
};

void reset_guard_booting(void);                 /* first thing in kmain() */
struct reset_seen reset_guard_check(void);      /* what the mark says */
void reset_guard_plan_printed(void);
void reset_guard_emitted(unsigned int emitted);
void reset_guard_clear(void);                   /* every exit */

#endif
