/* SPDX-License-Identifier: MIT */
/* fuzz_multiboot.c - libFuzzer target: kernel/multiboot.c reading Multiboot v1, v2 or PVH
 * start_info (the mode bits pick which) at the first chunk's address (physmem.h). */
#include <stdlib.h>
#include "kernel/multiboot.h"
#include "lib/string.h"
#include "tests/fuzz/physmem.h"

static const uint32_t magics[] = {
	MULTIBOOT1_LOADER_MAGIC, MULTIBOOT2_LOADER_MAGIC, PVH_START_MAGIC, 0,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&boot_info, 0, sizeof(boot_info));
	physmem_load(data, size);
	uint64_t info = physmem_first();
	if (info <= UINT32_MAX)
		boot_info_parse(magics[physmem_mode()], (uint32_t)info);
	if (boot_info.nr_regions < 0 || boot_info.nr_regions > BOOT_MEM_REGIONS_MAX ||
	    strlen(boot_info.cmdline) >= sizeof(boot_info.cmdline) ||
	    strlen(boot_info.loader_name) >= sizeof(boot_info.loader_name))
		abort();
	physmem_release();
	return 0;
}
