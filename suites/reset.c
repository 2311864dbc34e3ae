/* SPDX-License-Identifier: MIT */
/* reset.c - the reset suite: a triple fault on the last CPU, to prove that a machine reset never
 * passes silently: with -no-reboot QEMU stops without a verdict (status 3 from run-qemu.sh); let
 * to restart (run-qemu.sh --reset-log, the nested bed), the restarted pvspin ends the first
 * run's KTAP document and exits with status 3 (kernel/reset_guard.h). */
#include <stdint.h>
#include "kernel/ktap.h"
#include "kernel/smp.h"
#include "suite.h"

/* An IDT of limit 0: int3 cannot be delivered (#GP), nor can the #GP, nor
 * the double fault: the CPU shuts down, which resets the machine. */
static void triple_fault(void *arg)
{
	(void)arg;
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} no_idt = { 0, 0 };
	__asm__ volatile("cli; lidt %0; int3" : : "m"(no_idt) : "memory");
}

static void reset_run(void)
{
	ktap_diag("reset: triple fault on CPU %u; the machine resets", smp.online - 1);
	suite_on_last_cpu(triple_fault);
	ktap_fail("reset", "the triple fault did not reset the machine");
}

const struct suite suite_reset = {
	.name = "reset",
	.summary = "deliberate triple fault: a machine reset is reported, never silent",
	.groups = SUITE_EXPLICIT_ONLY,
	.run = reset_run,
};
