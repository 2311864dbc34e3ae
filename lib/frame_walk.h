/* SPDX-License-Identifier: MIT */
/* frame_walk.h - a bounded, checked walk of an x86-64 frame-pointer chain. */
#ifndef PVSPIN_FRAME_WALK_H
#define PVSPIN_FRAME_WALK_H

#include <stdbool.h>
#include <stdint.h>

/*
 * With frame pointers every function starts with "push rbp; mov rbp, rsp",
 * so [rbp] holds the caller's rbp and [rbp + 8] the return address into the
 * caller. A chain whose next rbp is 0 has reached its outermost frame (the
 * C entry of a CPU, entered by a jump: its return slot holds nothing).
 *
 * Every frame pointer is checked before it is read: 8-byte aligned, with
 * its two words inside [lo, hi), and above the previous one by at most
 * max_span (stacks grow down: a chain that does not climb, or leaps, is
 * corrupt). So the walk reads only memory in [lo, hi) and ends.
 */
struct frame_walk_bounds {
	uint64_t lo, hi;                /* where stacks may be */
	uint64_t max_span;              /* largest step between two frames */
	unsigned int max_depth;         /* most return addresses reported */
	uint64_t text_lo, text_hi;      /* where code is: frame_walk_leaf_return() */
};

enum frame_walk_end {
	FRAME_WALK_OUTERMOST,           /* a healthy chain's end */
	FRAME_WALK_NO_FRAME_POINTER,    /* rbp was 0 to begin with */
	FRAME_WALK_MISALIGNED,
	FRAME_WALK_OUTSIDE,
	FRAME_WALK_NOT_CLIMBING,
	FRAME_WALK_TOO_DEEP,
};

typedef void (*frame_walk_emit_t)(unsigned int depth, uint64_t ret, void *ctx);

/* Report each return address, depth 1 first, through emit. Returns why the
 * walk ended; for a corrupt chain, *bad_rbp is the frame pointer refused. */
enum frame_walk_end frame_walk(const struct frame_walk_bounds *b, uint64_t rbp,
			       frame_walk_emit_t emit, void *ctx, uint64_t *bad_rbp);
/*
 * gcc sets up no frame in a leaf function that needs no stack, even with
 * -fno-omit-frame-pointer; nor has any function one on its first
 * instruction or on its RET. Stopped there, rbp is still the caller's
 * frame, and the return address into the caller is the word at rsp, in no
 * frame: a walk from rbp starts at the caller's caller. This takes that
 * word for the missing return address when it looks like one: rsp 8-byte
 * aligned, inside [lo, hi) and below rbp by less than max_span, and the
 * word pointing into [text_lo, text_hi) just past a CALL instruction
 * (lib/call_insn.h). A word at rsp of a function that has its frame is a
 * saved register or a local, which is almost never such an address.
 * True and *ret set when it does.
 */
bool frame_walk_leaf_return(const struct frame_walk_bounds *b, uint64_t rsp, uint64_t rbp,
			    uint64_t *ret);
/* True for the ends that mean a corrupt chain. */
static inline int frame_walk_corrupt(enum frame_walk_end e)
{
	return e == FRAME_WALK_MISALIGNED || e == FRAME_WALK_OUTSIDE || e == FRAME_WALK_NOT_CLIMBING;
}
/* "outermost frame", "frame pointer not 8-byte aligned", ... */
const char *frame_walk_end_text(enum frame_walk_end e);

#endif
