/* SPDX-License-Identifier: MIT */
/* call_insn.c - recognise a near CALL that ends at an address (call_insn.h). */
#include "call_insn.h"

#define OP_CALL_REL32   0xE8
#define OP_GROUP5       0xFF            /* /2 is the indirect near CALL */
#define CALL_REL32_LEN  5
#define GROUP5_CALL     2
#define MOD_MEM         0               /* [reg], or [rip + disp32] when rm is 5 */
#define MOD_DISP8       1
#define MOD_DISP32      2
#define MOD_REG         3
#define RM_SIB          4
#define RM_DISP32       5               /* with MOD_MEM: RIP-relative */
#define SIB_BASE_NONE   5               /* with MOD_MEM: no base, a disp32 */

static unsigned int modrm_mod(uint8_t m) { return m >> 6; }
static unsigned int modrm_reg(uint8_t m) { return (m >> 3) & 7; }
static unsigned int modrm_rm(uint8_t m) { return m & 7; }

/* The length of FF /2 whose ModRM is p[1] and whose SIB, if any, is
 * p[2]; 0 when that SIB byte would be at or past `end`. */
static unsigned int group5_len(const uint8_t *p, const uint8_t *end)
{
	uint8_t m = p[1];
	unsigned int mod = modrm_mod(m), rm = modrm_rm(m);
	if (mod == MOD_REG)
		return 2;
	if (rm == RM_SIB && p + 2 >= end)
		return 0;
	unsigned int len = 2 + (rm == RM_SIB);
	if (mod == MOD_DISP8)
		return len + 1;
	if (mod == MOD_DISP32)
		return len + 4;
	if (rm == RM_DISP32 || (rm == RM_SIB && (p[2] & 7) == SIB_BASE_NONE))
		return len + 4;
	return len;
}

bool call_insn_ends_at(const uint8_t *end, const uint8_t *lo)
{
	if (end - lo >= CALL_REL32_LEN && end[-CALL_REL32_LEN] == OP_CALL_REL32)
		return true;
	for (unsigned int len = 2; len <= CALL_INSN_MAX; len++) {
		if (end - lo < (long)len)
			break;
		const uint8_t *p = end - len;
		if (p[0] == OP_GROUP5 && modrm_reg(p[1]) == GROUP5_CALL && group5_len(p, end) == len)
			return true;
	}
	return false;
}
