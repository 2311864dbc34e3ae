/* SPDX-License-Identifier: MIT */
/* exit.c - ending the run: isa-debug-exit and the EXIT line (exit.h). */
#include <stdint.h>
#include "lib/x86.h"
#include "apic.h"
#include "console.h"
#include "exit.h"
#include "percpu.h"
#include "smp.h"

#define ISA_DEBUG_EXIT_PORT 0xf4

#define NOT_EXITING 0u                  /* else: the exiting CPU's id + 1 */

static uint32_t exiting = NOT_EXITING;

int guest_exiting(void)
{
	return __atomic_load_n(&exiting, __ATOMIC_ACQUIRE) != NOT_EXITING;
}

bool guest_exiting_here(void)
{
	return __atomic_load_n(&exiting, __ATOMIC_ACQUIRE) == cpu_id() + 1;
}

void guest_exit(enum exit_status status)
{
	cli();
	/* ACQ_REL: exactly one CPU wins; the others see exiting != 0. */
	if (__atomic_exchange_n(&exiting, cpu_id() + 1, __ATOMIC_ACQ_REL) != NOT_EXITING)
		halt_forever();
	/* Stop only the CPUs we brought up: a CPU the firmware left parked
	 * (e.g. one missing from its tables) would run the firmware's NMI
	 * handler, which may be gone, and a triple fault resets the machine. */
	if (apic_ready())
		for (unsigned int c = 0; c < MAX_CPUS; c++)
			if (c != cpu_id() && percpu_of(c)->online)
				apic_send_nmi(percpu_of(c)->apic_id);
	kprintf("EXIT: STATUS=%d\n", (int)status);
	outl(ISA_DEBUG_EXIT_PORT, (uint32_t)status);
	halt_forever();
}
