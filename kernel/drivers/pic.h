/* SPDX-License-Identifier: MIT */
/* pic.h - the legacy 8259A PICs: pvspin uses the local APIC only, so they are
 * remapped off the exception vectors and masked. */
#ifndef PVSPIN_PIC_H
#define PVSPIN_PIC_H

void pic_disable(void);

#endif
