/* SPDX-License-Identifier: MIT */
/* acpi_aml.h - the one piece of AML pvspin reads: the DSDT's \_S5 package (soft-off sleep types). */
#ifndef PVSPIN_ACPI_AML_H
#define PVSPIN_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Look in `len` bytes of AML (a DSDT's body, after its 36-byte header) for
 *     NameOp ['\'] "_S5_" PackageOp PkgLength NumElements SLP_TYPa SLP_TYPb ...
 * with both values integer constants (ZeroOp, OneOp, BytePrefix, WordPrefix).
 * On success stores them, masked to their 3 bits, and returns true. Any other
 * shape (a method, a reference, a package shorter than two, bytes running
 * past `len` or past the package's own length) is skipped; nothing outside
 * aml[0..len) is read.
 */
bool aml_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa, uint8_t *slp_typb);

#endif
