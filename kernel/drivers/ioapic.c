/* SPDX-License-Identifier: MIT */
/* ioapic.c - I/O APIC, register names as in the Intel 82093AA datasheet. */
#include "kernel/acpi.h"
#include "ioapic.h"

#define IOREGSEL          0x00
#define IOWIN             0x10
#define IOAPICVER         0x01
#define IOAPICVER_MRE_SHIFT 16          /* maximum redirection entry */
#define IOAPICVER_MRE_MASK  0xFFu
#define IOREDTBL_LO(n)    (0x10u + 2u * (n))
#define IOREDTBL_HI(n)    (0x11u + 2u * (n))
#define IOREDTBL_DELMOD_NMI (4u << 8)
#define IOREDTBL_MASKED   (1u << 16)
#define IOREDTBL_DEST_SHIFT 24          /* in the high word */

static volatile uint32_t *reg(unsigned int off)
{
	return (volatile uint32_t *)(uintptr_t)(acpi.ioapic_addr + off);
}

static uint32_t ioapic_read(uint32_t index)
{
	*reg(IOREGSEL) = index;
	return *reg(IOWIN);
}

static void ioapic_write(uint32_t index, uint32_t v)
{
	*reg(IOREGSEL) = index;
	*reg(IOWIN) = v;
}

/* The redirection entry of `gsi`, or -1 if this I/O APIC has none. */
static int entry_of(uint32_t gsi)
{
	if (!acpi.ioapic_addr || gsi < acpi.ioapic_gsi_base)
		return -1;
	uint32_t max = (ioapic_read(IOAPICVER) >> IOAPICVER_MRE_SHIFT) & IOAPICVER_MRE_MASK;
	uint32_t n = gsi - acpi.ioapic_gsi_base;
	return n <= max ? (int)n : -1;
}

bool ioapic_route_nmi(uint32_t gsi, uint32_t apic_id)
{
	int n = entry_of(gsi);
	if (n < 0)
		return false;
	/* Masked while the halves disagree; the low word last unmasks it.
	 * Edge-triggered, active high, physical destination, vector ignored. */
	ioapic_write(IOREDTBL_LO((unsigned)n), IOREDTBL_MASKED);
	ioapic_write(IOREDTBL_HI((unsigned)n), apic_id << IOREDTBL_DEST_SHIFT);
	ioapic_write(IOREDTBL_LO((unsigned)n), IOREDTBL_DELMOD_NMI);
	return true;
}

void ioapic_mask(uint32_t gsi)
{
	int n = entry_of(gsi);
	if (n >= 0)
		ioapic_write(IOREDTBL_LO((unsigned)n), IOREDTBL_MASKED);
}
