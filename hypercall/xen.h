/* SPDX-License-Identifier: MIT */
/* xen.h - Xen as the hypervisor: its CPUID leaves, the hypercall page, and the hypercalls pvspin makes (xen/include/public/). */
#ifndef PVSPIN_XEN_H
#define PVSPIN_XEN_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/e820.h"

/* arch-x86/cpuid.h: Xen's leaves sit at the first 0x100-aligned base from
 * 0x40000000 that says "XenVMMXenVMM" (a later one when Viridian comes
 * first). Offsets from that base: */
#define XEN_CPUID_SIGNATURE      "XenVMMXenVMM"
#define XEN_CPUID_LEAF_VERSION   1      /* EAX: major << 16 | minor */
#define XEN_CPUID_LEAF_HYPERCALL 2      /* EAX: hypercall pages, EBX: their MSR */
#define XEN_CPUID_LEAF_TIME      3      /* sub-leaves below */
#define XEN_CPUID_TIME_TSC       0      /* ECX: guest TSC kHz */
#define XEN_CPUID_TIME_CONVERT   1      /* ECX: tsc_to_system_mul, EDX: tsc_shift */
#define XEN_CPUID_TIME_HOST      2      /* EAX: host TSC kHz */
#define XEN_CPUID_LEAF_HVM       4      /* EAX flags, EBX: this vCPU's id */
#define XEN_HVM_CPUID_VCPU_ID_PRESENT (1u << 3)

/* xen.h: hypercall numbers (each is a 32-byte stub in the hypercall page). */
#define __HYPERVISOR_memory_op        12
#define __HYPERVISOR_vcpu_op          24
#define __HYPERVISOR_sched_op         29
#define __HYPERVISOR_event_channel_op 32
#define XEN_HYPERCALL_STUB_SIZE       32

/* errno values Xen returns negated (public/errno.h). */
#define XEN_EINVAL 22
#define XEN_ENOSYS 38

/* memory.h */
#define XENMEM_add_to_physmap 7
#define XENMEM_memory_map 9
#define XENMAPSPACE_shared_info 0
#define DOMID_SELF        0x7FF0u


/* sched.h */
#define SCHEDOP_yield    0
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll     3
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_crash    3

/* vcpu.h */
#define VCPUOP_initialise 0
#define VCPUOP_up         1
#define VCPUOP_is_up      3

/* event_channel.h */
#define EVTCHNOP_close    3
#define EVTCHNOP_send     4
#define EVTCHNOP_bind_ipi 7
typedef uint32_t evtchn_port_t;

struct xen_info {
	bool present;
	uint32_t base;                  /* CPUID leaf of the signature */
	uint32_t max_leaf;
	uint16_t major, minor;
	uint32_t hypercall_msr;
	uint32_t hypercall_pages;
	const char *error;              /* why there is no hypercall page, else NULL */
};

extern struct xen_info xen;

/* Xen's signature is at CPUID leaf `base` (hypervisor_detect() scans for
 * it): record it, read Xen's version, install the hypercall page (CPU 0,
 * once: the page is the domain's, every vCPU calls through it). */
void xen_found(uint32_t base, uint32_t max_leaf);
static inline bool xen_hypercalls(void) { return xen.present && !xen.error; }

long xen_hypercall2(unsigned int nr, unsigned long a0, unsigned long a1);
long xen_hypercall3(unsigned int nr, unsigned long a0, unsigned long a1, unsigned long a2);

/* Xen's memory map of this domain (XENMEM_memory_map) into `buf`, which
 * holds `max` entries: the count Xen wrote (not yet checked: e820_clean),
 * or a negative Xen errno. */
long xen_memory_map(struct e820_entry *buf, unsigned int max);
/* From the time leaf: the guest's TSC in Hz, 0 if Xen does not say. */
uint64_t xen_tsc_hz_from_khz(void);
/* From the time leaf's tsc_to_system_mul and tsc_shift (vcpu_time_info's
 * conversion), 0 if absent. */
uint64_t xen_tsc_hz_from_mul(void);
/* SCHEDOP_shutdown: returns only if Xen refused (its error). */
long xen_shutdown(unsigned int reason);

/* Event channels, 2-level ABI: the pending and mask bitmaps live in
 * shared_info, which xen_map_shared_info() places over a page of the image
 * (XENMEM_add_to_physmap): NULL when that worked, else why not. Once. */
const char *xen_map_shared_info(void);
/* This vCPU's Xen id (CPUID leaf 4's EBX), or -1 if Xen does not say. */
long xen_vcpu_id(void);
/* EVTCHNOP_bind_ipi: a port whose events go to `vcpu`: >= 0, or a negative
 * Xen errno. The port is masked at once: never delivered as an upcall. */
long xen_bind_ipi(uint32_t vcpu);
long xen_evtchn_send(evtchn_port_t port);
/* SCHEDOP_poll on one port, no timeout: returns when it is pending (at
 * once if it already is), or when anything else wakes the vCPU. */
long xen_poll(evtchn_port_t port);
void xen_evtchn_clear_pending(evtchn_port_t port);
bool xen_evtchn_pending(evtchn_port_t port);

#endif
