/* SPDX-License-Identifier: MIT */
/* pv_xen.c - the xen PV backend, as Linux's xen_qlock_wait/xen_qlock_kick: one masked event channel per vCPU, kick with EVTCHNOP_send, wait with SCHEDOP_poll. */
#include "hypercall/hypervisor.h"
#include "hypercall/xen.h"
#include "lib/fmt.h"
#include "lib/layout.h"
#include "lib/x86.h"
#include "lock/pv_ops.h"
#include "apic.h"
#include "percpu.h"
#include "pv_account.h"
#include "pv_backends.h"
#include "smp.h"
#include "trap.h"
#include "watchdog.h"

#define NO_PORT (-1)

/* Written by CPU 0 at install (each CPU's vCPU id by that CPU first),
 * read by every CPU after. */
static long vcpu_ids[MAX_CPUS];
static long ports[MAX_CPUS];
/* Waits under way on each CPU: one in an interrupt handler that came
 * inside another's must not clear the pending bit, which may hold the
 * outer wait's kick (Linux's xen_qlock_wait_nest). Only its own CPU
 * touches it. */
static uint32_t nest[MAX_CPUS];

static void xen_failed(long rc)
{
	struct percpu *p = this_cpu();
	p->xen_hypercall_errors++;
	p->xen_last_error = rc;
}

/*
 * Wait while *ptr == val: clear this CPU's pending bit, re-check the byte,
 * then SCHEDOP_poll on the port. A kick sent after the clear sets the bit
 * again, so the poll returns at once: none is lost between the re-check
 * and the poll. The poll blocks whatever the interrupt flag (the event is
 * never delivered as an interrupt, and Xen wakes a poller on the port's
 * pending bit alone), so a caller with interrupts off waits too, as under
 * kvm; a caller with them on keeps them on during the poll, so that a
 * holder waiting for this CPU's answer to an IPI gets it (an interrupt
 * ends the poll). The clear and the re-check run with interrupts off: a
 * handler's wait between them would be nested and leave the bit alone.
 * May return spuriously (any wake, a kick meant for an earlier wait): the
 * lock loops (lock/pv_ops.h).
 */
static void xen_wait(uint8_t *ptr, uint8_t val)
{
	if (pv_wait_in_nmi())
		return;
	unsigned int cpu = cpu_id();
	long port = ports[cpu];
	if (port == NO_PORT)
		return;
	uint64_t flags = irq_save();
	if (nest[cpu]++ == 0)
		xen_evtchn_clear_pending((evtchn_port_t)port);
	if (__atomic_load_n(ptr, __ATOMIC_ACQUIRE) == val) {
		pv_halt_begin();
		this_cpu()->xen_polls++;
		if (flags & RFLAGS_IF)
			sti();
		long rc = xen_poll((evtchn_port_t)port);
		cli();
		pv_halt_end();
		if (rc < 0)
			xen_failed(rc);
	}
	nest[cpu]--;
	irq_restore(flags);
}

/* Set the waiter's pending bit, which ends its poll or the next one. A
 * failed send falls back to an IPI, which also ends a poll. */
static void xen_kick(unsigned int cpu)
{
	pv_note_kick(cpu);
	long port = ports[cpu];
	long rc = -XEN_EINVAL;
	if (port != NO_PORT) {
		this_cpu()->xen_sends++;
		struct pv_hc_mark m = pv_hypercall_begin(WD_HYPERCALL_XEN_EVTCHN | EVTCHNOP_send);
		rc = xen_evtchn_send((evtchn_port_t)port);
		pv_hypercall_end(m);
	}
	if (rc < 0) {
		xen_failed(rc);
		apic_send_ipi(percpu_of(cpu)->apic_id, VEC_KICK);
	}
}

static const struct pv_lock_ops xen_ops = { "xen", xen_wait, xen_kick, 0, 0 };

bool pv_xen_usable(void)
{
	return xen_hypercalls() && !xen_map_shared_info();
}

static void xen_why_not(char *what, size_t size)
{
	if (!hv.present)
		snprintf(what, size, "no hypervisor (CPUID 1 ECX bit 31 clear), so no Xen");
	else if (!xen.present)
		snprintf(what, size, "CPUID 0x%x signature \"%s\": not Xen (\"%s\" at any "
			 "base 0x%x-0x%x)", CPUID_HV_BASE, hv.signature, XEN_CPUID_SIGNATURE, CPUID_HV_BASE,
			 CPUID_HV_LAST - CPUID_HV_STEP);
	else if (xen.error)
		snprintf(what, size, "Xen %u.%u at CPUID 0x%x, but %s", xen.major, xen.minor,
			 xen.base, xen.error);
	else
		snprintf(what, size, "Xen %u.%u at CPUID 0x%x, but %s", xen.major, xen.minor,
			 xen.base, xen_map_shared_info());
}

static void read_vcpu_id(void *arg)
{
	(void)arg;
	vcpu_ids[cpu_id()] = xen_vcpu_id();
}

static const struct pv_lock_ops *xen_install(char *extra, size_t size)
{
	for (unsigned int c = 0; c < MAX_CPUS; c++)
		vcpu_ids[c] = ports[c] = NO_PORT;
	smp_run_on_first(MAX_CPUS, read_vcpu_id, 0, SMP_NO_LIMIT);
	unsigned int bound = 0, online = 0;
	long error = 0;
	for (unsigned int c = 0; c < MAX_CPUS; c++) {
		if (!percpu_of(c)->online)
			continue;
		online++;
		if (vcpu_ids[c] < 0)
			continue;
		long rc = xen_bind_ipi((uint32_t)vcpu_ids[c]);
		if (rc < 0) {
			error = rc;
			continue;
		}
		ports[c] = rc;
		bound++;
	}
	snprintf(extra, size, ", kick with EVTCHNOP_send, wait with SCHEDOP_poll: %u of %u CPUs' "
		 "event channels bound (EVTCHNOP_bind_ipi, masked)%s", bound, online,
		 bound == online ? "" : error ? ", the others failed" : ", the others have no vCPU id");
	return &xen_ops;
}

const struct pv_backend pv_backend_xen = {
	.usable = pv_xen_usable,
	.why_not = xen_why_not,
	.install = xen_install,
	.kick_is_interrupt = false,
};
