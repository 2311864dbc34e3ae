// SPDX-License-Identifier: MIT
// The Linux peer's init: says what CPUID tells the kernel about the hypervisor
// (the facts that choose Linux's spinlock), then sleeps while locktorture runs
// and powers the machine off. Freestanding: no libc, raw system calls.
#include <stdint.h>

#define SYS_write      1
#define SYS_pause      34
#define STDOUT         1
#define CPUID_FEATURES 1u
#define CPUID_HYPERVISOR_BIT (1u << 31)     /* leaf 1 ECX: running under a hypervisor */
#define CPUID_HV_BASE  0x40000000u          /* hypervisor signature leaf */
#define CPUID_KVM_FEATURES 0x40000001u
#define KVM_FEATURE_PV_UNHALT 7

static long syscall3(long n, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static char *put(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_hex(char *p, uint32_t v)
{
	*p++ = '0';
	*p++ = 'x';
	for (int shift = 28; shift >= 0; shift -= 4)
		*p++ = "0123456789abcdef"[(v >> shift) & 0xf];
	return p;
}

/* Printable bytes of a CPUID signature; anything else becomes '.'. */
static char *put_sig(char *p, const uint32_t regs[3])
{
	for (int i = 0; i < 3; i++)
		for (int b = 0; b < 4; b++) {
			char c = (char)(regs[i] >> (8 * b));
			*p++ = (c >= 0x20 && c < 0x7f) ? c : '.';
		}
	return p;
}

void _start(void)
{
	char line[160], *p = line;
	uint32_t r[4], hv[4] = { 0 }, kvm[4] = { 0 };

	cpuid(CPUID_FEATURES, r);
	int under_hv = (r[2] & CPUID_HYPERVISOR_BIT) != 0;
	if (under_hv) {
		cpuid(CPUID_HV_BASE, hv);
		if (hv[0] >= CPUID_KVM_FEATURES)
			cpuid(CPUID_KVM_FEATURES, kvm);
	}
	/* One machine line, read by tools/peer/linux/console.py. */
	p = put(p, "pvspin-peer: cpuid hypervisor=");
	p = put(p, under_hv ? "1" : "0");
	p = put(p, " signature=");
	if (under_hv) {
		uint32_t sig[3] = { hv[1], hv[2], hv[3] };
		p = put_sig(p, sig);
	} else {
		p = put(p, "-");
	}
	p = put(p, " leaf40000001.eax=");
	p = put_hex(p, kvm[0]);
	p = put(p, " pv_unhalt=");
	p = put(p, (kvm[0] >> KVM_FEATURE_PV_UNHALT) & 1 ? "1" : "0");
	p = put(p, "\n");
	syscall3(SYS_write, STDOUT, (long)line, p - line);
	for (;;)
		syscall3(SYS_pause, 0, 0, 0);
}
