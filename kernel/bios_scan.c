/* SPDX-License-Identifier: MIT */
/* bios_scan.c - signature search of the legacy BIOS areas (bios_scan.h). */
#include "lib/string.h"
#include "bios_scan.h"

#define BDA_EBDA_SEGMENT   0x40E     /* u16: EBDA segment */
#define BDA_BASE_MEM_KIB   0x413     /* u16: base memory size in KiB */
#define BIOS_ROM_START     0xE0000
#define BIOS_ROM_END       0x100000
#define SCAN_AREA_BYTES    1024
#define SCAN_STEP          16

uint8_t checksum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	while (n--)
		sum += *b++;
	return sum;
}

static uintptr_t scan(uintptr_t start, uintptr_t end, const char *sig,
		      size_t sig_len, size_t check_len)
{
	for (uintptr_t p = start; p + check_len <= end; p += SCAN_STEP)
		if (memcmp((const void *)p, sig, sig_len) == 0 &&
		    checksum8((const void *)p, check_len) == 0)
			return p;
	return 0;
}

uintptr_t bios_scan(const char *sig, size_t sig_len, size_t check_len)
{
	uintptr_t ebda = (uintptr_t)*(const volatile uint16_t *)BDA_EBDA_SEGMENT << 4;
	uintptr_t base_end = (uintptr_t)*(const volatile uint16_t *)BDA_BASE_MEM_KIB * 1024;
	uintptr_t hit = 0;
	if (ebda)
		hit = scan(ebda, ebda + SCAN_AREA_BYTES, sig, sig_len, check_len);
	if (!hit && base_end >= SCAN_AREA_BYTES)
		hit = scan(base_end - SCAN_AREA_BYTES, base_end, sig, sig_len, check_len);
	if (!hit)
		hit = scan(BIOS_ROM_START, BIOS_ROM_END, sig, sig_len, check_len);
	return hit;
}
