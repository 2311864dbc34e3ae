/* SPDX-License-Identifier: MIT */
/* percpu.h - per-CPU data. Each CPU's GS base points at its own struct percpu, so
 * this_cpu() and cpu_id() are one GS-relative load. */
#ifndef PVSPIN_PERCPU_H
#define PVSPIN_PERCPU_H

#include <stddef.h>
#include <stdint.h>
#include "lib/layout.h"
#include "lib/x86.h"

#define CACHE_LINE 64
#define CONSOLE_LINE_MAX 8192   /* longest line sent whole: JSON results */

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* Null, kernel code, kernel data, TSS (two slots). */
#define GDT_ENTRIES 5

struct percpu {
	struct percpu *self;            /* GS:0 */
	uint32_t cpu;                   /* GS:8, dense index, 0 = BSP */
	uint32_t apic_id;
	uint64_t stack_top;
	uint32_t online;
	uint32_t irq_depth;             /* > 0 inside an interrupt handler */
	uint32_t nmi_depth;             /* > 0 inside an NMI handler: PV waits spin */

	/* Watched by the lockup watchdog (kernel/watchdog.c). */
	uint64_t wd_progress;           /* bumped by a CPU doing watched work */
	uint32_t wd_state;              /* enum cpu_wd_state */
	uint32_t wd_active;             /* between watchdog_cpu_start() and _stop() */
	uint32_t wd_hypercall;          /* hypercall number in flight, 0: none */
	uint64_t wd_state_since_ns;
	uint64_t kicks_sent, kicks_received, halts;
	uint64_t last_kick_sent_ns, last_kick_received_ns;
	uint32_t last_kick_target;
	const char *wd_waiting_on;      /* lock this CPU is acquiring, or NULL */
	uint64_t wd_wait_since_ns;
	uint64_t sched_yields;          /* KVM_HC_SCHED_YIELD calls */
	uint64_t hypercalls;            /* every hypercall made (KVM or Hyper-V) */
	uint64_t hv_send_ipi;           /* HvCallSendSyntheticClusterIpi calls */
	uint64_t hv_long_spin_wait;     /* HvCallNotifyLongSpinWait calls */
	uint64_t hv_hypercall_errors;   /* Hyper-V hypercalls whose status was not 0 */
	uint32_t hv_last_error;         /* call code << 16 | status of the last one */
	uint64_t xen_polls;             /* SCHEDOP_poll calls */
	uint64_t xen_sends;             /* EVTCHNOP_send calls */
	uint64_t xen_hypercall_errors;  /* Xen hypercalls that returned an error */
	long xen_last_error;            /* the last one's (negative) result */
	uint64_t nmi_waits;             /* PV waits that returned at once: in an NMI */
	uint64_t irqoff_waits;          /* ipi waits that returned at once: IF was 0 */

	/* Where the exit stop's NMI found this CPU (kernel/trap.c), for the
	 * lockup report: written before the CPU counts itself parked. */
	uint64_t stop_rip, stop_rbp;
	uint32_t stop_irq_depth;        /* irq_depth before that NMI */
	uint32_t stopped;

	/* Console: a line is built here and sent whole under the console lock. */
	uint32_t line_len;
	char line[CONSOLE_LINE_MAX];

	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss64 tss __attribute__((aligned(16)));
	uint8_t ist_nmi[IST_STACK_SIZE] __attribute__((aligned(16)));
	uint8_t ist_fault[IST_STACK_SIZE] __attribute__((aligned(16)));
} __attribute__((aligned(CACHE_LINE)));

_Static_assert(offsetof(struct percpu, self) == 0, "this_cpu() reads GS:0");
_Static_assert(offsetof(struct percpu, cpu) == PERCPU_CPU_OFFSET, "cpu_id() reads GS:8");

/* CPU 0's area is in .bss, from the first instruction of kmain(). The other
 * CPUs' areas are placed in RAM after the image once their number is known
 * (percpu_place): in .bss, MAX_CPUS of them would make the image MBs that
 * QEMU copies in and the guest zeroes at every boot. */
extern struct percpu percpu_bsp;
extern struct percpu *percpu_aps;       /* CPUs 1..percpu_nr-1 */
extern unsigned int percpu_nr;          /* areas that exist: 1 until percpu_place() */
extern struct percpu percpu_absent;     /* all zero: "not online", for CPUs beyond */

/* A CPU's interrupt depth as its own code saw it: a CPU parked by the exit
 * stop is inside that NMI as well, which says nothing about it. */
static inline uint32_t percpu_irq_depth(const struct percpu *p)
{
	return p->stopped ? p->stop_irq_depth : p->irq_depth;
}

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

static inline unsigned int cpu_id(void) { return gs_load_u32(PERCPU_CPU_OFFSET); }

static inline struct percpu *percpu_of(unsigned int cpu)
{
	if (cpu == 0)
		return &percpu_bsp;
	return cpu < percpu_nr ? &percpu_aps[cpu - 1] : &percpu_absent;
}

/* Gives CPUs 1..nr-1 their areas at `base`, zeroed but for buffers and stacks. */
void percpu_place(void *base, unsigned int nr);
/* Bytes percpu_place() uses for nr CPUs. */
static inline uint64_t percpu_place_size(unsigned int nr)
{
	return nr > 1 ? (uint64_t)(nr - 1) * sizeof(struct percpu) : 0;
}

void percpu_install(unsigned int cpu, uint32_t apic_id);

#endif
