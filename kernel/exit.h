/* SPDX-License-Identifier: MIT */
/* exit.h - ending a run: the verdict leaves as an "EXIT: STATUS=n" line on the
 * console and through isa-debug-exit (port 0xf4, where QEMU exits with status
 * (v << 1) | 1); where no such device answers, the guest then powers off through
 * ACPI, else resets through the keyboard controller, else triple-faults
 * (docs/boot.md). */
#ifndef PVSPIN_EXIT_H
#define PVSPIN_EXIT_H

#include <stdbool.h>

enum exit_status {
	EXIT_PASS = 0,
	EXIT_TEST_FAILURE = 1,
	EXIT_BAD_INPUT = 2,
	EXIT_GUEST_CRASH = 3,
	EXIT_LOCKUP = 4,
};

/* First caller wins; other CPUs are stopped with an NMI (if the APIC is up)
 * and any later caller just halts. */
void __attribute__((noreturn)) guest_exit(enum exit_status status);
/* The first half of guest_exit, for a report that must come out whole
 * before the verdict (the watchdog's): the first caller stops every other
 * CPU with an NMI, waits (bounded) until they have parked and takes the
 * console; a later caller on another CPU halts. guest_exit after it only
 * prints the verdict and leaves. */
void guest_exit_begin(void);
/* In the NMI handler of a CPU that guest_exit_begin stopped: never returns. */
void __attribute__((noreturn)) guest_exit_park(void);
/* True once some CPU has started to exit: NMI and IPI handlers halt. */
int guest_exiting(void);
/* True on the CPU that is exiting: an NMI arriving there (the watchdog's)
 * must return, or the verdict would never leave. */
bool guest_exiting_here(void);

#endif
