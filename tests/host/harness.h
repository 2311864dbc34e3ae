/* SPDX-License-Identifier: MIT */
/*
 * harness.h - a tiny test harness.
 *
 * A binary lists its tests in a `struct test_case[]` and calls
 * test_main(); each test passes unless a CHECK fails.  The last line printed
 * is "N passed, N failed"; the exit status is non-zero on any failure.
 */
#ifndef HOST_HARNESS_H
#define HOST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_CASE(fn) { #fn, fn }

void test_fail(const char *file, int line, const char *what);
int test_main(const struct test_case *cases, size_t n, int argc, char **argv);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			test_fail(__FILE__, __LINE__, #cond);                  \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		unsigned long long check_a_ = (unsigned long long)(a);         \
		unsigned long long check_b_ = (unsigned long long)(b);         \
		if (check_a_ != check_b_) {                                    \
			char check_msg_[256];                                  \
			snprintf(check_msg_, sizeof(check_msg_),               \
				 "%s == %s (0x%llx != 0x%llx)", #a, #b,        \
				 check_a_, check_b_);                          \
			test_fail(__FILE__, __LINE__, check_msg_);             \
		}                                                              \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* HOST_HARNESS_H */
