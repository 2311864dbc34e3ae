/* SPDX-License-Identifier: MIT */
/* fault.c - the fault suite: touch an unmapped address on the last CPU, to prove that an
 * exception is reported (vector, registers, CPU) and ends the run with
 * EXIT_GUEST_CRASH instead of a silent triple fault. */
#include "kernel/ktap.h"
#include "kernel/smp.h"
#include "suite.h"

/* Canonical, but above the identity map of the low 4 GiB. */
#define UNMAPPED_ADDRESS 0x0000100000000000ul

static void touch_unmapped(void *arg)
{
	(void)arg;
	volatile uint64_t *p = (volatile uint64_t *)UNMAPPED_ADDRESS;
	*p = 0xdeadbeef;
}

static void fault_run(void)
{
	ktap_diag("fault: writing to 0x%lx on CPU %u; a #PF report must follow",
		  UNMAPPED_ADDRESS, smp.online - 1);
	suite_on_last_cpu(touch_unmapped);
	ktap_fail("fault", "the write to an unmapped address did not fault");
}

const struct suite suite_fault = {
	.name = "fault",
	.summary = "deliberate page fault: checks the crash report and status",
	.groups = SUITE_EXPLICIT_ONLY,
	.run = fault_run,
};
