/* SPDX-License-Identifier: MIT */
/* pv_kvm.c - the kvm PV backend: halt with the caller's interrupt state, kick with KVM_HC_KICK_CPU. */
#include "hypercall/hypervisor.h"
#include "hypercall/kvm_hypercall.h"
#include "lib/fmt.h"
#include "lib/x86.h"
#include "lock/pv_ops.h"
#include "percpu.h"
#include "pv_account.h"
#include "pv_backends.h"

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
	if (pv_wait_in_nmi())
		return;
	uint64_t flags = irq_save();
	if (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val) {
		pv_halt_begin();
		do {
			if (flags & RFLAGS_IF) {
				sti_hlt();
				cli();
			} else {
				hlt();
			}
		} while (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val);
		pv_halt_end();
	}
	irq_restore(flags);
}

static void kvm_kick(unsigned int cpu)
{
	pv_note_kick(cpu);
	struct pv_hc_mark m = pv_hypercall_begin(KVM_HC_KICK_CPU);
	kvm_kick_cpu(percpu_of(cpu)->apic_id);
	pv_hypercall_end(m);
}

static const struct pv_lock_ops kvm_ops = { "kvm", kvm_wait, kvm_kick, 0, 0 };

bool pv_kvm_unhalt_usable(void)
{
	return kvm_has_feature(KVM_FEATURE_PV_UNHALT);
}

static void kvm_why_not(char *what, size_t size)
{
	if (!hv.present) {
		snprintf(what, size, "no hypervisor (CPUID 1 ECX bit 31 clear), "
			 "so no KVM PV_UNHALT to wake a halted CPU");
	} else {
		/* Where KVM's leaves are (hv.base) or else the first base. */
		struct cpuid_regs f = cpuid(hv.base + 1, 0);
		snprintf(what, size, "CPUID 0x%x signature \"%s\", 0x%x EAX=0x%08x: "
			 "no KVM PV_UNHALT (bit %u) to wake a halted CPU",
			 hv.base, hv.kvm ? "KVMKVMKVM" : hv.signature, hv.base + 1,
			 f.eax, KVM_FEATURE_PV_UNHALT);
	}
}

static const struct pv_lock_ops *kvm_install(char *extra, size_t size)
{
	snprintf(extra, size, ", kick with %s", kvm_hypercall_insn());
	return &kvm_ops;
}

const struct pv_backend pv_backend_kvm = {
	.usable = pv_kvm_unhalt_usable,
	.why_not = kvm_why_not,
	.install = kvm_install,
	.kick_is_interrupt = false,
};
