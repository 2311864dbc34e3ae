/* SPDX-License-Identifier: MIT */
/* starve.c - the starve suite: one CPU stops making progress while all the others go on, as a
 * pvqspinlock waiter whose wakeup was lost would while lock stealing keeps the rest going. The
 * watchdog must name it starved and end the run with EXIT_LOCKUP; a slow queue must not
 * (kernel/watchdog.c). */
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/watchdog.h"
#include "lib/x86.h"
#include "suite.h"

#define NS_PER_MS 1000000ul

static unsigned int starved_cpu;

static void go_on_or_starve(void *arg)
{
	(void)arg;
	watchdog_cpu_start();
	struct wd_wait w = watchdog_wait_begin("nothing (test=starve)", time_ns());
	(void)w;
	if (cpu_id() == starved_cpu) {
		cli();
		cpu_wd_set_state(CPU_HALTED, time_ns());
		for (;;)
			hlt();
	}
	/* Interrupts stay on: the timer ticks of these CPUs run the check. */
	for (;;) {
		watchdog_progress();
		cpu_pause();
	}
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
	watchdog_arm(smp.online, watchdog_timeout_ns(opt.watchdog_ms, smp.online), 0);
	smp_run_on_first(smp.online, go_on_or_starve, 0);
	ktap_fail("starve", "the CPUs came back from endless work");
}

const struct suite suite_starve = {
	.name = "starve",
	.summary = "one CPU halts while the others go on: the watchdog reports starvation",
	.groups = SUITE_EXPLICIT_ONLY,
	.run = starve_run,
};
