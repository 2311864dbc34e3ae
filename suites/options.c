/* SPDX-License-Identifier: MIT */
/* options.c - every guest option, in one table: name, type, range, default, help. */
/* It fills the suites' own options (options.h) and the platform's (kernel/options.h). */
#include "kernel/options.h"
#include "kernel/pv_backend.h"
#include "kernel/pv_inject.h"
#include "lib/cmdline.h"
#include "lib/layout.h"
#include "lock/pv_ops.h"
#include "options.h"
#include "suite.h"
#include "torture.h"
#include "torture_shape.h"

#define VERBOSE_MAX 2
#define WATCHDOG_MS_MAX 3600000
#define DURATION_MS_MAX 3600000
#define HOLD_NS_MAX 1000000000
/* PV_SPIN_THRESHOLD (lock/pv_ops.h) as option text. */
#define PV_SPIN_THRESHOLD_DEFAULT_STR "32768"
_Static_assert(PV_SPIN_THRESHOLD == 32768, "keep the pv_spin_threshold default in step");
#define LONG_HOLD_MS_DEFAULT_STR "100"
_Static_assert(LOCKTORTURE_LONG_HOLD_MS_DEFAULT == 100, "keep the long_hold_ms default in step");

#define WATCHDOG_MS_MIN 50              /* a few watchdog ticks */

struct suite_options suite_opt;

static const char *parse_watchdog_ms(const char *value)
{
	uint64_t v;
	if (!cmdline_parse_u64(value, &v))
		return "not an integer";
	if (v && (v < WATCHDOG_MS_MIN || v > WATCHDOG_MS_MAX))
		return "out of range";
	opt.watchdog_ms = v;
	return NULL;
}

static const struct opt_def options_table[] = {
	{
		.key = "test", .kind = OPT_NAMES, .dest = suite_opt.test, .dest_size = sizeof(suite_opt.test),
		.names = suite_selector_name, .def = "default",
		.help = "suites to run; 'default' is every suite in its short form, 'all' adds the rest",
	},
	{
		.key = "seed", .kind = OPT_U64, .dest = &opt.seed, .min = 0, .max = UINT64_MAX,
		.def = "1", .help = "seed of every pseudo-random choice, so a run can be repeated",
	},
	{
		.key = "verbose", .kind = OPT_U64, .dest = &opt.verbose, .min = 0, .max = VERBOSE_MAX,
		.def = "0", .help = "0: results only; 1: per-CPU details; 2: progress while running",
	},
	{
		.key = "pv", .kind = OPT_CHOICE, .dest = &opt.pv, .names = pv_choice_name,
		.def = "auto", .help = "pvqspinlock wait/kick backend: auto, kvm (HLT + KVM_HC_KICK_CPU), ipi (sti;hlt + IPI), off",
	},
	{
		.key = "pv_spin_threshold", .kind = OPT_U64, .dest = &opt.pv_spin_threshold,
		.min = PV_SPIN_THRESHOLD_MIN, .max = UINT32_MAX, .def = PV_SPIN_THRESHOLD_DEFAULT_STR,
		.help = "spins of a pvqspinlock waiter before it halts",
	},
	{
		.key = "inject", .kind = OPT_CUSTOM, .parse = pv_inject_parse, .def = "none",
		.accepted = "none, or a comma-separated list of spurious_wake:PPM, kick_delay_us:N, drop_kick:PPM",
		.help = "faults injected into the PV wait/kick protocol (PPM: times in a million)",
	},
	{
		.key = "watchdog_ms", .kind = OPT_CUSTOM, .parse = parse_watchdog_ms, .def = "0",
		.accepted = "0 (automatic) or an integer 50..3600000",
		.help = "a CPU that makes no progress this long ends the run with the lockup report; 0 = 10000 plus 200 per CPU above 16",
	},
	{
		.key = "lock", .kind = OPT_NAMES, .dest = suite_opt.lock, .dest_size = sizeof(suite_opt.lock),
		.names = torture_lock_name, .def = "all",
		.help = "locks to torture or benchmark; all = every correct lock; broken is a deliberately wrong one",
	},
	{
		.key = "duration_ms", .kind = OPT_U64, .dest = &suite_opt.duration_ms, .min = 1,
		.max = DURATION_MS_MAX, .def = "200", .help = "how long each lock is tortured or measured",
	},
	{
		.key = "warmup_ms", .kind = OPT_U64, .dest = &suite_opt.warmup_ms, .min = 0,
		.max = DURATION_MS_MAX, .def = "100", .help = "bench: time each lock runs before it is measured",
	},
	{
		.key = "cpus", .kind = OPT_U64, .dest = &suite_opt.cpus, .min = 0, .max = MAX_CPUS,
		.def = "0", .help = "CPUs taking part (CPUs 0..n-1); 0 = every online CPU",
	},
	{
		.key = "hold_ns", .kind = OPT_U64, .dest = &suite_opt.hold_ns, .min = 0, .max = HOLD_NS_MAX,
		.given = &suite_opt.given.hold_ns,
		.def = "200", .help = "mean time in the critical section (uniform 0..2x, 1 in 1024 ten times longer)",
	},
	{
		.key = "long_hold", .kind = OPT_U64, .dest = &suite_opt.long_hold, .min = 0, .max = UINT32_MAX,
		.given = &suite_opt.given.long_hold, .def = "1024", .help = "torture: one critical section in N holds ten times longer, as locktorture does; 0 = never",
	},
	{
		.key = "think_ns", .kind = OPT_U64, .dest = &suite_opt.think_ns, .min = 0, .max = HOLD_NS_MAX,
		.given = &suite_opt.given.think_ns, .def = "500", .help = "mean time between release and the next acquire (uniform 0..2x)",
	},
	{
		.key = "irq_lock", .kind = OPT_U64, .dest = &suite_opt.irq_lock, .min = 0, .max = IRQ_LEVELS_MAX,
		.given = &suite_opt.given.irq_lock,
		.def = "1", .help = "interrupt levels that take a lock of the queued type under test: 1 = the timer tick; 2-4 add IPIs sent to CPUs waiting one level below (nesting to the no-node fallback); 0 by default with shape=locktorture",
	},
	{
		.key = "shape", .kind = OPT_CHOICE, .dest = &suite_opt.shape, .names = torture_shape_name,
		.def = "default", .help = "torture and bench: the writer loop; default = hold_ns, think_ns (torture: long_hold); locktorture = Linux 6.12 locktorture's spin_lock writer (docs/torture.md)",
	},
	{
		.key = "long_hold_ms", .kind = OPT_U64, .dest = &suite_opt.long_hold_ms, .min = 0,
		.max = LOCKTORTURE_LONG_HOLD_MS_MAX, .given = &suite_opt.given.long_hold_ms,
		.def = LONG_HOLD_MS_DEFAULT_STR, .help = "shape=locktorture only: locktorture's long_hold, a hold of N ms one time in cpus*2000*N; 0 = never",
	},
	{
		.key = "max_cpus", .kind = OPT_U64, .dest = &opt.max_cpus, .min = 0, .max = MAX_CPUS,
		.def = "0", .help = "run on the first N CPUs the firmware describes (the boot CPU first); the others are never started and stay waiting for a SIPI; 0 = every one",
	},
	{
		.key = "smp_stall", .kind = OPT_U64, .dest = &suite_opt.smp_stall, .min = 0, .max = MAX_CPUS - 1,
		.def = "0", .help = "test hook: this CPU (not 0) stops with interrupts off in the smp suite's work, as a vCPU its hypervisor no longer runs, so the suite must end as a lockup; 0 = none",
	},
	{
		.key = "exit_reset", .kind = OPT_U64, .dest = &opt.exit_reset, .min = 0, .max = 1,
		.def = "0", .help = "test hook: 1 = the first CPU to take the exit's stop NMI shuts down (a triple fault) instead of parking: a machine reset after the last result, which the restart must still report",
	},
	{
		.key = "smp_init_race", .kind = OPT_U64, .dest = &opt.smp_init_race, .min = 0, .max = 1,
		.def = "0", .help = "test hook: 1 = the AP bring-up's INIT batch takes its list of offline APs before the first SIPIs and holds its INITs until one of them is online, and each AP lingers a moment once online, so the INITs reset APs already online; every AP must still come up",
	},
};

#define OPTIONS_COUNT (sizeof(options_table) / sizeof(options_table[0]))
_Static_assert(OPTIONS_COUNT <= OPTIONS_MAX, "cmdline.c tracks at most OPTIONS_MAX options");

void suite_options_parse(const char *cmdline)
{
	options_parse(options_table, OPTIONS_COUNT, cmdline);
	torture_shape_options();
}
