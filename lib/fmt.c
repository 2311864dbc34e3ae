/* SPDX-License-Identifier: MIT */
/* fmt.c - a small vsnprintf and snprintf (fmt.h). */
#include <stdint.h>
#include <stdbool.h>
#include "fmt.h"
#include "string.h"

struct out {
	char *buf;
	size_t size;
	size_t len;             /* what would have been written */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left, zero;
	int width, precision;
};

static void put_str(struct out *o, const char *s, const struct spec *sp)
{
	size_t n = strlen(s);
	if (sp->precision >= 0 && (size_t)sp->precision < n)
		n = (size_t)sp->precision;
	if (!sp->left)
		pad(o, ' ', sp->width - (int)n);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, ' ', sp->width - (int)n);
}

static void put_num(struct out *o, uint64_t v, bool neg, unsigned base,
		    bool upper, const struct spec *sp)
{
	static const char lo_digits[] = "0123456789abcdef";
	static const char up_digits[] = "0123456789ABCDEF";
	const char *digits = upper ? up_digits : lo_digits;
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	int len = n + (neg ? 1 : 0);
	if (!sp->left && !sp->zero)
		pad(o, ' ', sp->width - len);
	if (neg)
		put(o, '-');
	if (!sp->left && sp->zero)
		pad(o, '0', sp->width - len);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, ' ', sp->width - len);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		struct spec sp = { false, false, 0, -1 };
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			sp.precision = 0;
			if (*fmt == '*') {
				sp.precision = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.precision = sp.precision * 10 + (*fmt++ - '0');
			}
		}
		int longs = 0;
		while (*fmt == 'l' || *fmt == 'z') {
			longs += (*fmt == 'z') ? 2 : 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			bool neg = v < 0;
			put_num(&o, neg ? -(uint64_t)v : (uint64_t)v, neg, 10, false, &sp);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			put_num(&o, v, false, base, *fmt == 'X', &sp);
			break;
		}
		case 'p': {
			uint64_t v = (uint64_t)(uintptr_t)va_arg(ap, void *);
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, v, false, 16, false, &sp);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			put_str(&o, s ? s : "(null)", &sp);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
