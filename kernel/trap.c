/* SPDX-License-Identifier: MIT */
/* trap.c - the IDT, exception reports and interrupt dispatch (trap.h). */
#include <stdint.h>
#include "lib/fmt.h"
#include "lib/x86.h"
#include "lock/platform.h"
#include "apic.h"
#include "backtrace.h"
#include "console.h"
#include "exit.h"
#include "ktap.h"
#include "percpu.h"
#include "trap.h"

#define IDT_ENTRIES   256
#define GATE_INTR     0x8E   /* present, DPL 0, 64-bit interrupt gate */
#define KERNEL_CS     0x08

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "isr.asm pushes 15 GPRs + 2 + 5 CPU words");

struct __attribute__((packed)) descriptor_ptr {
	uint16_t limit;
	uint64_t base;
};

static struct idt_gate idt[IDT_ENTRIES] __attribute__((aligned(16)));
static irq_handler_t handlers[IDT_ENTRIES];
static nmi_handler_t nmi_handler;
extern const uint64_t isr_stub_table[IDT_ENTRIES];

static const char *const exception_names[NR_EXCEPTIONS] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 floating point",
	"#AC alignment check", "#MC machine check", "#XM SIMD floating point",
	"#VE virtualization", "#CP control protection", "reserved 22",
	"reserved 23", "reserved 24", "reserved 25", "reserved 26",
	"reserved 27", "#HV hypervisor injection", "#VC VMM communication",
	"#SX security", "reserved 31",
};

static void set_gate(unsigned int v, uint64_t addr, uint8_t ist)
{
	idt[v] = (struct idt_gate){
		.offset_lo = addr & 0xffff,
		.selector = KERNEL_CS,
		.ist = ist,
		.type_attr = GATE_INTR,
		.offset_mid = (addr >> 16) & 0xffff,
		.offset_hi = addr >> 32,
	};
}

void idt_init(void)
{
	for (unsigned int v = 0; v < IDT_ENTRIES; v++)
		set_gate(v, isr_stub_table[v], 0);
	set_gate(VEC_NMI, isr_stub_table[VEC_NMI], IST_NMI);
	set_gate(VEC_DF, isr_stub_table[VEC_DF], IST_FAULT);
	set_gate(VEC_MC, isr_stub_table[VEC_MC], IST_FAULT);
}

void idt_load(void)
{
	struct descriptor_ptr p = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

void trap_set_handler(unsigned int vector, irq_handler_t h)
{
	handlers[vector] = h;
}

nmi_handler_t trap_set_nmi_handler(nmi_handler_t h)
{
	nmi_handler_t old = nmi_handler;
	nmi_handler = h;
	return old;
}

static void __attribute__((noreturn)) report_exception(struct trap_frame *f)
{
	/* The console lock may be held by this CPU (interrupted) or a CPU
	 * that will never run again: a crash report must get out regardless. */
	console_force_unlock();
	this_cpu()->line_len = 0;
	const char *name = f->vector < NR_EXCEPTIONS ? exception_names[f->vector] : "unexpected interrupt";
	kprintf("# CRASH: %s (vector %lu) on CPU %u (APIC ID %u)\n", name,
		f->vector, cpu_id(), this_cpu()->apic_id);
	const char *bug = __atomic_load_n(&lock_bug_reason, __ATOMIC_RELAXED);
	if (bug && f->vector == VEC_UD)
		kprintf("# CRASH: lock library: %s\n", bug);
	kprintf("# error=0x%lx rip=%016lx rsp=%016lx rflags=%016lx cs=%lx ss=%lx cr2=%016lx\n",
		f->error, f->rip, f->rsp, f->rflags, f->cs, f->ss, read_cr2());
	kprintf("# rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	kprintf("# rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	kprintf("# r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
	kprintf("# r13=%016lx r14=%016lx r15=%016lx cr3=%016lx\n", f->r13, f->r14, f->r15, read_cr3());
	backtrace_print(f->rip, f->rsp, f->rbp);
	char reason[128];
	snprintf(reason, sizeof(reason), "crash: %s on CPU %u at rip 0x%lx", name, cpu_id(), f->rip);
	ktap_abort_current(reason, "guest crashed");
	guest_exit(EXIT_GUEST_CRASH);
}

void trap_dispatch(struct trap_frame *f)
{
	struct percpu *p = this_cpu();
	p->irq_depth++;
	if (f->vector == VEC_NMI) {
		p->nmi_depth++;         /* PV waits check it (pv_wait_in_nmi()) */
		if (guest_exiting()) {
			/* Stopped by the exiting CPU; on that CPU itself (a
			 * watchdog NMI mid-exit) return, so the verdict leaves. */
			if (!guest_exiting_here()) {
				p->stop_rip = f->rip;
				p->stop_rbp = f->rbp;
				p->stop_irq_depth = p->irq_depth - 1;
				p->stopped = 1;
				guest_exit_park();      /* RELEASE: the above first */
			}
		} else if (!(nmi_handler && nmi_handler(f))) {
			report_exception(f);
		}
		p->nmi_depth--;
	} else if (f->vector < NR_EXCEPTIONS) {
		report_exception(f);
	} else if (f->vector == VEC_SPURIOUS) {
		/* Spurious LAPIC interrupts get no EOI (SDM 10.9). */
	} else {
		if (handlers[f->vector])
			handlers[f->vector](f);
		apic_eoi();
	}
	p->irq_depth--;
}
