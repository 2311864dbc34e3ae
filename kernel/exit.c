/* SPDX-License-Identifier: MIT */
/* exit.c - ending the run: the EXIT line, isa-debug-exit, else Xen's
 * SCHEDOP_shutdown, ACPI power-off, keyboard-controller reset, triple fault
 * (exit.h, docs/boot.md). */
#include <stdint.h>
#include "hypercall/xen.h"
#include "lib/x86.h"
#include "acpi.h"
#include "apic.h"
#include "console.h"
#include "exit.h"
#include "options.h"
#include "percpu.h"
#include "reset_guard.h"
#include "smp.h"
#include "time.h"

#define ISA_DEBUG_EXIT_PORT 0xf4
#define KBC_COMMAND_PORT    0x64
#define KBC_PULSE_RESET     0xfe        /* pulse the CPU reset line */
/* How long each way out gets before the next is tried; uncalibrated (a crash
 * before time_init), a TSC count of about that at 2 GHz. */
#define EXIT_STEP_WAIT_NS   (1000ull * 1000 * 1000)
#define EXIT_STEP_WAIT_TSC  (2000ull * 1000 * 1000)

#define NOT_EXITING 0u                  /* else: the exiting CPU's id + 1 */
/* How long the exiting CPU waits for the others to take its NMI and park;
 * one that never does (stuck in a hypercall) is left running after that. */
#define STOP_WAIT_NS        (2000ull * 1000 * 1000)
#define STOP_WAIT_TSC       (4000ull * 1000 * 1000)

static uint32_t exiting = NOT_EXITING;
static uint32_t parked;                 /* CPUs stopped by the exiting one */
static bool exit_reset_taken;           /* test hook exit_reset: one CPU took it */

int guest_exiting(void)
{
	return __atomic_load_n(&exiting, __ATOMIC_ACQUIRE) != NOT_EXITING;
}

bool guest_exiting_here(void)
{
	return __atomic_load_n(&exiting, __ATOMIC_ACQUIRE) == cpu_id() + 1;
}

/* A deadline about `ns` from now in TSC ticks; `uncalibrated_tsc` when the
 * TSC is not calibrated yet (a crash before time_init). */
static uint64_t deadline_tsc(uint64_t ns, uint64_t uncalibrated_tsc)
{
	uint64_t hz = tsc_hz();
	uint64_t ticks = hz ? ns / 1000 * (hz / 1000000) : uncalibrated_tsc;
	return rdtsc() + ticks;
}

static bool before(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) < 0;
}

static void exit_step_wait(void)
{
	uint64_t end = deadline_tsc(EXIT_STEP_WAIT_NS, EXIT_STEP_WAIT_TSC);
	while (before(end))
		cpu_pause();
}

/* An IDT of limit 0: int3 cannot be delivered (#GP), nor can the #GP, nor
 * the double fault: the CPU shuts down, which resets the machine. */
static void __attribute__((noreturn)) shut_down_cpu(void)
{
	static const struct __attribute__((packed)) { uint16_t limit; uint64_t base; } no_idt = { 0, 0 };
	__asm__ volatile("lidt %0; int3" : : "m"(no_idt) : "memory");
	halt_forever();
}

void guest_exit_park(void)
{
	/* Test hook: one CPU shuts down here, as a vCPU whose hypervisor
	 * fails it while the run exits. Not in the restart that follows. */
	if (opt.exit_reset && !reset_guard_check().seen &&
	    !__atomic_exchange_n(&exit_reset_taken, true, __ATOMIC_RELAXED))
		shut_down_cpu();
	__atomic_fetch_add(&parked, 1, __ATOMIC_RELEASE);
	halt_forever();
}

/* Under Xen the domain's end is Xen's to make: poweroff for a pass, crash
 * for any other status, which Xen's console names (the status itself is
 * on the EXIT line). Returns only if Xen refused. */
static void xen_shut_down(enum exit_status status)
{
	if (!xen_hypercalls())
		return;
	unsigned int reason = status == EXIT_PASS ? SHUTDOWN_poweroff : SHUTDOWN_crash;
	kprintf("# poweroff: SCHEDOP_shutdown (%s)\n", reason == SHUTDOWN_poweroff ? "poweroff" : "crash");
	long rc = xen_shutdown(reason);
	exit_step_wait();
	kprintf("# poweroff: still running after SCHEDOP_shutdown (returned %ld)\n", rc);
}

/* No isa-debug-exit answered: any VMM other than QEMU with that device. */
static void __attribute__((noreturn)) power_off(enum exit_status status)
{
	xen_shut_down(status);
	if (acpi_power_off()) {
		exit_step_wait();
		kprintf("# poweroff: still running after the ACPI power-off\n");
	}
	kprintf("# poweroff: reset through the keyboard controller (port 0x%x, 0x%x)\n",
		KBC_COMMAND_PORT, KBC_PULSE_RESET);
	outb(KBC_COMMAND_PORT, KBC_PULSE_RESET);
	exit_step_wait();
	kprintf("# poweroff: still running: triple fault\n");
	shut_down_cpu();
}

void guest_exit_begin(void)
{
	cli();
	if (guest_exiting_here())
		return;
	/* ACQ_REL: exactly one CPU wins; the others see exiting != 0. */
	if (__atomic_exchange_n(&exiting, cpu_id() + 1, __ATOMIC_ACQ_REL) != NOT_EXITING)
		halt_forever();
	/* Stop only the CPUs we brought up: a CPU the firmware left parked
	 * (e.g. one missing from its tables) would run the firmware's NMI
	 * handler, which may be gone, and a triple fault resets the machine. */
	uint32_t others = 0;
	if (apic_ready())
		for (unsigned int c = 0; c < MAX_CPUS; c++)
			if (c != cpu_id() && percpu_of(c)->online) {
				apic_send_nmi(percpu_of(c)->apic_id);
				others++;
			}
	/* ACQUIRE: what a parked CPU wrote (its console bytes) is done. */
	uint64_t end = deadline_tsc(STOP_WAIT_NS, STOP_WAIT_TSC);
	while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) < others && before(end))
		cpu_pause();
	/* A CPU may have parked holding the console lock, or mid-line. */
	console_take_over();
}

void guest_exit(enum exit_status status)
{
	guest_exit_begin();
	kprintf("EXIT: STATUS=%d\n", (int)status);
	/* Our own way out, not a reset: the next boot is a new run. Not
	 * before: a reset while the other CPUs take the stop NMI comes after
	 * the last result, and the restart must still report it. */
	reset_guard_clear();
	outl(ISA_DEBUG_EXIT_PORT, (uint32_t)status);
	power_off(status);
}
