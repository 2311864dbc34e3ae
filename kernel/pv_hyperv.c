/* SPDX-License-Identifier: MIT */
/* pv_hyperv.c - the hyperv PV backend: wait as ipi, kick with HvCallSendSyntheticClusterIpi, HvCallNotifyLongSpinWait from spinning waiters. */
#include "hypercall/hyperv.h"
#include "hypercall/hyperv_setup.h"
#include "hypercall/hypervisor.h"
#include "lib/fmt.h"
#include "lib/layout.h"
#include "lib/string.h"
#include "lock/pv_ops.h"
#include "apic.h"
#include "percpu.h"
#include "pv_account.h"
#include "pv_backends.h"
#include "smp.h"
#include "trap.h"
#include "watchdog.h"

_Static_assert(VEC_KICK >= HV_IPI_LOW_VECTOR, "HvCallSendSyntheticClusterIpi refuses low vectors");

static struct hyperv_use use;

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

/* The kick is a fixed interrupt, as under ipi (the wait is pv_ipi_wait),
 * sent by the hypervisor without an APIC exit. The plain hypercall names
 * its targets in a 64-bit mask: a VP index above 63 (and a failed
 * hypercall) gets the plain IPI, so no kick is lost. */
static void hyperv_kick(unsigned int cpu)
{
	uint32_t vp = hv_vp_of(cpu);
	if (!use.ipi_hypercall || vp >= HV_IPI_MASK_VPS) {
		pv_ipi_kick(cpu);
		return;
	}
	pv_note_kick(cpu);
	this_cpu()->hv_send_ipi++;
	struct pv_hc_mark m = pv_hypercall_begin(WD_HYPERCALL_HYPERV | HVCALL_SEND_IPI);
	uint16_t status = hyperv_send_ipi(VEC_KICK, vp);
	pv_hypercall_end(m);
	if (hv_failed(HVCALL_SEND_IPI, status))
		apic_send_ipi(percpu_of(cpu)->apic_id, VEC_KICK);
}

/* A waiter has spun the recommended count (the lock library calls this
 * every spin_hint_loops iterations): let the hypervisor run another VP,
 * perhaps the lock holder. Advisory; only success is defined. */
static void hyperv_spin_hint(uint64_t spins)
{
	this_cpu()->hv_long_spin_wait++;
	struct pv_hc_mark m = pv_hypercall_begin(WD_HYPERCALL_HYPERV | HVCALL_NOTIFY_LONG_SPIN_WAIT);
	uint16_t status = hyperv_notify_long_spin_wait(spins);
	pv_hypercall_end(m);
	hv_failed(HVCALL_NOTIFY_LONG_SPIN_WAIT, status);
}

/* spin_hint and its period are filled in from CPUID at install. */
static struct pv_lock_ops hyperv_ops = { "hyperv", pv_ipi_wait, hyperv_kick, 0, 0 };

static bool hyperv_usable(void)
{
	return hyperv_hypercalls_offered() && !hyperv_ready();
}

static void hyperv_why_not(char *what, size_t size)
{
	if (!hv.present)
		snprintf(what, size, "no hypervisor (CPUID 1 ECX bit 31 clear), so no Hyper-V");
	else if (!hyperv.present)
		snprintf(what, size, "CPUID 0x%x signature \"%s\" (max leaf 0x%x): not Hyper-V "
			 "(\"Microsoft Hv\", interface \"Hv#1\")", HV_CPUID_VENDOR, hv.signature,
			 hyperv.max_leaf);
	else if (!hyperv_hypercalls_offered())
		snprintf(what, size, "Hyper-V, but CPUID 0x%x EAX=0x%08x lacks the hypercall "
			 "MSRs (bit %u) or the VP index MSR (bit %u)", HV_CPUID_FEATURES,
			 hyperv.privileges, HV_PRIV_HYPERCALL_MSRS, HV_PRIV_VP_INDEX);
	else
		snprintf(what, size, "Hyper-V's hypercall setup failed: %s", hyperv_setup_error());
}

static void read_vp_index(void *arg)
{
	(void)arg;
	hv_read_vp_index(cpu_id());
}

static const struct pv_lock_ops *hyperv_backend_install(char *extra, size_t size)
{
	smp_run_on_first(MAX_CPUS, read_vp_index, 0, SMP_NO_LIMIT);
	use = hyperv_install();
	if (use.spin_hint_loops) {
		hyperv_ops.spin_hint = hyperv_spin_hint;
		hyperv_ops.spin_hint_loops = use.spin_hint_loops;
	}
	size_t n;
	snprintf(extra, size, ", kick with %s", use.ipi_hypercall
		 ? "HvCallSendSyntheticClusterIpi" : "a plain IPI (no hv-ipi recommendation)");
	n = strlen(extra);
	if (hyperv_ops.spin_hint)
		snprintf(extra + n, size - n, ", HvCallNotifyLongSpinWait every %u spins",
			 hyperv_ops.spin_hint_loops);
	else
		snprintf(extra + n, size - n, ", no HvCallNotifyLongSpinWait (spin count 0x%x: never)",
			 hyperv.spin_retries);
	return &hyperv_ops;
}

const struct pv_backend pv_backend_hyperv = {
	.usable = hyperv_usable,
	.why_not = hyperv_why_not,
	.install = hyperv_backend_install,
	.kick_is_interrupt = true,
};
