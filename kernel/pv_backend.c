/* SPDX-License-Identifier: MIT */
/* pv_backend.c - pvqspinlock's wait/kick backend: KVM or Hyper-V hypercalls, or IPIs (pv_backend.h). */
#include "hypercall/hyperv.h"
#include "hypercall/hypervisor.h"
#include "hypercall/kvm_hypercall.h"
#include "hypercall/steal_time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "lock/pv_ops.h"
#include "apic.h"
#include "console.h"
#include "options.h"
#include "percpu.h"
#include "smp.h"
#include "pv_backend.h"
#include "time.h"
#include "trap.h"
#include "watchdog.h"

static const char *const choice_names[] = { "auto", "kvm", "ipi", "off", "hyperv" };
static const char *reason = "not chosen yet";
static enum pv_choice chosen;
static bool checked;

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

/* Around every hypercall: counted, and marked for the watchdog, which
 * names a hypercall that does not return (wd_hypercall: a KVM number, or a
 * Hyper-V call code | WD_HYPERCALL_HYPERV). The previous state is given
 * back: an interrupt handler's hypercall may come between an outer one's
 * begin and its call. */
struct hc_mark { uint32_t state, nr; };

static struct hc_mark hypercall_begin(uint32_t nr)
{
	struct percpu *p = this_cpu();
	struct hc_mark outer = { __atomic_load_n(&p->wd_state, __ATOMIC_RELAXED), p->wd_hypercall };
	p->hypercalls++;
	p->wd_hypercall = nr;
	cpu_wd_set_state(CPU_IN_HYPERCALL, time_ns());
	return outer;
}

static void hypercall_end(struct hc_mark outer)
{
	cpu_wd_set_state((enum cpu_wd_state)outer.state, time_ns());
	this_cpu()->wd_hypercall = outer.nr;
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
		this_cpu()->sched_yields++;
		struct hc_mark m = hypercall_begin(KVM_HC_SCHED_YIELD);
		kvm_sched_yield(percpu_of(cpu)->apic_id);
		hypercall_end(m);
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
	note_kick(cpu);
	struct hc_mark m = hypercall_begin(KVM_HC_KICK_CPU);
	kvm_kick_cpu(percpu_of(cpu)->apic_id);
	hypercall_end(m);
}

/* hyperv: each CPU's VP index (HV_X64_MSR_VP_INDEX), read on that CPU. */
static uint32_t hv_vp[MAX_CPUS];
static bool hv_ipi_hypercall;           /* Hyper-V recommends the IPI hypercall */
_Static_assert(VEC_KICK >= HV_IPI_LOW_VECTOR, "HvCallSendSyntheticClusterIpi refuses low vectors");

static void hv_read_vp_index(void *arg)
{
	(void)arg;
	hv_vp[cpu_id()] = hyperv_vp_index();
}

/* A status that is not success: counted, and the last one kept for the
 * watchdog's report (watchdog.c) and the results. */
static bool hv_failed(uint16_t code, uint16_t status)
{
	if (status == HV_STATUS_SUCCESS)
		return false;
	struct percpu *p = this_cpu();
	p->hv_hypercall_errors++;
	p->hv_last_error = (uint32_t)code << 16 | status;
	return true;
}

/* hyperv: the kick is a fixed interrupt, as under ipi (the wait is
 * ipi_wait), sent by the hypervisor without an APIC exit. The plain
 * hypercall names its targets in a 64-bit mask: a VP index above 63 (and
 * a failed hypercall) gets the plain IPI, so no kick is lost. */
static void hyperv_kick(unsigned int cpu)
{
	uint32_t vp = hv_vp[cpu];
	if (!hv_ipi_hypercall || vp >= HV_IPI_MASK_VPS) {
		ipi_kick(cpu);
		return;
	}
	note_kick(cpu);
	this_cpu()->hv_send_ipi++;
	struct hc_mark m = hypercall_begin(WD_HYPERCALL_HYPERV | HVCALL_SEND_IPI);
	uint16_t status = hyperv_send_ipi(VEC_KICK, vp);
	hypercall_end(m);
	if (hv_failed(HVCALL_SEND_IPI, status))
		apic_send_ipi(percpu_of(cpu)->apic_id, VEC_KICK);
}

/* hyperv: a waiter has spun the recommended count (the lock library calls
 * this every spin_hint_loops iterations): let the hypervisor run another
 * VP, perhaps the lock holder. Advisory; only success is defined. */
static void hyperv_spin_hint(uint64_t spins)
{
	this_cpu()->hv_long_spin_wait++;
	struct hc_mark m = hypercall_begin(WD_HYPERCALL_HYPERV | HVCALL_NOTIFY_LONG_SPIN_WAIT);
	uint16_t status = hyperv_notify_long_spin_wait(spins);
	hypercall_end(m);
	hv_failed(HVCALL_NOTIFY_LONG_SPIN_WAIT, status);
}

static const struct pv_lock_ops ipi_ops = { "ipi", ipi_wait, ipi_kick, 0, 0 };
static const struct pv_lock_ops ipi_yield_ops = { "ipi", ipi_wait, ipi_kick_yield, 0, 0 };
static const struct pv_lock_ops kvm_ops = { "kvm", kvm_wait, kvm_kick, 0, 0 };
/* spin_hint and its period are filled in from CPUID at init. */
static struct pv_lock_ops hyperv_ops = { "hyperv", ipi_wait, hyperv_kick, 0, 0 };

/* Hyper-V's hypercall page, set up once (partition-wide): NULL when it
 * works, else why not. Once the guest OS ID is set, KVM takes every
 * hypercall for a Hyper-V one (hypercall/hyperv.h): no KVM hypercall
 * after trying, even if it failed. */
static bool hv_tried;
static const char *hv_setup_error;

static const char *hyperv_ready(void)
{
	if (!hv_tried) {
		hv_tried = true;
		hv_setup_error = hyperv_hypercall_setup();
	}
	return hv_setup_error;
}

static bool kvm_unhalt_usable(void)
{
	return kvm_has_feature(KVM_FEATURE_PV_UNHALT);
}

static enum pv_choice resolve(enum pv_choice c)
{
	if (c != PV_AUTO) {
		reason = "chosen with pv=";
		return c;
	}
	bool unhalt = kvm_unhalt_usable();
	bool realtime = hv.kvm && (hv.kvm_hints & (1u << KVM_HINTS_REALTIME));
	if (unhalt && !realtime) {
		reason = hyperv.present
			 ? "KVM advertises PV_UNHALT and no REALTIME hint; preferred to Hyper-V's "
			   "enlightenments, also offered: its kick wakes a halt with interrupts off"
			 : "KVM advertises PV_UNHALT and no REALTIME hint";
		return PV_KVM;
	}
	if (realtime) {
		reason = "KVM_HINTS_REALTIME: vCPUs are never preempted, spinning is best";
		return PV_OFF;
	}
	if (hyperv_hypercalls_offered()) {
		if (!hyperv_ready()) {
			reason = hv.kvm ? "Hyper-V's hypercalls work; KVM is offered too but without PV_UNHALT"
					: "Hyper-V's hypercalls work (no KVM PV_UNHALT)";
			return PV_HYPERV;
		}
		reason = "Hyper-V offered but its hypercall page did not work: halt and wake with IPIs";
		return PV_IPI;
	}
	if (hv.present) {
		reason = "a hypervisor without PV_UNHALT or Hyper-V hypercalls: halt and wake with IPIs";
		return PV_IPI;
	}
	reason = "no hypervisor";
	return PV_OFF;
}

static void reject_kvm(void)
{
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

static void reject_hyperv(void)
{
	char what[200];
	if (!hv.present)
		snprintf(what, sizeof(what), "no hypervisor (CPUID 1 ECX bit 31 clear), so no Hyper-V");
	else if (!hyperv.present)
		snprintf(what, sizeof(what), "CPUID 0x%x signature \"%s\" (max leaf 0x%x): not Hyper-V "
			 "(\"Microsoft Hv\", interface \"Hv#1\")", HV_CPUID_VENDOR, hv.signature,
			 hyperv.max_leaf);
	else if (!hyperv_hypercalls_offered())
		snprintf(what, sizeof(what), "Hyper-V, but CPUID 0x%x EAX=0x%08x lacks the hypercall "
			 "MSRs (bit %u) or the VP index MSR (bit %u)", HV_CPUID_FEATURES,
			 hyperv.privileges, HV_PRIV_HYPERCALL_MSRS, HV_PRIV_VP_INDEX);
	else
		snprintf(what, sizeof(what), "Hyper-V's hypercall setup failed: %s", hv_setup_error);
	options_reject("pv=hyperv", what, "pv=auto|ipi|off on this machine");
}

void pv_backend_check(enum pv_choice choice)
{
	chosen = resolve(choice);
	checked = true;
	if (chosen == PV_KVM && !kvm_unhalt_usable())
		reject_kvm();
	if (chosen == PV_HYPERV && (!hyperv_hypercalls_offered() || hyperv_ready()))
		reject_hyperv();
}

static bool ipi_can_yield(void)
{
	return kvm_has_feature(KVM_FEATURE_PV_SCHED_YIELD) && steal_time_available();
}

static void hyperv_install(void)
{
	smp_run_on_first(MAX_CPUS, hv_read_vp_index, 0, SMP_NO_LIMIT);
	hv_ipi_hypercall = hyperv_recommends(HV_REC_CLUSTER_IPI);
	if (hyperv.spin_retries != HV_SPIN_RETRIES_NEVER) {
		hyperv_ops.spin_hint = hyperv_spin_hint;
		/* 0 would mean "never" to the lock library: hint every spin. */
		hyperv_ops.spin_hint_loops = hyperv.spin_retries ? hyperv.spin_retries : 1;
	}
	pv_lock_set_ops(&hyperv_ops);
}

/* What the hypervisor offers, for the "# pv:" line: where Hyper-V's and
 * KVM's CPUID leaves are. */
static void describe_offer(char *buf, size_t size)
{
	if (!hv.present) {
		snprintf(buf, size, "no hypervisor");
		return;
	}
	if (!hyperv.present && !hv.kvm) {
		snprintf(buf, size, "CPUID 0x%x: \"%s\"", HV_CPUID_VENDOR, hv.signature);
		return;
	}
	snprintf(buf, size, "%s%s%s", hyperv.present ? "Hyper-V at 0x40000000" : "",
		 hyperv.present && hv.kvm ? ", " : "", hv.kvm ? "KVM at " : "");
	if (hv.kvm) {
		size_t n = strlen(buf);
		snprintf(buf + n, size - n, "0x%x%s", hv.base,
			 kvm_unhalt_usable() ? " with PV_UNHALT" : " without PV_UNHALT");
	}
}

static void describe_hyperv(char *buf, size_t size)
{
	size_t n;
	snprintf(buf, size, ", kick with %s", hv_ipi_hypercall
		 ? "HvCallSendSyntheticClusterIpi" : "a plain IPI (no hv-ipi recommendation)");
	n = strlen(buf);
	if (hyperv_ops.spin_hint)
		snprintf(buf + n, size - n, ", HvCallNotifyLongSpinWait every %u spins",
			 hyperv_ops.spin_hint_loops);
	else
		snprintf(buf + n, size - n, ", no HvCallNotifyLongSpinWait (spin count 0x%x: never)",
			 hyperv.spin_retries);
}

void pv_backend_init(enum pv_choice choice)
{
	if (!checked)
		pv_backend_check(choice);
	trap_set_handler(VEC_KICK, kick_handler);
	switch (chosen) {
	case PV_KVM:
		pv_lock_set_ops(&kvm_ops);
		break;
	case PV_IPI:
		/* Not after a Hyper-V setup: KVM_HC_SCHED_YIELD would go to Hyper-V. */
		pv_lock_set_ops(ipi_can_yield() && !hv_tried ? &ipi_yield_ops : &ipi_ops);
		break;
	case PV_HYPERV:
		hyperv_install();
		break;
	default:
		pv_lock_set_ops(0);
		break;
	}
	const struct pv_lock_ops *ops = pv_lock_get_ops();
	char offer[96], extra[160] = "";
	describe_offer(offer, sizeof(offer));
	if (ops == &kvm_ops)
		snprintf(extra, sizeof(extra), ", kick with %s", kvm_hypercall_insn());
	else if (ops == &ipi_yield_ops)
		snprintf(extra, sizeof(extra), ", KVM_HC_SCHED_YIELD to a preempted wakee");
	else if (ops == &hyperv_ops)
		describe_hyperv(extra, sizeof(extra));
	kprintf("# pv: backend %s (%s; offered: %s)%s\n", pv_backend_name(), reason, offer, extra);
}

bool pv_backend_kick_is_interrupt(void)
{
	/* The choice, not the installed ops: inject= wraps those. */
	return chosen == PV_IPI || chosen == PV_HYPERV;
}

const char *pv_backend_name(void)
{
	const struct pv_lock_ops *ops = pv_lock_get_ops();
	return ops == &pv_lock_ops_spin ? "off" : ops->name;
}

const char *pv_backend_reason(void) { return reason; }
