/* Every guest option, in one table: name, type, range, default, help. */
#include "cmdline.h"
#include "options.h"
#include "pv_backend.h"
#include "pv_ops.h"
#include "suite.h"

struct guest_options opt;

#define VERBOSE_MAX 2
#define WATCHDOG_MS_MIN 50
#define WATCHDOG_MS_MAX 3600000
/* PV_SPIN_THRESHOLD (lock/pv_ops.h) as option text. */
#define PV_SPIN_THRESHOLD_DEFAULT_STR "32768"
_Static_assert(PV_SPIN_THRESHOLD == 32768, "keep the pv_spin_threshold default in step");

const struct opt_def options_table[] = {
	{
		.key = "test", .kind = OPT_NAMES, .dest = opt.test, .dest_size = sizeof(opt.test),
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
		.key = "watchdog_ms", .kind = OPT_U64, .dest = &opt.watchdog_ms, .min = WATCHDOG_MS_MIN,
		.max = WATCHDOG_MS_MAX, .def = "10000",
		.help = "a CPU that makes no progress this long ends the run with the lockup report",
	},
};

const unsigned int options_count = sizeof(options_table) / sizeof(options_table[0]);
_Static_assert(sizeof(options_table) / sizeof(options_table[0]) <= OPTIONS_MAX,
	       "cmdline.c tracks at most OPTIONS_MAX options");
