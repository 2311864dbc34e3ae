/* SPDX-License-Identifier: MIT */
/* frame_walk.c - the bounded, checked frame-pointer walk (frame_walk.h). */
#include "call_insn.h"
#include "frame_walk.h"

struct frame {
	uint64_t next;  /* the caller's rbp */
	uint64_t ret;   /* return address into the caller */
};

static enum frame_walk_end check(const struct frame_walk_bounds *b, uint64_t fp, uint64_t prev)
{
	if (fp & 7)
		return FRAME_WALK_MISALIGNED;
	if (fp < b->lo || b->hi < sizeof(struct frame) || fp > b->hi - sizeof(struct frame))
		return FRAME_WALK_OUTSIDE;
	if (prev && (fp <= prev || fp - prev > b->max_span))
		return FRAME_WALK_NOT_CLIMBING;
	return FRAME_WALK_OUTERMOST;    /* i.e. no problem */
}

enum frame_walk_end frame_walk(const struct frame_walk_bounds *b, uint64_t rbp,
			       frame_walk_emit_t emit, void *ctx, uint64_t *bad_rbp)
{
	if (rbp == 0)
		return FRAME_WALK_NO_FRAME_POINTER;
	uint64_t fp = rbp, prev = 0;
	for (unsigned int depth = 1;; depth++) {
		enum frame_walk_end why = check(b, fp, prev);
		if (why != FRAME_WALK_OUTERMOST) {
			*bad_rbp = fp;
			return why;
		}
		const struct frame *f = (const struct frame *)(uintptr_t)fp;
		if (f->next == 0)
			return FRAME_WALK_OUTERMOST;
		if (depth > b->max_depth)
			return FRAME_WALK_TOO_DEEP;
		emit(depth, f->ret, ctx);
		prev = fp;
		fp = f->next;
	}
}

bool frame_walk_leaf_return(const struct frame_walk_bounds *b, uint64_t rsp, uint64_t rbp,
			    uint64_t *ret)
{
	if ((rsp & 7) || rsp < b->lo || b->hi < sizeof(uint64_t) || rsp > b->hi - sizeof(uint64_t))
		return false;
	if (rsp >= rbp || rbp - rsp > b->max_span)
		return false;
	uint64_t r = *(const uint64_t *)(uintptr_t)rsp;
	if (r <= b->text_lo || r > b->text_hi)
		return false;
	const uint8_t *code = (const uint8_t *)(uintptr_t)r;
	if (!call_insn_ends_at(code, (const uint8_t *)(uintptr_t)b->text_lo))
		return false;
	*ret = r;
	return true;
}

const char *frame_walk_end_text(enum frame_walk_end e)
{
	switch (e) {
	case FRAME_WALK_OUTERMOST: return "outermost frame";
	case FRAME_WALK_NO_FRAME_POINTER: return "no frame pointer";
	case FRAME_WALK_MISALIGNED: return "frame pointer not 8-byte aligned";
	case FRAME_WALK_OUTSIDE: return "frame pointer outside the kernel's stacks";
	case FRAME_WALK_NOT_CLIMBING: return "frame pointer does not climb the stack";
	case FRAME_WALK_TOO_DEEP: return "deeper than the maximum depth";
	}
	return "?";
}
