/* SPDX-License-Identifier: MIT */
/* torture.h - lock selection for the torture suite (lock= option). */
#ifndef PVSPIN_TORTURE_H
#define PVSPIN_TORTURE_H

/* Interrupt contexts that may take a lock in the torture (irq_lock=): level
 * 1 is the timer tick, levels 2-4 the nesting IPIs (kernel/trap.h). With
 * thread context that is five: one more than qspinlock's nodes. */
#define IRQ_LEVELS_MAX 4

/* Names lock= accepts: every lock of lock_types[], "broken", "all". */
const char *torture_lock_name(unsigned int i);
/* Fill TORTURE_ALL_LOCKS ("tas,ttas,...") from lock_types[]. */
void torture_expand_all(void);
extern char torture_all_locks[];
/* The lock= list with "all" expanded, and how many locks it names (the
 * torture and bench suites give one result per lock). */
const char *torture_lock_selection(void);
unsigned int torture_nr_locks(void);
#define TORTURE_ALL_LOCKS torture_all_locks

#endif
