/* SPDX-License-Identifier: MIT */
/* pic.c - the legacy 8259A PICs, remapped and masked (pic.h). */
#include "lib/x86.h"
#include "pic.h"

#define PIC1_CMD   0x20
#define PIC1_DATA  0x21
#define PIC2_CMD   0xA0
#define PIC2_DATA  0xA1
#define ICW1_INIT_ICW4 0x11
#define ICW4_8086  0x01
#define PIC1_VECTOR_BASE 0x20   /* off the exception vectors, if one fires anyway */
#define PIC2_VECTOR_BASE 0x28
#define PIC2_CASCADE_IRQ 2
#define MASK_ALL   0xFF

/* A firmware such as SeaBIOS leaves the PIC at its real-mode vectors, where
 * the timer (IRQ 0 -> vector 8) would look like a double fault. */
void pic_disable(void)
{
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, PIC1_VECTOR_BASE);
	outb(PIC2_DATA, PIC2_VECTOR_BASE);
	outb(PIC1_DATA, 1u << PIC2_CASCADE_IRQ);
	outb(PIC2_DATA, PIC2_CASCADE_IRQ);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, MASK_ALL);
	outb(PIC2_DATA, MASK_ALL);
}
