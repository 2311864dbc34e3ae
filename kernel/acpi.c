/* SPDX-License-Identifier: MIT */
/* acpi.c - the ACPI table walk: RSDP, RSDT/XSDT, MADT, HPET, FADT, the DSDT's \_S5
 * package, and the power-off through them (acpi.h). */
#include <stdarg.h>
#include <stddef.h>
#include "lib/acpi_aml.h"
#include "lib/fmt.h"
#include "lib/layout.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "acpi.h"
#include "apic.h"
#include "bios_scan.h"
#include "console.h"
#include "cpu_list.h"
#include "multiboot.h"
#include "phys.h"

struct acpi_info acpi;

/* Table layouts from the ACPI specification 6.5, chapter 5. */
struct __attribute__((packed)) rsdp {
	char signature[8];             /* "RSD PTR " */
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;              /* 0: ACPI 1.0, 2: ACPI 2.0+ */
	uint32_t rsdt_addr;
	uint32_t length;               /* revision >= 2 from here on */
	uint64_t xsdt_addr;
	uint8_t ext_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
};

struct __attribute__((packed)) madt {
	struct sdt_header h;
	uint32_t lapic_addr;
	uint32_t flags;
};

struct __attribute__((packed)) madt_entry { uint8_t type, length; };

#define MADT_LOCAL_APIC          0
#define MADT_IO_APIC             1
#define MADT_INT_SRC_OVERRIDE    2
#define MADT_LAPIC_ADDR_OVERRIDE 5
#define MADT_LOCAL_X2APIC        9
#define MADT_CPU_ENABLED         (1u << 0)

struct __attribute__((packed)) madt_local_apic {
	struct madt_entry e;
	uint8_t processor_uid, apic_id;
	uint32_t flags;
};

struct __attribute__((packed)) madt_io_apic {
	struct madt_entry e;
	uint8_t io_apic_id, reserved;
	uint32_t address, gsi_base;
};

struct __attribute__((packed)) madt_int_src_override {
	struct madt_entry e;
	uint8_t bus, source;
	uint32_t gsi;
	uint16_t flags;
};

#define ISA_IRQ_PIT 0

struct __attribute__((packed)) madt_lapic_override {
	struct madt_entry e;
	uint16_t reserved;
	uint64_t addr;
};

struct __attribute__((packed)) madt_local_x2apic {
	struct madt_entry e;
	uint16_t reserved;
	uint32_t x2apic_id, flags, processor_uid;
};

struct __attribute__((packed)) generic_address {
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
};

struct __attribute__((packed)) hpet_table {
	struct sdt_header h;
	uint32_t event_timer_block_id;
	struct generic_address base;
};

/* FADT field offsets (ACPI 6.5, table 5.9). */
#define FADT_DSDT_OFFSET         40
#define FADT_PM1A_CNT_OFFSET     64
#define FADT_PM1B_CNT_OFFSET     68
#define FADT_PM_TMR_BLK_OFFSET   76
#define FADT_PM1_CNT_LEN_OFFSET  89
#define FADT_PM_TMR_LEN_OFFSET   91
#define FADT_FLAGS_OFFSET        112
#define FADT_X_DSDT_OFFSET       140
#define FADT_X_PM1A_CNT_OFFSET   172
#define FADT_X_PM1B_CNT_OFFSET   184
#define FADT_SLEEP_CTL_OFFSET    244
#define FADT_FLAG_TMR_VAL_EXT    (1u << 8)
#define FADT_FLAG_HW_REDUCED     (1u << 20)

/* PM1 control register (ACPI 6.5, 4.8.3.2.1) and the hardware-reduced sleep
 * control register (4.8.3.7): where SLP_TYP and SLP_EN sit in each. */
#define PM1_CNT_SLP_TYP_SHIFT    10
#define PM1_CNT_SLP_EN           (1u << 13)
#define SLEEP_CTL_SLP_TYP_SHIFT  2
#define SLEEP_CTL_SLP_EN         (1u << 5)
#define SLP_TYP_MASK             7u

/* The register windows the drivers touch: HPET's 1 KiB block, the I/O
 * APIC's select and window registers. */
#define HPET_MMIO_BYTES          1024
#define IOAPIC_MMIO_BYTES        0x20

#define GAS_SPACE_MEMORY         0
#define GAS_SPACE_IO             1

_Static_assert(sizeof(struct rsdp) == ACPI_RSDP_MAX, "ACPI 2.0 RSDP is 36 bytes");
_Static_assert(sizeof(struct sdt_header) == 36, "ACPI table header is 36 bytes");
_Static_assert(sizeof(struct madt_local_apic) == 8, "MADT type 0 entry is 8 bytes");
_Static_assert(sizeof(struct madt_local_x2apic) == 16, "MADT type 9 entry is 16 bytes");

#define RSDP_V1_LENGTH 20
#define RSDP_SIGNATURE "RSD PTR "

/* Bounds on what a malformed table can make the walk read: no QEMU or real
 * firmware table comes near them (QEMU's DSDT is ~8 KiB). */
#define ACPI_TABLE_LEN_MAX   (4u << 20)
#define ACPI_ROOT_ENTRIES_MAX 256

/* One "# acpi: ..." line per rejected table or entry (docs/output.md): what
 * it was, where, and why it is ignored. */
static void reject(const char *what, uint64_t addr, const char *why, ...)
	__attribute__((format(printf, 3, 4)));
static void reject(const char *what, uint64_t addr, const char *why, ...)
{
	char text[96];
	va_list ap;
	va_start(ap, why);
	vsnprintf(text, sizeof(text), why, ap);
	va_end(ap);
	kprintf("# acpi: %s at 0x%lx rejected: %s\n", what, addr, text);
}

/* The RSDP said ACPI 2.0 but its 2.0 part is unreadable: use the RSDT. */
static bool rsdp_v1_only;

/* The signature of a table as text: a malformed one may hold any bytes. */
static void sig_text(char out[5], const char sig[4])
{
	for (int i = 0; i < 4; i++)
		out[i] = sig[i] >= ' ' && sig[i] <= '~' ? sig[i] : '?';
	out[4] = '\0';
}

static bool rsdp_valid(const struct rsdp *r)
{
	return memcmp(r->signature, RSDP_SIGNATURE, 8) == 0 && checksum8(r, RSDP_V1_LENGTH) == 0;
}

/* The RSDP: a Multiboot2 tag's copy, the PVH loader's address, or a BIOS scan.
 * Maps ACPI_RSDP_MAX bytes (the 2.0 form) where it can, else the 1.0 form. */
static const struct rsdp *find_rsdp(void)
{
	rsdp_v1_only = false;
	if (boot_info.has_rsdp)
		return (const struct rsdp *)boot_info.rsdp;
	/* PVH: the loader's address, where it holds a valid RSDP; else scan. */
	const struct rsdp *r = phys_map(boot_info.rsdp_paddr, RSDP_V1_LENGTH);
	if (r && rsdp_valid(r)) {
		acpi.rsdp_addr = boot_info.rsdp_paddr;
		acpi.rsdp_from_start_info = true;
	} else {
		acpi.rsdp_addr = bios_scan(RSDP_SIGNATURE, 8, RSDP_V1_LENGTH);
		r = phys_map(acpi.rsdp_addr, RSDP_V1_LENGTH);
	}
	if (r && r->revision >= 2) {
		const struct rsdp *full = phys_map(acpi.rsdp_addr, ACPI_RSDP_MAX);
		if (full)
			return full;
		reject("ACPI 2.0 RSDP", acpi.rsdp_addr, "its XSDT address is unreadable; using the RSDT");
		rsdp_v1_only = true;
	}
	return r;
}

/*
 * A table at `addr`, mapped whole and checked: its header, a length between
 * the header's and ACPI_TABLE_LEN_MAX, all of it readable, then (only for the
 * signature `want`, or any if NULL) its checksum. NULL if absent or rejected;
 * each rejection is one "# acpi:" line. *sig_seen says whether the header
 * was readable and carried `want`.
 */
static const struct sdt_header *map_table(uint64_t addr, const char *want, bool *sig_seen)
{
	char sig[5] = "????";
	*sig_seen = false;
	const struct sdt_header *h = phys_map(addr, sizeof(*h));
	if (!h) {
		reject("table", addr, "its header is outside memory");
		return NULL;
	}
	if (want && memcmp(h->signature, want, 4) != 0)
		return NULL;
	*sig_seen = true;
	sig_text(sig, h->signature);
	uint32_t len = h->length;
	if (len < sizeof(*h) || len > ACPI_TABLE_LEN_MAX) {
		reject(sig, addr, "length %u is not in [%u, %u]", len, (unsigned)sizeof(*h), ACPI_TABLE_LEN_MAX);
		return NULL;
	}
	h = phys_map(addr, len);
	if (!h) {
		reject(sig, addr, "its %u bytes run outside memory", len);
		return NULL;
	}
	if (checksum8(h, len) != 0) {
		reject(sig, addr, "bad checksum");
		return NULL;
	}
	return h;
}

/* The RSDT or XSDT, mapped and checked; *ptr_size: 4 or 8. */
static const struct sdt_header *map_root(const struct rsdp *r, size_t *ptr_size)
{
	bool seen;
	if (r->revision >= 2 && !rsdp_v1_only && r->xsdt_addr) {
		const struct sdt_header *x = map_table(r->xsdt_addr, NULL, &seen);
		*ptr_size = 8;
		if (x)
			return x;
		reject("XSDT", r->xsdt_addr, "unusable; trying the RSDT at 0x%x", r->rsdt_addr);
	}
	*ptr_size = 4;
	return map_table(r->rsdt_addr, NULL, &seen);
}

/* The first valid table with signature `sig` the root lists, or NULL. */
static const struct sdt_header *find_table(const struct sdt_header *root, size_t ptr_size,
					   const char sig[4], uint64_t *addr)
{
	size_t n = (root->length - sizeof(*root)) / ptr_size;
	if (n > ACPI_ROOT_ENTRIES_MAX)
		n = ACPI_ROOT_ENTRIES_MAX;
	const uint8_t *ptrs = (const uint8_t *)(root + 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t a = 0;
		bool seen;
		memcpy(&a, ptrs + i * ptr_size, ptr_size);
		const struct sdt_header *t = map_table(a, sig, &seen);
		if (t) {
			*addr = a;
			return t;
		}
	}
	return NULL;
}

/* The fixed size of the MADT entries pvspin reads; 0 for the others. */
static size_t madt_entry_size(uint8_t type)
{
	switch (type) {
	case MADT_LOCAL_APIC: return sizeof(struct madt_local_apic);
	case MADT_IO_APIC: return sizeof(struct madt_io_apic);
	case MADT_INT_SRC_OVERRIDE: return sizeof(struct madt_int_src_override);
	case MADT_LAPIC_ADDR_OVERRIDE: return sizeof(struct madt_lapic_override);
	case MADT_LOCAL_X2APIC: return sizeof(struct madt_local_x2apic);
	default: return 0;
	}
}

static void parse_madt(const struct madt *m, uint64_t addr)
{
	uint32_t boot_id = cpu_apic_id_from_cpuid();
	if (m->h.length < sizeof(*m)) {
		reject("APIC", addr, "length %u is shorter than the MADT header", m->h.length);
		return;
	}
	acpi.has_madt = true;
	acpi.lapic_addr = m->lapic_addr;
	acpi.pit_gsi = ISA_IRQ_PIT;     /* identity unless overridden */
	const uint8_t *base = (const uint8_t *)m;
	for (size_t off = sizeof(*m); off + sizeof(struct madt_entry) <= m->h.length; ) {
		const struct madt_entry *e = (const void *)(base + off);
		if (e->length < sizeof(*e) || e->length > m->h.length - off) {
			reject("MADT entry", addr + off, "length %u does not fit the table; the rest of the MADT is ignored", e->length);
			break;
		}
		off += e->length;
		if (e->length < madt_entry_size(e->type)) {
			reject("MADT entry", addr + off - e->length, "type %u needs %u bytes, has %u; entry ignored", e->type, (unsigned)madt_entry_size(e->type), e->length);
			continue;
		}
		if (e->type == MADT_LOCAL_APIC) {
			const struct madt_local_apic *l = (const void *)e;
			if (l->flags & MADT_CPU_ENABLED)
				cpu_list_add(l->apic_id, boot_id);
		} else if (e->type == MADT_LOCAL_X2APIC) {
			const struct madt_local_x2apic *x = (const void *)e;
			if (x->flags & MADT_CPU_ENABLED)
				cpu_list_add(x->x2apic_id, boot_id);
		} else if (e->type == MADT_IO_APIC && !acpi.ioapic_addr) {
			const struct madt_io_apic *io = (const void *)e;
			if (!phys_map(io->address, IOAPIC_MMIO_BYTES)) {
				reject("MADT entry", addr + off - e->length,
				       "I/O APIC registers at 0x%x are not in mapped memory; entry ignored", io->address);
				continue;
			}
			acpi.ioapic_addr = io->address;
			acpi.ioapic_gsi_base = io->gsi_base;
		} else if (e->type == MADT_INT_SRC_OVERRIDE) {
			const struct madt_int_src_override *o = (const void *)e;
			if (o->source == ISA_IRQ_PIT)
				acpi.pit_gsi = o->gsi;
		} else if (e->type == MADT_LAPIC_ADDR_OVERRIDE) {
			acpi.lapic_addr = ((const struct madt_lapic_override *)e)->addr;
		}
	}
	if (cpu_list.nr)
		cpu_list.source = "madt";
}

/* A register from a FADT generic address structure; space 0xff: absent (also
 * memory outside the identity map, which only covers the low IDMAP_GIB GiB). */
static struct acpi_reg gas_reg(const uint8_t *b)
{
	struct generic_address g;
	memcpy(&g, b, sizeof(g));
	if (!g.address || (g.space_id != GAS_SPACE_IO && g.space_id != GAS_SPACE_MEMORY) ||
	    (g.space_id == GAS_SPACE_MEMORY && g.address >= (uint64_t)IDMAP_GIB << 30))
		return (struct acpi_reg){ ACPI_REG_ABSENT, 0 };
	return (struct acpi_reg){ g.space_id, g.address };
}

/* PM1x_CNT_BLK: the 32-bit port field, else (ACPI 2.0+) its X_ form. */
static struct acpi_reg pm1_cnt_reg(const uint8_t *b, uint32_t len, size_t off, size_t x_off)
{
	uint32_t port;
	memcpy(&port, b + off, 4);
	if (port)
		return (struct acpi_reg){ GAS_SPACE_IO, port };
	if (len >= x_off + sizeof(struct generic_address))
		return gas_reg(b + x_off);
	return (struct acpi_reg){ ACPI_REG_ABSENT, 0 };
}

static void parse_fadt(const struct sdt_header *f)
{
	const uint8_t *b = (const uint8_t *)f;
	if (f->length < FADT_FLAGS_OFFSET + 4)
		return;
	acpi.has_fadt = true;
	uint32_t port, flags;
	memcpy(&port, b + FADT_PM_TMR_BLK_OFFSET, 4);
	memcpy(&flags, b + FADT_FLAGS_OFFSET, 4);
	if (port && b[FADT_PM_TMR_LEN_OFFSET] == 4) {
		acpi.pm_timer_port = (uint16_t)port;
		acpi.pm_timer_32bit = flags & FADT_FLAG_TMR_VAL_EXT;
	}
	acpi.hw_reduced = flags & FADT_FLAG_HW_REDUCED;
	acpi.pm1a_cnt = pm1_cnt_reg(b, f->length, FADT_PM1A_CNT_OFFSET, FADT_X_PM1A_CNT_OFFSET);
	acpi.pm1b_cnt = pm1_cnt_reg(b, f->length, FADT_PM1B_CNT_OFFSET, FADT_X_PM1B_CNT_OFFSET);
	if (b[FADT_PM1_CNT_LEN_OFFSET] < 2)
		acpi.pm1a_cnt.space = acpi.pm1b_cnt.space = ACPI_REG_ABSENT;
	acpi.sleep_ctl = f->length >= FADT_SLEEP_CTL_OFFSET + sizeof(struct generic_address) ?
			 gas_reg(b + FADT_SLEEP_CTL_OFFSET) : (struct acpi_reg){ ACPI_REG_ABSENT, 0 };
	uint64_t dsdt = 0;
	if (f->length >= FADT_X_DSDT_OFFSET + 8)
		memcpy(&dsdt, b + FADT_X_DSDT_OFFSET, 8);
	if (!dsdt)
		memcpy(&dsdt, b + FADT_DSDT_OFFSET, 4);
	bool seen;
	const struct sdt_header *d = dsdt ? map_table(dsdt, "DSDT", &seen) : NULL;
	if (dsdt && !seen && phys_map(dsdt, sizeof(*d)))
		reject("DSDT", dsdt, "no readable DSDT signature there");
	if (d) {
		acpi.dsdt_aml = (const uint8_t *)(d + 1);
		acpi.dsdt_aml_len = d->length - (uint32_t)sizeof(*d);
	}
}

static inline uint16_t inw_port(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* PM1 control: read, replace SLP_TYP, set SLP_EN; 16 bits wide. */
static void pm1_cnt_sleep(struct acpi_reg r, uint8_t slp_typ)
{
	uint16_t v;
	volatile uint16_t *m = (volatile uint16_t *)(uintptr_t)r.addr;
	v = r.space == GAS_SPACE_IO ? inw_port((uint16_t)r.addr) : *m;
	v = (uint16_t)((v & ~(SLP_TYP_MASK << PM1_CNT_SLP_TYP_SHIFT)) |
		       (uint32_t)slp_typ << PM1_CNT_SLP_TYP_SHIFT | PM1_CNT_SLP_EN);
	if (r.space == GAS_SPACE_IO)
		outw((uint16_t)r.addr, v);
	else
		*m = v;
}

static const char *space_name(uint8_t space)
{
	return space == GAS_SPACE_IO ? "io" : "mem";
}

bool acpi_s5_sleep_types(uint8_t *slp_typa, uint8_t *slp_typb)
{
	return acpi.dsdt_aml && aml_find_s5(acpi.dsdt_aml, acpi.dsdt_aml_len, slp_typa, slp_typb);
}

bool acpi_power_off(void)
{
	if (!acpi.has_fadt) {
		kprintf("# poweroff: no ACPI FADT%s: cannot power off through ACPI\n",
			acpi.found ? "" : " (no RSDP)");
		return false;
	}
	uint8_t slp_typa, slp_typb;
	if (!acpi_s5_sleep_types(&slp_typa, &slp_typb)) {
		kprintf("# poweroff: the DSDT has no \\_S5 package pvspin can read: cannot power off through ACPI\n");
		return false;
	}
	if (acpi.hw_reduced) {
		if (acpi.sleep_ctl.space == ACPI_REG_ABSENT) {
			kprintf("# poweroff: hardware-reduced ACPI without a sleep control register: cannot power off\n");
			return false;
		}
		uint8_t v = (uint8_t)((slp_typa & SLP_TYP_MASK) << SLEEP_CTL_SLP_TYP_SHIFT |
				      SLEEP_CTL_SLP_EN);
		kprintf("# poweroff: acpi sleep control register (hardware-reduced) %s 0x%lx <- 0x%x (SLP_TYP=%u from \\_S5, SLP_EN)\n",
			space_name(acpi.sleep_ctl.space), acpi.sleep_ctl.addr, v, slp_typa);
		if (acpi.sleep_ctl.space == GAS_SPACE_IO)
			outb((uint16_t)acpi.sleep_ctl.addr, v);
		else
			*(volatile uint8_t *)(uintptr_t)acpi.sleep_ctl.addr = v;
		return true;
	}
	if (acpi.pm1a_cnt.space == ACPI_REG_ABSENT) {
		kprintf("# poweroff: the FADT has no PM1a control block: cannot power off through ACPI\n");
		return false;
	}
	bool b = acpi.pm1b_cnt.space != ACPI_REG_ABSENT;
	char pm1b[64] = "";
	if (b)
		snprintf(pm1b, sizeof(pm1b), ", PM1b %s 0x%lx SLP_TYP=%u", space_name(acpi.pm1b_cnt.space),
			 acpi.pm1b_cnt.addr, slp_typb);
	kprintf("# poweroff: acpi PM1a control %s 0x%lx SLP_TYP=%u%s (\\_S5), SLP_EN\n",
		space_name(acpi.pm1a_cnt.space), acpi.pm1a_cnt.addr, slp_typa, pm1b);
	pm1_cnt_sleep(acpi.pm1a_cnt, slp_typa);
	if (b)
		pm1_cnt_sleep(acpi.pm1b_cnt, slp_typb);
	return true;
}

bool acpi_init(void)
{
	const struct rsdp *r = find_rsdp();
	if (!r)
		return false;
	acpi.found = true;
	acpi.revision = r->revision;
	size_t ptr_size;
	uint64_t addr;
	const struct sdt_header *root = map_root(r, &ptr_size);
	if (!root)
		return false;
	const struct sdt_header *t = find_table(root, ptr_size, "APIC", &addr);
	if (t)
		parse_madt((const struct madt *)t, addr);
	t = find_table(root, ptr_size, "HPET", &addr);
	if (t) {
		const struct hpet_table *h = (const void *)t;
		if (t->length < sizeof(*h)) {
			reject("HPET", addr, "length %u is shorter than the HPET table", t->length);
		} else if (h->base.space_id != GAS_SPACE_MEMORY ||
			   !phys_map(h->base.address, HPET_MMIO_BYTES)) {
			reject("HPET", addr, "its registers (space %u, 0x%lx) are not in mapped memory",
			       h->base.space_id, h->base.address);
		} else {
			acpi.has_hpet = true;
			acpi.hpet_addr = h->base.address;
		}
	}
	t = find_table(root, ptr_size, "FACP", &addr);
	if (t)
		parse_fadt(t);
	return acpi.has_madt && cpu_list.nr > 0;
}
