/* SPDX-License-Identifier: MIT */
/* json.c - the JSON writer of json.h. */
#include "fmt.h"
#include "json.h"

static void raw(struct json *j, const char *s)
{
	while (*s) {
		if (j->len + 1 >= JSON_MAX) {
			j->overflow = true;
			return;
		}
		j->buf[j->len++] = *s++;
	}
	j->buf[j->len] = '\0';
}

static void quoted(struct json *j, const char *s)
{
	char esc[8];
	raw(j, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			esc[1] = '\0';
		}
		raw(j, esc);
	}
	raw(j, "\"");
}

static void key(struct json *j, const char *k)
{
	if (j->need_comma[j->depth])
		raw(j, ",");
	j->need_comma[j->depth] = true;
	if (k) {
		quoted(j, k);
		raw(j, ":");
	}
}

static void open(struct json *j, const char *k, const char *bracket)
{
	key(j, k);
	raw(j, bracket);
	if (j->depth + 1 < JSON_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close(struct json *j, const char *bracket)
{
	if (j->depth)
		j->depth--;
	raw(j, bracket);
}

void json_begin(struct json *j)
{
	j->len = 0;
	j->depth = 0;
	j->overflow = false;
	j->need_comma[0] = false;
	j->buf[0] = '\0';
	raw(j, "{");
	j->depth = 1;
	j->need_comma[1] = false;
}

void json_end(struct json *j) { close(j, "}"); }
void json_obj(struct json *j, const char *k) { open(j, k, "{"); }
void json_obj_end(struct json *j) { close(j, "}"); }
void json_arr(struct json *j, const char *k) { open(j, k, "["); }
void json_arr_end(struct json *j) { close(j, "]"); }

void json_str(struct json *j, const char *k, const char *v)
{
	key(j, k);
	quoted(j, v);
}

void json_u64(struct json *j, const char *k, uint64_t v)
{
	char num[24];
	snprintf(num, sizeof(num), "%lu", v);
	key(j, k);
	raw(j, num);
}

void json_i64(struct json *j, const char *k, int64_t v)
{
	char num[24];
	snprintf(num, sizeof(num), "%ld", v);
	key(j, k);
	raw(j, num);
}

void json_fixed(struct json *j, const char *k, uint64_t v, unsigned int decimals)
{
	/* 10^20 does not fit in 64 bits: more decimals would divide by zero
	 * (found by tests/fuzz). */
	if (decimals > JSON_FIXED_DECIMALS_MAX)
		decimals = JSON_FIXED_DECIMALS_MAX;
	uint64_t scale = 1;
	for (unsigned int i = 0; i < decimals; i++)
		scale *= 10;
	char num[48];
	if (decimals)
		snprintf(num, sizeof(num), "%lu.%0*lu", v / scale, (int)decimals, v % scale);
	else
		snprintf(num, sizeof(num), "%lu", v);
	key(j, k);
	raw(j, num);
}

void json_bool(struct json *j, const char *k, bool v)
{
	key(j, k);
	raw(j, v ? "true" : "false");
}

void json_arr_u64(struct json *j, uint64_t v) { json_u64(j, NULL, v); }
void json_arr_str(struct json *j, const char *v) { json_str(j, NULL, v); }
