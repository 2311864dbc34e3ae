/* SPDX-License-Identifier: MIT */
/* steal_time.c - KVM steal time: each CPU's record, registered by MSR (steal_time.h). */
#include "lib/layout.h"
#include "lib/x86.h"
#include "hypervisor.h"
#include "steal_time.h"

#define MSR_KVM_STEAL_TIME   0x4b564d03
#define KVM_MSR_ENABLED      1ull
#define KVM_VCPU_PREEMPTED   (1u << 0)
#define STEAL_RECORD_ALIGN   64

struct kvm_steal_time {
	uint64_t steal;
	uint32_t version;
	uint32_t flags;
	uint8_t preempted;
	uint8_t pad0[3];
	uint32_t pad[11];
} __attribute__((aligned(STEAL_RECORD_ALIGN)));

_Static_assert(sizeof(struct kvm_steal_time) == STEAL_RECORD_ALIGN,
	       "the host writes a 64-byte record");

static struct kvm_steal_time records[MAX_CPUS];
static bool available;

bool steal_time_enable(unsigned int cpu)
{
	if (!kvm_has_feature(KVM_FEATURE_STEAL_TIME) || cpu >= MAX_CPUS)
		return false;
	/* Identity mapped: the virtual address is the guest-physical one. */
	wrmsr(MSR_KVM_STEAL_TIME, (uint64_t)(uintptr_t)&records[cpu] | KVM_MSR_ENABLED);
	available = true;
	return true;
}

bool steal_time_available(void) { return available; }

uint64_t steal_time_ns(unsigned int cpu)
{
	if (!available)
		return 0;
	struct kvm_steal_time *st = &records[cpu];
	uint32_t v;
	uint64_t steal;
	do {
		v = __atomic_load_n(&st->version, __ATOMIC_ACQUIRE);
		steal = __atomic_load_n(&st->steal, __ATOMIC_RELAXED);
		/* ACQUIRE fence: steal is read before the version recheck. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != __atomic_load_n(&st->version, __ATOMIC_RELAXED));
	return steal;
}

bool vcpu_is_preempted(unsigned int cpu)
{
	return available &&
	       (__atomic_load_n(&records[cpu].preempted, __ATOMIC_RELAXED) & KVM_VCPU_PREEMPTED);
}
