/* SPDX-License-Identifier: MIT */
/* backtrace.c - the bounded, checked frame-pointer walk of a crash report. */
#include <stdbool.h>
#include <stdint.h>
#include "lib/layout.h"
#include "backtrace.h"
#include "console.h"

/*
 * With -fno-omit-frame-pointer every function starts with
 *	push rbp; mov rbp, rsp
 * so [rbp] holds the caller's rbp and [rbp + 8] the return address into the
 * caller. The boot entry and the AP trampoline enter C with rbp = 0: that
 * ends a healthy chain.
 */
struct frame {
	uint64_t next;  /* the caller's rbp */
	uint64_t ret;   /* return address into the caller */
};

/* Every stack pvspin runs on (boot, AP, IST) is in .bss. */
extern char __bss_start[], __bss_end[];

/* One frame is never larger than a whole stack: a chain that jumps further
 * has left the stack it was on. */
#define MAX_FRAME_SPAN AP_STACK_SIZE
_Static_assert(AP_STACK_SIZE >= BOOT_STACK_SIZE && AP_STACK_SIZE >= IST_STACK_SIZE,
	       "MAX_FRAME_SPAN must cover the largest stack");

static const char *frame_problem(uint64_t fp, uint64_t prev)
{
	uint64_t lo = (uint64_t)(uintptr_t)__bss_start;
	uint64_t hi = (uint64_t)(uintptr_t)__bss_end;
	if (fp & 7)
		return "frame pointer not 8-byte aligned";
	if (fp < lo || fp > hi - sizeof(struct frame))
		return "frame pointer outside the kernel's stacks";
	if (prev && (fp <= prev || fp - prev > MAX_FRAME_SPAN))
		return "frame pointer does not climb the stack";
	return 0;
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	kprintf("# backtrace: #0 0x%016lx\n", rip);
	uint64_t fp = rbp, prev = 0;
	for (unsigned int depth = 1; ; depth++) {
		if (fp == 0) {
			kprintf("# backtrace: end (no frame pointer)\n");
			return;
		}
		const char *why = frame_problem(fp, prev);
		if (why) {
			kprintf("# backtrace: stopped: %s (rbp=0x%016lx)\n", why, fp);
			kprintf("# backtrace: end (chain corrupt)\n");
			return;
		}
		if (depth > BACKTRACE_MAX_DEPTH) {
			kprintf("# backtrace: end (deeper than %u frames)\n", BACKTRACE_MAX_DEPTH);
			return;
		}
		const struct frame *f = (const struct frame *)(uintptr_t)fp;
		/* The frame whose caller's rbp is 0 is the C entry of this
		 * CPU: the AP trampoline jumps there, so its return slot
		 * holds no return address. */
		if (f->next == 0) {
			kprintf("# backtrace: end (outermost frame)\n");
			return;
		}
		kprintf("# backtrace: #%u 0x%016lx\n", depth, f->ret);
		prev = fp;
		fp = f->next;
	}
}
