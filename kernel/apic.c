/* SPDX-License-Identifier: MIT */
/* apic.c - the local APIC in xAPIC or x2APIC mode: IPIs, timer, EOI (apic.h). */
#include "lib/x86.h"
#include "apic.h"
#include "console.h"
#include "time.h"

/* Register offsets (Intel SDM Vol. 3, Table 10-1). In x2APIC mode register
 * at offset R is MSR X2APIC_MSR_BASE + (R >> 4). */
#define APIC_ID        0x020
#define APIC_VERSION   0x030
#define APIC_EOI       0x0B0
#define APIC_SVR       0x0F0
#define APIC_ESR       0x280
#define APIC_ICR_LOW   0x300
#define APIC_ICR_HIGH  0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_ICR 0x380
#define APIC_TIMER_CCR 0x390
#define APIC_TIMER_DCR 0x3E0
#define X2APIC_MSR_BASE 0x800

#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_EXTD    (1ull << 10)
#define APIC_BASE_EN      (1ull << 11)
#define APIC_BASE_ADDR_MASK 0xFFFFFF000ull

#define SVR_APIC_ENABLE   (1u << 8)
#define LVT_MASKED        (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define TIMER_DIVIDE_BY_1 0xB

/* ICR fields. */
#define ICR_DM_FIXED      (0u << 8)
#define ICR_DM_NMI        (4u << 8)
#define ICR_DM_INIT       (5u << 8)
#define ICR_DM_STARTUP    (6u << 8)
#define ICR_DELIVS        (1u << 12)   /* xAPIC only: send pending */
#define ICR_LEVEL_ASSERT  (1u << 14)
#define XAPIC_DEST_SHIFT  24

#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_LEAF_X2APIC_TOPOLOGY 0xB

/* The timer's rate is counted over a stretch that boot spends anyway, from
 * apic_timer_count_start() (before the AP bring-up) to apic_timer_calibrate()
 * (after time_refine(), so against the refined TSC), not over a wait of its
 * own. Counting divided by 16, the 32-bit count lasts 68 s at the 1 GHz timer
 * clock QEMU and KVM give, longer than any bring-up, at a resolution of 16
 * ns. A stretch shorter than TIMER_CALIBRATE_NS is waited out to that length
 * (the error stays what a window of that length gives); a count that ran out,
 * or none started, is redone over such a wait. */
#define TIMER_DIVIDE_BY_16 0x3
#define TIMER_COUNT_DIVISOR 16
#define TIMER_CALIBRATE_NS 500000ull

static enum apic_mode mode;
static volatile uint32_t *xapic_mmio;
static bool ready;
static uint64_t timer_ticks_per_ms;
static uint64_t timer_count_start_tsc;  /* 0: no count under way */

bool cpu_has_x2apic(void)
{
	return cpuid(1, 0).ecx & CPUID_1_ECX_X2APIC;
}

static uint32_t apic_read(uint32_t reg)
{
	if (mode == APIC_MODE_X2APIC)
		return (uint32_t)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
	return xapic_mmio[reg / 4];
}

static void apic_write(uint32_t reg, uint32_t v)
{
	if (mode == APIC_MODE_X2APIC)
		wrmsr(X2APIC_MSR_BASE + (reg >> 4), v);
	else
		xapic_mmio[reg / 4] = v;
}

static void icr_write(uint32_t apic_id, uint32_t low)
{
	if (mode == APIC_MODE_X2APIC) {
		/* One 64-bit MSR write; x2APIC has no delivery-status bit. */
		wrmsr(X2APIC_MSR_BASE + (APIC_ICR_LOW >> 4), ((uint64_t)apic_id << 32) | low);
		return;
	}
	uint64_t flags = irq_save();
	while (xapic_mmio[APIC_ICR_LOW / 4] & ICR_DELIVS)
		cpu_pause();
	xapic_mmio[APIC_ICR_HIGH / 4] = apic_id << XAPIC_DEST_SHIFT;
	xapic_mmio[APIC_ICR_LOW / 4] = low;   /* this write sends it */
	irq_restore(flags);
}

uint32_t cpu_apic_id_from_cpuid(void)
{
	if (cpuid(0, 0).eax >= CPUID_LEAF_X2APIC_TOPOLOGY) {
		struct cpuid_regs r = cpuid(CPUID_LEAF_X2APIC_TOPOLOGY, 0);
		if (r.ebx != 0)
			return r.edx;
	}
	return cpuid(1, 0).ebx >> 24;
}

void apic_init_bsp(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	mode = cpu_has_x2apic() ? APIC_MODE_X2APIC : APIC_MODE_XAPIC;
	xapic_mmio = (volatile uint32_t *)(uintptr_t)(base & APIC_BASE_ADDR_MASK);
	apic_init_cpu();
	ready = true;
}

void apic_init_cpu(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE) | APIC_BASE_EN;
	if (mode == APIC_MODE_X2APIC) {
		/* xAPIC -> x2APIC must go through enabled xAPIC (SDM 10.12.5). */
		wrmsr(MSR_IA32_APIC_BASE, base);
		base |= APIC_BASE_EXTD;
	}
	wrmsr(MSR_IA32_APIC_BASE, base);
	/* The TPR is 0 after reset and is left alone: QEMU's TPR-access
	 * optimisation (kvmvapic) patches the instruction of a guest that
	 * writes it through the xAPIC page, and patched kernel code runs wild. */
	apic_write(APIC_LVT_TIMER, LVT_MASKED);
	apic_write(APIC_LVT_ERROR, LVT_MASKED);
	apic_write(APIC_SVR, SVR_APIC_ENABLE | 0xFF);
}

bool apic_ready(void) { return ready; }
enum apic_mode apic_mode(void) { return mode; }
const char *apic_mode_name(void) { return mode == APIC_MODE_X2APIC ? "x2apic" : "xapic"; }

uint32_t apic_read_id(void)
{
	uint32_t id = apic_read(APIC_ID);
	return mode == APIC_MODE_X2APIC ? id : id >> XAPIC_DEST_SHIFT;
}

void apic_eoi(void) { apic_write(APIC_EOI, 0); }

void apic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	icr_write(apic_id, ICR_DM_FIXED | ICR_LEVEL_ASSERT | vector);
}

void apic_send_init(uint32_t apic_id)
{
	icr_write(apic_id, ICR_DM_INIT | ICR_LEVEL_ASSERT);
}

void apic_send_sipi(uint32_t apic_id, uint8_t page)
{
	icr_write(apic_id, ICR_DM_STARTUP | ICR_LEVEL_ASSERT | page);
}

void apic_send_nmi(uint32_t apic_id)
{
	icr_write(apic_id, ICR_DM_NMI | ICR_LEVEL_ASSERT);
}


/* The BSP counts its timer over a stretch of TSC time (above). */
void apic_timer_count_start(void)
{
	apic_write(APIC_TIMER_DCR, TIMER_DIVIDE_BY_16);
	apic_write(APIC_LVT_TIMER, LVT_MASKED);
	apic_write(APIC_TIMER_ICR, 0xFFFFFFFFu);
	timer_count_start_tsc = rdtsc_ordered();
}

void apic_timer_calibrate(void)
{
	if (!timer_count_start_tsc)
		apic_timer_count_start();
	uint64_t end = timer_count_start_tsc + ns_to_tsc(TIMER_CALIBRATE_NS);
	while ((int64_t)(rdtsc() - end) < 0)
		cpu_pause();
	uint32_t left = apic_read(APIC_TIMER_CCR);
	uint64_t ns = tsc_to_ns(rdtsc_ordered() - timer_count_start_tsc);
	apic_write(APIC_TIMER_ICR, 0);
	timer_count_start_tsc = 0;
	if (left == 0 || ns == 0) {
		apic_timer_calibrate();         /* ran out: count again over the short wait */
		return;
	}
	uint64_t ticks = (0xFFFFFFFFull - left) * TIMER_COUNT_DIVISOR;
	timer_ticks_per_ms = ticks * NS_PER_MS / ns;
	if (timer_ticks_per_ms == 0)
		timer_ticks_per_ms = 1;
}

void apic_timer_periodic(uint8_t vector, uint64_t ns)
{
	uint64_t ticks = timer_ticks_per_ms * ns / 1000000ull;
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xFFFFFFFFull)
		ticks = 0xFFFFFFFFull;
	apic_write(APIC_TIMER_DCR, TIMER_DIVIDE_BY_1);
	apic_write(APIC_LVT_TIMER, LVT_TIMER_PERIODIC | vector);
	apic_write(APIC_TIMER_ICR, (uint32_t)ticks);
}

void apic_timer_stop(void)
{
	apic_write(APIC_LVT_TIMER, LVT_MASKED);
	apic_write(APIC_TIMER_ICR, 0);
}
