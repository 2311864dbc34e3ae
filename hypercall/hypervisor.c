/* SPDX-License-Identifier: MIT */
/* hypervisor.c - what CPUID says of the CPU and the hypervisor (hypervisor.h). */
#include "lib/string.h"
#include "lib/x86.h"
#include "hyperv.h"
#include "hypervisor.h"
#include "xen.h"

struct hypervisor_info hv;

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_EXT_MAX          0x80000000
#define CPUID_BRAND_FIRST      0x80000002
#define CPUID_BRAND_LAST       0x80000004
#define KVM_SIGNATURE          "KVMKVMKVM\0\0\0"

static void copy_regs(char *dst, uint32_t a, uint32_t b, uint32_t c)
{
	memcpy(dst, &a, 4);
	memcpy(dst + 4, &b, 4);
	memcpy(dst + 8, &c, 4);
	dst[12] = '\0';
}

static uint32_t word_of(const char *s)
{
	uint32_t w;
	memcpy(&w, s, sizeof(w));
	return w;
}

/* The 12 bytes of a hypervisor's signature leaf, EBX ECX EDX, against
 * `sig`; the words compared as words (a memcmp() at each of 256 bases
 * costs blocks under TCG). */
static bool signature_is(struct cpuid_regs r, const char sig[12])
{
	return r.ebx == word_of(sig) && r.ecx == word_of(sig + 4) && r.edx == word_of(sig + 8);
}

static void detect_cpu(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	copy_regs(hv.vendor_id, r.ebx, r.edx, r.ecx);
	if (!strcmp(hv.vendor_id, "GenuineIntel"))
		hv.vendor = CPU_VENDOR_INTEL;
	else if (!strcmp(hv.vendor_id, "AuthenticAMD") || !strcmp(hv.vendor_id, "HygonGenuine"))
		hv.vendor = CPU_VENDOR_AMD;
	if (cpuid(CPUID_EXT_MAX, 0).eax >= CPUID_BRAND_LAST) {
		for (uint32_t l = CPUID_BRAND_FIRST; l <= CPUID_BRAND_LAST; l++) {
			struct cpuid_regs b = cpuid(l, 0);
			memcpy(hv.model_name + (l - CPUID_BRAND_FIRST) * 16, &b, 16);
		}
		hv.model_name[48] = '\0';
	}
}

void hypervisor_detect(void)
{
	detect_cpu();
	hv.present = cpuid(1, 0).ecx & CPUID_1_ECX_HYPERVISOR;
	if (!hv.present)
		return;
	struct cpuid_regs r = cpuid(CPUID_HV_BASE, 0);
	copy_regs(hv.signature, r.ebx, r.ecx, r.edx);
	hv.base = CPUID_HV_BASE;
	hv.max_leaf = r.eax;
	/* Hyper-V's leaves are always at the first base; with both offered
	 * (QEMU's hv-* flags under KVM) KVM's move to a later one, as Xen's
	 * do beside Hyper-V's (viridian) or KVM's (KVM's Xen emulation). One
	 * CPUID a base finds both: each is a VM exit under a hypervisor. */
	hyperv_detect(hv.signature, r.eax);
	for (uint32_t base = CPUID_HV_BASE; base < CPUID_HV_LAST && !(xen.present && hv.kvm);
	     base += CPUID_HV_STEP) {
		r = cpuid(base, 0);
		if (!xen.present && signature_is(r, XEN_CPUID_SIGNATURE))
			xen_found(base, r.eax);
		if (!hv.kvm && signature_is(r, KVM_SIGNATURE)) {
			hv.kvm = true;
			hv.base = base;
			hv.max_leaf = r.eax;
			struct cpuid_regs f = cpuid(base + 1, 0);
			hv.kvm_features = f.eax;
			hv.kvm_hints = f.edx;
		}
	}
}
