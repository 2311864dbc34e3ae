/* SPDX-License-Identifier: MIT */
/* call_insn.h - does an x86-64 CALL end at this address (is it a return address)? */
#ifndef PVSPIN_CALL_INSN_H
#define PVSPIN_CALL_INSN_H

#include <stdbool.h>
#include <stdint.h>

/* The longest near CALL: FF /2 with a SIB byte and a 32-bit displacement
 * (a REX prefix before it does not matter: the check starts at the FF). */
#define CALL_INSN_MAX 7

/*
 * True when the bytes just before `end` are a near CALL: E8 with a 32-bit
 * offset, or FF /2 (through a register or memory) whose ModRM, SIB and
 * displacement end exactly at `end`. Reads only [end - CALL_INSN_MAX, end),
 * clipped to `lo`: the caller makes sure that range is readable code.
 */
bool call_insn_ends_at(const uint8_t *end, const uint8_t *lo);

#endif
