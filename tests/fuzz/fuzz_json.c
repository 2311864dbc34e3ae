/* SPDX-License-Identifier: MIT */
/* fuzz_json.c - libFuzzer target: whatever bytes lib/json.c is given as keys
 * and strings, its output is valid JSON (checked here by a strict reader of
 * what the writer produces) or flagged as overflowed, never out of bounds. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "lib/json.h"
#include "lib/string.h"

#define PIECES_MAX 16

static const char *p;

static void ws(void) { while (*p == ' ') p++; }
static bool value(int depth);

static bool string(void)
{
	if (*p++ != '"')
		return false;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p++;
		if (c == '\0' || c < 0x20)
			return false;   /* raw control characters are not JSON */
		if (c == '\\') {
			char e = *p++;
			if (e == 'u') {
				for (int i = 0; i < 4; i++, p++)
					if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
						return false;
			} else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
				return false;
			}
		}
	}
	p++;
	return true;
}

static bool number(void)
{
	const char *s = p;
	if (*p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p > s && p[-1] != '-' && p[-1] != '.';
}

static bool literal(const char *w)
{
	size_t n = strlen(w);
	if (strncmp(p, w, n) != 0)
		return false;
	p += n;
	return true;
}

static bool members(char close, int depth, bool keyed)
{
	p++;
	ws();
	if (*p == close) {
		p++;
		return true;
	}
	for (;;) {
		ws();
		if (keyed) {
			if (!string())
				return false;
			ws();
			if (*p++ != ':')
				return false;
		}
		if (!value(depth + 1))
			return false;
		ws();
		if (*p == close) {
			p++;
			return true;
		}
		if (*p++ != ',')
			return false;
	}
}

static bool value(int depth)
{
	if (depth > JSON_DEPTH + 1)
		return false;
	ws();
	switch (*p) {
	case '{': return members('}', depth, true);
	case '[': return members(']', depth, false);
	case '"': return string();
	case 't': return literal("true");
	case 'f': return literal("false");
	default: return number();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The input, split at NUL bytes into pieces: keys and values in turn. */
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	const char *piece[PIECES_MAX];
	unsigned int n = 0;
	for (size_t i = 0; i <= size && n < PIECES_MAX; ) {
		piece[n++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	static struct json j;
	json_begin(&j);
	for (unsigned int i = 0; i + 1 < n; i += 2) {
		switch (piece[i][0] & 7) {
		case 0: json_obj(&j, piece[i]); json_str(&j, piece[i + 1], piece[i]); json_obj_end(&j); break;
		case 1: json_arr(&j, piece[i]); json_arr_str(&j, piece[i + 1]); json_arr_u64(&j, size); json_arr_end(&j); break;
		case 2: json_u64(&j, piece[i], (uint64_t)-1 - size); break;
		case 3: json_i64(&j, piece[i], -(int64_t)size * 977); break;
		case 4: json_fixed(&j, piece[i], size * 12345u, piece[i + 1][0] % 7); break;
		case 5: json_bool(&j, piece[i], size & 1); break;
		default: json_str(&j, piece[i], piece[i + 1]); break;
		}
	}
	json_end(&j);
	if (j.len >= JSON_MAX || j.buf[j.len] != '\0')
		abort();
	if (!j.overflow) {
		p = j.buf;
		if (!value(0) || *p != '\0')
			abort();        /* the writer produced something not JSON */
	}
	free(copy);
	return 0;
}
