/* SPDX-License-Identifier: MIT */
/* pv_backend.c - the choice of pvqspinlock's wait/kick backend (pv_backend.h), made once: its ops are installed once. */
#include "hypercall/hyperv.h"
#include "hypercall/hyperv_setup.h"
#include "hypercall/hypervisor.h"
#include "hypercall/xen.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "lock/pv_ops.h"
#include "console.h"
#include "options.h"
#include "percpu.h"
#include "pv_backend.h"
#include "pv_backends.h"
#include "time.h"
#include "trap.h"

static const char *const choice_names[] = { "auto", "kvm", "ipi", "off", "hyperv", "xen" };
#define NR_CHOICES (sizeof(choice_names) / sizeof(choice_names[0]))

/* By enum pv_choice; NULL: the lock library's spin ops (off). */
static const struct pv_backend *const backends[NR_CHOICES] = {
	[PV_KVM] = &pv_backend_kvm,
	[PV_IPI] = &pv_backend_ipi,
	[PV_HYPERV] = &pv_backend_hyperv,
	[PV_XEN] = &pv_backend_xen,
};
_Static_assert(NR_CHOICES == PV_CHOICES, "one name for each enum pv_choice");

static const char *reason = "not chosen yet";
static enum pv_choice chosen;
static bool checked;

const char *pv_choice_name(unsigned int i)
{
	return i < NR_CHOICES ? choice_names[i] : 0;
}

static void kick_handler(struct trap_frame *f)
{
	(void)f;                        /* ending the HLT was the point */
	struct percpu *p = this_cpu();
	p->kicks_received++;
	p->last_kick_received_ns = time_ns();
}

static enum pv_choice resolve(enum pv_choice c)
{
	if (c != PV_AUTO) {
		reason = "chosen with pv=";
		return c;
	}
	bool unhalt = pv_kvm_unhalt_usable();
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
	if (pv_xen_usable()) {
		reason = hyperv.present ? "Xen's event channels and SCHEDOP_poll; preferred to Hyper-V's "
					  "enlightenments, also offered: its kick wakes a wait with interrupts off"
					: "Xen's event channels and SCHEDOP_poll";
		return PV_XEN;
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

void pv_backend_check(enum pv_choice choice)
{
	chosen = resolve(choice);
	checked = true;
	const struct pv_backend *b = backends[chosen];
	if (b && b->usable && !b->usable()) {
		char token[16], what[200];
		snprintf(token, sizeof(token), "pv=%s", choice_names[chosen]);
		b->why_not(what, sizeof(what));
		options_reject(token, what, "pv=auto|ipi|off on this machine");
	}
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
			 pv_kvm_unhalt_usable() ? " with PV_UNHALT" : " without PV_UNHALT");
	}
}

void pv_backend_init(enum pv_choice choice)
{
	if (!checked)
		pv_backend_check(choice);
	trap_set_handler(VEC_KICK, kick_handler);
	const struct pv_backend *b = backends[chosen];
	char offer[96], extra[160] = "";
	pv_lock_set_ops(b ? b->install(extra, sizeof(extra)) : 0);
	describe_offer(offer, sizeof(offer));
	kprintf("# pv: backend %s (%s; offered: %s)%s\n", pv_backend_name(), reason, offer, extra);
}

bool pv_backend_kick_is_interrupt(void)
{
	/* The choice, not the installed ops: inject= wraps those. */
	const struct pv_backend *b = backends[chosen];
	return b && b->kick_is_interrupt;
}

const char *pv_backend_name(void)
{
	const struct pv_lock_ops *ops = pv_lock_get_ops();
	return ops == &pv_lock_ops_spin ? "off" : ops->name;
}

const char *pv_backend_reason(void) { return reason; }
