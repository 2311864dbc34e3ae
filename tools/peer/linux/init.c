// SPDX-License-Identifier: MIT
// The Linux peer's init: says what CPUID tells the kernel about the hypervisor
// (the facts that choose Linux's spinlock), loads locktorture with the
// locktorture.* words of the kernel command line once the kernel has booted,
// and sleeps while it runs; locktorture powers the machine off (shutdown_secs).
// Freestanding: no libc, raw system calls. Every line it prints starts with
// "pvspin-peer: " (tools/peer/linux/console.py reads them) and goes through
// /dev/kmsg: a printk record reaches the console whole (a write to the tty
// can be split by the kernel's own lines), timestamped, and before the
// machine powers off.
#include <stdint.h>

#define SYS_read          0
#define SYS_write         1
#define SYS_open          2
#define SYS_close         3
#define SYS_pause         34
#define SYS_mount         165
#define SYS_reboot        169
#define SYS_finit_module  313
#define O_RDONLY          0
#define O_WRONLY          1
#define STDOUT            1
#define LINUX_REBOOT_MAGIC1       0xfee1dead
#define LINUX_REBOOT_MAGIC2       672274793
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedcu

#define CPUID_FEATURES 1u
#define CPUID_HYPERVISOR_BIT (1u << 31)     /* leaf 1 ECX: running under a hypervisor */
#define CPUID_HV_BASE  0x40000000u          /* hypervisor signature leaf */
#define CPUID_KVM_FEATURES 0x40000001u
#define KVM_FEATURE_PV_UNHALT 7

#define PARAM_PREFIX   "locktorture."
#define CMDLINE_MAX    4096

static long syscall5(long n, long a, long b, long c, long d, long e)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

#define syscall3(n, a, b, c) syscall5((n), (a), (b), (c), 0, 0)

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

static char *put_dec(char *p, long v)
{
	char digits[24];
	int n = 0;
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = digits[--n];
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

static long log_fd = STDOUT;     /* /dev/kmsg once open; the console before */

static void say(const char *line, const char *end)
{
	syscall3(SYS_write, log_fd, (long)line, end - line);
}

static void say_cpuid(void)
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
	say(line, p);
}

/* The locktorture.* words of the kernel command line, prefix removed and
 * space separated, into out (which holds CMDLINE_MAX bytes). */
static void module_params(const char *cmdline, long len, char *out)
{
	const long prefix_len = sizeof(PARAM_PREFIX) - 1;
	char *o = out;
	for (long i = 0; i < len;) {
		while (i < len && (cmdline[i] == ' ' || cmdline[i] == '\n'))
			i++;
		long start = i;
		while (i < len && cmdline[i] != ' ' && cmdline[i] != '\n')
			i++;
		long n = i - start;
		int match = n > prefix_len;
		for (long k = 0; match && k < prefix_len; k++)
			match = cmdline[start + k] == PARAM_PREFIX[k];
		if (!match)
			continue;
		if (o != out)
			*o++ = ' ';
		for (long k = start + prefix_len; k < i; k++)
			*o++ = cmdline[k];
	}
	*o = '\0';
}

/* Ends the run when the torture cannot start: nothing else would. */
static void __attribute__((noreturn)) fail(const char *what, long err)
{
	char line[160], *p = line;
	p = put(p, "pvspin-peer: ");
	p = put(p, what);
	p = put(p, " failed: error ");
	p = put_dec(p, err);
	p = put(p, "; powering off\n");
	say(line, p);
	syscall5(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		 LINUX_REBOOT_CMD_POWER_OFF, 0, 0);
	for (;;)
		syscall3(SYS_pause, 0, 0, 0);
}

static void load(const char *path, const char *params)
{
	long fd = syscall3(SYS_open, (long)path, O_RDONLY, 0);
	if (fd < 0)
		fail(path, fd);
	long err = syscall3(SYS_finit_module, fd, (long)params, 0);
	if (err < 0)
		fail(path, err);
	syscall3(SYS_close, fd, 0, 0);
}

/* The kernel enters _start with RSP 16-byte aligned, where a C function
 * expects RSP + 8 to be: realign, or an aligned spill would fault. */
__attribute__((force_align_arg_pointer)) void _start(void)
{
	static char cmdline[CMDLINE_MAX], params[CMDLINE_MAX];
	static const char loaded[] = "pvspin-peer: locktorture loaded\n";

	long kmsg = syscall3(SYS_open, (long)"/dev/kmsg", O_WRONLY, 0);
	if (kmsg >= 0)
		log_fd = kmsg;
	say_cpuid();
	long err = syscall5(SYS_mount, (long)"proc", (long)"/proc", (long)"proc", 0, 0);
	if (err < 0)
		fail("mount /proc", err);
	long fd = syscall3(SYS_open, (long)"/proc/cmdline", O_RDONLY, 0);
	if (fd < 0)
		fail("open /proc/cmdline", fd);
	long len = syscall3(SYS_read, fd, (long)cmdline, CMDLINE_MAX - 1);
	if (len < 0)
		fail("read /proc/cmdline", len);
	if (len == CMDLINE_MAX - 1)     /* a cut word would reach the module cut */
		fail("read /proc/cmdline (longer than the init's buffer)", -1);
	syscall3(SYS_close, fd, 0, 0);
	module_params(cmdline, len, params);
	load("/torture.ko", "");
	load("/locktorture.ko", params);
	say(loaded, loaded + sizeof(loaded) - 1);
	for (;;)
		syscall3(SYS_pause, 0, 0, 0);
}
