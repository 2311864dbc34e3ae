/* SPDX-License-Identifier: MIT */
/* pvwait.c - the installed PV wait (pv=ipi or pv=kvm) honours its caller's
 * context. Three results, each on CPU 0 with CPU 1 as the waker:
 *   irqs_off:   a wait entered with interrupts off takes no interrupt (a
 *               probe IPI made pending before the wait stays pending);
 *   nmi:        a wait inside an NMI handler returns without halting and
 *               takes no interrupt;
 *   halted_ipi: a CPU halted in a wait entered with interrupts on answers
 *               an IPI (a holder waiting for that answer must not hang). */
#include "kernel/apic.h"
#include "kernel/ktap.h"
#include "kernel/percpu.h"
#include "kernel/pv_backend.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/trap.h"
#include "kernel/watchdog.h"
#include "lib/fmt.h"
#include "lib/json.h"
#include "lib/x86.h"
#include "lock/pv_ops.h"
#include "suite.h"

#define PVWAIT_RESULTS      3
#define PVWAIT_WAKER        1               /* CPU that ends CPU 0's waits */
#define PENDING_SETTLE_NS   100000ull       /* let a self-IPI reach the IRR */
#define RELEASE_AFTER_NS    200000000ull    /* waker gives up watching: 200 ms */
#define ANSWER_LIMIT_NS     1000000000ull   /* a halted CPU answers an IPI within 1 s */
#define NMI_LIMIT_NS        2000000000ull   /* the test NMI runs within 2 s */
#define WAITING             1               /* w.byte while CPU 0 should wait */
#define WHY_MAX             200

struct verdict {
	bool ok;
	char why[WHY_MAX];
};

static struct {
	uint8_t byte;                   /* CPU 0 waits while it is WAITING */
	uint32_t back;                  /* CPU 0 is back from its wait */
	uint64_t probes;                /* VEC_PROBE handled on CPU 0 */
	uint32_t nmi_armed, nmi_ran;
	uint64_t nmi_halts, nmi_probes; /* during the wait inside the NMI */
	uint64_t nmi_waits;             /* percpu nmi_waits counted by it */
	uint32_t saw_halted, answered;
	uint64_t answer_ns;
} w;

static nmi_handler_t chained_nmi;

static uint64_t probes(void) { return __atomic_load_n(&w.probes, __ATOMIC_ACQUIRE); }

static void probe_handler(struct trap_frame *f)
{
	(void)f;
	__atomic_add_fetch(&w.probes, 1, __ATOMIC_RELEASE);
}

static bool cpu0_halted(void)
{
	return __atomic_load_n(&percpu_of(0)->wd_state, __ATOMIC_ACQUIRE) == CPU_HALTED;
}

/* End CPU 0's wait as the lock would: change the byte, then kick. */
static void release_cpu0(void)
{
	__atomic_store_n(&w.byte, 0, __ATOMIC_RELEASE);
	pv_lock_get_ops()->kick(0);
}

/* Waker: once CPU 0 halts or is back (or after a while), release it. */
static void release_when_halted(void *arg)
{
	(void)arg;
	uint64_t until = time_ns() + RELEASE_AFTER_NS;
	while (!__atomic_load_n(&w.back, __ATOMIC_ACQUIRE) && !cpu0_halted() && time_ns() < until)
		cpu_pause();
	release_cpu0();
}

static void wait_once(void)
{
	pv_lock_get_ops()->wait(&w.byte, WAITING);
}

static void arm(void)
{
	__atomic_store_n(&w.byte, WAITING, __ATOMIC_RELEASE);
	__atomic_store_n(&w.back, 0, __ATOMIC_RELEASE);
}

static void make_probe_pending(void)
{
	apic_send_ipi(percpu_of(0)->apic_id, VEC_PROBE);
	uint64_t until = time_ns() + PENDING_SETTLE_NS;
	while (time_ns() < until)
		cpu_pause();
}

static void check_irqs_off(struct json *j, struct verdict *v)
{
	arm();
	cli();
	make_probe_pending();
	uint64_t before = probes(), spun = this_cpu()->irqoff_waits;
	smp_call(PVWAIT_WAKER, release_when_halted, 0);
	wait_once();
	uint64_t inside = probes() - before;
	spun = this_cpu()->irqoff_waits - spun;
	bool if_kept = !irqs_enabled();
	__atomic_store_n(&w.back, 1, __ATOMIC_RELEASE);
	sti();
	smp_wait(PVWAIT_WAKER, SMP_NO_LIMIT);
	uint64_t after = probes() - before;
	json_obj(j, "irqs_off");
	json_u64(j, "probes_in_wait", inside);
	json_u64(j, "irqoff_waits", spun);
	json_bool(j, "if_still_clear", if_kept);
	json_u64(j, "probes_after_sti", after);
	json_obj_end(j);
	v->ok = !inside && if_kept && after == 1;
	snprintf(v->why, sizeof(v->why), "a wait entered with interrupts off took %lu interrupt(s), "
		 "IF %s after it, probe taken after sti %lu time(s) (want 0, clear, 1)",
		 inside, if_kept ? "clear" : "SET", after);
}

static int test_nmi(struct trap_frame *f)
{
	if (!__atomic_load_n(&w.nmi_armed, __ATOMIC_ACQUIRE))
		return chained_nmi ? chained_nmi(f) : 0;
	__atomic_store_n(&w.nmi_armed, 0, __ATOMIC_RELAXED);
	uint64_t halts = this_cpu()->halts, waits = this_cpu()->nmi_waits, before = probes();
	wait_once();
	w.nmi_halts = this_cpu()->halts - halts;
	w.nmi_waits = this_cpu()->nmi_waits - waits;
	w.nmi_probes = probes() - before;
	__atomic_store_n(&w.nmi_ran, 1, __ATOMIC_RELEASE);
	return 1;
}

static void check_nmi(struct json *j, struct verdict *v)
{
	arm();
	w.nmi_ran = 0;
	chained_nmi = trap_set_nmi_handler(test_nmi);
	cli();
	make_probe_pending();
	uint64_t before = probes();
	__atomic_store_n(&w.nmi_armed, 1, __ATOMIC_RELEASE);
	smp_call(PVWAIT_WAKER, release_when_halted, 0);
	apic_send_nmi(percpu_of(0)->apic_id);
	uint64_t until = time_ns() + NMI_LIMIT_NS;
	while (!__atomic_load_n(&w.nmi_ran, __ATOMIC_ACQUIRE) && time_ns() < until)
		cpu_pause();
	bool ran = __atomic_load_n(&w.nmi_ran, __ATOMIC_ACQUIRE);
	__atomic_store_n(&w.nmi_armed, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&w.back, 1, __ATOMIC_RELEASE);
	sti();
	smp_wait(PVWAIT_WAKER, SMP_NO_LIMIT);
	trap_set_nmi_handler(chained_nmi);
	uint64_t after = probes() - before;
	json_obj(j, "nmi");
	json_bool(j, "nmi_ran", ran);
	json_u64(j, "halts_in_nmi_wait", w.nmi_halts);
	json_u64(j, "nmi_waits", w.nmi_waits);
	json_u64(j, "probes_in_nmi_wait", w.nmi_probes);
	json_u64(j, "probes_after_sti", after);
	json_obj_end(j);
	v->ok = ran && !w.nmi_halts && !w.nmi_probes && after == 1 && w.nmi_waits == 1;
	snprintf(v->why, sizeof(v->why), "a wait in an NMI (ran %d) halted %lu time(s), took %lu "
		 "interrupt(s), counted %lu nmi_waits, probe taken after sti %lu time(s) "
		 "(want 0, 0, 1, 1)", ran, w.nmi_halts, w.nmi_probes, w.nmi_waits, after);
}

/* Waker: once CPU 0 halts, send it a probe and time the answer; then release it. */
static void probe_while_halted(void *arg)
{
	(void)arg;
	uint64_t t0 = time_ns();
	while (!cpu0_halted() && time_ns() - t0 < ANSWER_LIMIT_NS)
		cpu_pause();
	w.saw_halted = cpu0_halted();
	uint64_t before = probes();
	t0 = time_ns();
	apic_send_ipi(percpu_of(0)->apic_id, VEC_PROBE);
	while (probes() == before && time_ns() - t0 < ANSWER_LIMIT_NS)
		cpu_pause();
	w.answered = probes() != before;
	w.answer_ns = time_ns() - t0;
	release_cpu0();
}

static void check_halted_ipi(struct json *j, struct verdict *v)
{
	arm();
	w.saw_halted = w.answered = 0;
	sti();
	smp_call(PVWAIT_WAKER, probe_while_halted, 0);
	/* Like a lock: a wait may end early, so wait again while WAITING. */
	while (__atomic_load_n(&w.byte, __ATOMIC_ACQUIRE) == WAITING)
		wait_once();
	smp_wait(PVWAIT_WAKER, SMP_NO_LIMIT);
	json_obj(j, "halted_ipi");
	json_bool(j, "saw_halted", w.saw_halted);
	json_bool(j, "answered", w.answered);
	json_u64(j, "answer_ns", w.answer_ns);
	json_obj_end(j);
	v->ok = w.saw_halted && w.answered;
	snprintf(v->why, sizeof(v->why), "CPU 0 %s in a wait entered with interrupts on and "
		 "%s an IPI within %llu ms", w.saw_halted ? "halted" : "never halted",
		 w.answered ? "answered" : "did NOT answer", ANSWER_LIMIT_NS / 1000000);
}

static void pvwait_run(void)
{
	static const char *const names[PVWAIT_RESULTS] = {
		"pvwait:irqs_off", "pvwait:nmi", "pvwait:halted_ipi",
	};
	const char *why = 0;
	if (pv_lock_get_ops() == &pv_lock_ops_spin)
		why = "pv is off: no wait halts";
	else if (smp.online <= PVWAIT_WAKER)
		why = "needs a second CPU to end the waits";
	if (why) {
		for (unsigned int i = 0; i < PVWAIT_RESULTS; i++)
			ktap_skip(names[i], "%s", why);
		return;
	}
	trap_set_handler(VEC_PROBE, probe_handler);
	uint64_t flags = irq_save();
	struct json j;
	json_begin(&j);
	json_str(&j, "test", "pvwait");
	json_str(&j, "pv_backend", pv_backend_name());
	struct verdict v[PVWAIT_RESULTS];
	check_irqs_off(&j, &v[0]);
	check_nmi(&j, &v[1]);
	check_halted_ipi(&j, &v[2]);
	irq_restore(flags);
	json_end(&j);
	ktap_result_json(&j);
	for (unsigned int i = 0; i < PVWAIT_RESULTS; i++) {
		if (v[i].ok)
			ktap_ok(names[i]);
		else
			ktap_fail(names[i], "%s", v[i].why);
	}
}

static unsigned int pvwait_results(void) { return PVWAIT_RESULTS; }

const struct suite suite_pvwait = {
	.name = "pvwait",
	.summary = "PV waits honour interrupts off, NMI context, and answer IPIs while halted",
	.groups = SUITE_IN_ALL,
	.nr_results = pvwait_results,
	.run = pvwait_run,
};
