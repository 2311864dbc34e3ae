/* SPDX-License-Identifier: MIT */
/* time.c - the TSC clock, calibrated against the hypervisor, HPET, PM timer
 * or PIT (time.h). */
#include <stdbool.h>
#include "hypercall/hypervisor.h"
#include "hypercall/xen.h"
#include "kernel/drivers/hpet.h"
#include "kernel/drivers/pit.h"
#include "kernel/drivers/pm_timer.h"
#include "lib/json.h"
#include "lib/x86.h"
#include "acpi.h"
#include "time.h"

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_USEC 1000ull
/* Window against a reference timer: 2 ms keeps the error near 0.1% with
 * HPET or PM timer reads of ~1 us, and is a fixed cost of every boot. The
 * HPET's window is first CALIBRATE_FIRST_NS (good to ~1% for the bring-up's
 * timeouts), then reread after the bring-up (time_refine): at least
 * REFINE_MIN_NS, more when bringing up the APs took longer. Its ends are the
 * tightest of a few paired reads (hpet_pair), so it does better than the
 * bound above: under QEMU 7.2 TCG, against a 2.6 GHz host TSC, 250 us
 * windows were within 0.05% and 2 ms ones within 0.005%; 1 ms keeps the
 * error near 0.01% and leaves less of the window to wait out at 1 vCPU. */
#define CALIBRATE_NS 2000000ull
#define CALIBRATE_FIRST_NS 250000ull
#define REFINE_MIN_NS 1000000ull
/* A refined frequency this far from the first one means a wrapped counter. */
#define REFINE_MAX_DIFF_PERCENT 5

/* Hypervisor timing leaf, base + 0x10 (KVM with QEMU's vmware-cpuid-freq):
 * EAX = TSC kHz. */
#define CPUID_HV_TIMING_OFFSET 0x10
/* Intel TSC / crystal ratio leaf. */
#define CPUID_TSC_CRYSTAL 0x15

/* kvmclock (Documentation/virt/kvm/x86/msr.rst). */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define KVMCLOCK_ENABLE 1ull

struct pvclock_vcpu_time_info {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((packed, aligned(32)));
_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock record is 32 bytes");

/* The PIT counts down from its largest reload, then starts over. */
#define PIT_RELOAD    PIT_RELOAD_MAX
#define PIT_STUCK_READS 100000   /* same count this often: no PIT */

/* A measured frequency outside this range means the reference is broken. */
#define TSC_HZ_MIN 100000000ull
#define TSC_HZ_MAX 20000000000ull

static uint64_t hz;
static uint64_t mult;                   /* ns = (tsc * mult) >> MULT_SHIFT */
#define MULT_SHIFT 32
static const char *source = "none";

static uint64_t from_hv_leaf(void)
{
	uint32_t leaf = hv.base + CPUID_HV_TIMING_OFFSET;
	if (!hv.present || hv.max_leaf < leaf)
		return 0;
	return (uint64_t)cpuid(leaf, 0).eax * 1000;
}

static uint64_t from_kvmclock(void)
{
	static struct pvclock_vcpu_time_info pv;
	if (!kvm_has_feature(KVM_FEATURE_CLOCKSOURCE2))
		return 0;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&pv | KVMCLOCK_ENABLE);
	uint32_t v;
	uint32_t mul;
	int8_t shift;
	do {
		v = __atomic_load_n(&pv.version, __ATOMIC_ACQUIRE);
		mul = pv.tsc_to_system_mul;
		shift = pv.tsc_shift;
		/* ACQUIRE fence: the field reads complete before the recheck. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != __atomic_load_n(&pv.version, __ATOMIC_RELAXED));
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!mul)
		return 0;
	/* ns = ((tsc << shift) * mul) >> 32, so Hz = 1e9 * 2^32 / mul, shifted back. */
	uint64_t f = (NSEC_PER_SEC << 32) / mul;
	return shift < 0 ? f << -shift : f >> shift;
}

static uint64_t from_cpuid_15(void)
{
	if (cpuid(0, 0).eax < CPUID_TSC_CRYSTAL)
		return 0;
	struct cpuid_regs r = cpuid(CPUID_TSC_CRYSTAL, 0);
	if (!r.eax || !r.ebx || !r.ecx)
		return 0;
	return (uint64_t)r.ecx * r.ebx / r.eax;
}

/* The HPET's window stays open: time_init() measures over a short first
 * stretch, time_refine() again from the same start once the APs are up.
 * Each end of the window is an HPET read between two TSC reads, the
 * tightest of a few: under TCG the first run of a code path is translated
 * first, which can put tens of microseconds between two reads. */
#define HPET_PAIR_TRIES 4
#define NS_PER_100NS 100ull

struct clock_pair {
	uint64_t ref, tsc;              /* HPET count, TSC at the same moment */
};

static struct {
	uint64_t period_fs;
	struct clock_pair start;
} hpet_window;

static struct clock_pair hpet_pair(void)
{
	struct clock_pair best = { 0, 0 };
	uint64_t best_gap = UINT64_MAX;
	for (int i = 0; i < HPET_PAIR_TRIES; i++) {
		uint64_t a = rdtsc_ordered(), h = hpet_counter(), b = rdtsc_ordered();
		if (b - a < best_gap) {
			best_gap = b - a;
			best = (struct clock_pair){ h, a + (b - a) / 2 };
		}
	}
	return best;
}

static uint64_t hpet_hz_since_start(uint64_t min_ns)
{
	uint64_t ticks = min_ns * FS_PER_NS / hpet_window.period_fs;
	while (hpet_counter() - hpet_window.start.ref < ticks)
		cpu_pause();
	struct clock_pair end = hpet_pair();
	/* In units of 100 ns, so that the product below fits 64 bits for any
	 * window shorter than ~14 minutes at 2 GHz. */
	uint64_t elapsed = (end.ref - hpet_window.start.ref) * hpet_window.period_fs /
			   (FS_PER_NS * NS_PER_100NS);
	if (elapsed == 0)
		return 0;
	return (end.tsc - hpet_window.start.tsc) * (NSEC_PER_SEC / NS_PER_100NS) / elapsed;
}

static uint64_t from_hpet(void)
{
	if (!acpi.has_hpet || !acpi.hpet_addr)
		return 0;
	hpet_window.period_fs = hpet_enable(acpi.hpet_addr);
	if (!hpet_window.period_fs)
		return 0;
	hpet_window.start = hpet_pair();
	return hpet_hz_since_start(CALIBRATE_FIRST_NS);
}

/* The PM timer and the PIT: each TSC read follows a timer read on the same
 * code path, and the window starts at the loop's second pass, when that path
 * has run once (the first run is translated under TCG, see hpet_pair). */
#define WARMUP_PASSES 2

static uint64_t from_pm_timer(void)
{
	if (!acpi.pm_timer_port)
		return 0;
	uint32_t mask = pm_timer_mask(acpi.pm_timer_32bit);
	uint64_t ticks = CALIBRATE_NS * PM_TIMER_HZ / NSEC_PER_SEC, done = 0, t0 = 0, t1 = 0;
	uint32_t last = 0;
	for (unsigned int pass = 1; done < ticks; pass++) {
		uint32_t now = pm_timer_read(acpi.pm_timer_port, mask);
		t1 = rdtsc_ordered();
		if (pass <= WARMUP_PASSES)
			t0 = t1;
		else
			done += (now - last) & mask;
		last = now;
	}
	return (t1 - t0) * PM_TIMER_HZ / done;
}

static uint64_t from_pit(void)
{
	uint64_t ticks = CALIBRATE_NS * PIT_HZ / NSEC_PER_SEC, done = 0, t0 = 0, t1 = 0, still = 0;
	pit_start_rate(PIT_RELOAD);
	uint16_t last = 0;
	for (unsigned int pass = 1; done < ticks; pass++) {
		uint16_t now = pit_read();
		t1 = rdtsc_ordered();
		if (pass <= WARMUP_PASSES) {
			t0 = t1;
			last = now;
			continue;
		}
		/* Counts down from PIT_RELOAD, then reloads. */
		done += (uint16_t)(last - now) % PIT_RELOAD;
		still = now == last ? still + 1 : 0;
		if (still > PIT_STUCK_READS)
			return 0;               /* no PIT here */
		last = now;
	}
	return (t1 - t0) * PIT_HZ / done;
}

struct tsc_method {
	const char *name;
	uint64_t (*measure)(void);
};

#define HPET_METHOD 5

/* In order of preference: told by the hypervisor or CPU, then measured.
 * Xen gives a PVH guest neither HPET, PM timer nor PIT: its time leaf is
 * the only clock there, so both of its forms come before any timer. */
static const struct tsc_method methods[] = {
	{ "cpuid-0x40000010", from_hv_leaf },
	{ "kvmclock", from_kvmclock },
	{ "xen-cpuid-tsc-khz", xen_tsc_hz_from_khz },
	{ "xen-cpuid-tsc-mul", xen_tsc_hz_from_mul },
	{ "cpuid-0x15", from_cpuid_15 },
	[HPET_METHOD] = { "hpet", from_hpet },
	{ "acpi-pm-timer", from_pm_timer },
	{ "pit", from_pit },
};

static void set_hz(uint64_t f)
{
	hz = f;
	mult = (NSEC_PER_SEC << MULT_SHIFT) / hz;
}

void time_init(void)
{
	for (unsigned int i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		hz = methods[i].measure();
		if (hz >= TSC_HZ_MIN && hz <= TSC_HZ_MAX) {
			source = methods[i].name;
			break;
		}
	}
	if (hz < TSC_HZ_MIN || hz > TSC_HZ_MAX) {
		hz = NSEC_PER_SEC;      /* never reached on PC hardware: PIT exists */
		source = "assumed-1GHz";
	}
	set_hz(hz);
}

void time_refine(void)
{
	if (source != methods[HPET_METHOD].name)
		return;
	uint64_t f = hpet_hz_since_start(REFINE_MIN_NS);
	uint64_t diff = f > hz ? f - hz : hz - f;
	if (diff * 100 <= hz * REFINE_MAX_DIFF_PERCENT)
		set_hz(f);
}

uint64_t tsc_to_ns(uint64_t d)
{
	return (uint64_t)(((unsigned __int128)d * mult) >> MULT_SHIFT);
}

uint64_t ns_to_tsc(uint64_t ns)
{
	/* Split so that no product overflows 64 bits (no 128-bit division). */
	return ns / NSEC_PER_SEC * hz + ns % NSEC_PER_SEC * hz / NSEC_PER_SEC;
}

uint64_t time_ns(void) { return tsc_to_ns(rdtsc() - boot_tsc); }
uint64_t tsc_hz(void) { return hz; }
const char *tsc_source(void) { return source; }

void delay_ns(uint64_t ns)
{
	uint64_t end = rdtsc() + ns_to_tsc(ns);
	while ((int64_t)(rdtsc() - end) < 0)
		cpu_pause();
}

struct boot_phase {
	const char *name;
	uint64_t end_tsc;
};
static struct boot_phase phases[BOOT_PHASES_MAX];
static unsigned int nr_phases;

void boot_phase_end_at(const char *name, uint64_t tsc)
{
	if (nr_phases < BOOT_PHASES_MAX)
		phases[nr_phases++] = (struct boot_phase){ name, tsc };
}

void boot_phase_end(const char *name) { boot_phase_end_at(name, rdtsc_ordered()); }

void boot_phases_json(struct json *j)
{
	uint64_t start = boot_tsc;
	for (unsigned int i = 0; i < nr_phases; i++) {
		json_u64(j, phases[i].name, tsc_to_ns(phases[i].end_tsc - start) / NSEC_PER_USEC);
		start = phases[i].end_tsc;
	}
	json_u64(j, "total", tsc_to_ns(start - boot_tsc) / NSEC_PER_USEC);
}
