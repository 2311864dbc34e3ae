/* SPDX-License-Identifier: MIT */
/* pv_backend.c - pvqspinlock's wait/kick backend: KVM hypercalls or IPIs (pv_backend.h). */
#include "hypercall/hypervisor.h"
#include "hypercall/kvm_hypercall.h"
#include "hypercall/steal_time.h"
#include "lib/fmt.h"
#include "lib/x86.h"
#include "lock/pv_ops.h"
#include "apic.h"
#include "console.h"
#include "options.h"
#include "percpu.h"
#include "pv_backend.h"
#include "time.h"
#include "trap.h"
#include "watchdog.h"

static const char *const choice_names[] = { "auto", "kvm", "ipi", "off" };
static const char *reason = "not chosen yet";

const char *pv_choice_name(unsigned int i)
{
	return i < sizeof(choice_names) / sizeof(choice_names[0]) ? choice_names[i] : 0;
}

static void halt_begin(void)
{
	this_cpu()->halts++;
	cpu_wd_set_state(CPU_HALTED, time_ns());
}

static void halt_end(void)
{
	cpu_wd_set_state(CPU_RUNNING, time_ns());
}

static void note_kick(unsigned int cpu)
{
	struct percpu *p = this_cpu();
	p->kicks_sent++;
	p->last_kick_target = cpu;
	p->last_kick_sent_ns = time_ns();
}

/* In an NMI a wait returns at once and the lock spins (Linux's kvm_wait
 * does the same): the NMI may have interrupted a wait of this CPU, whose
 * single kick a halt here could swallow, and halting must not enable
 * interrupts inside the NMI. */
static bool wait_in_nmi(void)
{
	struct percpu *p = this_cpu();
	if (!p->nmi_depth)
		return false;
	p->nmi_waits++;
	return true;
}

/* ipi: halt once while *ptr == val. Interrupts are off from the check to
 * the HLT, so a kick sent after the check is not lost: its IPI stays
 * pending and ends "sti; hlt" (atomic thanks to STI's shadow). Any other
 * interrupt (the watchdog tick) ends the halt too: a spurious wakeup, which
 * the caller's re-check absorbs. Only an IPI can wake the halt, and it
 * needs IF=1: a caller that had interrupts off (an interrupt handler, an
 * irq-saved section) gets a return at once and spins, so a wait never
 * enables interrupts its caller disabled (docs/pv.md). */
static void ipi_wait(uint8_t *ptr, uint8_t val)
{
	if (wait_in_nmi())
		return;
	if (!irqs_enabled()) {
		this_cpu()->irqoff_waits++;
		return;
	}
	cli();
	if (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val) {
		halt_begin();
		sti_hlt();
		cli();
		halt_end();
	}
	sti();
}

static void ipi_kick(unsigned int cpu)
{
	note_kick(cpu);
	apic_send_ipi(percpu_of(cpu)->apic_id, VEC_KICK);
}

/* Under KVM with PV_SCHED_YIELD and steal time: a wakee whose vCPU the
 * host preempted cannot run its IPI handler; give it our time slice. */
static void ipi_kick_yield(unsigned int cpu)
{
	ipi_kick(cpu);
	if (vcpu_is_preempted(cpu)) {
		struct percpu *p = this_cpu();
		p->sched_yields++;
		p->hypercalls++;
		p->wd_hypercall = KVM_HC_SCHED_YIELD;
		cpu_wd_set_state(CPU_IN_HYPERCALL, time_ns());
		kvm_sched_yield(percpu_of(cpu)->apic_id);
		cpu_wd_set_state(CPU_RUNNING, time_ns());
		p->wd_hypercall = 0;
	}
}

static void kick_handler(struct trap_frame *f)
{
	(void)f;                        /* ending the HLT was the point */
	struct percpu *p = this_cpu();
	p->kicks_received++;
	p->last_kick_received_ns = time_ns();
}

/* kvm: halt until *ptr != val, with the caller's interrupt state, like
 * Linux's kvm_wait: "sti; hlt" if it had interrupts on (the halted CPU
 * still answers IPIs: a holder may be waiting for that answer), a plain HLT
 * if they were off (never enable what the caller disabled). The check and
 * the HLT run with interrupts off; KVM_HC_KICK_CPU wakes a HLT even with
 * interrupts off and is sticky: a kick sent after the check makes the HLT
 * return at once. Unlike Linux this loops: whatever else ends the HLT (an
 * interrupt, the watchdog's NMI, an injected stray kick) finds *ptr
 * unchanged and halts again. Every kick pvqspinlock sends comes after the
 * waker changed the waited-on byte (lock/pvqspinlock_hooks.h), so the loop
 * loses none, even when a wait in an interrupt handler swallows the kick of
 * the wait it interrupted; a lost kick hangs this CPU for the watchdog to
 * report, as it should. */
static void kvm_wait(uint8_t *ptr, uint8_t val)
{
	if (wait_in_nmi())
		return;
	uint64_t flags = irq_save();
	if (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val) {
		halt_begin();
		do {
			if (flags & RFLAGS_IF) {
				sti_hlt();
				cli();
			} else {
				hlt();
			}
		} while (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val);
		halt_end();
	}
	irq_restore(flags);
}

static void kvm_kick(unsigned int cpu)
{
	struct percpu *p = this_cpu();
	note_kick(cpu);
	p->hypercalls++;
	p->wd_hypercall = KVM_HC_KICK_CPU;
	cpu_wd_set_state(CPU_IN_HYPERCALL, time_ns());
	kvm_kick_cpu(percpu_of(cpu)->apic_id);
	cpu_wd_set_state(CPU_RUNNING, time_ns());
	p->wd_hypercall = 0;
}

static const struct pv_lock_ops ipi_ops = { "ipi", ipi_wait, ipi_kick };
static const struct pv_lock_ops ipi_yield_ops = { "ipi", ipi_wait, ipi_kick_yield };
static const struct pv_lock_ops kvm_ops = { "kvm", kvm_wait, kvm_kick };

static enum pv_choice resolve(enum pv_choice c)
{
	if (c != PV_AUTO) {
		reason = "chosen with pv=";
		return c;
	}
	bool unhalt = kvm_has_feature(KVM_FEATURE_PV_UNHALT);
	bool realtime = hv.kvm && (hv.kvm_hints & (1u << KVM_HINTS_REALTIME));
	if (unhalt && !realtime) {
		reason = "KVM advertises PV_UNHALT and no REALTIME hint";
		return PV_KVM;
	}
	if (realtime) {
		reason = "KVM_HINTS_REALTIME: vCPUs are never preempted, spinning is best";
		return PV_OFF;
	}
	if (hv.present) {
		reason = "a hypervisor without PV_UNHALT: halt and wake with IPIs";
		return PV_IPI;
	}
	reason = "no hypervisor";
	return PV_OFF;
}

void pv_backend_check(enum pv_choice choice)
{
	if (choice != PV_KVM || kvm_has_feature(KVM_FEATURE_PV_UNHALT))
		return;
	char what[160];
	if (!hv.present) {
		snprintf(what, sizeof(what), "no hypervisor (CPUID 1 ECX bit 31 clear), "
			 "so no KVM PV_UNHALT to wake a halted CPU");
	} else {
		/* Where KVM's leaves are (hv.base) or else the first base. */
		struct cpuid_regs f = cpuid(hv.base + 1, 0);
		snprintf(what, sizeof(what), "CPUID 0x%x signature \"%s\", 0x%x EAX=0x%08x: "
			 "no KVM PV_UNHALT (bit %u) to wake a halted CPU",
			 hv.base, hv.kvm ? "KVMKVMKVM" : hv.signature, hv.base + 1,
			 f.eax, KVM_FEATURE_PV_UNHALT);
	}
	options_reject("pv=kvm", what, "pv=auto|ipi|off on this machine");
}

static bool ipi_can_yield(void)
{
	return kvm_has_feature(KVM_FEATURE_PV_SCHED_YIELD) && steal_time_available();
}

void pv_backend_init(enum pv_choice choice)
{
	trap_set_handler(VEC_KICK, kick_handler);
	switch (resolve(choice)) {
	case PV_KVM:
		pv_lock_set_ops(&kvm_ops);
		break;
	case PV_IPI:
		pv_lock_set_ops(ipi_can_yield() ? &ipi_yield_ops : &ipi_ops);
		break;
	default:
		pv_lock_set_ops(0);
		break;
	}
	const struct pv_lock_ops *ops = pv_lock_get_ops();
	kprintf("# pv: backend %s (%s)%s%s%s\n", pv_backend_name(), reason,
		ops == &kvm_ops ? ", kick with " : "",
		ops == &kvm_ops ? kvm_hypercall_insn() : "",
		ops == &ipi_yield_ops ? ", KVM_HC_SCHED_YIELD to a preempted wakee" : "");
}

const char *pv_backend_name(void)
{
	const struct pv_lock_ops *ops = pv_lock_get_ops();
	return ops == &pv_lock_ops_spin ? "off" : ops->name;
}

const char *pv_backend_reason(void) { return reason; }
