/* SPDX-License-Identifier: MIT */
/* hyperv_setup.h - pvspin's Hyper-V set-up, once per boot: the hypercall page, each CPU's VP index, what the kick and the spin hint use. */
#ifndef PVSPIN_HYPERV_SETUP_H
#define PVSPIN_HYPERV_SETUP_H

#include <stdbool.h>
#include <stdint.h>

/* The hypercall page (hyperv_hypercall_setup()), set up on the first call
 * only (partition-wide): NULL when it works, else why not. */
const char *hyperv_ready(void);
/* Has hyperv_ready() been called? Once the guest OS ID is set, KVM takes
 * every hypercall for a Hyper-V one (hyperv.h): no KVM hypercall after
 * trying, even if it failed. */
bool hyperv_setup_tried(void);
/* Why the set-up failed, or NULL (also before it was tried). */
const char *hyperv_setup_error(void);

/* On CPU `cpu` (its index, < MAX_CPUS): read and keep its VP index
 * (HV_X64_MSR_VP_INDEX), which only that CPU can read. */
void hv_read_vp_index(unsigned int cpu);
/* CPU `cpu`'s VP index, as hv_read_vp_index() kept it. */
uint32_t hv_vp_of(unsigned int cpu);

/* What the hyperv backend uses, from CPUID 0x40000004. */
struct hyperv_use {
	bool ipi_hypercall;             /* HvCallSendSyntheticClusterIpi recommended */
	uint32_t spin_hint_loops;       /* HvCallNotifyLongSpinWait every N spins; 0: never */
};

/* After hyperv_ready() succeeded and every CPU ran hv_read_vp_index(). */
struct hyperv_use hyperv_install(void);

#endif
