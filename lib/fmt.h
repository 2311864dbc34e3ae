/* SPDX-License-Identifier: MIT */
/* fmt.h - A small vsnprintf: %d %i %u %x %X %o %s %c %p %%, flags '-' '0', width
 * (number or *), precision for %s, length modifiers l, ll, z. */
#ifndef PVSPIN_FMT_H
#define PVSPIN_FMT_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
