/* SPDX-License-Identifier: MIT */
/* fuzz_aml.c - libFuzzer target: lib/acpi_aml.c's \_S5 search over any DSDT body, held in
 * an allocation of exactly its size. */
#include <stdlib.h>
#include "lib/acpi_aml.h"
#include "lib/string.h"

#define SLP_TYP_MASK 7u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *aml = malloc(size ? size : 1);
	if (!aml)
		return 0;
	memcpy(aml, data, size);
	uint8_t a = 0xff, b = 0xff;
	if (aml_find_s5(aml, size, &a, &b) && ((a & ~SLP_TYP_MASK) || (b & ~SLP_TYP_MASK)))
		abort();        /* found, but not masked to SLP_TYP's 3 bits */
	free(aml);
	return 0;
}
