/* SPDX-License-Identifier: MIT */
/* hyperv.h - Hyper-V enlightenments (the TLFS): detection, the hypercall page, VP indices,
 * HvCallSendSyntheticClusterIpi and HvCallNotifyLongSpinWait.
 *
 * Order of setup (TLFS "Hypercall Interface"): write a nonzero guest OS ID
 * (HV_X64_MSR_GUEST_OS_ID) first, then enable the hypercall page
 * (HV_X64_MSR_HYPERCALL: the page's physical address | enable). The
 * hypervisor fills the page with its hypercall sequence; hypercalls are
 * made by calling into it: control word in RCX, input in RDX and r8 (a
 * "fast" call passes its input in registers), result in RAX, whose low 16
 * bits are the status (0 = success).
 *
 * Under KVM, once the guest OS ID is nonzero every VMCALL/VMMCALL goes to
 * the Hyper-V handler, KVM's own hypercalls included (arch/x86/kvm/
 * hyperv.h, kvm_hv_hypercall_enabled()): a guest that sets it up must not
 * make KVM hypercalls any more. */
#ifndef PVSPIN_HYPERV_H
#define PVSPIN_HYPERV_H

#include <stdbool.h>
#include <stdint.h>

#define HV_CPUID_VENDOR         0x40000000  /* EBX ECX EDX "Microsoft Hv" */
#define HV_CPUID_INTERFACE      0x40000001  /* EAX "Hv#1" */
#define HV_CPUID_FEATURES       0x40000003  /* EAX: partition privileges */
#define HV_CPUID_ENLIGHTENMENTS 0x40000004  /* EAX: recommendations, EBX: spin retries */

/* CPUID 0x40000003 EAX (privilege mask, low half). */
#define HV_PRIV_HYPERCALL_MSRS  5           /* GUEST_OS_ID and HYPERCALL MSRs */
#define HV_PRIV_VP_INDEX        6           /* HV_X64_MSR_VP_INDEX */
/* CPUID 0x40000004 EAX (recommendations). */
#define HV_REC_CLUSTER_IPI      10          /* use HvCallSendSyntheticClusterIpi */
/* CPUID 0x40000004 EBX: spins before HvCallNotifyLongSpinWait; this: never. */
#define HV_SPIN_RETRIES_NEVER   0xFFFFFFFFu

#define HV_X64_MSR_GUEST_OS_ID  0x40000000
#define HV_X64_MSR_HYPERCALL    0x40000001
#define HV_X64_MSR_VP_INDEX     0x40000002
#define HV_HYPERCALL_ENABLE     1ull

/* Call codes. */
#define HVCALL_NOTIFY_LONG_SPIN_WAIT 0x0008
#define HVCALL_SEND_IPI              0x000b
/* Control word bit 16: input in registers. */
#define HV_HYPERCALL_FAST       (1ull << 16)
#define HV_STATUS_MASK          0xffffu
#define HV_STATUS_SUCCESS       0

/* HvCallSendSyntheticClusterIpi: vectors below this are refused. */
#define HV_IPI_LOW_VECTOR       0x10
/* The plain (non-Ex) form names targets in one 64-bit processor mask. */
#define HV_IPI_MASK_VPS         64

struct hyperv_info {
	bool present;           /* "Microsoft Hv" at 0x40000000 with interface "Hv#1" */
	uint32_t max_leaf;      /* 0x40000000 EAX */
	uint32_t interface;     /* 0x40000001 EAX */
	uint32_t privileges;    /* 0x40000003 EAX */
	uint32_t recommendations; /* 0x40000004 EAX */
	uint32_t spin_retries;  /* 0x40000004 EBX */
};

extern struct hyperv_info hyperv;

/* From hypervisor_detect(), with what CPUID 0x40000000 said: if that is
 * Hyper-V's signature, reads 0x40000001-0x40000004. */
void hyperv_detect(const char *signature, uint32_t max_leaf);

static inline bool hyperv_has_privilege(unsigned int bit)
{
	return hyperv.present && (hyperv.privileges & (1u << bit));
}

static inline bool hyperv_recommends(unsigned int bit)
{
	return hyperv.present && (hyperv.recommendations & (1u << bit));
}

/* Can this partition make hypercalls and read VP indices at all (CPUID)? */
bool hyperv_hypercalls_offered(void);
/* Partition-wide, once, on one CPU: guest OS ID, then the hypercall page.
 * NULL on success, else what went wrong (the MSR did not take the enable
 * bit, the page was not filled). */
const char *hyperv_hypercall_setup(void);
/* This CPU's VP index (HV_X64_MSR_VP_INDEX). */
uint32_t hyperv_vp_index(void);

/* The raw result word of a fast hypercall; its status is the low 16 bits. */
uint64_t hyperv_fast_hypercall(uint16_t code, uint64_t in0, uint64_t in1);
static inline uint16_t hyperv_status(uint64_t result)
{
	return (uint16_t)(result & HV_STATUS_MASK);
}

/* Fixed interrupt `vector` to the VP with index vp_index (< 64). Status. */
uint16_t hyperv_send_ipi(uint8_t vector, uint32_t vp_index);
/* "This VP has spun `spins` times on a lock held elsewhere". Status. */
uint16_t hyperv_notify_long_spin_wait(uint64_t spins);
/* "HvCallSendSyntheticClusterIpi" etc., or NULL for another code. */
const char *hyperv_call_name(uint16_t code);

#endif
