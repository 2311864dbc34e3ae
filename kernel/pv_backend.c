#include "apic.h"
#include "console.h"
#include "hypervisor.h"
#include "kvm_hypercall.h"
#include "percpu.h"
#include "pv_backend.h"
#include "pv_ops.h"
#include "time.h"
#include "trap.h"
#include "watchdog.h"
#include "x86.h"

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

/* Halt while *ptr == val. Interrupts are off from the check to the HLT, so
 * a wake-up sent after the check is not lost: an IPI stays pending and ends
 * "sti; hlt" (atomic thanks to STI's shadow); a KVM kick wakes even a HLT
 * with interrupts off, and is sticky. `irqs_may_stay_off`: the kick does not
 * need interrupts (kvm), so a caller with interrupts off keeps them off. */
static void halt_while(uint8_t *ptr, uint8_t val, bool irqs_may_stay_off)
{
	uint64_t flags = irq_save();
	if (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val) {
		halt_begin();
		if ((flags & RFLAGS_IF) || !irqs_may_stay_off)
			sti_hlt();
		else
			hlt();
		cli();
		halt_end();
	}
	if (flags & RFLAGS_IF)
		sti();
}

static void ipi_wait(uint8_t *ptr, uint8_t val)
{
	halt_while(ptr, val, false);
}

static void ipi_kick(unsigned int cpu)
{
	note_kick(cpu);
	apic_send_ipi(percpu_of(cpu)->apic_id, VEC_KICK);
}

static void kick_handler(struct trap_frame *f)
{
	(void)f;                        /* ending the HLT was the point */
	struct percpu *p = this_cpu();
	p->kicks_received++;
	p->last_kick_received_ns = time_ns();
}

static void kvm_wait(uint8_t *ptr, uint8_t val)
{
	halt_while(ptr, val, true);
}

static void kvm_kick(unsigned int cpu)
{
	struct percpu *p = this_cpu();
	note_kick(cpu);
	p->wd_hypercall = KVM_HC_KICK_CPU;
	cpu_wd_set_state(CPU_IN_HYPERCALL, time_ns());
	kvm_kick_cpu(percpu_of(cpu)->apic_id);
	cpu_wd_set_state(CPU_RUNNING, time_ns());
	p->wd_hypercall = 0;
}

static const struct pv_lock_ops ipi_ops = { "ipi", ipi_wait, ipi_kick };
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

void pv_backend_init(enum pv_choice choice)
{
	trap_set_handler(VEC_KICK, kick_handler);
	switch (resolve(choice)) {
	case PV_KVM:
		pv_lock_set_ops(&kvm_ops);
		break;
	case PV_IPI:
		pv_lock_set_ops(&ipi_ops);
		break;
	default:
		pv_lock_set_ops(0);
		break;
	}
	kprintf("# pv: backend %s (%s)%s%s\n", pv_backend_name(), reason,
		pv_lock_get_ops() == &kvm_ops ? ", kick with " : "",
		pv_lock_get_ops() == &kvm_ops ? kvm_hypercall_insn() : "");
}

const char *pv_backend_name(void)
{
	const struct pv_lock_ops *ops = pv_lock_get_ops();
	return ops == &pv_lock_ops_spin ? "off" : ops->name;
}

const char *pv_backend_reason(void) { return reason; }
