/* SPDX-License-Identifier: MIT */
/* ioapic.h - the I/O APIC found in the MADT: route one GSI as an NMI, or mask it. */
#ifndef PVSPIN_IOAPIC_H
#define PVSPIN_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* Edge-triggered NMI to `apic_id` (physical destination) whenever `gsi`
 * fires. False if there is no I/O APIC or it has no such input. */
bool ioapic_route_nmi(uint32_t gsi, uint32_t apic_id);
void ioapic_mask(uint32_t gsi);

#endif
