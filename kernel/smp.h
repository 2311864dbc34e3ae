/* SPDX-License-Identifier: MIT */
/* smp.h - bringing the APs online (INIT-SIPI-SIPI through the real-mode trampoline)
 * and running work on them. */
#ifndef PVSPIN_SMP_H
#define PVSPIN_SMP_H

#include <stdbool.h>
#include <stdint.h>

struct smp_info {
	unsigned int expected;          /* CPUs in the firmware tables */
	unsigned int online;            /* CPUs that reached C code */
	uint64_t all_online_tsc;        /* TSC when the last one reported */
	uint64_t bringup_ns;            /* BSP's first instruction to all online */
	uint64_t init_delay_ns;         /* INIT to SIPI wait, when INIT was needed */
	unsigned int sipi_rounds;       /* SIPI batches sent (repeats go to APs not online) */
	unsigned int used_init;         /* INIT to all: firmware-parked APs */
	unsigned int recovered_tries;   /* INIT-SIPI to single lost APs */
	uint64_t wake_resends;          /* work wake IPIs sent again: unanswered for 1 s */
	unsigned int init_race_online;  /* hook: APs online between the check and the INITs */
};

extern struct smp_info smp;

/* hold_init_race: test hook (guest option smp_init_race=1): the INIT batch
 * takes its list of offline APs before the first SIPIs, and its INITs wait
 * until one of them has come online; each AP lingers a moment once online,
 * so the INITs reset APs that are online and the batch must restart them. */
void smp_boot_aps(bool hold_init_race);
/* AP starts at address 0 (a lost SIPI vector), redirected to the trampoline. */
unsigned int smp_parked_at_zero(void);

typedef void (*smp_fn)(void *arg);
/* Run fn(arg) on `cpu` (an AP) and return at once. */
void smp_call(unsigned int cpu, smp_fn fn, void *arg);
/* Wait until `cpu` has finished what smp_call gave it. Work still running
 * limit_ns after the AP took it ends the run as a lockup, for work known to
 * be short; SMP_NO_LIMIT leaves the judging to the work's own watchdog. */
#define SMP_NO_LIMIT 0
void smp_wait(unsigned int cpu, uint64_t limit_ns);
/* Run fn(arg) on CPUs 0..n-1 (the caller, CPU 0, included) and wait for all,
 * each within limit_ns as smp_wait. */
void smp_run_on_first(unsigned int n, smp_fn fn, void *arg, uint64_t limit_ns);

#endif
