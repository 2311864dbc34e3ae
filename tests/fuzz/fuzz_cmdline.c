/* SPDX-License-Identifier: MIT */
/* fuzz_cmdline.c - libFuzzer target: lib/cmdline.c parses any command line
 * against a table with every option kind, and either accepts it or says
 * which token was wrong, never reading or writing out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include "lib/cmdline.h"
#include "lib/string.h"

/* Longer than the guest's Multiboot command line ever is. */
#define INPUT_MAX 4096

static uint64_t n_val, seed_val;
static unsigned int choice_val;
static char names_val[64];

static const char *const words[] = { "tas", "ticket", "qspinlock", "pvqspinlock", "all" };

static const char *word(unsigned int i)
{
	return i < sizeof(words) / sizeof(words[0]) ? words[i] : 0;
}

static const char *parse_even(const char *v)
{
	uint64_t x;
	if (!cmdline_parse_u64(v, &x))
		return "not an integer";
	return (x & 1) ? "odd" : 0;
}

static const struct opt_def table[] = {
	{ .key = "n", .kind = OPT_U64, .dest = &n_val, .min = 1, .max = 1000, .def = "7" },
	{ .key = "seed", .kind = OPT_U64, .dest = &seed_val, .min = 0, .max = UINT64_MAX, .def = "0x1" },
	{ .key = "pv", .kind = OPT_CHOICE, .dest = &choice_val, .names = word, .def = "tas" },
	{ .key = "lock", .kind = OPT_NAMES, .dest = names_val, .dest_size = sizeof(names_val),
	  .names = word, .def = "all" },
	{ .key = "even", .kind = OPT_CUSTOM, .parse = parse_even, .accepted = "an even number",
	  .def = "2" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= INPUT_MAX)
		size = INPUT_MAX - 1;
	/* Exactly as long as the input, so ASan sees any read past its end. */
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	struct cmdline_error err;
	if (!cmdline_parse(table, sizeof(table) / sizeof(table[0]), line, &err)) {
		/* The report must be printable: terminated strings, a reason. */
		if (!err.what || strlen(err.token) >= sizeof(err.token) ||
		    strlen(err.accepted) >= sizeof(err.accepted))
			abort();
	} else if (n_val < 1 || n_val > 1000 || (choice_val >= 5) ||
		   strlen(names_val) >= sizeof(names_val)) {
		abort();        /* accepted, but a value broke its own bounds */
	}
	free(line);
	return 0;
}
