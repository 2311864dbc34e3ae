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
	/* Zeroed but for the console line (line_len says how much is in use)
	 * and the IST stacks: a byte loop over all of it took ~2 MB at 255 CPUs. */
	for (unsigned int c = 1; c < nr; c++) {
		char *p = (char *)&percpu_aps[c - 1];
		memset(p, 0, offsetof(struct percpu, line));
		memset(p + offsetof(struct percpu, gdt), 0,
		       offsetof(struct percpu, ist_nmi) - offsetof(struct percpu, gdt));
	}
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
