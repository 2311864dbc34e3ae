/* SPDX-License-Identifier: MIT */
/* cmdline.h - a command line parser: space-separated key=value options, every
 * one declared in a table the caller passes (the guest's is suites/options.c)
 * and validated there. Nothing is ignored: an unknown key or a bad value is an
 * error the caller reports (the guest: kernel/options.c, EXIT_BAD_INPUT). */
#ifndef PVSPIN_CMDLINE_H
#define PVSPIN_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum opt_kind {
	OPT_U64,        /* integer in [min, max], decimal or 0x hex */
	OPT_CHOICE,     /* one name of `names`; dest is an unsigned index */
	OPT_NAMES,      /* comma-separated names of `names`; dest is a string */
	OPT_CUSTOM,     /* parsed by `parse` */
};

struct opt_def {
	const char *key;
	enum opt_kind kind;
	void *dest;
	size_t dest_size;                       /* OPT_NAMES: buffer size */
	uint64_t min, max;                      /* OPT_U64 */
	const char *(*names)(unsigned int i);   /* OPT_CHOICE, OPT_NAMES: i-th or NULL */
	/* OPT_CUSTOM: returns NULL if fine, else what was wrong. */
	const char *(*parse)(const char *value);
	const char *accepted;                   /* OPT_CUSTOM: what is accepted */
	const char *def;                        /* default, as if given */
	const char *help;
	/* Optional: after a parse, true if the command line gave this option,
	 * false if it holds its default (for rules between options). */
	bool *given;
};

#define OPTIONS_MAX 64           /* entries of one table */
#define CMDLINE_TOKEN_MAX 256    /* longest key=value */
#define CMDLINE_ACCEPTED_MAX 512 /* longest description of what is accepted */

/* What was wrong: the option (the key=value as given, or the key whose
 * built-in default is invalid), what was wrong with it, what is accepted. */
struct cmdline_error {
	char token[CMDLINE_TOKEN_MAX];
	const char *what;
	char accepted[CMDLINE_ACCEPTED_MAX];
};

/* Apply the defaults of table[0..count-1], then the command line. Returns
 * true when all is well, else false with *err filled (the first error ends
 * the parse). A table of more than OPTIONS_MAX entries is an error too. */
bool cmdline_parse(const struct opt_def *table, unsigned int count, const char *cmdline,
		   struct cmdline_error *err);
/* Is `name` in the comma-separated list `list`? */
bool cmdline_list_has(const char *list, const char *name);
/* Decimal or 0x hex, the whole string; false if it is not a number. */
bool cmdline_parse_u64(const char *s, uint64_t *out);
/* Calls fn for every element of a comma-separated list. */
void cmdline_list_each(const char *list, void (*fn)(const char *name, void *ctx), void *ctx);

#endif
