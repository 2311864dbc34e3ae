/* SPDX-License-Identifier: MIT */
/* console.c - the line-atomic console on COM1: kprintf and friends (console.h). */
#include <stdbool.h>
#include <stdint.h>
#include "kernel/drivers/serial.h"
#include "lib/fmt.h"
#include "lib/x86.h"
#include "console.h"
#include "percpu.h"

#define NO_OWNER (~0u)
#define FORMAT_BUF_MAX 512

/* A plain test-and-set lock with an owner: the console must not depend on the
 * lock library it is used to report on. */
static uint32_t console_owner = NO_OWNER;
/* The serial line has bytes after its last newline: a CPU stopped inside
 * flush_line leaves it so, and the next report must start on a new line. */
static bool serial_mid_line;

static void console_lock(void)
{
	uint32_t me = cpu_id();
	uint32_t expected = NO_OWNER;
	/* ACQUIRE: the serial writes of the previous owner are complete. */
	while (!__atomic_compare_exchange_n(&console_owner, &expected, me, false,
					    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		expected = NO_OWNER;
		cpu_pause();
	}
}

static void console_unlock(void)
{
	/* RELEASE: our serial writes happen before the next owner's. */
	__atomic_store_n(&console_owner, NO_OWNER, __ATOMIC_RELEASE);
}

void console_force_unlock(void)
{
	__atomic_store_n(&console_owner, NO_OWNER, __ATOMIC_RELEASE);
}

void console_take_over(void)
{
	console_force_unlock();
	/* An NMI may have stopped this CPU's own console_write mid-line. */
	this_cpu()->line_len = 0;
	if (__atomic_load_n(&serial_mid_line, __ATOMIC_RELAXED)) {
		static const char cut[] = " [cut]\n";
		console_write(cut, sizeof(cut) - 1);
	}
}

void console_init(void)
{
	serial_init();
}

static void flush_line(struct percpu *p)
{
	console_lock();
	for (uint32_t i = 0; i < p->line_len; i++) {
		/* The flag errs towards "mid-line": set before a character goes
		 * out, cleared only after a newline has. A CPU stopped between
		 * the two then costs a lone " [cut]" line at worst; the other
		 * order would glue the lockup report's first line to a "#"
		 * already sent ("## LOCKUP: ..."). */
		if (p->line[i] != '\n')
			__atomic_store_n(&serial_mid_line, true, __ATOMIC_RELAXED);
		if (p->line[i] == '\n')
			serial_putc('\r');
		serial_putc(p->line[i]);
		if (p->line[i] == '\n')
			__atomic_store_n(&serial_mid_line, false, __ATOMIC_RELAXED);
	}
	console_unlock();
	p->line_len = 0;
}

void console_write(const char *s, unsigned long n)
{
	uint64_t flags = irq_save();
	struct percpu *p = this_cpu();
	for (unsigned long i = 0; i < n; i++) {
		p->line[p->line_len++] = s[i];
		if (s[i] == '\n' || p->line_len == CONSOLE_LINE_MAX)
			flush_line(p);
	}
	irq_restore(flags);
}

void vkprintf(const char *fmt, va_list ap)
{
	char buf[FORMAT_BUF_MAX];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	console_write(buf, (unsigned long)n);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}
