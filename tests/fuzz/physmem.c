/* SPDX-License-Identifier: MIT */
/* physmem.c - phys_map, bios_scan, checksum8 and the console over a fuzz input (physmem.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include "kernel/apic.h"
#include "kernel/bios_scan.h"
#include "kernel/console.h"
#include "kernel/phys.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "tests/fuzz/physmem.h"

#define CHUNK_HEADER 6               /* u32 address, u16 length */
#define ALIGN_KEPT   16              /* malloc's alignment */

struct chunk { uint64_t addr; size_t len; const uint8_t *bytes; };

static struct chunk chunks[PHYSMEM_CHUNKS_MAX];
static unsigned int nr_chunks, flags;
static void **maps;
static size_t nr_maps, cap_maps;

void physmem_load(const uint8_t *data, size_t size)
{
	nr_chunks = 0;
	flags = size ? data[0] : 0;
	size_t off = 1;
	while (nr_chunks < PHYSMEM_CHUNKS_MAX && off + CHUNK_HEADER <= size) {
		uint32_t addr = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 |
				(uint32_t)data[off + 2] << 16 | (uint32_t)data[off + 3] << 24;
		size_t len = (size_t)data[off + 4] | (size_t)data[off + 5] << 8;
		off += CHUNK_HEADER;
		if (len > size - off)
			len = size - off;
		chunks[nr_chunks++] = (struct chunk){ addr, len, data + off };
		off += len;
	}
}

void physmem_release(void)
{
	for (size_t i = 0; i < nr_maps; i++)
		free(maps[i]);
	nr_maps = 0;
}

unsigned int physmem_mode(void)
{
	return flags >> PHYSMEM_MODE_SHIFT & PHYSMEM_MODE_MASK;
}

uint64_t physmem_first(void)
{
	return nr_chunks ? chunks[0].addr : 0;
}

const void *phys_map(uint64_t addr, uint64_t len)
{
	if (!addr)
		return NULL;
	for (unsigned int i = 0; i < nr_chunks; i++) {
		const struct chunk *c = &chunks[i];
		/* The first chunk holding addr decides, as overlapping chunks
		 * would otherwise give two mappings of one address different bytes. */
		if (addr < c->addr || addr - c->addr >= c->len)
			continue;
		if (len > c->len - (addr - c->addr))
			return NULL;
		if (nr_maps == cap_maps) {
			cap_maps = cap_maps ? 2 * cap_maps : 256;
			maps = realloc(maps, cap_maps * sizeof(*maps));
			if (!maps)
				abort();
		}
		/* Ending exactly after len bytes, and as misaligned as addr is
		 * (to 16), so UBSan sees what alignment the parser assumes. */
		size_t skew = addr % ALIGN_KEPT;
		uint8_t *p = malloc(skew + len + !len);
		if (!p)
			abort();
		memcpy(p + skew, c->bytes + (addr - c->addr), len);
		maps[nr_maps++] = p;
		return p + skew;
	}
	return NULL;
}

uint8_t checksum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	while (n--)
		sum += *b++;     /* read even when ignored: ASan checks the length */
	return flags & PHYSMEM_NO_CHECKSUM ? 0 : sum;
}

/* The first chunk that starts with the signature and sums to zero. */
uintptr_t bios_scan(const char *sig, size_t sig_len, size_t check_len)
{
	for (unsigned int i = 0; i < nr_chunks; i++) {
		const uint8_t *p = phys_map(chunks[i].addr, check_len);
		if (p && memcmp(p, sig, sig_len) == 0 && checksum8(p, check_len) == 0)
			return chunks[i].addr;
	}
	return 0;
}

uint32_t cpu_apic_id_from_cpuid(void)
{
	return 0;
}

/* Diagnostics must be whole printable lines; FUZZ_VERBOSE=1 shows them. */
void kprintf(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line) || line[n - 1] != '\n')
		abort();
	for (int i = 0; i < n - 1; i++)
		if (line[i] < ' ' || line[i] > '~')
			abort();
	if (getenv("FUZZ_VERBOSE"))
		fputs(line, stderr);
}
