/* SPDX-License-Identifier: MIT */
/* harness.c - runs test cases, prints one line each and the totals. */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static int test_failures_in_case;

void test_fail(const char *file, int line, const char *what)
{
	test_failures_in_case++;
	printf("    %s:%d: CHECK failed: %s\n", file, line, what);
	fflush(stdout);
}

static double test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * argv[1], if given, runs only the tests whose name contains it; with a
 * leading '!', only those whose name does not contain the rest.
 */
int test_main(const struct test_case *cases, size_t n, int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	bool exclude = filter && filter[0] == '!';
	unsigned int passed = 0, failed = 0;

	if (exclude)
		filter++;

	for (size_t i = 0; i < n; i++) {
		double t0;

		if (filter && !strstr(cases[i].name, filter) != exclude)
			continue;
		test_failures_in_case = 0;
		t0 = test_now();
		cases[i].fn();
		printf("%-4s %-40s %7.3f s\n", test_failures_in_case ? "FAIL" : "ok",
		       cases[i].name, test_now() - t0);
		fflush(stdout);
		if (test_failures_in_case)
			failed++;
		else
			passed++;
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
