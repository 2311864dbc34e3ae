/* SPDX-License-Identifier: MIT */
/* cpu_list.c - the CPUs the firmware describes, in logical order (cpu_list.h). */
#include "cpu_list.h"

struct cpu_list cpu_list;

/* The boot CPU always gets index 0, whatever its place in the table. */
void cpu_list_add(uint32_t apic_id, uint32_t boot_apic_id)
{
	if (cpu_list_find(apic_id) >= 0)
		return;
	if (cpu_list.nr == 0) {
		cpu_list.apic_id[0] = boot_apic_id;
		cpu_list.nr = 1;
	}
	if (apic_id == boot_apic_id)
		return;
	if (cpu_list.nr == cpu_list_limit()) {
		cpu_list.nr_ignored++;
		return;
	}
	cpu_list.apic_id[cpu_list.nr++] = apic_id;
}

unsigned int cpu_list_limit(void)
{
	return cpu_list.limit ? cpu_list.limit : MAX_CPUS;
}

int cpu_list_find(uint32_t apic_id)
{
	for (unsigned int i = 0; i < cpu_list.nr; i++)
		if (cpu_list.apic_id[i] == apic_id)
			return (int)i;
	return -1;
}
