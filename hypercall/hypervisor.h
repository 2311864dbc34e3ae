/* SPDX-License-Identifier: MIT */
/* hypervisor.h - what the CPU and the hypervisor say about themselves (CPUID). */
#ifndef PVSPIN_HYPERVISOR_H
#define PVSPIN_HYPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

/* The hypervisor leaves: a signature may sit at any CPUID_HV_STEP from
 * CPUID_HV_BASE up to (not including) CPUID_HV_LAST; Hyper-V's at the first,
 * KVM's or Xen's at a later one when Hyper-V's are offered beside them. */
#define CPUID_HV_BASE             0x40000000
#define CPUID_HV_STEP             0x100
#define CPUID_HV_LAST             0x40010000

/* CPUID 0x40000001 EAX feature bits (Documentation/virt/kvm/x86/cpuid.rst). */
#define KVM_FEATURE_CLOCKSOURCE   0
#define KVM_FEATURE_CLOCKSOURCE2  3
#define KVM_FEATURE_STEAL_TIME    5
#define KVM_FEATURE_PV_UNHALT     7
#define KVM_FEATURE_PV_SCHED_YIELD 13
/* CPUID 0x40000001 EDX hints. */
#define KVM_HINTS_REALTIME        0

enum cpu_vendor { CPU_VENDOR_OTHER, CPU_VENDOR_INTEL, CPU_VENDOR_AMD };

struct hypervisor_info {
	enum cpu_vendor vendor;
	char vendor_id[13];
	char model_name[49];
	bool present;                  /* CPUID.1:ECX.hypervisor */
	char signature[13];            /* CPUID 0x40000000 EBX, ECX, EDX */
	uint32_t base;                 /* leaf that holds the KVM signature */
	uint32_t max_leaf;
	bool kvm;
	uint32_t kvm_features;         /* CPUID base+1 EAX */
	uint32_t kvm_hints;            /* CPUID base+1 EDX */
};

extern struct hypervisor_info hv;

void hypervisor_detect(void);
static inline bool kvm_has_feature(unsigned int bit)
{
	return hv.kvm && (hv.kvm_features & (1u << bit));
}

#endif
