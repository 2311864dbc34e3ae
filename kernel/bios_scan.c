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

/* Eight bytes a step: under TCG each step of a loop is a block run, and
 * the DSDT alone is kilobytes. */
uint8_t checksum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (; n >= 8; n -= 8, b += 8)
		sum += (uint8_t)(b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7]);
	while (n--)
		sum += *b++;
	return sum;
}

/* The first byte is tested here: a memcmp() call at each of the thousands
 * of 16-byte steps of the BIOS area costs several blocks under TCG. */
static uintptr_t scan(uintptr_t start, uintptr_t end, const char *sig,
		      size_t sig_len, size_t check_len)
{
	for (uintptr_t p = start; p + check_len <= end; p += SCAN_STEP)
		if (*(const char *)p == sig[0] && memcmp((const void *)p, sig, sig_len) == 0 &&
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
