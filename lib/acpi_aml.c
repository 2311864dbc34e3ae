/* SPDX-License-Identifier: MIT */
/* acpi_aml.c - finding the \_S5 package in AML bytes, bounds-checked (acpi_aml.h). */
#include "lib/string.h"
#include "acpi_aml.h"

/* AML encodings (ACPI 6.5, 20.2). */
#define AML_ZERO_OP            0x00
#define AML_ONE_OP             0x01
#define AML_NAME_OP            0x08
#define AML_BYTE_PREFIX        0x0A
#define AML_WORD_PREFIX        0x0B
#define AML_PACKAGE_OP         0x12
#define AML_ROOT_CHAR          '\\'
#define AML_NAME_LEN           4
#define PKGLEN_FOLLOW_SHIFT    6        /* lead byte bits 7-6: bytes that follow */
#define PKGLEN_LEAD_ONE_MASK   0x3F     /* one-byte form: bits 5-0 are the length */
#define PKGLEN_LEAD_MULTI_MASK 0x0F     /* longer forms: bits 3-0, then whole bytes */
#define SLP_TYP_MASK           7u

/* One integer constant at *p (below end): its value, else -1. */
static long aml_const(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *q = *p;
	if (q >= end)
		return -1;
	switch (*q) {
	case AML_ZERO_OP: *p = q + 1; return 0;
	case AML_ONE_OP: *p = q + 1; return 1;
	case AML_BYTE_PREFIX:
		if (end - q < 2)
			return -1;
		*p = q + 2;
		return q[1];
	case AML_WORD_PREFIX:
		if (end - q < 3)
			return -1;
		*p = q + 3;
		return q[1] | (long)q[2] << 8;
	default:
		return -1;
	}
}

/* The package that starts at pkg (its PkgLength byte), bounded by end. */
static bool parse_package(const uint8_t *pkg, const uint8_t *end, uint8_t *a, uint8_t *b)
{
	if (pkg >= end)
		return false;
	size_t follow = *pkg >> PKGLEN_FOLLOW_SHIFT;
	if ((size_t)(end - pkg) < 1 + follow)
		return false;
	size_t pkglen = follow ? *pkg & PKGLEN_LEAD_MULTI_MASK : *pkg & PKGLEN_LEAD_ONE_MASK;
	for (size_t i = 0; i < follow; i++)
		pkglen |= (size_t)pkg[1 + i] << (4 + 8 * i);
	/* PkgLength counts itself and what follows it in the package. */
	if (pkglen < 1 + follow + 1)
		return false;
	if (pkglen < (size_t)(end - pkg))
		end = pkg + pkglen;
	const uint8_t *p = pkg + 1 + follow;
	if (p >= end)
		return false;
	uint8_t count = *p++;
	if (count < 2)
		return false;
	long va = aml_const(&p, end);
	long vb = aml_const(&p, end);
	if (va < 0 || vb < 0)
		return false;
	*a = (uint8_t)(va & SLP_TYP_MASK);
	*b = (uint8_t)(vb & SLP_TYP_MASK);
	return true;
}

bool aml_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa, uint8_t *slp_typb)
{
	const uint8_t *end = aml + len;
	/* i: where "_S5_" would start; NameOp is at least one byte before.
	 * The first byte is tested here: memcmp() at every offset of a DSDT
	 * is thousands of calls, each of them several blocks under TCG. */
	for (size_t i = 1; i + AML_NAME_LEN + 1 <= len; i++) {
		const uint8_t *n = aml + i;
		if (n[0] != '_' || memcmp(n, "_S5_", AML_NAME_LEN) != 0 || n[AML_NAME_LEN] != AML_PACKAGE_OP)
			continue;
		bool named = n[-1] == AML_NAME_OP ||
			     (n[-1] == AML_ROOT_CHAR && i >= 2 && n[-2] == AML_NAME_OP);
		if (named && parse_package(n + AML_NAME_LEN + 1, end, slp_typa, slp_typb))
			return true;
	}
	return false;
}
