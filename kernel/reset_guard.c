/* SPDX-License-Identifier: MIT */
/* reset_guard.c - the run's mark in CMOS RAM: set at boot, updated per result, cleared at exit (reset_guard.h). */
#include <stdint.h>
#include "lib/x86.h"
#include "reset_guard.h"

/* The RTC's index and data ports (bit 7 of the index masks NMIs on real
 * chipsets: it stays clear, the watchdog lives on NMIs). */
#define CMOS_INDEX_PORT         0x70
#define CMOS_DATA_PORT          0x71
#define CMOS_INDEX_MASK         0x7f
/* Three bytes no firmware we boot under (qboot, SeaBIOS) and no QEMU board
 * setup (pc_cmos_init: 0x10-0x3d, 0x5b-0x5f) uses. */
#define CMOS_GUARD_STATE        0x4d
#define CMOS_GUARD_EMITTED_LO   0x4e
#define CMOS_GUARD_EMITTED_HI   0x4f
#define GUARD_CLEAR             0x00
#define GUARD_BOOTING           0xa5
#define GUARD_PLAN_PRINTED      0xa6

_Static_assert(CMOS_GUARD_EMITTED_HI <= CMOS_INDEX_MASK, "a standard CMOS byte");

static void cmos_write(uint8_t index, uint8_t v)
{
	outb(CMOS_INDEX_PORT, index & CMOS_INDEX_MASK);
	outb(CMOS_DATA_PORT, v);
}

static uint8_t cmos_read(uint8_t index)
{
	outb(CMOS_INDEX_PORT, index & CMOS_INDEX_MASK);
	return inb(CMOS_DATA_PORT);
}

static struct reset_seen at_boot;

void reset_guard_booting(void)
{
	uint8_t state = cmos_read(CMOS_GUARD_STATE);
	at_boot.seen = state == GUARD_BOOTING || state == GUARD_PLAN_PRINTED;
	at_boot.plan_printed = state == GUARD_PLAN_PRINTED;
	at_boot.emitted = cmos_read(CMOS_GUARD_EMITTED_LO) |
			  (unsigned int)cmos_read(CMOS_GUARD_EMITTED_HI) << 8;
	if (!at_boot.seen) {
		cmos_write(CMOS_GUARD_EMITTED_LO, 0);
		cmos_write(CMOS_GUARD_EMITTED_HI, 0);
		cmos_write(CMOS_GUARD_STATE, GUARD_BOOTING);
	}
}

struct reset_seen reset_guard_check(void) { return at_boot; }

void reset_guard_plan_printed(void) { cmos_write(CMOS_GUARD_STATE, GUARD_PLAN_PRINTED); }

void reset_guard_emitted(unsigned int emitted)
{
	cmos_write(CMOS_GUARD_EMITTED_LO, (uint8_t)emitted);
	cmos_write(CMOS_GUARD_EMITTED_HI, (uint8_t)(emitted >> 8));
}

void reset_guard_clear(void) { cmos_write(CMOS_GUARD_STATE, GUARD_CLEAR); }
