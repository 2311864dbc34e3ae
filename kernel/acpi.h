/* SPDX-License-Identifier: MIT */
/* acpi.h - ACPI tables: RSDP -> RSDT/XSDT -> MADT (CPUs, I/O APIC), HPET, FADT (PM timer). */
#ifndef PVSPIN_ACPI_H
#define PVSPIN_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_REG_ABSENT 0xff

/* A fixed-hardware register: space 0 memory, 1 I/O, ACPI_REG_ABSENT none. */
struct acpi_reg {
	uint8_t space;
	uint64_t addr;
};

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
	bool has_fadt;
	bool hw_reduced;               /* FADT HW_REDUCED_ACPI: sleep registers, no PM1 */
	struct acpi_reg pm1a_cnt, pm1b_cnt, sleep_ctl;
	/* The DSDT's AML, as its header gave it when the table was checked at
	 * boot (length and checksum): \_S5 is read from it only to power off,
	 * the one use of it, so a boot that exits through isa-debug-exit never
	 * scans it. NULL: no DSDT. */
	const uint8_t *dsdt_aml;
	uint32_t dsdt_aml_len;
};

extern struct acpi_info acpi;

/* Find the tables and add every enabled CPU of the MADT to the CPU list.
 * Returns false if there is no usable RSDP or MADT. */
bool acpi_init(void);

/* \_S5's SLP_TYPa and SLP_TYPb from the DSDT acpi_init() found; false if
 * there is none or its AML holds no \_S5 package aml_find_s5() can read. */
bool acpi_s5_sleep_types(uint8_t *slp_typa, uint8_t *slp_typb);

/* Enter S5 (soft off): the PM1a/PM1b control blocks with \_S5's SLP_TYP and
 * SLP_EN, or on hardware-reduced ACPI the sleep control register. Prints a
 * "# poweroff:" line saying which, or why it cannot (then returns false).
 * Returns true once the write is done: the caller waits and falls back. */
bool acpi_power_off(void);

#endif
