/* SPDX-License-Identifier: MIT */
/* multiboot.c - reading the Multiboot v1 or v2 information or the PVH start_info (multiboot.h). */
#include <stddef.h>
#include "lib/e820.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "console.h"
#include "multiboot.h"
#include "phys.h"

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

/* Multiboot2 tags (Multiboot2 spec 1.0, section 3.6). Packed, like every
 * structure here: a malformed entry size or address may leave them at any
 * alignment (found by the fuzzer: an mmap entry size of 28). */
#define MB2_TAG_END         0
#define MB2_TAG_CMDLINE     1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MMAP        6
#define MB2_TAG_ACPI_OLD    14
#define MB2_TAG_ACPI_NEW    15
#define MB2_TAG_ALIGN       8

struct mb2_tag { uint32_t type, size; } __attribute__((packed));
struct mb2_mmap_entry { uint64_t base, len; uint32_t type, reserved; } __attribute__((packed));

/* PVH start_info (Xen public arch-x86/hvm/start_info.h); version 1 adds the
 * memory map. Addresses are physical, 0 meaning absent. */
struct pvh_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;     /* version >= 1 */
	uint32_t memmap_entries, reserved;
} __attribute__((packed));
struct pvh_memmap_entry { uint64_t addr, size; uint32_t type, reserved; } __attribute__((packed));

_Static_assert(offsetof(struct pvh_start_info, rsdp_paddr) == 32, "start_info layout");
_Static_assert(sizeof(struct pvh_start_info) == 56, "start_info layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "start_info memmap layout");

/* QEMU's fw_cfg: the selector at 0x510, data at 0x511; item 0 reads "QEMU".
 * PVH names no loader; this says whether QEMU's (pvh.bin) was the one. */
#define FW_CFG_PORT_SEL    0x510
#define FW_CFG_PORT_DATA   0x511
#define FW_CFG_SIGNATURE   0x0000
#define FW_CFG_SIG_LEN     4

/* One "# multiboot: ..." line per rejected structure (docs/output.md). */
static void reject(uint64_t addr, const char *why, uint64_t val)
{
	kprintf("# multiboot: 0x%lx rejected: %s %lu\n", addr, why, val);
}

/* Copy a string of at most `max` bytes at `src` (not always terminated
 * there); *truncated when it does not fit in `size`. */
static void copy_bytes_string(char *dst, size_t size, const char *src, size_t max, bool *truncated)
{
	size_t n = 0;
	while (n < max && n < size && src[n])
		n++;
	if (n == size) {
		n = size - 1;
		if (truncated)
			*truncated = true;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The same for a string at a physical address, mapped byte by byte so that
 * it may end anywhere readable. */
static void copy_phys_string(char *dst, size_t size, uint64_t addr, bool *truncated)
{
	size_t n = 0;
	const char *c;
	while (n < size && (c = phys_map(addr + n, 1)) && *c)
		dst[n++] = *c;
	if (n == size) {
		n = size - 1;
		if (truncated)
			*truncated = true;
	}
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

/* A 32-bit field at any alignment; false if unreadable. */
static bool phys_u32(uint64_t addr, uint32_t *v)
{
	const void *p = phys_map(addr, sizeof(*v));
	if (p)
		memcpy(v, p, sizeof(*v));
	return p != NULL;
}

static void parse_mb1(uint64_t addr)
{
	const struct mb1_info *mi = phys_map(addr, sizeof(*mi));
	if (!mi) {
		reject(addr, "the information structure is outside memory, bytes", sizeof(*mi));
		return;
	}
	boot_info.multiboot_version = 1;
	if (mi->flags & MB1_INFO_CMDLINE)
		copy_phys_string(boot_info.cmdline, sizeof(boot_info.cmdline), mi->cmdline,
				 &boot_info.cmdline_truncated);
	if (mi->flags & MB1_INFO_LOADER_NAME)
		copy_phys_string(boot_info.loader_name, sizeof(boot_info.loader_name),
				 mi->boot_loader_name, NULL);
	if (mi->flags & MB1_INFO_MMAP) {
		uint64_t p = mi->mmap_addr, end = p + mi->mmap_length;
		while (p < end) {
			uint32_t size = 0;
			bool readable = phys_u32(p, &size);
			const struct mb1_mmap_entry *e = readable && size >= sizeof(*e) - sizeof(size) ?
				phys_map(p, sizeof(*e)) : NULL;
			if (!e) {
				reject(p, "memory map entry unreadable or too short; rest of the map ignored; size",
				       size);
				break;
			}
			add_region(e->base, e->len, e->type);
			p += (uint64_t)e->size + sizeof(e->size);
		}
	}
}

static void parse_mb2(uint64_t info)
{
	uint32_t total = 0;
	const uint8_t *b = phys_u32(info, &total) && total >= MB2_TAG_ALIGN ? phys_map(info, total) : NULL;
	if (!b) {
		reject(info, "the information structure is unreadable, total size", total);
		return;
	}
	boot_info.multiboot_version = 2;
	size_t end = total;
	for (size_t off = MB2_TAG_ALIGN; off + sizeof(struct mb2_tag) <= end; ) {
		const struct mb2_tag *t = (const void *)(b + off);
		const uint8_t *body = (const uint8_t *)(t + 1);
		if (t->type == MB2_TAG_END)
			break;
		if (t->size < sizeof(*t) || t->size > end - off) {
			reject(info + off, "tag does not fit the information; the rest is ignored; size", t->size);
			break;
		}
		size_t n = t->size - sizeof(*t);
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			copy_bytes_string(boot_info.cmdline, sizeof(boot_info.cmdline),
					  (const char *)body, n, &boot_info.cmdline_truncated);
			break;
		case MB2_TAG_LOADER_NAME:
			copy_bytes_string(boot_info.loader_name, sizeof(boot_info.loader_name),
					  (const char *)body, n, NULL);
			break;
		case MB2_TAG_MMAP: {
			uint32_t esize = 0;
			if (n >= 2 * sizeof(uint32_t))
				memcpy(&esize, body, sizeof(esize));
			if (esize < sizeof(struct mb2_mmap_entry)) {
				reject(info + off, "memory map tag ignored; entry size", esize);
				break;
			}
			for (size_t e = 2 * sizeof(uint32_t); e + esize <= n; e += esize) {
				const struct mb2_mmap_entry *m = (const void *)(body + e);
				add_region(m->base, m->len, m->type);
			}
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			if (n > ACPI_RSDP_MAX)
				n = ACPI_RSDP_MAX;
			/* Prefer the ACPI 2.0 RSDP when both tags are present. */
			if (!boot_info.has_rsdp || t->type == MB2_TAG_ACPI_NEW) {
				memset(boot_info.rsdp, 0, sizeof(boot_info.rsdp));
				memcpy(boot_info.rsdp, body, n);
				boot_info.has_rsdp = true;
			}
			break;
		}
		off += (t->size + MB2_TAG_ALIGN - 1) & ~(size_t)(MB2_TAG_ALIGN - 1);
	}
}

static bool qemu_fw_cfg_present(void)
{
	outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
	char sig[FW_CFG_SIG_LEN];
	for (int i = 0; i < FW_CFG_SIG_LEN; i++)
		sig[i] = (char)inb(FW_CFG_PORT_DATA);
	return memcmp(sig, "QEMU", FW_CFG_SIG_LEN) == 0;
}

/* start_info's size in version 0: up to and including rsdp_paddr. */
#define PVH_V0_SIZE offsetof(struct pvh_start_info, memmap_paddr)

static void parse_pvh(uint64_t addr)
{
	const struct pvh_start_info *si = phys_map(addr, PVH_V0_SIZE);
	if (!si || si->magic != PVH_START_MAGIC)
		return;
	boot_info.pvh = true;
	boot_info.pvh_version = si->version;
	if (si->cmdline_paddr)
		copy_phys_string(boot_info.cmdline, sizeof(boot_info.cmdline), si->cmdline_paddr,
				 &boot_info.cmdline_truncated);
	if (phys_map(si->rsdp_paddr, ACPI_RSDP_MAX))
		boot_info.rsdp_paddr = si->rsdp_paddr;
	if (si->version < 1)
		return;
	si = phys_map(addr, sizeof(*si));
	if (!si) {
		reject(addr, "start_info version 1 is outside memory, bytes", sizeof(*si));
		return;
	}
	if (!si->memmap_entries)
		return;
	const struct pvh_memmap_entry *e =
		phys_map(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof(*e));
	if (!e) {
		reject(si->memmap_paddr, "memory map outside memory, entries", si->memmap_entries);
		return;
	}
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		add_region(e[i].addr, e[i].size, e[i].type);
}

void boot_info_parse(uint32_t magic, uint32_t info_addr)
{
	if (magic == MULTIBOOT1_LOADER_MAGIC)
		parse_mb1(info_addr);
	else if (magic == MULTIBOOT2_LOADER_MAGIC)
		parse_mb2(info_addr);
	else if (magic == PVH_START_MAGIC)
		parse_pvh(info_addr);
}

void multiboot_parse(uint32_t magic, uint32_t info_addr)
{
	boot_info_parse(magic, info_addr);
	/* PVH names no loader; say whether QEMU's (pvh.bin) was the one. */
	if (boot_info.pvh)
		copy_bytes_string(boot_info.loader_name, sizeof(boot_info.loader_name),
				  qemu_fw_cfg_present() ? "qemu" : "unnamed", sizeof(boot_info.loader_name), NULL);
}

void boot_info_add_e820(const struct e820_entry *e, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		add_region(e[i].addr, e[i].size, e[i].type);
}
