/* IDT, exception reporting and interrupt handler registration. */
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
#define VEC_DF  8
#define VEC_PF  14
#define VEC_MC  18
#define NR_EXCEPTIONS 32

/* Interrupt vectors used by pvspin. The LAPIC delivers a vector only when
 * its priority class (vector >> 4) is above that of every vector in
 * service, so the kick must be in a higher class than the timer: a waiter
 * that halts inside the timer handler (a lock taken in IRQ context) must
 * still receive its kick. */
#define VEC_TIMER     0xE0    /* LAPIC timer (watchdog tick, IRQ-context locks) */
#define VEC_WAKE      0xF0    /* IPI: wake an idle CPU to run work */
#define VEC_KICK      0xF2    /* IPI: PV lock kick (ipi backend) */
#define VEC_CLASS(v)  ((v) >> 4)
_Static_assert(VEC_CLASS(VEC_KICK) > VEC_CLASS(VEC_TIMER),
	       "a kick must reach a CPU waiting inside the timer handler");
#define VEC_SPURIOUS  0xFF    /* LAPIC spurious interrupt vector */

/* IST slots in each CPU's TSS. */
#define IST_NMI   1
#define IST_FAULT 2

typedef void (*irq_handler_t)(struct trap_frame *f);

void idt_init(void);
void idt_load(void);
void trap_set_handler(unsigned int vector, irq_handler_t h);
/* Called for an NMI that is not an exit stop; returns 1 if it handled it. */
void trap_set_nmi_handler(int (*h)(struct trap_frame *f));
void trap_dispatch(struct trap_frame *f);

#endif
