/* SPDX-License-Identifier: MIT */
/* multiboot.c - reading the Multiboot v1 or v2 information (multiboot.h). */
#include <stddef.h>
#include "lib/string.h"
#include "multiboot.h"

struct boot_info boot_info;

/* Multiboot v1 information structure (Multiboot spec 0.6.96, section 3.3). */
#define MB1_INFO_CMDLINE     (1u << 2)
#define MB1_INFO_MMAP        (1u << 6)
#define MB1_INFO_LOADER_NAME (1u << 9)

struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb1_mmap_entry {
	uint32_t size;             /* of the rest of the entry */
	uint64_t base, len;
	uint32_t type;
} __attribute__((packed));

_Static_assert(offsetof(struct mb1_info, mmap_length) == 44, "Multiboot v1 layout");
_Static_assert(offsetof(struct mb1_info, boot_loader_name) == 64, "Multiboot v1 layout");

/* Multiboot2 tags (Multiboot2 spec 1.0, section 3.6). */
#define MB2_TAG_END         0
#define MB2_TAG_CMDLINE     1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MMAP        6
#define MB2_TAG_ACPI_OLD    14
#define MB2_TAG_ACPI_NEW    15
#define MB2_TAG_ALIGN       8

struct mb2_tag { uint32_t type, size; };
struct mb2_mmap_entry { uint64_t base, len; uint32_t type, reserved; };

static void copy_string(char *dst, size_t size, const char *src, bool *truncated)
{
	size_t n = strlen(src);
	if (n >= size) {
		n = size - 1;
		if (truncated)
			*truncated = true;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void add_region(uint64_t base, uint64_t len, uint32_t type)
{
	if (type == MEM_TYPE_USABLE)
		boot_info.usable_bytes += len;
	if (boot_info.nr_regions == BOOT_MEM_REGIONS_MAX)
		return;
	boot_info.regions[boot_info.nr_regions++] = (struct mem_region){ base, len, type };
}

static void parse_mb1(const struct mb1_info *mi)
{
	boot_info.multiboot_version = 1;
	if (mi->flags & MB1_INFO_CMDLINE)
		copy_string(boot_info.cmdline, sizeof(boot_info.cmdline),
			    (const char *)(uintptr_t)mi->cmdline, &boot_info.cmdline_truncated);
	if (mi->flags & MB1_INFO_LOADER_NAME)
		copy_string(boot_info.loader_name, sizeof(boot_info.loader_name),
			    (const char *)(uintptr_t)mi->boot_loader_name, NULL);
	if (mi->flags & MB1_INFO_MMAP) {
		uintptr_t p = mi->mmap_addr, end = p + mi->mmap_length;
		while (p < end) {
			const struct mb1_mmap_entry *e = (const void *)p;
			add_region(e->base, e->len, e->type);
			p += e->size + sizeof(e->size);
		}
	}
}

static void parse_mb2(uintptr_t info)
{
	boot_info.multiboot_version = 2;
	uint32_t total = *(const uint32_t *)info;
	uintptr_t p = info + MB2_TAG_ALIGN, end = info + total;
	while (p < end) {
		const struct mb2_tag *t = (const void *)p;
		const uint8_t *body = (const uint8_t *)(t + 1);
		if (t->type == MB2_TAG_END)
			break;
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			copy_string(boot_info.cmdline, sizeof(boot_info.cmdline),
				    (const char *)body, &boot_info.cmdline_truncated);
			break;
		case MB2_TAG_LOADER_NAME:
			copy_string(boot_info.loader_name, sizeof(boot_info.loader_name),
				    (const char *)body, NULL);
			break;
		case MB2_TAG_MMAP: {
			uint32_t esize = ((const uint32_t *)body)[0];
			for (uintptr_t e = (uintptr_t)body + 8; e + esize <= p + t->size; e += esize) {
				const struct mb2_mmap_entry *m = (const void *)e;
				add_region(m->base, m->len, m->type);
			}
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW: {
			size_t n = t->size - sizeof(*t);
			if (n > ACPI_RSDP_MAX)
				n = ACPI_RSDP_MAX;
			/* Prefer the ACPI 2.0 RSDP when both tags are present. */
			if (!boot_info.has_rsdp || t->type == MB2_TAG_ACPI_NEW) {
				memcpy(boot_info.rsdp, body, n);
				boot_info.has_rsdp = true;
			}
			break;
		}
		}
		p += (t->size + MB2_TAG_ALIGN - 1) & ~(uintptr_t)(MB2_TAG_ALIGN - 1);
	}
}

void multiboot_parse(uint32_t magic, uint32_t info_addr)
{
	if (magic == MULTIBOOT1_LOADER_MAGIC)
		parse_mb1((const struct mb1_info *)(uintptr_t)info_addr);
	else if (magic == MULTIBOOT2_LOADER_MAGIC)
		parse_mb2(info_addr);
}
