/* SPDX-License-Identifier: MIT */
/* cpu_list.h - the CPUs the firmware describes (MADT or MP table), in logical order:
 * index 0 is the boot CPU, the rest in firmware order. */
#ifndef PVSPIN_CPU_LIST_H
#define PVSPIN_CPU_LIST_H

#include <stdint.h>
#include "lib/layout.h"

struct cpu_list {
	unsigned int nr;               /* CPUs we will run on */
	unsigned int limit;            /* at most this many (max_cpus=); 0: MAX_CPUS */
	unsigned int nr_ignored;       /* described, but above the limit: never started */
	uint32_t apic_id[MAX_CPUS];
	const char *source;            /* "madt" or "mptable" */
};

extern struct cpu_list cpu_list;

void cpu_list_add(uint32_t apic_id, uint32_t boot_apic_id);
/* The most CPUs the list takes: limit, or MAX_CPUS when it is 0. */
unsigned int cpu_list_limit(void);
/* Logical CPU index for an APIC ID, or -1. */
int cpu_list_find(uint32_t apic_id);

#endif
