/* SPDX-License-Identifier: MIT */
/* trap.h - IDT, exception reporting and interrupt handler registration. */
#ifndef PVSPIN_TRAP_H
#define PVSPIN_TRAP_H

#include <stdint.h>

/* Laid out by kernel/isr.asm: general registers, then what the stub and the
 * CPU pushed. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Exception vectors (Intel SDM Vol. 3, Table 6-1). */
#define VEC_DE  0
#define VEC_NMI 2
#define VEC_UD  6
#define VEC_DF  8
#define VEC_PF  14
#define VEC_MC  18
#define NR_EXCEPTIONS 32

/* Interrupt vectors used by pvspin. The LAPIC delivers a vector only when
 * its priority class (vector >> 4) is above that of every vector in
 * service. Locks are taken in the timer handler and in the nesting IPIs'
 * handlers, one class above the other, so each can interrupt the one below
 * while it waits (four interrupt levels above thread context: qspinlock
 * node indexes 1-3 and the no-node fallback are all reachable). The kick is
 * in a class above all of them: a waiter halted in any of those handlers
 * must still receive its kick. */
#define VEC_TIMER     0xB0    /* LAPIC timer (watchdog tick, IRQ-context locks level 1) */
#define VEC_NEST2     0xC0    /* IPI: IRQ-context lock, level 2 */
#define VEC_NEST3     0xD0    /* IPI: IRQ-context lock, level 3 */
#define VEC_NEST4     0xE0    /* IPI: IRQ-context lock, level 4 */
#define VEC_WAKE      0xF0    /* IPI: wake an idle CPU to run work */
#define VEC_KICK      0xF2    /* IPI: PV lock kick (ipi backend) */
#define VEC_PROBE     0xF4    /* IPI: test=pvwait's probe, taken or not inside a wait */
#define VEC_CLASS(v)  ((v) >> 4)
_Static_assert(VEC_CLASS(VEC_NEST2) > VEC_CLASS(VEC_TIMER) &&
	       VEC_CLASS(VEC_NEST3) > VEC_CLASS(VEC_NEST2) &&
	       VEC_CLASS(VEC_NEST4) > VEC_CLASS(VEC_NEST3),
	       "each lock-taking interrupt level must be able to interrupt the one below");
_Static_assert(VEC_CLASS(VEC_KICK) > VEC_CLASS(VEC_NEST4),
	       "a kick must reach a CPU waiting inside any lock-taking handler");
#define VEC_SPURIOUS  0xFF    /* LAPIC spurious interrupt vector */

/* IST slots in each CPU's TSS. */
#define IST_NMI   1
#define IST_FAULT 2

typedef void (*irq_handler_t)(struct trap_frame *f);

void idt_init(void);
void idt_load(void);
void trap_set_handler(unsigned int vector, irq_handler_t h);
/* Called for an NMI that is not an exit stop; returns 1 if it handled it.
 * Returns the handler it replaces (a test may install its own and chain). */
typedef int (*nmi_handler_t)(struct trap_frame *f);
nmi_handler_t trap_set_nmi_handler(nmi_handler_t h);
void trap_dispatch(struct trap_frame *f);

#endif
