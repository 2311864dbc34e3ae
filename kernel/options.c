/* SPDX-License-Identifier: MIT */
/* options.c - the guest's parsed options, and the report of a bad one. */
#include "console.h"
#include "exit.h"
#include "ktap.h"
#include "options.h"

struct guest_options opt;

void options_reject(const char *token, const char *what, const char *accepted)
{
	ktap_begin(1);
	ktap_fail("cmdline", "bad option '%s': %s; accepted: %s", token, what, accepted);
	kprintf("# summary: bad guest command line, nothing was run\n");
	guest_exit(EXIT_BAD_INPUT);
}

void options_parse(const struct opt_def *table, unsigned int count, const char *cmdline)
{
	struct cmdline_error err;
	if (!cmdline_parse(table, count, cmdline, &err))
		options_reject(err.token, err.what, err.accepted);
}
