/* Guest command line: space-separated key=value options, every one declared
 * in one table (kernel/options.c) and validated there. Nothing is ignored:
 * an unknown key or a bad value ends the run with EXIT_BAD_INPUT. */
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
};

#define OPTIONS_MAX 64

extern const struct opt_def options_table[];
extern const unsigned int options_count;

/* Apply the defaults, then the command line. On error: KTAP "not ok" naming
 * the option and what is accepted, then guest_exit(EXIT_BAD_INPUT). */
void cmdline_parse(const char *cmdline);
/* An option valid as text but not on this machine: the same "not ok" line
 * and EXIT_BAD_INPUT. Only before the KTAP plan (suite_begin()). */
void __attribute__((noreturn)) cmdline_reject(const char *token, const char *what,
					      const char *accepted);
/* Is `name` in the comma-separated list `list`? */
bool cmdline_list_has(const char *list, const char *name);
/* Decimal or 0x hex, the whole string; false if it is not a number. */
bool cmdline_parse_u64(const char *s, uint64_t *out);
/* Calls fn for every element of a comma-separated list. */
void cmdline_list_each(const char *list, void (*fn)(const char *name, void *ctx), void *ctx);

#endif
