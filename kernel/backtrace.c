/* SPDX-License-Identifier: MIT */
/* backtrace.c - the crash report's backtrace: lib/frame_walk over the kernel's stacks. */
#include <stdint.h>
#include "lib/frame_walk.h"
#include "lib/layout.h"
#include "backtrace.h"
#include "console.h"
#include "ram.h"

/* Every stack pvspin runs on is in .bss (boot, CPU 0's IST) or in the RAM
 * handed out after the image (ram.h: the APs' stacks and IST stacks): one
 * range from .bss up. */
extern char __bss_start[], __bss_end[];
extern char __text_start[], __text_end[];      /* linker.ld */

/* One frame is never larger than a whole stack. */
_Static_assert(AP_STACK_SIZE >= BOOT_STACK_SIZE && AP_STACK_SIZE >= IST_STACK_SIZE,
	       "a frame step of AP_STACK_SIZE must cover the largest stack");

/* ctx: the frames printed before the walk's first. */
static void emit(unsigned int depth, uint64_t ret, void *ctx)
{
	kprintf("# backtrace: #%u 0x%016lx\n", depth + *(const unsigned int *)ctx, ret);
}

static struct frame_walk_bounds stack_bounds(unsigned int max_depth)
{
	return (struct frame_walk_bounds){
		.lo = (uint64_t)(uintptr_t)__bss_start,
		.hi = ram_end() ? ram_end() : (uint64_t)(uintptr_t)__bss_end,
		.max_span = AP_STACK_SIZE,
		.max_depth = max_depth,
		.text_lo = (uint64_t)(uintptr_t)__text_start,
		.text_hi = (uint64_t)(uintptr_t)__text_end,
	};
}

struct collect {
	uint64_t *ret;
	unsigned int n, max;
};

static void collect_one(unsigned int depth, uint64_t ret, void *ctx)
{
	(void)depth;
	struct collect *c = ctx;
	if (c->n < c->max)
		c->ret[c->n++] = ret;
}

unsigned int backtrace_collect(uint64_t rbp, uint64_t *ret, unsigned int max)
{
	const struct frame_walk_bounds b = stack_bounds(max);
	struct collect c = { ret, 0, max };
	uint64_t bad = 0;
	frame_walk(&b, rbp, collect_one, &c, &bad);
	return c.n;
}

void backtrace_print(uint64_t rip, uint64_t rsp, uint64_t rbp)
{
	struct frame_walk_bounds b = stack_bounds(BACKTRACE_MAX_DEPTH);
	uint64_t bad = 0, leaf_ret;
	unsigned int before = 0;
	kprintf("# backtrace: #0 0x%016lx\n", rip);
	if (frame_walk_leaf_return(&b, rsp, rbp, &leaf_ret)) {
		kprintf("# backtrace: #1 0x%016lx\n", leaf_ret);
		before = 1;
		b.max_depth--;
	}
	enum frame_walk_end end = frame_walk(&b, rbp, emit, &before, &bad);
	if (frame_walk_corrupt(end)) {
		kprintf("# backtrace: stopped: %s (rbp=0x%016lx)\n", frame_walk_end_text(end), bad);
		kprintf("# backtrace: end (chain corrupt)\n");
	} else if (end == FRAME_WALK_TOO_DEEP) {
		kprintf("# backtrace: end (deeper than %u frames)\n", BACKTRACE_MAX_DEPTH);
	} else {
		kprintf("# backtrace: end (%s)\n", frame_walk_end_text(end));
	}
}
