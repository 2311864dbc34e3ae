#include <stdbool.h>
#include "apic.h"
#include "console.h"
#include "cpu_list.h"
#include "gdt.h"
#include "hypervisor.h"
#include "layout.h"
#include "percpu.h"
#include "smp.h"
#include "string.h"
#include "time.h"
#include "trap.h"
#include "x86.h"

/* The MP spec (B.4) asks for 10 ms between INIT and SIPI and 200 us between
 * the two SIPIs on real hardware. Virtual CPUs take the SIPI at once, so
 * under a hypervisor there is no INIT wait and the second SIPI goes only to
 * CPUs that have not shown up after SIPI_RETRY_NS. */
#define INIT_DELAY_BARE_METAL_NS 10000000ull
#define SIPI_RETRY_NS            200000ull
#define BRINGUP_TIMEOUT_BASE_NS  5000000000ull
#define BRINGUP_TIMEOUT_PER_CPU_NS 100000000ull

struct smp_info smp;

extern const uint8_t trampoline_start[], trampoline_end[];
static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(PAGE_SIZE)));

_Static_assert(TRAMPOLINE_BASE % PAGE_SIZE == 0 && TRAMPOLINE_BASE < 0x100000,
	       "the SIPI vector addresses a page below 1 MiB");

struct work_slot {
	smp_fn fn;                      /* non-NULL: work to do; NULL: done */
	void *arg;
} __attribute__((aligned(CACHE_LINE)));

static struct work_slot work[MAX_CPUS];
static uint32_t online_count;

unsigned int smp_online(void)
{
	return __atomic_load_n(&online_count, __ATOMIC_ACQUIRE);
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
	p->online = 1;
	__atomic_add_fetch(&online_count, 1, __ATOMIC_ACQ_REL);
	ap_idle(p);
}

static void copy_trampoline(void)
{
	uint8_t *base = (uint8_t *)TRAMPOLINE_BASE;
	memcpy(base, trampoline_start, (size_t)(trampoline_end - trampoline_start));
	*(uint32_t *)(base + TRAMP_OFF_CR3) = (uint32_t)read_cr3();
	*(uint64_t *)(base + TRAMP_OFF_ENTRY) = (uint64_t)(uintptr_t)ap_entry64;
	*(uint64_t *)(base + TRAMP_OFF_STACKS) = (uint64_t)(uintptr_t)ap_stacks;
	*(uint32_t *)(base + TRAMP_OFF_COUNTER) = 0;
}

static bool wait_online(unsigned int n, uint64_t ns)
{
	uint64_t end = time_ns() + ns;
	while (smp_online() < n) {
		if (time_ns() > end)
			return false;
		cpu_pause();
	}
	return true;
}

void smp_boot_aps(void)
{
	smp.expected = cpu_list.nr;
	online_count = 1;               /* the BSP */
	percpu_of(0)->online = 1;
	trap_set_handler(VEC_WAKE, wake_handler);
	if (smp.expected == 1) {
		smp.all_online_tsc = rdtsc();
		smp.online = 1;
		return;
	}
	copy_trampoline();
	/* Make the trampoline and parameters visible before any AP starts. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* Pipelined start: INIT to every AP, then SIPI to every AP, without
	 * waiting for one AP before starting the next. */
	for (unsigned int i = 1; i < smp.expected; i++)
		apic_send_init(cpu_list.apic_id[i]);
	smp.init_delay_ns = hv.present ? 0 : INIT_DELAY_BARE_METAL_NS;
	delay_ns(smp.init_delay_ns);
	for (unsigned int i = 1; i < smp.expected; i++)
		apic_send_sipi(cpu_list.apic_id[i], TRAMPOLINE_BASE >> 12);
	smp.sipi_rounds = 1;

	if (!wait_online(smp.expected, SIPI_RETRY_NS)) {
		/* A second SIPI is ignored by a CPU that already left wait-for-SIPI. */
		for (unsigned int i = 1; i < smp.expected; i++)
			if (!__atomic_load_n(&percpu_of(i)->online, __ATOMIC_ACQUIRE))
				apic_send_sipi(cpu_list.apic_id[i], TRAMPOLINE_BASE >> 12);
		smp.sipi_rounds = 2;
		wait_online(smp.expected, BRINGUP_TIMEOUT_BASE_NS +
					  BRINGUP_TIMEOUT_PER_CPU_NS * smp.expected);
	}
	/* The BSP polls the count, so this is within one poll of the last AP. */
	smp.all_online_tsc = rdtsc();
	smp.online = smp_online();
}

void smp_call(unsigned int cpu, smp_fn fn, void *arg)
{
	struct work_slot *w = &work[cpu];
	w->arg = arg;
	/* RELEASE: arg is written before the AP can see fn. */
	__atomic_store_n(&w->fn, fn, __ATOMIC_RELEASE);
	apic_send_ipi(percpu_of(cpu)->apic_id, VEC_WAKE);
}

void smp_wait(unsigned int cpu)
{
	/* ACQUIRE: pairs with the AP's release of NULL after fn returned. */
	while (__atomic_load_n(&work[cpu].fn, __ATOMIC_ACQUIRE))
		cpu_pause();
}

void smp_run_on_first(unsigned int n, smp_fn fn, void *arg)
{
	for (unsigned int c = 1; c < n; c++)
		smp_call(c, fn, arg);
	fn(arg);
	for (unsigned int c = 1; c < n; c++)
		smp_wait(c);
}
