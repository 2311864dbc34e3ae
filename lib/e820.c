/* SPDX-License-Identifier: MIT */
/* e820.c - the check of a memory map a hypervisor wrote (e820.h). */
#include <stddef.h>
#include "e820.h"

unsigned int e820_clean(struct e820_entry *e, unsigned int n, unsigned int cap,
			unsigned int *dropped)
{
	unsigned int kept = 0, bad = 0;
	if (n > cap) {
		bad += n - cap;
		n = cap;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct e820_entry x = e[i];
		if (x.size == 0 || x.addr + (x.size - 1) < x.addr) {
			bad++;
			continue;
		}
		e[kept++] = x;
	}
	if (dropped)
		*dropped = bad;
	return kept;
}
