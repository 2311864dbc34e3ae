/* SPDX-License-Identifier: MIT */
/* xen_guest.h - what the boot does differently under Xen: the memory map from Xen, the "# xen:" line (docs/xen.md). */
#ifndef PVSPIN_XEN_GUEST_H
#define PVSPIN_XEN_GUEST_H

/* After hypervisor_detect(): under Xen with no memory map from the loader
 * (PVH start_info version 0), read it with XENMEM_memory_map. */
void xen_guest_memory_map(void);
/* The "# xen:" line (docs/output.md); nothing when Xen is absent. */
void xen_guest_print(void);

#endif
