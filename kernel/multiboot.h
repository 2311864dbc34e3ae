/* SPDX-License-Identifier: MIT */
/* multiboot.h - what the boot loader told us (Multiboot v1 from QEMU -kernel, v2 from GRUB,
 * or the PVH start_info from any loader of the PVH entry: docs/boot.md). */
#ifndef PVSPIN_MULTIBOOT_H
#define PVSPIN_MULTIBOOT_H

#include <stdbool.h>
#include <stdint.h>

#define MULTIBOOT1_LOADER_MAGIC 0x2BADB002
#define MULTIBOOT2_LOADER_MAGIC 0x36D76289
#define PVH_START_MAGIC         0x336ec578   /* hvm_start_info.magic; boot/entry.asm passes it in EAX */
#define BOOT_CMDLINE_MAX 1024
#define BOOT_MEM_REGIONS_MAX 32
#define ACPI_RSDP_MAX 36           /* ACPI 2.0+ RSDP size */

struct mem_region {
	uint64_t base, len;
	uint32_t type;             /* 1 = usable RAM */
};

struct boot_info {
	int multiboot_version;     /* 1 or 2; 0 if the magic was unknown or PVH */
	bool pvh;                  /* entered through the PVH note */
	uint32_t pvh_version;      /* hvm_start_info.version */
	uint64_t rsdp_paddr;       /* PVH: the loader's RSDP address; 0: none given */
	char cmdline[BOOT_CMDLINE_MAX];
	bool cmdline_truncated;
	char loader_name[64];
	int nr_regions;
	struct mem_region regions[BOOT_MEM_REGIONS_MAX];
	uint64_t usable_bytes;
	bool has_rsdp;
	uint8_t rsdp[ACPI_RSDP_MAX];
};

#define MEM_TYPE_USABLE 1

extern struct boot_info boot_info;
/* Fill boot_info from the loader's structure (magic says which): every
 * read goes through phys_map (phys.h); what is malformed is skipped with a
 * "# multiboot:" line. multiboot_parse adds, for PVH, the loader's name
 * (QEMU's fw_cfg probe, port I/O); boot_info_parse alone is what the fuzz
 * harness runs on the host. */
void boot_info_parse(uint32_t magic, uint32_t info_addr);
void multiboot_parse(uint32_t magic, uint32_t info_addr);
/* Add the regions of a memory map from elsewhere (a hypervisor's, checked
 * with e820_clean), when the loader's structure had none. */
struct e820_entry;
void boot_info_add_e820(const struct e820_entry *e, unsigned int n);

#endif
