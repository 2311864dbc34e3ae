/* SPDX-License-Identifier: MIT */
/* kvm-anchor.c - runs in L1 before any L2 guest: one KVM VM with one never-run vCPU whose local
 * APIC stays disabled, so the static keys KVM moves per VM and per APIC never return to zero and
 * L1's kernel text is not rewritten while L2 guests run.
 *
 * Why (docs/notes/nested-failures-below-the-guest.md): each move of a static key between 0
 * and 1 rewrites its jump sites with text_poke_bp() (an int3 first, the rest,
 * then the first byte) while L1's CPUs run through them. Every L2 guest moves
 * - preempt_notifier_key (kernel/sched/core.c), raised by each KVM VM
 *   (kvm_create_vm) and dropped when it goes: its site is in
 *   finish_task_switch(), run at every context switch on every CPU;
 * - apic_sw_disabled and apic_hw_disabled (arch/x86/kvm/lapic.c), raised
 *   while any vCPU's APIC is software- or hardware-disabled and dropped, a
 *   second later, once none is: their sites are in __apic_accept_irq(), run
 *   to inject every L2 timer interrupt.
 * Under L0's multi-threaded TCG (QEMU 7.2) all of L1's CPUs were seen looping
 * at such a site (__apic_accept_irq+0x72, finish_task_switch+0x9f), executing
 * an int3 long after memory held the new instruction again: Linux's int3
 * handler finds no breakpoint there, backs up and retries, forever. A VM of
 * our own holds the first key; its vCPU, created software-disabled and then
 * hardware-disabled through IA32_APIC_BASE, holds the other two.
 *
 * Freestanding (raw system calls, no libc): L1's initrd has no C library.
 * Prints "kvm-anchor: ready" once it holds the keys, then sleeps until killed;
 * any failure prints "kvm-anchor: <step> failed[: errno N]" and exits 1. */
#include <stdint.h>

/* Linux x86-64 system call numbers. */
#define SYS_write 1
#define SYS_open  2
#define SYS_ioctl 16
#define SYS_pause 34
#define SYS_exit  60

#define O_RDWR    02
#define O_CLOEXEC 02000000

/* Documentation/virt/kvm/api.rst: _IO(KVMIO, n) and _IOW(KVMIO, n, type), KVMIO 0xAE. */
#define KVMIO 0xAEu
#define KVM_IO(nr)         ((KVMIO << 8) | (nr))
#define KVM_IOW(nr, size)  ((1u << 30) | ((uint32_t)(size) << 16) | (KVMIO << 8) | (nr))
#define KVM_CREATE_VM      KVM_IO(0x01)
#define KVM_CREATE_VCPU    KVM_IO(0x41)
#define KVM_CREATE_IRQCHIP KVM_IO(0x60)
#define KVM_SET_MSRS       KVM_IOW(0x89, sizeof(struct kvm_msrs_header))

/* Intel SDM vol. 3 "Local APIC Status and Location": IA32_APIC_BASE, bit 11
 * the global enable; the base left at its reset value. */
#define MSR_IA32_APICBASE     0x1bu
#define APIC_DEFAULT_PHYS_BASE 0xfee00000ull

struct kvm_msrs_header {
	uint32_t nmsrs;
	uint32_t pad;
};
struct kvm_msr_entry {
	uint32_t index;
	uint32_t reserved;
	uint64_t data;
};
_Static_assert(sizeof(struct kvm_msrs_header) == 8, "struct kvm_msrs is 8 bytes before its entries");
_Static_assert(sizeof(struct kvm_msr_entry) == 16, "struct kvm_msr_entry is 16 bytes");

static long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static void say(const char *s)
{
	long n = 0;
	while (s[n])
		n++;
	syscall3(SYS_write, 1, (long)s, n);
}

static __attribute__((noreturn)) void die(const char *step, long err)
{
	char num[24];
	int i = sizeof(num) - 1;
	unsigned long e = (unsigned long)-err;
	num[i] = 0;
	do {
		num[--i] = (char)('0' + e % 10);
		e /= 10;
	} while (e && i > 0);
	say("kvm-anchor: ");
	say(step);
	say(err ? " failed: errno " : " failed");
	say(err ? &num[i] : "");
	say("\n");
	syscall3(SYS_exit, 1, 0, 0);
	__builtin_unreachable();
}

static long checked(const char *step, long ret)
{
	if (ret < 0)
		die(step, ret);
	return ret;
}

/* Entered by a jump with RSP 16-byte aligned, not by a call. */
void _start(void) __attribute__((noreturn, force_align_arg_pointer));
void _start(void)
{
	long kvm = checked("open /dev/kvm", syscall3(SYS_open, (long)"/dev/kvm", O_RDWR | O_CLOEXEC, 0));
	long vm = checked("KVM_CREATE_VM", syscall3(SYS_ioctl, kvm, KVM_CREATE_VM, 0));
	/* An in-kernel irqchip gives each vCPU an in-kernel local APIC; it is
	 * created software-disabled: apic_sw_disabled goes up by one. */
	checked("KVM_CREATE_IRQCHIP", syscall3(SYS_ioctl, vm, KVM_CREATE_IRQCHIP, 0));
	long vcpu = checked("KVM_CREATE_VCPU", syscall3(SYS_ioctl, vm, KVM_CREATE_VCPU, 0));
	/* Clearing the global enable raises apic_hw_disabled by one. */
	struct {
		struct kvm_msrs_header h;
		struct kvm_msr_entry e;
	} msrs = { { 1, 0 }, { MSR_IA32_APICBASE, 0, APIC_DEFAULT_PHYS_BASE } };
	if (checked("KVM_SET_MSRS IA32_APIC_BASE", syscall3(SYS_ioctl, vcpu, KVM_SET_MSRS, (long)&msrs)) != 1)
		die("KVM_SET_MSRS IA32_APIC_BASE (KVM refused the value)", 0);
	say("kvm-anchor: ready\n");
	for (;;)
		syscall3(SYS_pause, 0, 0, 0);
}
