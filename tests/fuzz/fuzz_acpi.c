/* SPDX-License-Identifier: MIT */
/* fuzz_acpi.c - libFuzzer target: kernel/acpi.c's walk (RSDP, RSDT/XSDT, MADT, HPET, FADT, DSDT
 * and its \_S5) over tables at fake addresses (physmem.h); the mode bits pick where the RSDP comes from. */
#include <stdlib.h>
#include "kernel/acpi.h"
#include "kernel/cpu_list.h"
#include "kernel/multiboot.h"
#include "kernel/phys.h"
#include "lib/string.h"
#include "tests/fuzz/physmem.h"

/* multiboot.c is not linked here: the loader's part of the input is set below. */
struct boot_info boot_info;

enum { RSDP_SCAN, RSDP_MULTIBOOT2, RSDP_PVH };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&acpi, 0, sizeof(acpi));
	memset(&cpu_list, 0, sizeof(cpu_list));
	memset(&boot_info, 0, sizeof(boot_info));
	physmem_load(data, size);
	if (physmem_mode() == RSDP_MULTIBOOT2) {
		/* A Multiboot2 ACPI tag's copy: the first chunk's leading bytes. */
		const uint8_t *p = NULL;
		for (size_t n = ACPI_RSDP_MAX; !p && n; n--)
			if ((p = phys_map(physmem_first(), n)))
				memcpy(boot_info.rsdp, p, n);
		boot_info.has_rsdp = p != NULL;
	} else if (physmem_mode() == RSDP_PVH) {
		boot_info.rsdp_paddr = physmem_first();
	}
	acpi_init();
	if (cpu_list.nr > MAX_CPUS || (cpu_list.nr && !cpu_list.source))
		abort();
	uint8_t slp_typa, slp_typb;
	acpi_s5_sleep_types(&slp_typa, &slp_typb);  /* the DSDT's AML, read only to power off */
	physmem_release();
	return 0;
}
