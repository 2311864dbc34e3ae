/* SPDX-License-Identifier: MIT */
/* serial.h - COM1 16550 UART, 115200 8N1, polled. */
#ifndef PVSPIN_SERIAL_H
#define PVSPIN_SERIAL_H

void serial_init(void);
void serial_putc(char c);

#endif
