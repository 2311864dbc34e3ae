/* SPDX-License-Identifier: MIT */
/* console.h - line-atomic console on COM1: text from different CPUs never interleaves
 * inside a line. Each CPU builds its line in its per-CPU buffer and sends it
 * whole under the console lock. */
#ifndef PVSPIN_CONSOLE_H
#define PVSPIN_CONSOLE_H

#include <stdarg.h>

void console_init(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vkprintf(const char *fmt, va_list ap);
/* Raw bytes, for lines longer than kprintf's format buffer (JSON results). */
void console_write(const char *s, unsigned long n);
/* For the crash and lockup paths: take the console even if a CPU that will
 * never release it (this one, interrupted, or a stuck one) holds it. */
void console_force_unlock(void);
/* console_force_unlock, and drop this CPU's unsent partial line; a line cut
 * short on the serial port (its CPU stopped mid-line) is ended with " [cut]". */
void console_take_over(void);

#endif
