/* SPDX-License-Identifier: MIT */
/* kvm_hypercall.c - KVM hypercalls through VMCALL or VMMCALL (kvm_hypercall.h). */
#include "hypervisor.h"
#include "kvm_hypercall.h"

#define KVM_KICK_FLAGS 0

static long vmcall2(unsigned long nr, unsigned long a0, unsigned long a1)
{
	long ret;
	__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1) : "memory");
	return ret;
}

static long vmmcall2(unsigned long nr, unsigned long a0, unsigned long a1)
{
	long ret;
	__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1) : "memory");
	return ret;
}

long kvm_hypercall2(unsigned long nr, unsigned long a0, unsigned long a1)
{
	return hv.vendor == CPU_VENDOR_AMD ? vmmcall2(nr, a0, a1) : vmcall2(nr, a0, a1);
}

long kvm_kick_cpu(uint32_t apic_id)
{
	return kvm_hypercall2(KVM_HC_KICK_CPU, KVM_KICK_FLAGS, apic_id);
}

long kvm_sched_yield(uint32_t apic_id)
{
	/* One argument; RCX is not read for this call. */
	return kvm_hypercall2(KVM_HC_SCHED_YIELD, apic_id, 0);
}

const char *kvm_hypercall_insn(void)
{
	return hv.vendor == CPU_VENDOR_AMD ? "vmmcall" : "vmcall";
}
