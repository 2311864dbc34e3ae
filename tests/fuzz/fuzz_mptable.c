/* SPDX-License-Identifier: MIT */
/* fuzz_mptable.c - libFuzzer target: kernel/mptable.c's walk of the MP floating pointer and
 * configuration table at fake addresses (physmem.h). */
#include <stdlib.h>
#include "kernel/cpu_list.h"
#include "kernel/mptable.h"
#include "lib/string.h"
#include "tests/fuzz/physmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&cpu_list, 0, sizeof(cpu_list));
	physmem_load(data, size);
	bool found = mptable_init();
	if (cpu_list.nr > MAX_CPUS || found != (cpu_list.nr > 0))
		abort();
	physmem_release();
	return 0;
}
