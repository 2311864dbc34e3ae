/* SPDX-License-Identifier: MIT */
/* mptable.c - the Intel MP table walk, the fallback CPU source (mptable.h). */
#include <stddef.h>
#include <stdint.h>
#include "lib/string.h"
#include "apic.h"
#include "bios_scan.h"
#include "cpu_list.h"
#include "console.h"
#include "mptable.h"
#include "phys.h"

struct __attribute__((packed)) mp_floating {
	char signature[4];             /* "_MP_" */
	uint32_t config_addr;
	uint8_t length;                /* in 16-byte units */
	uint8_t revision, checksum, features[5];
};

struct __attribute__((packed)) mp_config {
	char signature[4];             /* "PCMP" */
	uint16_t length;
	uint8_t revision, checksum;
	char oem[8], product[12];
	uint32_t oem_table, oem_table_size_and_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
};

struct __attribute__((packed)) mp_processor {
	uint8_t type, apic_id, apic_version, flags;
	uint32_t signature, features;
	uint64_t reserved;
};

#define MP_ENTRY_PROCESSOR   0
#define MP_PROCESSOR_SIZE    20
#define MP_OTHER_ENTRY_SIZE  8
#define MP_CPU_ENABLED       (1u << 0)
#define MP_FLOATING_SIZE     16

_Static_assert(sizeof(struct mp_floating) == MP_FLOATING_SIZE, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mp_processor) == MP_PROCESSOR_SIZE, "MP processor entry is 20 bytes");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header is 44 bytes");

/* One "# mptable: ..." line per rejected table or entry (docs/output.md). */
static void reject(uint64_t addr, const char *why, unsigned int val)
{
	kprintf("# mptable: 0x%lx rejected: %s %u\n", addr, why, val);
}

bool mptable_init(void)
{
	uintptr_t fp = bios_scan("_MP_", 4, MP_FLOATING_SIZE);
	const struct mp_floating *f = phys_map(fp, MP_FLOATING_SIZE);
	if (!f || !f->config_addr)
		return false;
	uint64_t addr = f->config_addr;
	const struct mp_config *c = phys_map(addr, sizeof(*c));
	if (!c) {
		reject(addr, "configuration table outside memory, header bytes", (unsigned)sizeof(*c));
		return false;
	}
	if (memcmp(c->signature, "PCMP", 4) != 0) {
		reject(addr, "no PCMP signature; configuration table of length", c->length);
		return false;
	}
	uint16_t len = c->length;
	if (len < sizeof(*c)) {
		reject(addr, "configuration table shorter than its header, length", len);
		return false;
	}
	c = phys_map(addr, len);
	if (!c) {
		reject(addr, "configuration table runs outside memory, length", len);
		return false;
	}
	if (checksum8(c, len) != 0) {
		reject(addr, "configuration table checksum bad, length", len);
		return false;
	}
	uint32_t boot_id = cpu_apic_id_from_cpuid();
	const uint8_t *base = (const uint8_t *)c;
	for (size_t off = sizeof(*c); off < len; ) {
		size_t size = base[off] == MP_ENTRY_PROCESSOR ? MP_PROCESSOR_SIZE : MP_OTHER_ENTRY_SIZE;
		if (size > len - off) {
			reject(addr + off, "entry runs past the table's end; rest ignored; entry type", base[off]);
			break;
		}
		if (base[off] == MP_ENTRY_PROCESSOR) {
			const struct mp_processor *e = (const void *)(base + off);
			if (e->flags & MP_CPU_ENABLED)
				cpu_list_add(e->apic_id, boot_id);
		}
		off += size;
	}
	if (cpu_list.nr)
		cpu_list.source = "mptable";
	return cpu_list.nr > 0;
}
