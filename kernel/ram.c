/* SPDX-License-Identifier: MIT */
/* ram.c - the usable RAM after the image, a bump allocator (ram.h). */
#include <stdint.h>
#include "lib/layout.h"
#include "multiboot.h"
#include "phys.h"
#include "ram.h"

extern char __image_end[];              /* linker.ld */

static uint64_t next, limit;            /* limit 0: not found (yet) */

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* The usable region the image ends in, up to the end of the identity map. */
static void find_region(void)
{
	uint64_t base = align_up((uintptr_t)__image_end, PAGE_SIZE);
	for (int i = 0; i < boot_info.nr_regions; i++) {
		const struct mem_region *r = &boot_info.regions[i];
		if (r->type != MEM_TYPE_USABLE || r->base > base || base >= r->base + r->len)
			continue;
		next = base;
		limit = r->base + r->len < IDMAP_END ? r->base + r->len : IDMAP_END;
		return;
	}
}

void *ram_alloc(uint64_t size, uint64_t align)
{
	if (!limit)
		find_region();
	uint64_t p = align_up(next, align);
	if (!limit || p < next || size > limit - p)
		return 0;
	next = p + size;
	return (void *)(uintptr_t)p;
}

uint64_t ram_end(void)
{
	return limit && next > align_up((uintptr_t)__image_end, PAGE_SIZE) ? next : 0;
}
