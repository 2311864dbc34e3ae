/* SPDX-License-Identifier: MIT */
/* main.c - the BSP's path from long mode to the test suites. */
#include "hypercall/hypervisor.h"
#include "hypercall/steal_time.h"
#include "kernel/drivers/pic.h"
#include "lib/json.h"
#include "lib/x86.h"
#include "lock/pv_ops.h"
#include "suites/suite.h"
#include "acpi.h"
#include "apic.h"
#include "console.h"
#include "cpu_list.h"
#include "exit.h"
#include "gdt.h"
#include "ktap.h"
#include "mptable.h"
#include "multiboot.h"
#include "options.h"
#include "percpu.h"
#include "pv_backend.h"
#include "pv_inject.h"
#include "reset_guard.h"
#include "smp.h"
#include "time.h"
#include "trap.h"
#include "xen_guest.h"

extern uint32_t boot_mb_magic, boot_mb_info;
extern uint64_t boot_lm_tsc, boot_bss_tsc;     /* boot/entry.asm */

#define MIB (1024ul * 1024)

static void discover_cpus(void)
{
	cpu_list.limit = (unsigned int)opt.max_cpus;
	if (acpi_init())
		return;
	if (mptable_init())
		return;
	cpu_list_add(cpu_apic_id_from_cpuid(), cpu_apic_id_from_cpuid());
	cpu_list.source = "none (boot CPU only)";
}

static void print_boot_info(void)
{
	if (boot_info.pvh)
		kprintf("# boot: pvh start_info v%u loader=\"%s\" rsdp=0x%lx (%s) cmdline=\"%s\"\n",
			boot_info.pvh_version, boot_info.loader_name, boot_info.rsdp_paddr,
			acpi.rsdp_from_start_info ? "used" : boot_info.rsdp_paddr ? "invalid, scanned" : "none, scanned",
			boot_info.cmdline);
	else
		kprintf("# boot: multiboot%d loader=\"%s\" cmdline=\"%s\"\n", boot_info.multiboot_version,
			boot_info.loader_name, boot_info.cmdline);
	kprintf("# memory: %lu MiB usable in %d regions\n", boot_info.usable_bytes / MIB,
		boot_info.nr_regions);
	if (opt.verbose)
		for (int i = 0; i < boot_info.nr_regions; i++)
			kprintf("# memory: [0x%012lx-0x%012lx) type %u\n", boot_info.regions[i].base,
				boot_info.regions[i].base + boot_info.regions[i].len,
				boot_info.regions[i].type);
	kprintf("# cpu: %s \"%s\" hypervisor=\"%s\" kvm=%s features=0x%x hints=0x%x\n",
		hv.vendor_id, hv.model_name, hv.present ? hv.signature : "none",
		hv.kvm ? "yes" : "no", hv.kvm_features, hv.kvm_hints);
	if (hv.kvm)
		kprintf("# kvm: base 0x%x, PV_UNHALT=%d STEAL_TIME=%d PV_SCHED_YIELD=%d CLOCKSOURCE2=%d REALTIME_hint=%d\n",
			hv.base, kvm_has_feature(KVM_FEATURE_PV_UNHALT),
			kvm_has_feature(KVM_FEATURE_STEAL_TIME),
			kvm_has_feature(KVM_FEATURE_PV_SCHED_YIELD),
			kvm_has_feature(KVM_FEATURE_CLOCKSOURCE2),
			(hv.kvm_hints >> KVM_HINTS_REALTIME) & 1);
	xen_guest_print();
	if (acpi.found)
		kprintf("# acpi: rsdp rev %u, madt=%s, hpet=0x%lx, pm_timer=0x%x\n", acpi.revision,
			acpi.has_madt ? "yes" : "no", acpi.hpet_addr, acpi.pm_timer_port);
	else
		kprintf("# acpi: no RSDP found\n");
	kprintf("# tsc: %lu Hz from %s\n", tsc_hz(), tsc_source());
}

static void check_apic_reach(void)
{
	if (apic_mode() == APIC_MODE_X2APIC)
		return;
	for (unsigned int i = 0; i < cpu_list.nr; i++)
		if (cpu_list.apic_id[i] > XAPIC_MAX_ID) {
			ktap_diag("apic: CPU with APIC ID %u needs x2APIC, which this CPU lacks",
				  cpu_list.apic_id[i]);
			cpu_list.nr = i;
			break;
		}
}

static void print_boot_phases(void)
{
	static struct json j;           /* too big for the boot stack's taste */
	json_begin(&j);
	boot_phases_json(&j);
	json_end(&j);
	kprintf("# boot-phases: %s\n", j.buf);
}

void kmain(void);
void kmain(void)
{
	boot_phase_end_at("page_tables", boot_lm_tsc);  /* boot/entry.asm, to long mode */
	boot_phase_end_at("bss", boot_bss_tsc);
	boot_phase_end("entry");
	percpu_install(0, cpu_apic_id_from_cpuid());
	console_init();
	reset_guard_booting();
	pic_disable();
	idt_init();
	gdt_load(percpu_of(0));
	idt_load();
	boot_phase_end("console");
	multiboot_parse(boot_mb_magic, boot_mb_info);
	suite_options_parse(boot_info.cmdline);
	hypervisor_detect();
	xen_guest_memory_map();
	pv_backend_check((enum pv_choice)opt.pv);
	suite_begin();
	boot_phase_end("multiboot");
	discover_cpus();
	boot_phase_end("acpi");
	time_init();
	boot_phase_end("tsc");
	apic_init_bsp();
	apic_timer_count_start();       /* read in apic_timer_calibrate() below */
	print_boot_info();
	percpu_of(0)->apic_id = apic_read_id();
	check_apic_reach();
	steal_time_enable(0);
	boot_phase_end("apic");
	smp_boot_aps(opt.smp_init_race);
	boot_phase_end("smp");
	time_refine();
	boot_phase_end("tsc_refine");
	apic_timer_calibrate();
	boot_phase_end("apic_timer");
	sti();
	pv_lock_set_spin_threshold((uint32_t)opt.pv_spin_threshold);
	kprintf("# steal time: %s\n", steal_time_available() ? "registered on every CPU (MSR_KVM_STEAL_TIME)" : "not offered by the hypervisor");
	pvswitch_before();
	pv_backend_init((enum pv_choice)opt.pv);
	pv_inject_install();
	pvswitch_after();
	smp.bringup_ns = tsc_to_ns(smp.all_online_tsc - boot_tsc);
	kprintf("# smp: %u of %u CPUs online (%s, %s) in %lu us, %u SIPI batch(es)%s",
		smp.online, smp.expected, apic_mode_name(), cpu_list.source,
		smp.bringup_ns / 1000, smp.sipi_rounds, smp.used_init ? ", with INIT" : "");
	if (cpu_list.nr_ignored)
		kprintf(" (%u more described, never started: above %s=%u)", cpu_list.nr_ignored,
			cpu_list.limit ? "max_cpus" : "MAX_CPUS", cpu_list_limit());
	kprintf("\n");
	boot_phase_end("pv");
	if (opt.verbose)
		print_boot_phases();

	guest_exit(suite_run());
}
