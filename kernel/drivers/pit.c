/* SPDX-License-Identifier: MIT */
/* pit.c - the 8254 PIT's channel 0: program it, read it (pit.h). */
#include "lib/x86.h"
#include "pit.h"

#define PIT_CH0       0x40
#define PIT_MODE      0x43
#define PIT_CH0_MODE2_LOHI 0x34  /* channel 0, low then high byte, rate generator */
#define PIT_CH0_LATCH 0x00
#define BYTE_MASK     0xff
#define BYTE_BITS     8

void pit_start_rate(uint16_t reload)
{
	outb(PIT_MODE, PIT_CH0_MODE2_LOHI);
	outb(PIT_CH0, reload & BYTE_MASK);
	outb(PIT_CH0, (reload >> BYTE_BITS) & BYTE_MASK);
}

uint16_t pit_read(void)
{
	outb(PIT_MODE, PIT_CH0_LATCH);
	uint16_t lo = inb(PIT_CH0);
	return (uint16_t)(lo | (inb(PIT_CH0) << BYTE_BITS));
}
