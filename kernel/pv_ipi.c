/* SPDX-License-Identifier: MIT */
/* pv_ipi.c - the ipi PV backend: "sti; hlt" on a re-checked condition, kick with a fixed IPI (and KVM_HC_SCHED_YIELD to a preempted wakee where KVM offers it). */
#include "hypercall/hyperv_setup.h"
#include "hypercall/hypervisor.h"
#include "hypercall/kvm_hypercall.h"
#include "hypercall/steal_time.h"
#include "lib/fmt.h"
#include "lib/x86.h"
#include "lock/pv_ops.h"
#include "apic.h"
#include "percpu.h"
#include "pv_account.h"
#include "pv_backends.h"
#include "trap.h"

/* ipi: halt once while *ptr == val. Interrupts are off from the check to
 * the HLT, so a kick sent after the check is not lost: its IPI stays
 * pending and ends "sti; hlt" (atomic thanks to STI's shadow). Any other
 * interrupt (the watchdog tick) ends the halt too: a spurious wakeup, which
 * the caller's re-check absorbs. Only an IPI can wake the halt, and it
 * needs IF=1: a caller that had interrupts off (an interrupt handler, an
 * irq-saved section) gets a return at once and spins, so a wait never
 * enables interrupts its caller disabled (docs/pv.md). */
void pv_ipi_wait(uint8_t *ptr, uint8_t val)
{
	if (pv_wait_in_nmi())
		return;
	if (!irqs_enabled()) {
		this_cpu()->irqoff_waits++;
		return;
	}
	cli();
	if (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val) {
		pv_halt_begin();
		sti_hlt();
		cli();
		pv_halt_end();
	}
	sti();
}

void pv_ipi_kick(unsigned int cpu)
{
	pv_note_kick(cpu);
	apic_send_ipi(percpu_of(cpu)->apic_id, VEC_KICK);
}

/* Under KVM with PV_SCHED_YIELD and steal time: a wakee whose vCPU the
 * host preempted cannot run its IPI handler; give it our time slice. */
static void ipi_kick_yield(unsigned int cpu)
{
	pv_ipi_kick(cpu);
	if (vcpu_is_preempted(cpu)) {
		this_cpu()->sched_yields++;
		struct pv_hc_mark m = pv_hypercall_begin(KVM_HC_SCHED_YIELD);
		kvm_sched_yield(percpu_of(cpu)->apic_id);
		pv_hypercall_end(m);
	}
}

static const struct pv_lock_ops ipi_ops = { "ipi", pv_ipi_wait, pv_ipi_kick, 0, 0 };
static const struct pv_lock_ops ipi_yield_ops = { "ipi", pv_ipi_wait, ipi_kick_yield, 0, 0 };

/* Not after a Hyper-V set-up was tried: KVM_HC_SCHED_YIELD would go to
 * Hyper-V. */
static bool ipi_can_yield(void)
{
	return kvm_has_feature(KVM_FEATURE_PV_SCHED_YIELD) && steal_time_available() &&
	       !hyperv_setup_tried();
}

static const struct pv_lock_ops *ipi_install(char *extra, size_t size)
{
	if (!ipi_can_yield())
		return &ipi_ops;
	snprintf(extra, size, ", KVM_HC_SCHED_YIELD to a preempted wakee");
	return &ipi_yield_ops;
}

const struct pv_backend pv_backend_ipi = {
	.usable = 0,
	.why_not = 0,
	.install = ipi_install,
	.kick_is_interrupt = true,
};
