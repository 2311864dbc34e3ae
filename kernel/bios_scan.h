/* SPDX-License-Identifier: MIT */
/* bios_scan.h - search the legacy BIOS areas for a signature on 16-byte boundaries. */
#ifndef PVSPIN_BIOS_SCAN_H
#define PVSPIN_BIOS_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* Returns the address of the first structure whose first `sig_len` bytes are
 * `sig` and whose `check_len` bytes sum to zero, or 0. Looks in the first KiB
 * of the EBDA, the last KiB of base memory, then 0xE0000-0xFFFFF. */
uintptr_t bios_scan(const char *sig, size_t sig_len, size_t check_len);
uint8_t checksum8(const void *p, size_t n);

#endif
