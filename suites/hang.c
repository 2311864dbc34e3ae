/* SPDX-License-Identifier: MIT */
/* hang.c - the deliberate-lockup suites, which check the watchdog's report and status.
 * hang: every CPU halts with interrupts off, as pv=kvm waiters whose kicks were all lost would.
 * No tick can run anywhere; the watchdog's NMI must still report the lockup and end the run
 * with EXIT_LOCKUP. With verbose=2 every CPU but the first prints without pause instead
 * (interrupts off too): the report must still come out whole, in order, followed by its
 * verdict (kernel/exit.c stops them first).
 * starve: one CPU halts while all the others go on, as a pvqspinlock waiter whose wakeup was
 * lost would while lock stealing keeps the rest going. The watchdog must name it starved; a
 * slow queue must not (kernel/watchdog.c). */
#include "kernel/console.h"
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/watchdog.h"
#include "lib/x86.h"
#include "suite.h"


#define NOISY_VERBOSE 2

static unsigned int starved_cpu;

static void __attribute__((noreturn)) halt_here(void)
{
	cpu_wd_set_state(CPU_HALTED, time_ns());
	for (;;)
		hlt();
}

static void halt_with_irqs_off(void *arg)
{
	(void)arg;
	watchdog_cpu_start();
	cli();
	struct wd_wait w = watchdog_wait_begin("nothing (test=hang)", time_ns());
	(void)w;
	if (opt.verbose >= NOISY_VERBOSE && cpu_id() != 0)
		for (uint64_t n = 0;; n++)
			kprintf("# hang: cpu %u noise line %lu, printed while the others hang\n",
				cpu_id(), n);
	halt_here();
}

static void go_on_or_starve(void *arg)
{
	(void)arg;
	watchdog_cpu_start();
	struct wd_wait w = watchdog_wait_begin("nothing (test=starve)", time_ns());
	(void)w;
	if (cpu_id() == starved_cpu) {
		cli();
		halt_here();
	}
	/* Interrupts stay on: the timer ticks of these CPUs run the check. */
	for (;;) {
		watchdog_progress();
		cpu_pause();
	}
}

/* Every online CPU runs fn under the watchdog; fn never returns, so the
 * watchdog's report must end the run. */
static void expect_lockup(const char *name, smp_fn fn)
{
	watchdog_arm(smp.online, watchdog_timeout_ns(opt.watchdog_ms, smp.online), 0);
	smp_run_on_first(smp.online, fn, 0, SMP_NO_LIMIT);
	ktap_fail(name, "the CPUs came back from work that never ends");
}

static void hang_run(void)
{
	ktap_diag("hang: all %u CPUs halt with interrupts off; the NMI watchdog must report "
		  "within %lu ms", smp.online, watchdog_timeout_ns(opt.watchdog_ms, smp.online) / NS_PER_MS);
	expect_lockup("hang", halt_with_irqs_off);
}

static void starve_run(void)
{
	if (smp.online < 2) {
		ktap_skip("starve", "needs 2 CPUs");
		return;
	}
	starved_cpu = smp.online - 1;
	ktap_diag("starve: cpu %u halts, the other %u go on; the watchdog must report it within %lu ms",
		  starved_cpu, smp.online - 1, watchdog_timeout_ns(opt.watchdog_ms, smp.online) / NS_PER_MS);
	expect_lockup("starve", go_on_or_starve);
}

const struct suite suite_hang = {
	.name = "hang",
	.summary = "every CPU halts with interrupts off: checks the NMI watchdog's report and status",
	.groups = SUITE_EXPLICIT_ONLY,
	.run = hang_run,
};

const struct suite suite_starve = {
	.name = "starve",
	.summary = "one CPU halts while the others go on: the watchdog reports starvation",
	.groups = SUITE_EXPLICIT_ONLY,
	.run = starve_run,
};
