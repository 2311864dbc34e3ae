/* SPDX-License-Identifier: MIT */
/* pv_backend.h - the wait/kick backend of pvqspinlock, chosen once at boot (pv= option):
 *   kvm:    wait = HLT with the caller's interrupt state (a KVM kick wakes it
 *           even with interrupts off), kick = KVM_HC_KICK_CPU;
 *   ipi:    wait = "sti; hlt" on a re-checked condition, or return at once
 *           if the caller had interrupts off, kick = a fixed IPI;
 *   hyperv: wait as ipi, kick = HvCallSendSyntheticClusterIpi where Hyper-V
 *           recommends it (else a fixed IPI), and HvCallNotifyLongSpinWait
 *           every "recommended spin count" iterations of a spinning waiter;
 *   xen:    wait = SCHEDOP_poll on this vCPU's masked event channel (its
 *           pending bit cleared, then the byte re-checked), with the
 *           caller's interrupt state, kick = EVTCHNOP_send;
 *   all:    a wait in an NMI returns at once (docs/pv.md);
 *   off:    no halting (the lock library's spin ops);
 *   auto:   kvm with PV_UNHALT and no REALTIME hint, off with the hint,
 *           else xen under Xen, else hyperv where Hyper-V's hypercalls
 *           work, else ipi under a hypervisor, else off. */
#ifndef PVSPIN_PV_BACKEND_H
#define PVSPIN_PV_BACKEND_H

#include <stdbool.h>

/* In the order of the option's names (pv_choice_name()). */
enum pv_choice { PV_AUTO, PV_KVM, PV_IPI, PV_OFF, PV_HYPERV, PV_XEN, PV_CHOICES };

const char *pv_choice_name(unsigned int i);     /* option names, NULL-ended */
/* Resolves the choice (pv=auto) and rejects as bad input (status 2) one
 * that cannot work here: pv=kvm where the hypervisor offers no KVM
 * PV_UNHALT, pv=hyperv where it offers no Hyper-V hypercalls, pv=xen
 * where there is no Xen (with its hypercall page and shared_info). Where the
 * hyperv backend is to be used it also sets up the hypercall page
 * (partition-wide), since only that shows that it works. After
 * hypervisor_detect(), on the boot CPU, before the KTAP plan. */
void pv_backend_check(enum pv_choice choice);
/* Install the backend pv_backend_check() resolved (once all CPUs are
 * online: hyperv reads each CPU's VP index); prints it and the reason. */
void pv_backend_init(enum pv_choice choice);
/* Is a kick an interrupt (ipi, hyperv), whose halt needs IF=1? */
bool pv_backend_kick_is_interrupt(void);
const char *pv_backend_name(void);
const char *pv_backend_reason(void);

#endif
