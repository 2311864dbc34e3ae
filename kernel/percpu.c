/* SPDX-License-Identifier: MIT */
/* percpu.c - the per-CPU areas and each CPU's GS base (percpu.h). */
#include "lib/string.h"
#include "lib/x86.h"
#include "percpu.h"

struct percpu percpu_bsp;
struct percpu *percpu_aps;
unsigned int percpu_nr = 1;
struct percpu percpu_absent;

void percpu_place(void *base, unsigned int nr)
{
	percpu_aps = base;
	/* The IST stacks at the end of each area need no zeroing. */
	for (unsigned int c = 1; c < nr; c++)
		memset(&percpu_aps[c - 1], 0, offsetof(struct percpu, ist_nmi));
	/* RELEASE: the zeroed areas are in memory before percpu_of() hands them out. */
	__atomic_store_n(&percpu_nr, nr, __ATOMIC_RELEASE);
}

/* Point this CPU's GS base at its per-CPU area. */
void percpu_install(unsigned int cpu, uint32_t apic_id)
{
	struct percpu *p = percpu_of(cpu);
	p->self = p;
	p->cpu = cpu;
	p->apic_id = apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)p);
}
