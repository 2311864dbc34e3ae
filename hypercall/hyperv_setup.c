/* SPDX-License-Identifier: MIT */
/* hyperv_setup.c - pvspin's Hyper-V set-up: the hypercall page once, VP indices, recommendations (hyperv_setup.h). */
#include "lib/layout.h"
#include "hyperv.h"
#include "hyperv_setup.h"

static bool tried;
static const char *setup_error;
/* Each CPU writes its own before the backend is installed; kickers read
 * them after (the caller waits for every CPU in between). */
static uint32_t vp_index[MAX_CPUS];

const char *hyperv_ready(void)
{
	if (!tried) {
		tried = true;
		setup_error = hyperv_hypercall_setup();
	}
	return setup_error;
}

bool hyperv_setup_tried(void) { return tried; }

const char *hyperv_setup_error(void) { return setup_error; }

void hv_read_vp_index(unsigned int cpu)
{
	if (cpu < MAX_CPUS)
		vp_index[cpu] = hyperv_vp_index();
}

uint32_t hv_vp_of(unsigned int cpu)
{
	return cpu < MAX_CPUS ? vp_index[cpu] : UINT32_MAX;
}

struct hyperv_use hyperv_install(void)
{
	struct hyperv_use u = { hyperv_recommends(HV_REC_CLUSTER_IPI), 0 };
	/* 0 would mean "never" to the lock library: hint every spin. */
	if (hyperv.spin_retries != HV_SPIN_RETRIES_NEVER)
		u.spin_hint_loops = hyperv.spin_retries ? hyperv.spin_retries : 1;
	return u;
}
