/* SPDX-License-Identifier: MIT */
/* acpi.h - ACPI tables: RSDP -> RSDT/XSDT -> MADT (CPUs, I/O APIC), HPET, FADT (PM timer). */
#ifndef PVSPIN_ACPI_H
#define PVSPIN_ACPI_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_info {
	bool found;
	uint8_t revision;
	uint64_t rsdp_addr;            /* 0 when it came from a Multiboot2 tag */
	bool rsdp_from_start_info;     /* PVH: the loader's RSDP was valid and used */
	bool has_madt;
	uint64_t lapic_addr;
	uint64_t ioapic_addr;          /* the first I/O APIC; 0: none */
	uint32_t ioapic_gsi_base;
	uint32_t pit_gsi;              /* GSI of ISA IRQ 0 (the PIT) */
	bool has_hpet;
	uint64_t hpet_addr;
	uint16_t pm_timer_port;        /* 0: none */
	bool pm_timer_32bit;
};

extern struct acpi_info acpi;

/* Find the tables and add every enabled CPU of the MADT to the CPU list.
 * Returns false if there is no usable RSDP or MADT. */
bool acpi_init(void);

#endif
