/* SPDX-License-Identifier: MIT */
/* smp.c - bringing the APs online and running work on them (smp.h). */
#include <stdbool.h>
#include "hypercall/hypervisor.h"
#include "hypercall/steal_time.h"
#include "lib/layout.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "lock/lock_percpu.h"
#include "apic.h"
#include "console.h"
#include "cpu_list.h"
#include "exit.h"
#include "gdt.h"
#include "ktap.h"
#include "options.h"
#include "percpu.h"
#include "ram.h"
#include "smp.h"
#include "time.h"
#include "trap.h"

/* Start-up.
 * Round 1 sends one SIPI to every AP, with no INIT: after reset an AP waits
 * for a SIPI (SDM 8.4.1), which is how QEMU's qboot and microvm leave them.
 * An INIT is avoided where it can be: QEMU 7.2's TCG processes an INIT in
 * the target's thread, and one processed after the SIPI has arrived resets
 * the SIPI vector, so the AP starts at address 0. On a loaded host TCG can start
 * APs there even without INIT, most of them at -smp 255. Such an AP
 * finds at address 0 (PARK_CODE, over the unused real-mode IVT) a count of
 * itself and a far jump to the trampoline, so it comes up all the same.
 * Each AP bumps an arrival counter at its first trampoline instruction.
 * Firmware that parks its APs in a HLT loop (SeaBIOS) shows as no arrival
 * within ROUND1_WAIT_NS: then INIT, 10 ms, SIPI to all (MP spec B.4).
 * APs still missing once no AP has arrived for QUIET_NS are recovered one at
 * a time with INIT, a wait, SIPI, and that AP's arrival awaited before the
 * next; the INIT wait doubles on every pass, so a loaded host that is slow
 * to process an INIT is given the time it needs. */
#define ROUND1_WAIT_NS           100000000ull
#define QUIET_NS                 200000000ull
#define INIT_DEASSERT_WAIT_NS    10000000ull
#define INIT_WAIT_MAX_NS         320000000ull
#define RECOVER_ONE_WAIT_NS      500000000ull
#define INIT_RACE_HOLD_MAX_NS    2000000000ull
#define PARK_ADDRESS             0x0
#define PARK_COUNTER             0x500  /* free byte in the BIOS data area */
/* Real mode, CS = 0: cli; lock inc dword [PARK_COUNTER];
 * jmp far (TRAMPOLINE_BASE >> 4):0 */
#define PARK_CODE                { 0xFA, 0x66, 0xF0, 0xFF, 0x06, PARK_COUNTER & 0xFF, \
				   PARK_COUNTER >> 8, 0xEA, 0x00, 0x00, \
				   (TRAMPOLINE_BASE >> 4) & 0xFF, TRAMPOLINE_BASE >> 12 }
#define MISSING_SHOWN_MAX        8
#define BRINGUP_TIMEOUT_BASE_NS  5000000000ull
#define BRINGUP_TIMEOUT_PER_CPU_NS 100000000ull

struct smp_info smp;

extern const uint8_t trampoline_start[], trampoline_end[];

/* The lock library's per-CPU arrays (lock/lock_percpu.h), then the APs'
 * per-CPU areas (percpu_place), then their stacks, come from the RAM after
 * the image (ram.h), in that order: what the boot touches then starts right
 * after the image, the smallest span of memory (at 8 vCPUs a few KB of lock
 * arrays, 7 areas and 7 stacks, which end below 2 MiB: the host backs
 * guest RAM with 2 MiB huge pages, and linker.ld keeps the image below). A
 * stack slot goes by arrival order, INIT restarts included, so all MAX_CPUS
 * slots are there (address space only: nothing touches an unused one). With
 * no AP to start, nothing is placed: the lock library's arrays for CPU 0
 * alone are in the image. */
#define AP_STACKS_SIZE ((uint64_t)MAX_CPUS * AP_STACK_SIZE)
static uintptr_t ap_stacks, lock_arrays;

extern char __image_end[];              /* linker.ld */

_Static_assert(TRAMPOLINE_BASE % PAGE_SIZE == 0 && TRAMPOLINE_BASE < 0x100000,
	       "the SIPI vector addresses a page below 1 MiB");

struct work_slot {
	smp_fn fn;                      /* non-NULL: work to do; NULL: done */
	void *arg;
	uint32_t started;               /* the AP has picked up fn */
} __attribute__((aligned(CACHE_LINE)));

/* A wake IPI that an AP has not answered this long is sent again (a second
 * wake is harmless: the idle loop re-checks); one unanswered for
 * WAKE_GIVE_UP_NS ends the run as a lockup, loudly. */
#define WAKE_RESEND_NS  1000000000ull
#define WAKE_GIVE_UP_NS 60000000000ull

static struct work_slot work[MAX_CPUS];
/* Test hook smp_init_race: an AP lingers this long once it is online, so
 * that the held-back INITs reach APs that are already online. */
#define INIT_RACE_ONLINE_LINGER_NS 2000000ull
static bool init_race_linger;

/* The CPUs whose `online` flag is set. The flag is the only record: an AP
 * that an INIT resets at any point after it set the flag sets it again on
 * its next start, and is counted once; a count kept beside the flag would
 * lose the AP that an INIT caught between the two. */
static unsigned int smp_online(void)
{
	unsigned int n = 0;
	for (unsigned int c = 0; c < cpu_list.nr; c++)
		n += __atomic_load_n(&percpu_of(c)->online, __ATOMIC_ACQUIRE) != 0;
	return n;
}

static void wake_handler(struct trap_frame *f)
{
	(void)f;                        /* waking the HLT was the point */
}

static void __attribute__((noreturn)) ap_idle(struct percpu *p)
{
	struct work_slot *w = &work[p->cpu];
	for (;;) {
		cli();
		smp_fn fn;
		/* ACQUIRE: the argument written before fn was published is visible.
		 * IF is clear between the check and "sti; hlt", so a wake IPI sent
		 * after the check is taken by the HLT, not lost. */
		while (!(fn = __atomic_load_n(&w->fn, __ATOMIC_ACQUIRE)))
			sti_hlt(), cli();
		sti();
		__atomic_store_n(&w->started, 1, __ATOMIC_RELAXED);
		fn(w->arg);
		/* RELEASE: everything fn did is visible to whoever sees NULL. */
		__atomic_store_n(&w->fn, NULL, __ATOMIC_RELEASE);
	}
}

void __attribute__((noreturn)) ap_entry64(void);
void ap_entry64(void)
{
	uint32_t apic_id = cpu_apic_id_from_cpuid();
	int cpu = cpu_list_find(apic_id);
	if (cpu <= 0)
		halt_forever();         /* not in the tables: stay out of the way */
	percpu_install((unsigned int)cpu, apic_id);
	struct percpu *p = this_cpu();
	p->stack_top = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	gdt_load(p);
	idt_load();
	apic_init_cpu();
	steal_time_enable((unsigned int)cpu);
	/* RELEASE: this CPU's set-up is done before the BSP counts it. */
	__atomic_store_n(&p->online, 1, __ATOMIC_RELEASE);
	if (init_race_linger)
		delay_ns(INIT_RACE_ONLINE_LINGER_NS);
	ap_idle(p);
}

static void copy_trampoline(void)
{
	uint8_t *base = (uint8_t *)TRAMPOLINE_BASE;
	memcpy(base, trampoline_start, (size_t)(trampoline_end - trampoline_start));
	*(uint32_t *)(base + TRAMP_OFF_CR3) = (uint32_t)read_cr3();
	*(uint64_t *)(base + TRAMP_OFF_ENTRY) = (uint64_t)(uintptr_t)ap_entry64;
	*(uint64_t *)(base + TRAMP_OFF_STACKS) = (uint64_t)ap_stacks;
	memset(base + TRAMP_DATA_OFFSET, 0, TRAMP_DATA_SIZE);
}

static uint32_t tramp_read(unsigned int offset)
{
	return __atomic_load_n((uint32_t *)(uintptr_t)(TRAMPOLINE_BASE + offset), __ATOMIC_ACQUIRE);
}

/* Wait until the first AP arrives; false if none did within ns. */
static bool wait_first_arrival(uint64_t ns)
{
	uint64_t end = time_ns() + ns;
	while (tramp_read(TRAMP_OFF_ARRIVED) == 0) {
		if (time_ns() > end)
			return false;
		cpu_pause();
	}
	return true;
}

static void sipi_offline(void)
{
	for (unsigned int i = 1; i < smp.expected; i++)
		if (!__atomic_load_n(&percpu_of(i)->online, __ATOMIC_ACQUIRE))
			apic_send_sipi(cpu_list.apic_id[i], TRAMPOLINE_BASE >> 12);
}

/* The test hook's window (smp_boot_aps(true)): after the INIT batch took
 * its list of offline APs, the first SIPIs go out, and the INITs wait until
 * one AP on the list has come online. */
static void hold_until_one_online(const bool *listed)
{
	uint64_t end = time_ns() + INIT_RACE_HOLD_MAX_NS;
	while (time_ns() < end && !smp.init_race_online) {
		for (unsigned int i = 1; i < smp.expected; i++)
			if (listed[i] && __atomic_load_n(&percpu_of(i)->online, __ATOMIC_ACQUIRE))
				smp.init_race_online++;
		cpu_pause();
	}
}

/* INIT, wait, SIPI to every AP that is not online. The SIPIs go to exactly
 * the APs that were sent an INIT: one still on its way from the first SIPI
 * may come online before its INIT takes effect, and the INIT then resets it
 * all the same, to wait for a SIPI. Asking "online?" again before the SIPIs
 * would leave such an AP there for good, deaf to every IPI, its work never
 * picked up. Its flag stays set: the SIPI restarts it and it sets the flag
 * again (ap_entry64). Not every such AP is reset: under TCG an AP that is
 * already online may run on past the INIT and ignore the SIPI, idle and
 * answering IPIs, so clearing the flags here would count it missing. */
static void init_sipi_offline(uint64_t init_wait_ns, bool hold)
{
	static bool sent_init[MAX_CPUS];
	for (unsigned int i = 1; i < smp.expected; i++)
		sent_init[i] = !__atomic_load_n(&percpu_of(i)->online, __ATOMIC_ACQUIRE);
	if (hold) {
		sipi_offline();
		smp.sipi_rounds++;
		hold_until_one_online(sent_init);
	}
	for (unsigned int i = 1; i < smp.expected; i++)
		if (sent_init[i])
			apic_send_init(cpu_list.apic_id[i]);
	delay_ns(init_wait_ns);
	for (unsigned int i = 1; i < smp.expected; i++)
		if (sent_init[i])
			apic_send_sipi(cpu_list.apic_id[i], TRAMPOLINE_BASE >> 12);
	smp.sipi_rounds++;
	smp.used_init++;
	smp.init_delay_ns = init_wait_ns;
}

static bool wait_cpu_online(unsigned int cpu, uint64_t ns)
{
	uint64_t end = time_ns() + ns;
	while (!__atomic_load_n(&percpu_of(cpu)->online, __ATOMIC_ACQUIRE))
		if (time_ns() > end)
			return false;
		else
			cpu_pause();
	return true;
}

/* Wait until every AP is online, or none has arrived for `quiet` ns. */
static void wait_quiet(uint64_t quiet, uint64_t end)
{
	uint32_t arrived = tramp_read(TRAMP_OFF_ARRIVED);
	uint64_t last_change = time_ns();
	while (smp_online() < smp.expected && time_ns() < end) {
		uint32_t a = tramp_read(TRAMP_OFF_ARRIVED);
		if (a != arrived) {
			arrived = a;
			last_change = time_ns();
		} else if (time_ns() - last_change > quiet) {
			return;
		}
		cpu_pause();
	}
}

/* The missing APs, one at a time, with a longer INIT wait on every pass. */
static void recover_missing(uint64_t end)
{
	uint64_t init_wait = INIT_DEASSERT_WAIT_NS;
	while (smp_online() < smp.expected && time_ns() < end) {
		for (unsigned int i = 1; i < smp.expected && time_ns() < end; i++) {
			if (__atomic_load_n(&percpu_of(i)->online, __ATOMIC_ACQUIRE))
				continue;
			apic_send_init(cpu_list.apic_id[i]);
			delay_ns(init_wait);
			apic_send_sipi(cpu_list.apic_id[i], TRAMPOLINE_BASE >> 12);
			smp.recovered_tries++;
			wait_cpu_online(i, RECOVER_ONE_WAIT_NS);
		}
		smp.init_delay_ns = init_wait;
		if (init_wait < INIT_WAIT_MAX_NS)
			init_wait *= 2;
	}
}

unsigned int smp_parked_at_zero(void)
{
	return *(volatile uint32_t *)(uintptr_t)PARK_COUNTER;
}

static void install_park_code(void)
{
	static const uint8_t park[] = PARK_CODE;
	memcpy((void *)(uintptr_t)PARK_ADDRESS, park, sizeof(park));
	*(volatile uint32_t *)(uintptr_t)PARK_COUNTER = 0;
}

static void report_missing(void)
{
	kprintf("# smp: %u APs took the SIPI, %u reached long mode, %u reached C, %u started at address 0\n",
		tramp_read(TRAMP_OFF_ARRIVED), tramp_read(TRAMP_OFF_COUNTER), smp.online - 1,
		smp_parked_at_zero());
	unsigned int shown = 0;
	for (unsigned int i = 1; i < smp.expected && shown < MISSING_SHOWN_MAX; i++)
		if (!percpu_of(i)->online) {
			kprintf("# smp: CPU %u (APIC ID %u) did not come online\n", i, cpu_list.apic_id[i]);
			shown++;
		}
}

/* False if there is no room: then no AP is started, and the smp suite
 * reports the CPUs missing. */
static bool place_ap_memory(void)
{
	uint64_t lock_size = lock_percpu_size(cpu_list.nr);
	void *locks = lock_size ? ram_alloc(lock_size, LOCK_PERCPU_ALIGN) : 0;
	void *areas = locks ? ram_alloc(percpu_place_size(cpu_list.nr), PAGE_SIZE) : 0;
	void *stacks = areas ? ram_alloc(AP_STACKS_SIZE, PAGE_SIZE) : 0;
	if (!stacks || !lock_percpu_place(locks, cpu_list.nr)) {
		kprintf("# smp: no usable RAM after the image for %u CPUs' lock arrays, stacks and per-CPU areas: CPU 0 only\n",
			cpu_list.nr);
		return false;
	}
	lock_arrays = (uintptr_t)locks;
	ap_stacks = (uintptr_t)stacks;
	percpu_place(areas, cpu_list.nr);
	return true;
}

/* verbose: where the boot's memory is, the image and what came after it. */
static void print_memory(void)
{
	uint64_t image_end = (uintptr_t)__image_end;
	if (!ap_stacks) {
		kprintf("# memory: image ends 0x%lx, nothing after it (lock arrays for CPU 0 alone in the image)\n",
			image_end);
		return;
	}
	uint64_t areas = (uintptr_t)percpu_aps, used = tramp_read(TRAMP_OFF_COUNTER);
	kprintf("# memory: image ends 0x%lx; lock arrays 0x%lx-0x%lx for %u CPUs, per-CPU areas 0x%lx-0x%lx, AP stacks from 0x%lx, %lu slot(s) used to 0x%lx\n",
		image_end, (uint64_t)lock_arrays, (uint64_t)lock_arrays + lock_percpu_size(lock_percpu_nr()),
		lock_percpu_nr(), areas, areas + percpu_place_size(percpu_nr), (uint64_t)ap_stacks,
		used, (uint64_t)ap_stacks + used * AP_STACK_SIZE);
}

void smp_boot_aps(bool hold_init_race)
{
	smp.expected = cpu_list.nr;
	init_race_linger = hold_init_race;
	percpu_of(0)->online = 1;
	trap_set_handler(VEC_WAKE, wake_handler);
	if (smp.expected > 1 && place_ap_memory()) {
		uint64_t end = time_ns() + BRINGUP_TIMEOUT_BASE_NS +
			       BRINGUP_TIMEOUT_PER_CPU_NS * smp.expected;
		copy_trampoline();
		install_park_code();
		/* The trampoline, its parameters and the park code are in memory
		 * before any AP can run them. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (hold_init_race) {
			init_sipi_offline(INIT_DEASSERT_WAIT_NS, true);
		} else {
			sipi_offline();
			smp.sipi_rounds = 1;
			if (!wait_first_arrival(ROUND1_WAIT_NS))
				init_sipi_offline(INIT_DEASSERT_WAIT_NS, false);
		}
		wait_quiet(QUIET_NS, end);
		recover_missing(end);
	}
	/* The BSP polls the count, so this is within one poll of the last AP. */
	smp.all_online_tsc = rdtsc();
	smp.online = smp_online();
	if (opt.verbose)
		print_memory();
	if (hold_init_race)
		kprintf("# smp: smp_init_race: %u AP(s) came online between the INIT batch's check and its INITs\n",
			smp.init_race_online);
	if (smp.online < smp.expected)
		report_missing();
}

void smp_call(unsigned int cpu, smp_fn fn, void *arg)
{
	struct work_slot *w = &work[cpu];
	w->arg = arg;
	w->started = 0;
	/* RELEASE: arg is written before the AP can see fn. */
	__atomic_store_n(&w->fn, fn, __ATOMIC_RELEASE);
	apic_send_ipi(percpu_of(cpu)->apic_id, VEC_WAKE);
}

void smp_wait(unsigned int cpu, uint64_t limit_ns)
{
	struct work_slot *w = &work[cpu];
	uint64_t sent = time_ns(), resend = sent + WAKE_RESEND_NS, took = 0;
	/* ACQUIRE: pairs with the AP's release of NULL after fn returned. */
	while (__atomic_load_n(&w->fn, __ATOMIC_ACQUIRE)) {
		cpu_pause();
		if (__atomic_load_n(&w->started, __ATOMIC_RELAXED)) {
			if (!took)
				took = time_ns();
			if (limit_ns != SMP_NO_LIMIT && time_ns() - took > limit_ns) {
				kprintf("# LOCKUP: CPU %u took its work and has not finished it in %lu ms (the limit for it)\n",
					cpu, limit_ns / NS_PER_MS);
				ktap_abort_current("lockup: a CPU did not finish its work", "lockup");
				guest_exit(EXIT_LOCKUP);
			}
			continue;
		}
		if (time_ns() < resend)
			continue;
		if (time_ns() - sent > WAKE_GIVE_UP_NS) {
			kprintf("# LOCKUP: CPU %u never picked up its work: %lu wake IPIs unanswered\n",
				cpu, smp.wake_resends);
			ktap_abort_current("lockup: a CPU did not answer its wake IPI", "lockup");
			guest_exit(EXIT_LOCKUP);
		}
		smp.wake_resends++;
		apic_send_ipi(percpu_of(cpu)->apic_id, VEC_WAKE);
		resend = time_ns() + WAKE_RESEND_NS;
	}
}

/* CPUs that never came online are left out (the smp suite reports them). */
void smp_run_on_first(unsigned int n, smp_fn fn, void *arg, uint64_t limit_ns)
{
	for (unsigned int c = 1; c < n; c++)
		if (percpu_of(c)->online)
			smp_call(c, fn, arg);
	fn(arg);
	for (unsigned int c = 1; c < n; c++)
		if (percpu_of(c)->online)
			smp_wait(c, limit_ns);
}
