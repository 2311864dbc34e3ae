/* SPDX-License-Identifier: MIT */
/* hyperv.c - Hyper-V detection, hypercall page and the two hypercalls pvspin makes (hyperv.h). */
#include "lib/layout.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "hyperv.h"

#define HV_SIGNATURE      "Microsoft Hv"
#define HV_INTERFACE_HV1  0x31237648u       /* "Hv#1" */
/* Guest OS ID, TLFS layout for open-source OSes: bit 63 open source,
 * 62:56 OS type, 55:48 OS ID, 47:16 version, 15:0 build. pvspin names no
 * OS type (0) and says version 1. */
#define HV_GUEST_OS_OPEN_SOURCE (1ull << 63)
#define HV_GUEST_OS_VERSION_SHIFT 16
#define PVSPIN_GUEST_OS_VERSION 1ull
#define HV_HYPERCALL_PAGE_MASK  (~(uint64_t)(PAGE_SIZE - 1))
#define HV_IPI_VTL_SHIFT        32          /* input word 0: vector, then target VTL */

struct hyperv_info hyperv;

/* Filled by the hypervisor when the hypercall MSR is enabled. Identity
 * mapped, writable and executable like the rest of the image. */
static uint8_t hypercall_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

void hyperv_detect(const char *signature, uint32_t max_leaf)
{
	memset(&hyperv, 0, sizeof(hyperv));
	hyperv.max_leaf = max_leaf;
	if (memcmp(signature, HV_SIGNATURE, 12) || max_leaf < HV_CPUID_ENLIGHTENMENTS)
		return;
	hyperv.interface = cpuid(HV_CPUID_INTERFACE, 0).eax;
	if (hyperv.interface != HV_INTERFACE_HV1)
		return;
	hyperv.present = true;
	hyperv.privileges = cpuid(HV_CPUID_FEATURES, 0).eax;
	struct cpuid_regs r = cpuid(HV_CPUID_ENLIGHTENMENTS, 0);
	hyperv.recommendations = r.eax;
	hyperv.spin_retries = r.ebx;
}

bool hyperv_hypercalls_offered(void)
{
	return hyperv_has_privilege(HV_PRIV_HYPERCALL_MSRS) && hyperv_has_privilege(HV_PRIV_VP_INDEX);
}

const char *hyperv_hypercall_setup(void)
{
	if (!hyperv_hypercalls_offered())
		return "CPUID 0x40000003 offers no hypercall or VP index MSRs";
	/* The TLFS: hypercalls stay disabled until the guest OS ID is set. */
	wrmsr(HV_X64_MSR_GUEST_OS_ID, HV_GUEST_OS_OPEN_SOURCE |
	      (PVSPIN_GUEST_OS_VERSION << HV_GUEST_OS_VERSION_SHIFT));
	/* Identity mapped: the virtual address is the guest-physical one. */
	uint64_t gpa = (uint64_t)(uintptr_t)hypercall_page;
	wrmsr(HV_X64_MSR_HYPERCALL, (gpa & HV_HYPERCALL_PAGE_MASK) | HV_HYPERCALL_ENABLE);
	if (!(rdmsr(HV_X64_MSR_HYPERCALL) & HV_HYPERCALL_ENABLE))
		return "HV_X64_MSR_HYPERCALL did not keep its enable bit";
	/* ACQUIRE: the hypervisor wrote the page before the MSR write returned. */
	if (!__atomic_load_n(&hypercall_page[0], __ATOMIC_ACQUIRE))
		return "the hypervisor did not fill the hypercall page";
	return 0;
}

uint32_t hyperv_vp_index(void)
{
	return (uint32_t)rdmsr(HV_X64_MSR_VP_INDEX);
}

uint64_t hyperv_fast_hypercall(uint16_t code, uint64_t in0, uint64_t in1)
{
	uint64_t result, control = code | HV_HYPERCALL_FAST;
	register uint64_t r8 __asm__("r8") = in1;
	/* The page holds VMCALL or VMMCALL and RET. The kernel has no red
	 * zone (-mno-red-zone), so the CALL's push clobbers nothing. RAX is
	 * early-clobbered so the page address is not given in it. */
	__asm__ volatile("call *%[page]"
			 : "=&a"(result), "+c"(control), "+d"(in0), "+r"(r8)
			 : [page] "r"(hypercall_page)
			 : "cc", "memory", "r9", "r10", "r11");
	return result;
}

uint16_t hyperv_send_ipi(uint8_t vector, uint32_t vp_index)
{
	/* Fast form: word 0 = vector | target VTL 0 << 32, word 1 = the
	 * processor mask. */
	uint64_t in0 = (uint64_t)vector | (0ull << HV_IPI_VTL_SHIFT);
	return hyperv_status(hyperv_fast_hypercall(HVCALL_SEND_IPI, in0, 1ull << vp_index));
}

uint16_t hyperv_notify_long_spin_wait(uint64_t spins)
{
	/* Input: the accumulated spin count, 32 bits, then 32 reserved. */
	uint64_t in0 = spins > UINT32_MAX ? UINT32_MAX : spins;
	return hyperv_status(hyperv_fast_hypercall(HVCALL_NOTIFY_LONG_SPIN_WAIT, in0, 0));
}

const char *hyperv_call_name(uint16_t code)
{
	switch (code) {
	case HVCALL_SEND_IPI:
		return "HvCallSendSyntheticClusterIpi";
	case HVCALL_NOTIFY_LONG_SPIN_WAIT:
		return "HvCallNotifyLongSpinWait";
	default:
		return 0;
	}
}
