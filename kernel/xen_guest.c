/* SPDX-License-Identifier: MIT */
/* xen_guest.c - the memory map from Xen and the "# xen:" line (xen_guest.h). */
#include "hypercall/xen.h"
#include "lib/e820.h"
#include "lib/fmt.h"
#include "console.h"
#include "multiboot.h"
#include "xen_guest.h"

static struct {
	const char *source;             /* where the memory map came from */
	long rc;                        /* XENMEM_memory_map's result */
	unsigned int dropped;
} mem = { "loader", 0, 0 };

void xen_guest_memory_map(void)
{
	/* As many as boot_info keeps: more would be dropped there anyway. */
	static struct e820_entry map[BOOT_MEM_REGIONS_MAX];
	if (!xen.present || boot_info.nr_regions)
		return;
	mem.source = "XENMEM_memory_map";
	mem.rc = xen_memory_map(map, BOOT_MEM_REGIONS_MAX);
	if (mem.rc < 0)
		return;
	unsigned int n = e820_clean(map, (unsigned int)mem.rc, BOOT_MEM_REGIONS_MAX, &mem.dropped);
	boot_info_add_e820(map, n);
}

void xen_guest_print(void)
{
	if (!xen.present)
		return;
	char why[64] = "";
	if (mem.rc < 0)
		snprintf(why, sizeof(why), ", which failed: error %ld", mem.rc);
	else if (mem.dropped)
		snprintf(why, sizeof(why), " (%u entries dropped)", mem.dropped);
	kprintf("# xen: version %u.%u at CPUID 0x%x, hypercall page %s (MSR 0x%x), memory map from %s%s\n",
		xen.major, xen.minor, xen.base, xen.error ? xen.error : "installed",
		xen.hypercall_msr, mem.source, why);
}
