/* SPDX-License-Identifier: MIT */
/* hang.c - the hang suite: every CPU halts with interrupts off, as pv=kvm waiters whose kicks
 * were all lost would. No tick can run anywhere; the watchdog's NMI must
 * still report the lockup and end the run with EXIT_LOCKUP. With verbose=2 every CPU but
 * the first prints without pause instead (interrupts off too): the report must still come
 * out whole, in order, followed by its verdict (kernel/exit.c stops them first). */
#include "kernel/console.h"
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/watchdog.h"
#include "lib/x86.h"
#include "suite.h"

#define NS_PER_MS 1000000ul

#define NOISY_VERBOSE 2

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
	cpu_wd_set_state(CPU_HALTED, time_ns());
	for (;;)
		hlt();
}

static void hang_run(void)
{
	ktap_diag("hang: all %u CPUs halt with interrupts off; the NMI watchdog must report "
		  "within %lu ms", smp.online, watchdog_timeout_ns(opt.watchdog_ms, smp.online) / NS_PER_MS);
	watchdog_arm(smp.online, watchdog_timeout_ns(opt.watchdog_ms, smp.online), 0);
	smp_run_on_first(smp.online, halt_with_irqs_off, 0);
	ktap_fail("hang", "the CPUs came back from a halt with interrupts off");
}

const struct suite suite_hang = {
	.name = "hang",
	.summary = "every CPU halts with interrupts off: checks the NMI watchdog's report and status",
	.groups = SUITE_EXPLICIT_ONLY,
	.run = hang_run,
};
