/* SPDX-License-Identifier: MIT */
/* gdt.h - each CPU's own GDT and TSS (the TSS holds the IST stacks for NMI, #DF, #MC). */
#ifndef PVSPIN_GDT_H
#define PVSPIN_GDT_H

#define SEL_KERNEL_CS 0x08
#define SEL_KERNEL_DS 0x10
#define SEL_TSS       0x18

struct percpu;
void gdt_load(struct percpu *p);

#endif
