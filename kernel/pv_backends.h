/* SPDX-License-Identifier: MIT */
/* pv_backends.h - what pv_backend.c, the choice, asks of each PV backend (pv_kvm.c, pv_ipi.c, pv_hyperv.c, pv_xen.c). */
#ifndef PVSPIN_PV_BACKENDS_H
#define PVSPIN_PV_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include "lock/pv_ops.h"

struct pv_backend {
	/* Can it work on this machine? NULL: anywhere. May set up what it
	 * takes to know (hyperv: the hypercall page). */
	bool (*usable)(void);
	/* For a pv= that named it where usable() is false: why not, for the
	 * "not ok" line with which pv_backend_check() ends the run as bad
	 * input (options_reject()). */
	void (*why_not)(char *what, size_t size);
	/* Once all CPUs are online, on the boot CPU: the ops to install, and
	 * what the "# pv:" line adds after what is offered (", kick with ..."). */
	const struct pv_lock_ops *(*install)(char *extra, size_t size);
	bool kick_is_interrupt;         /* its halt needs IF=1 */
};

extern const struct pv_backend pv_backend_kvm, pv_backend_ipi, pv_backend_hyperv, pv_backend_xen;

/* Shared by the backends whose kick is an interrupt (pv_ipi.c). */
void pv_ipi_wait(uint8_t *ptr, uint8_t val);
void pv_ipi_kick(unsigned int cpu);
/* KVM's PV_UNHALT (pv_kvm.c), for the choice and the offer. */
bool pv_kvm_unhalt_usable(void);
/* Xen's hypercalls and shared_info (pv_xen.c), for the choice. */
bool pv_xen_usable(void);

#endif
