/* SPDX-License-Identifier: MIT */
/* kvm_hypercall.h - KVM hypercalls (Documentation/virt/kvm/x86/hypercalls.rst): number in RAX,
 * arguments in RBX, RCX, RDX, RSI, result in RAX. VMCALL on Intel, VMMCALL on
 * AMD, chosen once from the CPU vendor. */
#ifndef PVSPIN_KVM_HYPERCALL_H
#define PVSPIN_KVM_HYPERCALL_H

#include <stdint.h>

#define KVM_HC_KICK_CPU     5
#define KVM_HC_SCHED_YIELD  11
#define KVM_ENOSYS          1000

long kvm_hypercall2(unsigned long nr, unsigned long a0, unsigned long a1);
/* Wake the vCPU with this APIC ID out of HLT (sticky if it is not halted). */
long kvm_kick_cpu(uint32_t apic_id);
/* Yield this vCPU's time slice to the vCPU with this APIC ID (a directed
 * yield, for a waiter whose lock holder or wakee was preempted). */
long kvm_sched_yield(uint32_t apic_id);
const char *kvm_hypercall_insn(void);   /* "vmcall" or "vmmcall" */

#endif
