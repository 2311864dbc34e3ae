/* SPDX-License-Identifier: MIT */
/* serial.c - the COM1 16550 UART, polled (serial.h). */
#include "lib/x86.h"
#include "serial.h"

#define COM1_BASE     0x3F8
#define UART_THR      0     /* transmit holding register (DLAB = 0) */
#define UART_DLL      0     /* divisor latch low (DLAB = 1) */
#define UART_IER      1     /* interrupt enable (DLAB = 0) */
#define UART_DLM      1     /* divisor latch high (DLAB = 1) */
#define UART_FCR      2     /* FIFO control */
#define UART_LCR      3     /* line control */
#define UART_MCR      4     /* modem control */
#define UART_LSR      5     /* line status */

#define UART_CLOCK_HZ 1843200
#define UART_BAUD     115200
#define UART_DIVISOR  (UART_CLOCK_HZ / 16 / UART_BAUD)

#define LCR_8N1       0x03
#define LCR_DLAB      0x80
#define FCR_ENABLE_CLEAR 0x07  /* enable FIFOs, clear RX and TX */
#define MCR_DTR_RTS   0x03
#define LSR_THRE      0x20  /* transmit holding register empty */

void serial_init(void)
{
	outb(COM1_BASE + UART_IER, 0);
	outb(COM1_BASE + UART_LCR, LCR_DLAB);
	outb(COM1_BASE + UART_DLL, UART_DIVISOR & 0xff);
	outb(COM1_BASE + UART_DLM, UART_DIVISOR >> 8);
	outb(COM1_BASE + UART_LCR, LCR_8N1);
	outb(COM1_BASE + UART_FCR, FCR_ENABLE_CLEAR);
	outb(COM1_BASE + UART_MCR, MCR_DTR_RTS);
}

/* With the FIFOs on, THRE means the whole transmit FIFO is empty, so that
 * many bytes go out before the next LSR read: one port read per 16 bytes
 * instead of one per byte (each is a VM exit). The console lock serializes
 * callers. */
#define UART_TX_FIFO 16
static unsigned int tx_room;

void serial_putc(char c)
{
	if (tx_room == 0) {
		while (!(inb(COM1_BASE + UART_LSR) & LSR_THRE))
			cpu_pause();
		tx_room = UART_TX_FIFO;
	}
	tx_room--;
	outb(COM1_BASE + UART_THR, (uint8_t)c);
}
