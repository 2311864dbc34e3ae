/* SPDX-License-Identifier: MIT */
/* smp.c - the smp suite: every CPU the firmware describes is online, knows who it is, and
 * runs work sent to it. */
#include "hypercall/hypervisor.h"
#include "kernel/apic.h"
#include "kernel/cpu_list.h"
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/watchdog.h"
#include "lib/json.h"
#include "lib/x86.h"
#include "options.h"
#include "suite.h"

#define PING_ROUNDS 15

struct cpu_report {
	uint32_t apic_id;
	uint32_t cpu;
	struct percpu *self;
	uintptr_t rsp;
};

static struct cpu_report reports[MAX_CPUS];

static void report_self(void *arg)
{
	(void)arg;
	if (suite_opt.smp_stall && cpu_id() == suite_opt.smp_stall)
		halt_forever();
	struct percpu *p = this_cpu();
	struct cpu_report *r = &reports[p->cpu];
	r->apic_id = apic_read_id();
	r->cpu = cpu_id();
	r->self = p;
	r->rsp = (uintptr_t)__builtin_frame_address(0);
}

static void nothing(void *arg) { (void)arg; }

/* The suite's work is a few stores. A CPU that has not finished it within
 * the watchdog's timeout is stuck (under nested KVM a vCPU's KVM may
 * stop running it), and the run ends as a lockup that names it instead
 * of hanging until the host's timeout. */
static uint64_t work_limit_ns(void)
{
	return watchdog_timeout_ns(opt.watchdog_ms, smp.online);
}

/* Median time to hand a no-op to CPU 1 and see it finish. */
static uint64_t ping_ns(void)
{
	uint64_t t[PING_ROUNDS];
	for (int i = 0; i < PING_ROUNDS; i++) {
		uint64_t t0 = rdtsc_ordered();
		smp_call(1, nothing, 0);
		smp_wait(1, work_limit_ns());
		t[i] = tsc_to_ns(rdtsc_ordered() - t0);
	}
	for (int i = 1; i < PING_ROUNDS; i++)
		for (int k = i; k > 0 && t[k] < t[k - 1]; k--) {
			uint64_t x = t[k];
			t[k] = t[k - 1];
			t[k - 1] = x;
		}
	return t[PING_ROUNDS / 2];
}

/* Returns NULL if every online CPU reported a consistent identity. */
static const char *check_reports(unsigned int n, unsigned int *bad_cpu)
{
	for (unsigned int c = 0; c < n; c++) {
		const struct cpu_report *r = &reports[c];
		*bad_cpu = c;
		if (r->self != percpu_of(c) || r->cpu != c)
			return "per-CPU area (GS base) is not its own";
		if (r->apic_id != cpu_list.apic_id[c])
			return "APIC ID differs from the firmware table";
		for (unsigned int o = 0; o < c; o++) {
			uintptr_t a = r->rsp, b = reports[o].rsp;
			if ((a > b ? a - b : b - a) < AP_STACK_SIZE / 2)
				return "shares a stack with another CPU";
		}
	}
	return 0;
}

static void smp_run(void)
{
	unsigned int n = smp.online;
	smp_run_on_first(n, report_self, 0, work_limit_ns());
	unsigned int bad_cpu = 0;
	const char *err = check_reports(n, &bad_cpu);
	uint64_t ping = n > 1 ? ping_ns() : 0;

	struct json j;
	json_begin(&j);
	json_str(&j, "test", "smp");
	json_u64(&j, "cpus_expected", smp.expected);
	json_u64(&j, "cpus_online", smp.online);
	json_u64(&j, "cpus_left_out", cpu_list.nr_ignored);
	json_str(&j, "apic_mode", apic_mode_name());
	json_u64(&j, "wake_resends", smp.wake_resends);
	json_str(&j, "cpu_source", cpu_list.source);
	json_u64(&j, "bringup_ns", smp.bringup_ns);
	json_u64(&j, "init_delay_ns", smp.init_delay_ns);
	json_u64(&j, "sipi_rounds", smp.sipi_rounds);
	json_u64(&j, "init_rounds", smp.used_init);
	json_u64(&j, "recovery_tries", smp.recovered_tries);
	json_u64(&j, "starts_at_zero", smp_parked_at_zero());
	json_u64(&j, "tsc_hz", tsc_hz());
	json_str(&j, "tsc_source", tsc_source());
	json_u64(&j, "ipi_call_ns", ping);
	json_str(&j, "hypervisor", hv.present ? hv.signature : "none");
	json_obj(&j, "boot_phases_us");
	boot_phases_json(&j);
	json_obj_end(&j);
	json_end(&j);
	ktap_result_json(&j);

	if (smp.online != smp.expected)
		ktap_fail("smp", "%u of %u CPUs online", smp.online, smp.expected);
	else if (suite_opt.smp_stall >= smp.online)
		ktap_fail("smp", "smp_stall=%lu names no CPU online (%u online): the hook did not run",
			  suite_opt.smp_stall, smp.online);
	else if (err)
		ktap_fail("smp", "CPU %u: %s", bad_cpu, err);
	else
		ktap_ok("smp");
}

const struct suite suite_smp = {
	.name = "smp",
	.summary = "all CPUs online, own per-CPU area, APIC ID and stack; work runs everywhere",
	.groups = SUITE_GROUPS_DEFAULT,
	.run = smp_run,
};
