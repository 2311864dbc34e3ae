/* SPDX-License-Identifier: MIT */
/* json.h - A tiny JSON writer into a fixed buffer: one object per result line. */
#ifndef PVSPIN_JSON_H
#define PVSPIN_JSON_H

#include <stdbool.h>
#include <stdint.h>

#define JSON_MAX 7168
#define JSON_DEPTH 8

struct json {
	char buf[JSON_MAX];
	unsigned int len;
	unsigned int depth;
	bool need_comma[JSON_DEPTH];
	bool overflow;
};

void json_begin(struct json *j);                 /* opens the top object */
void json_end(struct json *j);                   /* closes it */
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
/* Fixed point: v / 10^decimals, e.g. json_fixed(j, "x", 1234, 3) -> 1.234;
 * decimals above JSON_FIXED_DECIMALS_MAX count as that many. */
#define JSON_FIXED_DECIMALS_MAX 19
void json_fixed(struct json *j, const char *key, uint64_t v, unsigned int decimals);
void json_obj(struct json *j, const char *key);  /* key NULL inside arrays */
void json_obj_end(struct json *j);
void json_arr(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_arr_u64(struct json *j, uint64_t v);
void json_arr_str(struct json *j, const char *v);

#endif
