/* SPDX-License-Identifier: MIT */
/* multiboot.c - reading the Multiboot v1 or v2 information or the PVH start_info (multiboot.h). */
#include <stddef.h>
#include "lib/layout.h"
#include "lib/string.h"
#include "lib/x86.h"
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

/* PVH start_info (Xen public arch-x86/hvm/start_info.h); version 1 adds the
 * memory map. Addresses are physical, 0 meaning absent. */
struct pvh_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;     /* version >= 1 */
	uint32_t memmap_entries, reserved;
};
struct pvh_memmap_entry { uint64_t addr, size; uint32_t type, reserved; };

_Static_assert(offsetof(struct pvh_start_info, rsdp_paddr) == 32, "start_info layout");
_Static_assert(sizeof(struct pvh_start_info) == 56, "start_info layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "start_info memmap layout");

/* Only the low IDMAP_GIB GiB are mapped (boot/entry.asm): anything above is ignored. */
#define PVH_ADDR_LIMIT ((uint64_t)IDMAP_GIB << 30)

/* QEMU's fw_cfg: the selector at 0x510, data at 0x511; item 0 reads "QEMU".
 * PVH names no loader; this says whether QEMU's (pvh.bin) was the one. */
#define FW_CFG_PORT_SEL    0x510
#define FW_CFG_PORT_DATA   0x511
#define FW_CFG_SIGNATURE   0x0000
#define FW_CFG_SIG_LEN     4

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

static bool pvh_addr_ok(uint64_t addr, uint64_t len)
{
	return addr && addr < PVH_ADDR_LIMIT && len <= PVH_ADDR_LIMIT - addr;
}

static bool qemu_fw_cfg_present(void)
{
	outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
	char sig[FW_CFG_SIG_LEN];
	for (int i = 0; i < FW_CFG_SIG_LEN; i++)
		sig[i] = (char)inb(FW_CFG_PORT_DATA);
	return memcmp(sig, "QEMU", FW_CFG_SIG_LEN) == 0;
}

static void parse_pvh(const struct pvh_start_info *si)
{
	if (si->magic != PVH_START_MAGIC)
		return;
	boot_info.pvh = true;
	boot_info.pvh_version = si->version;
	copy_string(boot_info.loader_name, sizeof(boot_info.loader_name),
		    qemu_fw_cfg_present() ? "qemu" : "unnamed", NULL);
	if (pvh_addr_ok(si->cmdline_paddr, 1))
		copy_string(boot_info.cmdline, sizeof(boot_info.cmdline),
			    (const char *)(uintptr_t)si->cmdline_paddr, &boot_info.cmdline_truncated);
	if (pvh_addr_ok(si->rsdp_paddr, ACPI_RSDP_MAX))
		boot_info.rsdp_paddr = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_entries &&
	    pvh_addr_ok(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof(struct pvh_memmap_entry))) {
		const struct pvh_memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			add_region(e[i].addr, e[i].size, e[i].type);
	}
}

void multiboot_parse(uint32_t magic, uint32_t info_addr)
{
	if (magic == MULTIBOOT1_LOADER_MAGIC)
		parse_mb1((const struct mb1_info *)(uintptr_t)info_addr);
	else if (magic == MULTIBOOT2_LOADER_MAGIC)
		parse_mb2(info_addr);
	else if (magic == PVH_START_MAGIC)
		parse_pvh((const struct pvh_start_info *)(uintptr_t)info_addr);
}
