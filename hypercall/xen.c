/* SPDX-License-Identifier: MIT */
/* xen.c - Xen's CPUID leaves, its hypercall page, and the hypercalls pvspin makes (xen.h). */
#include <stddef.h>
#include "lib/layout.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "xen.h"

struct xen_info xen;

#define NSEC_PER_SEC   1000000000ull
#define HZ_PER_KHZ     1000ull

/* Xen fills the page when its MSR is written with the page's physical
 * address (low 12 bits: which page, 0 here). Identity mapped, so the
 * address is the pointer; no NX anywhere in the page tables, so it runs
 * from .bss. Only one page is used: every hypercall number here is below
 * PAGE_SIZE / XEN_HYPERCALL_STUB_SIZE. */
static uint8_t hypercall_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
_Static_assert(__HYPERVISOR_event_channel_op < PAGE_SIZE / XEN_HYPERCALL_STUB_SIZE,
	       "every hypercall used has its stub in the first page");

static const char *install_page(void)
{
	struct cpuid_regs r = cpuid(xen.base + XEN_CPUID_LEAF_HYPERCALL, 0);
	xen.hypercall_pages = r.eax;
	xen.hypercall_msr = r.ebx;
	if (xen.max_leaf < xen.base + XEN_CPUID_LEAF_HYPERCALL || !r.eax)
		return "CPUID offers no hypercall page";
	wrmsr(r.ebx, (uint64_t)(uintptr_t)hypercall_page);
	/* Each stub starts with `mov $nr, %eax` (0xb8) once Xen wrote it. */
	if (hypercall_page[__HYPERVISOR_sched_op * XEN_HYPERCALL_STUB_SIZE] != 0xb8)
		return "the hypercall page is still empty after the MSR write";
	return NULL;
}

void xen_found(uint32_t base, uint32_t max_leaf)
{
	xen.present = true;
	xen.base = base;
	xen.max_leaf = max_leaf;
	uint32_t v = cpuid(base + XEN_CPUID_LEAF_VERSION, 0).eax;
	xen.major = (uint16_t)(v >> 16);
	xen.minor = (uint16_t)v;
	xen.error = install_page();
}

/* The stubs take arguments in rdi, rsi, rdx (then r10, r8), return in rax,
 * and clobber the argument registers and RCX, R11 (SYSCALL-like). */
long xen_hypercall2(unsigned int nr, unsigned long a0, unsigned long a1)
{
	long ret;
	unsigned long d0, d1;
	__asm__ volatile("call *%[stub]"
			 : "=a"(ret), "=D"(d0), "=S"(d1)
			 : [stub] "r"(hypercall_page + nr * XEN_HYPERCALL_STUB_SIZE), "D"(a0), "S"(a1)
			 : "rcx", "rdx", "r8", "r10", "r11", "memory");
	return ret;
}

long xen_hypercall3(unsigned int nr, unsigned long a0, unsigned long a1, unsigned long a2)
{
	long ret;
	unsigned long d0, d1, d2;
	__asm__ volatile("call *%[stub]"
			 : "=a"(ret), "=D"(d0), "=S"(d1), "=d"(d2)
			 : [stub] "r"(hypercall_page + nr * XEN_HYPERCALL_STUB_SIZE), "D"(a0), "S"(a1), "d"(a2)
			 : "rcx", "r8", "r10", "r11", "memory");
	return ret;
}

/* memory.h struct xen_memory_map: entries in/out, then the buffer. */
struct xen_memory_map {
	uint32_t nr_entries;
	uint32_t pad;
	uint64_t buffer;
};
_Static_assert(sizeof(struct xen_memory_map) == 16, "xen_memory_map layout (x86-64)");

long xen_memory_map(struct e820_entry *buf, unsigned int max)
{
	if (!xen_hypercalls())
		return -XEN_ENOSYS;
	struct xen_memory_map m = { max, 0, (uint64_t)(uintptr_t)buf };
	long rc = xen_hypercall2(__HYPERVISOR_memory_op, XENMEM_memory_map, (unsigned long)&m);
	if (rc < 0)
		return rc;
	return m.nr_entries;
}

static bool has_time_leaf(void)
{
	return xen.present && xen.max_leaf >= xen.base + XEN_CPUID_LEAF_TIME;
}

uint64_t xen_tsc_hz_from_khz(void)
{
	if (!has_time_leaf())
		return 0;
	return cpuid(xen.base + XEN_CPUID_LEAF_TIME, XEN_CPUID_TIME_TSC).ecx * HZ_PER_KHZ;
}

uint64_t xen_tsc_hz_from_mul(void)
{
	if (!has_time_leaf())
		return 0;
	struct cpuid_regs r = cpuid(xen.base + XEN_CPUID_LEAF_TIME, XEN_CPUID_TIME_CONVERT);
	uint32_t mul = r.ecx;
	int8_t shift = (int8_t)r.edx;
	if (!mul)
		return 0;
	/* ns = ((tsc << shift) * mul) >> 32 (vcpu_time_info), so
	 * Hz = 1e9 * 2^32 / mul, shifted back. */
	uint64_t f = (NSEC_PER_SEC << 32) / mul;
	return shift < 0 ? f << -shift : f >> shift;
}

long xen_shutdown(unsigned int reason)
{
	if (!xen_hypercalls())
		return -XEN_ENOSYS;
	struct { uint32_t reason; } s = { reason };
	return xen_hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&s);
}

/* xen.h (x86-64): struct shared_info opens with 32 vcpu_info of 64 bytes,
 * then the pending and mask bitmaps of 64 words each. */
#define XEN_LEGACY_MAX_VCPUS 32
#define XEN_VCPU_INFO_SIZE   64
#define XEN_EVTCHN_WORDS     64
#define XEN_EVTCHN_PORTS     (XEN_EVTCHN_WORDS * 64)

struct xen_shared_info_head {
	uint8_t vcpu_info[XEN_LEGACY_MAX_VCPUS][XEN_VCPU_INFO_SIZE];
	uint64_t evtchn_pending[XEN_EVTCHN_WORDS];
	uint64_t evtchn_mask[XEN_EVTCHN_WORDS];
};
_Static_assert(offsetof(struct xen_shared_info_head, evtchn_pending) == 2048, "shared_info layout");
_Static_assert(offsetof(struct xen_shared_info_head, evtchn_mask) == 2560, "shared_info layout");

/* Xen replaces the RAM page at this frame with shared_info. */
static uint8_t shared_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile struct xen_shared_info_head *const shared_info =
	(volatile struct xen_shared_info_head *)shared_info_page;

/* memory.h struct xen_add_to_physmap (x86-64). */
struct xen_add_to_physmap {
	uint16_t domid, size;
	uint32_t space;
	uint64_t idx, gpfn;
};
_Static_assert(sizeof(struct xen_add_to_physmap) == 24, "xen_add_to_physmap layout");

const char *xen_map_shared_info(void)
{
	static bool tried;
	static const char *error;
	if (tried)
		return error;
	tried = true;
	if (!xen_hypercalls()) {
		error = xen.present ? xen.error : "no Xen";
		return error;
	}
	struct xen_add_to_physmap a = { DOMID_SELF, 0, XENMAPSPACE_shared_info, 0,
					(uint64_t)(uintptr_t)shared_info_page / PAGE_SIZE };
	if (xen_hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (unsigned long)&a) < 0)
		error = "XENMEM_add_to_physmap of shared_info failed";
	return error;
}

long xen_vcpu_id(void)
{
	if (!xen.present || xen.max_leaf < xen.base + XEN_CPUID_LEAF_HVM)
		return -1;
	struct cpuid_regs r = cpuid(xen.base + XEN_CPUID_LEAF_HVM, 0);
	return r.eax & XEN_HVM_CPUID_VCPU_ID_PRESENT ? (long)r.ebx : -1;
}

long xen_bind_ipi(uint32_t vcpu)
{
	struct { uint32_t vcpu; evtchn_port_t port; } b = { vcpu, 0 };
	long rc = xen_hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, (unsigned long)&b);
	if (rc < 0)
		return rc;
	if (b.port >= XEN_EVTCHN_PORTS)
		return -XEN_EINVAL;
	__atomic_fetch_or(&shared_info->evtchn_mask[b.port / 64], 1ull << (b.port % 64),
			  __ATOMIC_SEQ_CST);
	return b.port;
}

long xen_evtchn_send(evtchn_port_t port)
{
	struct { evtchn_port_t port; } s = { port };
	return xen_hypercall2(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&s);
}

/* sched.h struct sched_poll (x86-64): a guest handle to the ports. */
struct sched_poll {
	uint64_t ports;
	uint32_t nr_ports, pad;
	uint64_t timeout;               /* 0: none */
};
_Static_assert(sizeof(struct sched_poll) == 24, "sched_poll layout");

long xen_poll(evtchn_port_t port)
{
	evtchn_port_t ports[1] = { port };
	struct sched_poll p = { (uint64_t)(uintptr_t)ports, 1, 0, 0 };
	return xen_hypercall2(__HYPERVISOR_sched_op, SCHEDOP_poll, (unsigned long)&p);
}

/* SEQ_CST: the clear is globally visible before the caller's re-check of
 * the lock byte is read (a locked instruction on x86). */
void xen_evtchn_clear_pending(evtchn_port_t port)
{
	__atomic_fetch_and(&shared_info->evtchn_pending[port / 64], ~(1ull << (port % 64)),
			   __ATOMIC_SEQ_CST);
}

bool xen_evtchn_pending(evtchn_port_t port)
{
	return __atomic_load_n(&shared_info->evtchn_pending[port / 64], __ATOMIC_ACQUIRE) &
	       (1ull << (port % 64));
}
