/* SPDX-License-Identifier: MIT */
/* gdt.c - each CPU's GDT and TSS (gdt.h). */
#include <stdint.h>
#include "gdt.h"
#include "percpu.h"
#include "trap.h"

#define GDT_CODE64   0x00AF9A000000FFFFull  /* present, DPL 0, code, L = 1 */
#define GDT_DATA     0x00CF92000000FFFFull  /* present, DPL 0, data, writable */
#define TSS_TYPE_AVAILABLE 0x89             /* present, 64-bit TSS (available) */

_Static_assert(SEL_TSS / 8 + 2 == GDT_ENTRIES, "the TSS descriptor takes the last two slots");

struct __attribute__((packed)) gdt_ptr {
	uint16_t limit;
	uint64_t base;
};

static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		  ((uint64_t)TSS_TYPE_AVAILABLE << 40) |
		  ((uint64_t)((limit >> 16) & 0xf) << 48) |
		  (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

void gdt_load(struct percpu *p)
{
	p->gdt[0] = 0;
	p->gdt[SEL_KERNEL_CS / 8] = GDT_CODE64;
	p->gdt[SEL_KERNEL_DS / 8] = GDT_DATA;
	p->tss.ist[IST_NMI - 1] = (uint64_t)(uintptr_t)(p->ist_nmi + sizeof(p->ist_nmi));
	p->tss.ist[IST_FAULT - 1] = (uint64_t)(uintptr_t)(p->ist_fault + sizeof(p->ist_fault));
	p->tss.iomap_base = sizeof(p->tss);
	set_tss_descriptor(&p->gdt[SEL_TSS / 8], (uint64_t)(uintptr_t)&p->tss, sizeof(p->tss) - 1);

	struct gdt_ptr gp = { sizeof(p->gdt) - 1, (uint64_t)(uintptr_t)p->gdt };
	/* Reload CS with a far return; GS is not reloaded, so the GS base
	 * (per-CPU pointer) survives. */
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w2, %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		"ltr %w3\n\t"
		: : "m"(gp), "i"(SEL_KERNEL_CS), "i"(SEL_KERNEL_DS), "r"((uint16_t)SEL_TSS)
		: "rax", "memory");
}
