/* SPDX-License-Identifier: MIT */
/* x86.h - thin wrappers for x86 instructions and registers. Names follow the Intel SDM. */
#ifndef PVSPIN_X86_H
#define PVSPIN_X86_H

#include <stdint.h>
#include <stdbool.h>

#define RFLAGS_IF (1ul << 9)

#define MSR_IA32_APIC_BASE    0x1B
#define MSR_IA32_TSC_DEADLINE 0x6E0
#define MSR_FS_BASE           0xC0000100
#define MSR_GS_BASE           0xC0000101
#define MSR_KERNEL_GS_BASE    0xC0000102

struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* rdtsc that does not move before earlier loads (for timestamps of events). */
static inline uint64_t rdtsc_ordered(void)
{
	__asm__ volatile("lfence" ::: "memory");
	return rdtsc();
}

/* A 32-bit load at a constant offset from the GS base (per-CPU data). */
#define gs_load_u32(offset) ({                                                 \
	uint32_t v_;                                                           \
	__asm__ volatile("movl %%gs:%c1, %0" : "=r"(v_) : "i"(offset));        \
	v_;                                                                    \
})

static inline void cpu_pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* STI's one-instruction interrupt shadow makes "sti; hlt" atomic: an interrupt
 * that is already pending wakes the HLT instead of being taken before it. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline uint64_t read_rflags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f) :: "memory");
	return f;
}

static inline bool irqs_enabled(void) { return read_rflags() & RFLAGS_IF; }

static inline uint64_t irq_save(void)
{
	uint64_t f = read_rflags();
	cli();
	return f;
}

static inline void irq_restore(uint64_t flags)
{
	if (flags & RFLAGS_IF)
		sti();
}

static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }

/* a * b / c with a 128-bit intermediate, without libgcc (whose helpers may
 * use the red zone): one DIV. The quotient must fit 64 bits (saturates). */
static inline uint64_t mul_div_u64(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 p = (unsigned __int128)a * b;
	uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p, q, r;
	if (hi >= c)
		return UINT64_MAX;
	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(c));
	return q;
}

static inline void __attribute__((noreturn)) halt_forever(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

#endif
