/* SPDX-License-Identifier: MIT */
/* physmem.h - the fuzz harness's physical memory: the input as chunks at fake addresses, behind phys_map. */
#ifndef PVSPIN_FUZZ_PHYSMEM_H
#define PVSPIN_FUZZ_PHYSMEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Input layout of the firmware-table targets (acpi, mptable, multiboot):
 *   u8 flags, then chunks: u32 address, u16 length, length bytes (little
 *   endian; the last chunk may be cut short by the end of the input).
 * Each chunk is memory at its address; phys_map (kernel/phys.h) hands out a
 * fresh allocation of exactly the bytes asked for, copied from the chunk
 * holding them all, so a read past what a parser mapped is an ASan error.
 * tests/fuzz/seeds.py writes such files from a guest memory dump.
 */
#define PHYSMEM_NO_CHECKSUM  0x01u   /* checksum8 says 0: reach past the checksums */
#define PHYSMEM_MODE_SHIFT   1       /* bits 1-2: the target's own choice */
#define PHYSMEM_MODE_MASK    3u
#define PHYSMEM_CHUNKS_MAX   16

/* Take an input (kept by reference until physmem_release). */
void physmem_load(const uint8_t *data, size_t size);
/* Free every mapping handed out since physmem_load. */
void physmem_release(void);
unsigned int physmem_mode(void);
/* The address of the first chunk (where a target starts), 0 if none. */
uint64_t physmem_first(void);

#endif
