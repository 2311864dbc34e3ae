/* SPDX-License-Identifier: MIT */
/* percpu.c - the per-CPU areas and each CPU's GS base (percpu.h). */
#include "lib/x86.h"
#include "percpu.h"

struct percpu percpu_area[MAX_CPUS];

/* Point this CPU's GS base at its per-CPU area. */
void percpu_install(unsigned int cpu, uint32_t apic_id)
{
	struct percpu *p = &percpu_area[cpu];
	p->self = p;
	p->cpu = cpu;
	p->apic_id = apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)p);
}
