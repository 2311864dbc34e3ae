/* SPDX-License-Identifier: MIT */
/* pv_backend.h - the wait/kick backend of pvqspinlock, chosen once at boot (pv= option):
 *   kvm: wait = HLT with the caller's interrupt state (a KVM kick wakes it
 *        even with interrupts off), kick = KVM_HC_KICK_CPU;
 *   ipi: wait = "sti; hlt" on a re-checked condition, or return at once
 *        if the caller had interrupts off, kick = a fixed IPI;
 *   both: a wait in an NMI returns at once (docs/pv.md);
 *   off: no halting (the lock library's spin ops);
 *   auto: kvm with PV_UNHALT and no REALTIME hint, else ipi under a
 *         hypervisor, else off. */
#ifndef PVSPIN_PV_BACKEND_H
#define PVSPIN_PV_BACKEND_H

enum pv_choice { PV_AUTO, PV_KVM, PV_IPI, PV_OFF };

const char *pv_choice_name(unsigned int i);     /* option names, NULL-ended */
/* Bad input (status 2) if the choice cannot work here: pv=kvm where the
 * hypervisor offers no KVM PV_UNHALT. After hypervisor_detect(). */
void pv_backend_check(enum pv_choice choice);
/* Install the backend; prints the choice and the reason. */
void pv_backend_init(enum pv_choice choice);
const char *pv_backend_name(void);
const char *pv_backend_reason(void);

#endif
