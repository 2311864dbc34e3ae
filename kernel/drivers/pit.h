/* SPDX-License-Identifier: MIT */
/* pit.h - the 8254 programmable interval timer: channel 0, ports and modes. */
#ifndef PVSPIN_PIT_H
#define PVSPIN_PIT_H

#define PIT_HZ        1193182ull
#define PIT_CH0       0x40
#define PIT_MODE      0x43
#define PIT_CH0_MODE2_LOHI 0x34  /* channel 0, low then high byte, rate generator */
#define PIT_CH0_LATCH 0x00
#define PIT_RELOAD_MAX 0xFFFFu

#endif
