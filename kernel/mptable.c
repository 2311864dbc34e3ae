/* SPDX-License-Identifier: MIT */
/* mptable.c - the Intel MP table walk, the fallback CPU source (mptable.h). */
#include <stdint.h>
#include "lib/string.h"
#include "apic.h"
#include "bios_scan.h"
#include "cpu_list.h"
#include "mptable.h"

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

bool mptable_init(void)
{
	const struct mp_floating *f = (const void *)bios_scan("_MP_", 4, MP_FLOATING_SIZE);
	if (!f || !f->config_addr)
		return false;
	const struct mp_config *c = (const void *)(uintptr_t)f->config_addr;
	if (memcmp(c->signature, "PCMP", 4) != 0 || checksum8(c, c->length) != 0)
		return false;
	uint32_t boot_id = cpu_apic_id_from_cpuid();
	const uint8_t *p = (const uint8_t *)(c + 1), *end = (const uint8_t *)c + c->length;
	while (p < end) {
		if (*p == MP_ENTRY_PROCESSOR) {
			const struct mp_processor *e = (const void *)p;
			if (e->flags & MP_CPU_ENABLED)
				cpu_list_add(e->apic_id, boot_id);
			p += MP_PROCESSOR_SIZE;
		} else {
			p += MP_OTHER_ENTRY_SIZE;
		}
	}
	if (cpu_list.nr)
		cpu_list.source = "mptable";
	return cpu_list.nr > 0;
}
