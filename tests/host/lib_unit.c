/* SPDX-License-Identifier: MIT */
/*
 * lib_unit.c - host unit tests of the guest's freestanding lib/: formatted
 * print (lib/fmt.c), JSON writing and string escaping (lib/json.c), and the
 * option parser (lib/cmdline.c) with every error it can report, and the
 * crash report's frame-pointer walk (lib/frame_walk.c) on corrupt chains,
 * and the \_S5 search in AML (lib/acpi_aml.c) on QEMU's shapes and broken ones,
 * and the check of a hypervisor's e820 memory map (lib/e820.c).
 *
 * lib/ is linked into this program as it is: its snprintf, vsnprintf and
 * string functions take the place of libc's (built with -fno-builtin, so
 * gcc does not fold the calls at compile time).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/acpi_aml.h"
#include "lib/cmdline.h"
#include "lib/fmt.h"
#include "lib/call_insn.h"
#include "lib/e820.h"
#include "lib/frame_walk.h"
#include "lib/json.h"

/* What print_fn (snprintf or fmt_raw) wrote must equal `want`, and it must
 * return strlen(want). */
#define CHECK_PRINT(print_fn, want, ...)                                       \
	do {                                                                   \
		char fmt_buf_[128];                                            \
		int fmt_n_ = print_fn(fmt_buf_, sizeof(fmt_buf_), __VA_ARGS__); \
		check_str(__FILE__, __LINE__, fmt_buf_, want);                 \
		CHECK_EQ(fmt_n_, strlen(want));                                \
	} while (0)
#define CHECK_FMT(want, ...) CHECK_PRINT(snprintf, want, __VA_ARGS__)

static void check_str(const char *file, int line, const char *got, const char *want);

/* Formats gcc's format checking rejects (on purpose odd): no attribute. */
static int fmt_raw(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

#define CHECK_RAW(want, ...) CHECK_PRINT(fmt_raw, want, __VA_ARGS__)

static void check_str(const char *file, int line, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	char msg[512];
	/* Built by hand: the snprintf under test must not report on itself. */
	msg[0] = '\0';
	strncat(msg, "got \"", sizeof(msg) - strlen(msg) - 1);
	strncat(msg, got, sizeof(msg) - strlen(msg) - 1);
	strncat(msg, "\", want \"", sizeof(msg) - strlen(msg) - 1);
	strncat(msg, want, sizeof(msg) - strlen(msg) - 1);
	strncat(msg, "\"", sizeof(msg) - strlen(msg) - 1);
	test_fail(file, line, msg);
}

#define CHECK_STR(got, want) check_str(__FILE__, __LINE__, got, want)

/* ---- formatted print ---------------------------------------------------- */

static void test_fmt_integers(void)
{
	CHECK_FMT("0", "%d", 0);
	CHECK_FMT("42", "%d", 42);
	CHECK_FMT("-42", "%d", -42);
	CHECK_FMT("-7", "%i", -7);
	CHECK_FMT("2147483647", "%d", INT32_MAX);
	CHECK_FMT("-2147483648", "%d", INT32_MIN);
	CHECK_FMT("4294967295", "%u", UINT32_MAX);
	CHECK_FMT("9223372036854775807", "%ld", INT64_MAX);
	CHECK_FMT("-9223372036854775808", "%ld", INT64_MIN);
	CHECK_FMT("-9223372036854775808", "%lld", (long long)INT64_MIN);
	CHECK_FMT("18446744073709551615", "%lu", UINT64_MAX);
	CHECK_FMT("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	CHECK_FMT("18446744073709551615", "%zu", (size_t)UINT64_MAX);
	CHECK_FMT("ffffffffffffffff", "%lx", UINT64_MAX);
	CHECK_FMT("dead", "%x", 0xdeadu);
	CHECK_FMT("BEEF", "%X", 0xbeefu);
	CHECK_FMT("17", "%o", 15u);
	CHECK_FMT("0", "%x", 0u);
	/* int arguments without l: the upper half is not read */
	CHECK_FMT("-1", "%d", -1);
	CHECK_FMT("4294967295", "%u", -1);
}

static void test_fmt_width_and_padding(void)
{
	CHECK_FMT("   42", "%5d", 42);
	CHECK_FMT("42   |", "%-5d|", 42);
	CHECK_FMT("00042", "%05d", 42);
	CHECK_FMT("-0042", "%05d", -42);
	CHECK_FMT("  -42", "%5d", -42);
	CHECK_FMT("-42  |", "%-5d|", -42);
	CHECK_RAW("-42  |", "%-05d|", -42);         /* '-' wins over '0' */
	CHECK_FMT("123456", "%3d", 123456);         /* width is a minimum */
	CHECK_FMT("0000000000106a3f", "%016lx", 0x106a3ful);
	CHECK_FMT("00ff", "%04x", 0xffu);
	CHECK_FMT("   ab", "%*x", 5, 0xabu);
	CHECK_FMT("ab   |", "%-*x|", 5, 0xabu);
	CHECK_FMT("1.005", "%lu.%0*lu", 1ul, 3, 5ul);
	CHECK_FMT("  ok", "%4s", "ok");
	CHECK_FMT("ok  |", "%-4s|", "ok");
	CHECK_FMT("smp          ok", "%-12s %s", "smp", "ok");
	CHECK_FMT("       123", "%10lu", 123ul);
}

static void test_fmt_strings_and_others(void)
{
	CHECK_FMT("hello", "%s", "hello");
	CHECK_FMT("hel", "%.3s", "hello");
	CHECK_FMT("he", "%.*s", 2, "hello");
	CHECK_FMT("  hel", "%5.3s", "hello");
	CHECK_FMT("hello", "%.9s", "hello");
	CHECK_RAW("(null)", "%s", (const char *)NULL);
	CHECK_FMT("x", "%c", 'x');
	CHECK_FMT("100%", "%d%%", 100);
	CHECK_FMT("0x1000", "%p", (void *)0x1000);
	CHECK_RAW("%q", "%q");                      /* unknown: printed as is */
	CHECK_RAW("a", "a%");                       /* a lone % at the end */
	CHECK_FMT("", "%s", "");
}

static void test_fmt_truncation(void)
{
	char buf[8];
	memset(buf, 'z', sizeof(buf));
	CHECK_EQ(snprintf(buf, 4, "%s", "abcdef"), 6);
	CHECK_STR(buf, "abc");
	CHECK_EQ(buf[4], 'z');                      /* nothing past size */
	CHECK_EQ(snprintf(buf, 1, "%d", 12345), 5);
	CHECK_STR(buf, "");
	buf[0] = 'q';
	CHECK_EQ(snprintf(buf, 0, "%d", 12345), 5); /* size 0: nothing written */
	CHECK_EQ(buf[0], 'q');
	CHECK_EQ(snprintf(buf, sizeof(buf), "%07d", -1), 7);
	CHECK_STR(buf, "-000001");
}

/* ---- JSON ---------------------------------------------------------------- */

static struct json j;

static void test_json_escaping(void)
{
	json_begin(&j);
	json_str(&j, "q", "say \"hi\"");
	json_str(&j, "b", "a\\b");
	json_str(&j, "c", "\x01\t\n\r\x1f");
	json_str(&j, "u", "caf\xc3\xa9 \x80\xff");
	json_str(&j, "k\"ey", "");
	json_end(&j);
	CHECK(!j.overflow);
	CHECK_STR(j.buf, "{\"q\":\"say \\\"hi\\\"\",\"b\":\"a\\\\b\","
			 "\"c\":\"\\u0001\\u0009\\u000a\\u000d\\u001f\","
			 "\"u\":\"caf\xc3\xa9 \x80\xff\",\"k\\\"ey\":\"\"}");
}

static void test_json_values(void)
{
	json_begin(&j);
	json_u64(&j, "max", UINT64_MAX);
	json_i64(&j, "min", INT64_MIN);
	json_i64(&j, "neg", -5);
	json_bool(&j, "t", true);
	json_bool(&j, "f", false);
	json_fixed(&j, "x", 1234, 3);
	json_fixed(&j, "y", 5, 2);
	json_fixed(&j, "z", 7, 0);
	json_arr(&j, "a");
	json_arr_u64(&j, 1);
	json_arr_u64(&j, 2);
	json_arr_str(&j, "s");
	json_arr_end(&j);
	json_obj(&j, "o");
	json_obj(&j, "in");
	json_u64(&j, "v", 0);
	json_obj_end(&j);
	json_obj_end(&j);
	json_arr(&j, "e");
	json_arr_end(&j);
	json_end(&j);
	CHECK(!j.overflow);
	CHECK_STR(j.buf, "{\"max\":18446744073709551615,\"min\":-9223372036854775808,"
			 "\"neg\":-5,\"t\":true,\"f\":false,\"x\":1.234,\"y\":0.05,\"z\":7,"
			 "\"a\":[1,2,\"s\"],\"o\":{\"in\":{\"v\":0}},\"e\":[]}");
}

static void test_json_fixed_decimals_clamped(void)
{
	/* tests/fuzz found 20+ decimals dividing by zero (10^20 > 2^64). */
	static struct json j;
	json_begin(&j);
	json_fixed(&j, "x", 5, 200);
	json_end(&j);
	check_str(__FILE__, __LINE__, j.buf, "{\"x\":0.0000000000000000005}");
}

static void test_json_overflow(void)
{
	static char big[JSON_MAX];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_begin(&j);
	json_str(&j, "big", big);
	json_end(&j);
	CHECK(j.overflow);
	CHECK(strlen(j.buf) < JSON_MAX);
}

/* ---- option parser ------------------------------------------------------- */

static const char *const colours[] = { "red", "green", "blue" };

static const char *colour_name(unsigned int i)
{
	return i < ARRAY_SIZE(colours) ? colours[i] : NULL;
}

static struct {
	uint64_t n;
	unsigned int colour;
	char list[16];
	uint64_t custom;
	bool n_given, even_given;
} o;

static const char *parse_even(const char *value)
{
	uint64_t v;
	if (!cmdline_parse_u64(value, &v))
		return "not an integer";
	if (v % 2)
		return "odd";
	o.custom = v;
	return NULL;
}

static const struct opt_def table[] = {
	{ .key = "n", .kind = OPT_U64, .dest = &o.n, .min = 1, .max = 1000, .def = "7",
	  .given = &o.n_given },
	{ .key = "colour", .kind = OPT_CHOICE, .dest = &o.colour, .names = colour_name,
	  .def = "green" },
	{ .key = "list", .kind = OPT_NAMES, .dest = o.list, .dest_size = sizeof(o.list),
	  .names = colour_name, .def = "red" },
	{ .key = "even", .kind = OPT_CUSTOM, .parse = parse_even, .def = "0",
	  .accepted = "an even integer", .given = &o.even_given },
};

static struct cmdline_error err;

static bool parse(const char *cmdline)
{
	memset(&err, 0, sizeof(err));
	return cmdline_parse(table, ARRAY_SIZE(table), cmdline, &err);
}

/* The parse must fail on `token` with `what`, and say `accepted`. */
static void check_error(const char *file, int line, const char *cmdline, const char *token,
			const char *what, const char *accepted)
{
	if (parse(cmdline)) {
		test_fail(file, line, cmdline);
		return;
	}
	check_str(file, line, err.token, token);
	check_str(file, line, err.what ? err.what : "(null)", what);
	check_str(file, line, err.accepted, accepted);
}


static void test_cmdline_good(void)
{
	CHECK(parse(""));
	CHECK_EQ(o.n, 7);
	CHECK_EQ(o.colour, 1);
	CHECK_STR(o.list, "red");
	CHECK_EQ(o.custom, 0);
	CHECK(parse("/boot/image n=1000 colour=blue list=blue,red,green even=0x10"));
	CHECK_EQ(o.n, 1000);
	CHECK_EQ(o.colour, 2);
	CHECK_STR(o.list, "blue,red,green");
	CHECK_EQ(o.custom, 16);
	CHECK(parse("  \tn=0X1f\t "));             /* blanks and tabs; 0X hex */
	CHECK_EQ(o.n, 31);
	CHECK_EQ(o.colour, 1);                     /* defaults applied again */
	CHECK(parse("n=1"));
	CHECK_EQ(o.n, 1);
}

/* .given tells an option the command line gave from one holding its
 * default, even when the value given is the default. */
static void test_cmdline_given(void)
{
	CHECK(parse(""));
	CHECK(!o.n_given);
	CHECK(!o.even_given);
	CHECK(parse("n=7 colour=red"));
	CHECK(o.n_given);
	CHECK(!o.even_given);
	CHECK(parse("even=2"));
	CHECK(!o.n_given);                         /* cleared by the next parse */
	CHECK(o.even_given);
}

/* Every error the parser reports on a command line: the token it names,
 * what was wrong, what is accepted. */
#define KEYS "n=, colour=, list=, even="
#define INT_1_1000 "an integer 1..1000"
#define COLOURS "red|green|blue"
#define COLOUR_LIST "a comma-separated list of " COLOURS

static const struct bad_cmdline {
	const char *cmdline, *token, *what, *accepted;
} bad_cmdlines[] = {
	{ "n=5 bogus", "bogus", "unknown option", KEYS },
	{ "x=1", "x=1", "unknown option", KEYS },
	{ "nn=1", "nn=1", "unknown option", KEYS },
	{ "n=1 n=2", "n=2", "given twice", INT_1_1000 },
	{ "n=abc", "n=abc", "not an integer", INT_1_1000 },
	{ "n=", "n=", "not an integer", INT_1_1000 },
	{ "n=0x", "n=0x", "not an integer", INT_1_1000 },
	{ "n=-1", "n=-1", "not an integer", INT_1_1000 },
	{ "n=0xg", "n=0xg", "not an integer", INT_1_1000 },
	{ "n=18446744073709551616", "n=18446744073709551616", "not an integer", INT_1_1000 },
	{ "n=0", "n=0", "out of range", INT_1_1000 },
	{ "n=1001", "n=1001", "out of range", INT_1_1000 },
	{ "colour=pink", "colour=pink", "unknown value", COLOURS },
	{ "colour=", "colour=", "unknown value", COLOURS },
	{ "list=", "list=", "empty list", COLOUR_LIST },
	{ "list=red,pink", "list=red,pink", "unknown name in list", COLOUR_LIST },
	{ "list=red,", "list=red,", "empty name in list", COLOUR_LIST },
	{ "list=red,,red", "list=red,,red", "unknown name in list", COLOUR_LIST },
	{ "list=green,green,blue", "list=green,green,blue", "list too long", COLOUR_LIST },
	{ "even=3", "even=3", "odd", "an even integer" },
	{ "even=x", "even=x", "not an integer", "an even integer" },
};

static void test_cmdline_errors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cmdlines); i++) {
		const struct bad_cmdline *b = &bad_cmdlines[i];
		check_error(__FILE__, __LINE__, b->cmdline, b->token, b->what, b->accepted);
	}

	char longer[CMDLINE_TOKEN_MAX + 8];
	memset(longer, 'n', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	CHECK(!parse(longer));
	CHECK_STR(err.what, "option too long");
	CHECK_EQ(strlen(err.token), CMDLINE_TOKEN_MAX - 1);
	CHECK_STR(err.accepted, "options shorter than 256 characters");
}

static void test_cmdline_bad_tables(void)
{
	static const struct opt_def bad_default[] = {
		{ .key = "m", .kind = OPT_U64, .dest = &o.n, .min = 1, .max = 2, .def = "9" },
	};
	CHECK(!cmdline_parse(bad_default, ARRAY_SIZE(bad_default), "", &err));
	CHECK_STR(err.token, "m");
	CHECK_STR(err.what, "built-in default is invalid");
	CHECK_STR(err.accepted, "out of range");

	CHECK(!cmdline_parse(table, OPTIONS_MAX + 1, "", &err));
	CHECK_STR(err.what, "too many options in the table");
	CHECK_STR(err.accepted, "at most 64");
}

static unsigned int each_count;
static char each_seen[64];

static void each_fn(const char *name, void *ctx)
{
	(void)ctx;
	each_count++;
	strncat(each_seen, name, sizeof(each_seen) - strlen(each_seen) - 1);
	strncat(each_seen, "/", sizeof(each_seen) - strlen(each_seen) - 1);
}

static void test_cmdline_lists(void)
{
	CHECK(cmdline_list_has("smp,torture,all", "all"));
	CHECK(cmdline_list_has("smp", "smp"));
	CHECK(!cmdline_list_has("smp,torture", "tort"));
	CHECK(!cmdline_list_has("smpx", "smp"));
	CHECK(!cmdline_list_has("", "smp"));
	cmdline_list_each("a,bc,d", each_fn, NULL);
	CHECK_EQ(each_count, 3);
	CHECK_STR(each_seen, "a/bc/d/");
	uint64_t v = 0;
	CHECK(cmdline_parse_u64("18446744073709551615", &v));
	CHECK_EQ(v, UINT64_MAX);
	CHECK(cmdline_parse_u64("0xFFFFFFFFFFFFFFFF", &v));
	CHECK_EQ(v, UINT64_MAX);
	CHECK(!cmdline_parse_u64("0x10000000000000000", &v));
	CHECK(!cmdline_parse_u64("", &v));
	CHECK(!cmdline_parse_u64("12a", &v));
}

/* A fake stack of 64 words: frame k is at word 8*k, so each step climbs 64
 * bytes; frame_at(k) links to frame k+1 and returns to 0x1000 + k. */
static uint64_t fw_stack[64] __attribute__((aligned(16)));
static uint64_t fw_rets[16];
static unsigned int fw_n;

static void fw_emit(unsigned int depth, uint64_t ret, void *ctx)
{
	(void)ctx;
	CHECK_EQ(depth, fw_n + 1);
	if (fw_n < ARRAY_SIZE(fw_rets))
		fw_rets[fw_n] = ret;
	fw_n++;
}

static uint64_t fw_addr(unsigned int word) { return (uint64_t)(uintptr_t)&fw_stack[word]; }

/* Frames 0..n-1 linked upwards; the last one's caller rbp is 0. */
static void fw_chain(unsigned int n)
{
	memset(fw_stack, 0, sizeof(fw_stack));
	for (unsigned int k = 0; k < n; k++) {
		fw_stack[8 * k] = k + 1 < n ? fw_addr(8 * (k + 1)) : 0;
		fw_stack[8 * k + 1] = 0x1000 + k;
	}
	fw_n = 0;
}

static enum frame_walk_end fw_walk(uint64_t rbp, unsigned int max_depth, uint64_t *bad)
{
	const struct frame_walk_bounds b = {
		.lo = fw_addr(0), .hi = fw_addr(0) + sizeof(fw_stack),
		.max_span = 256, .max_depth = max_depth,
	};
	*bad = 0;
	return frame_walk(&b, rbp, fw_emit, 0, bad);
}

static void test_frame_walk(void)
{
	uint64_t bad;
	/* Healthy: frames 0..3; frame 3 is outermost, so 3 return addresses. */
	fw_chain(4);
	CHECK_EQ(fw_walk(fw_addr(0), 32, &bad), FRAME_WALK_OUTERMOST);
	CHECK_EQ(fw_n, 3);
	CHECK_EQ(fw_rets[0], 0x1000);
	CHECK_EQ(fw_rets[2], 0x1002);
	fw_n = 0;
	CHECK_EQ(fw_walk(0, 32, &bad), FRAME_WALK_NO_FRAME_POINTER);
	CHECK_EQ(fw_n, 0);
	/* Deeper than allowed. */
	fw_chain(8);
	CHECK_EQ(fw_walk(fw_addr(0), 2, &bad), FRAME_WALK_TOO_DEEP);
	CHECK_EQ(fw_n, 2);
	/* Misaligned link. */
	fw_chain(4);
	fw_stack[8] = fw_addr(16) + 4;
	CHECK_EQ(fw_walk(fw_addr(0), 32, &bad), FRAME_WALK_MISALIGNED);
	CHECK_EQ(bad, fw_addr(16) + 4);
	CHECK(frame_walk_corrupt(FRAME_WALK_MISALIGNED));
	/* A link out of bounds (never read), and one whose return slot would be. */
	fw_chain(4);
	fw_stack[8] = 0x10;
	CHECK_EQ(fw_walk(fw_addr(0), 32, &bad), FRAME_WALK_OUTSIDE);
	CHECK_EQ(fw_n, 2);      /* frame 1 itself was sound */
	fw_chain(4);
	fw_stack[8] = fw_addr(63);
	CHECK_EQ(fw_walk(fw_addr(0), 32, &bad), FRAME_WALK_OUTSIDE);
	/* A cycle, a link downwards, and a leap beyond max_span. */
	fw_chain(4);
	fw_stack[16] = fw_addr(8);
	CHECK_EQ(fw_walk(fw_addr(0), 32, &bad), FRAME_WALK_NOT_CLIMBING);
	CHECK_EQ(bad, fw_addr(8));
	fw_chain(4);
	fw_stack[8] = fw_addr(8);
	CHECK_EQ(fw_walk(fw_addr(0), 32, &bad), FRAME_WALK_NOT_CLIMBING);
	fw_chain(2);
	fw_stack[0] = fw_addr(48);
	fw_stack[48] = 0;
	CHECK_EQ(fw_walk(fw_addr(0), 32, &bad), FRAME_WALK_NOT_CLIMBING);
	CHECK(!frame_walk_corrupt(FRAME_WALK_OUTERMOST));
	CHECK(!frame_walk_corrupt(FRAME_WALK_TOO_DEEP));
}

/* The CALL forms gcc emits end where the return address points; other
 * bytes (padding before a function, a JMP) do not. Each case's bytes end
 * at the end of its row. */
static void test_call_insn(void)
{
	static const struct { uint8_t code[8]; unsigned int len; bool call; } cases[] = {
		{ { 0xe8, 0x10, 0x20, 0x30, 0x40 }, 5, true },          /* call rel32 */
		{ { 0xff, 0xd0 }, 2, true },                            /* call *%rax */
		{ { 0x41, 0xff, 0xd3 }, 3, true },                      /* call *%r11 */
		{ { 0xff, 0x10 }, 2, true },                            /* call *(%rax) */
		{ { 0xff, 0x53, 0x08 }, 3, true },                      /* call *0x8(%rbx) */
		{ { 0xff, 0x14, 0xc5 }, 3, false },                     /* SIB base 5: 7 bytes, not 3 */
		{ { 0xff, 0x14, 0x24 }, 3, true },                      /* call *(%rsp) */
		{ { 0xff, 0x54, 0x24, 0x08 }, 4, true },                /* call *0x8(%rsp) */
		{ { 0xff, 0x15, 1, 2, 3, 4 }, 6, true },                /* call *disp32(%rip) */
		{ { 0xff, 0x93, 1, 2, 3, 4 }, 6, true },                /* call *disp32(%rbx) */
		{ { 0xff, 0x14, 0xc5, 1, 2, 3, 4 }, 7, true },          /* call *disp32(,%rax,8) */
		{ { 0xcc, 0xcc, 0x90, 0x90 }, 4, false },               /* padding */
		{ { 0xc3 }, 1, false },                                 /* ret */
		{ { 0xff, 0xe0 }, 2, false },                           /* jmp *%rax (FF /4) */
		{ { 0xe9, 1, 2, 3, 4 }, 5, false },                     /* jmp rel32 */
		{ { 0xff, 0x15, 1, 2, 3 }, 5, false },                  /* rip-relative, one byte short */
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const uint8_t *code = cases[i].code;
		CHECK_EQ(call_insn_ends_at(code + cases[i].len, code), cases[i].call);
	}
	/* Clipped to lo: the E8 five bytes back is not read when lo is later. */
	static const uint8_t direct[] = { 0xe8, 1, 2, 3, 4 };
	CHECK(!call_insn_ends_at(direct + 5, direct + 1));
	/* A SIB byte that would be at `end` is not read: no call. */
	static const uint8_t sib_cut[] = { 0xff, 0x14 };
	CHECK(!call_insn_ends_at(sib_cut + 2, sib_cut));
}

/* Code for frame_walk_leaf_return(): a function start after padding, and a
 * CALL *%rax whose return address is fw_code + FW_CALL_RET. */
static const uint8_t fw_code[] = { 0xcc, 0xcc, 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd0, 0x5d, 0xc3 };
#define FW_FUNC_START 2
#define FW_CALL_RET 8

static uint64_t fw_code_addr(unsigned int off) { return (uint64_t)(uintptr_t)&fw_code[off]; }

/* A fault in a frameless leaf: rsp holds the return address into the caller
 * and rbp is still the caller's frame; the walk from rbp does not see the
 * caller, the leaf check does. */
static void test_frame_walk_leaf(void)
{
	const struct frame_walk_bounds b = {
		.lo = fw_addr(0), .hi = fw_addr(0) + sizeof(fw_stack),
		.max_span = 256, .max_depth = 32,
		.text_lo = fw_code_addr(0), .text_hi = fw_code_addr(sizeof(fw_code)),
	};
	uint64_t ret = 0;
	/* The caller's frame at word 8, its caller's at 16, the outermost at 24. */
	memset(fw_stack, 0, sizeof(fw_stack));
	fw_stack[8] = fw_addr(16);
	fw_stack[9] = 0x1000;
	fw_stack[16] = fw_addr(24);
	fw_stack[17] = 0x1001;
	fw_stack[6] = fw_code_addr(FW_CALL_RET);
	CHECK(frame_walk_leaf_return(&b, fw_addr(6), fw_addr(8), &ret));
	CHECK_EQ(ret, fw_code_addr(FW_CALL_RET));
	/* The walk from rbp then goes on with the caller's caller. */
	uint64_t bad = 0;
	fw_n = 0;
	CHECK_EQ(frame_walk(&b, fw_addr(8), fw_emit, 0, &bad), FRAME_WALK_OUTERMOST);
	CHECK_EQ(fw_n, 2);
	CHECK_EQ(fw_rets[0], 0x1000);
	/* The word at rsp of a framed function: a stack address, a function's
	 * start (a function pointer in a saved register), code outside text. */
	fw_stack[6] = fw_addr(20);
	CHECK(!frame_walk_leaf_return(&b, fw_addr(6), fw_addr(8), &ret));
	fw_stack[6] = fw_code_addr(FW_FUNC_START);
	CHECK(!frame_walk_leaf_return(&b, fw_addr(6), fw_addr(8), &ret));
	fw_stack[6] = fw_code_addr(0);
	CHECK(!frame_walk_leaf_return(&b, fw_addr(6), fw_addr(8), &ret));
	/* rsp not below rbp, too far below it, misaligned, outside the stacks. */
	fw_stack[6] = fw_code_addr(FW_CALL_RET);
	CHECK(!frame_walk_leaf_return(&b, fw_addr(6), fw_addr(6), &ret));
	CHECK(!frame_walk_leaf_return(&b, fw_addr(6), fw_addr(6) + b.max_span + 8, &ret));
	CHECK(!frame_walk_leaf_return(&b, fw_addr(6) + 4, fw_addr(8), &ret));
	CHECK(!frame_walk_leaf_return(&b, fw_addr(0) - 8, fw_addr(8), &ret));
	/* No code bounds (text_hi 0): never. */
	struct frame_walk_bounds no_text = b;
	no_text.text_lo = no_text.text_hi = 0;
	CHECK(!frame_walk_leaf_return(&no_text, fw_addr(6), fw_addr(8), &ret));
}

/* ---- \_S5 in AML ------------------------------------------------------- */

static int s5_find(const uint8_t *aml, size_t len, uint8_t *a, uint8_t *b)
{
	*a = *b = 0xEE;
	return aml_find_s5(aml, len, a, b);
}

static void test_aml_s5(void)
{
	uint8_t a, b;
	/* q35/pc: Scope(\) { Name(_S5, Package(4) { Zero, Zero, Zero, Zero }) }. */
	static const uint8_t q35[] = { 0x10, 0x0f, '\\', 0x08, '_', 'S', '5', '_', 0x12,
				       0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };
	CHECK(s5_find(q35, sizeof(q35), &a, &b));
	CHECK_EQ(a, 0);
	CHECK_EQ(b, 0);
	/* microvm: the first value 5 after a BytePrefix; a root-prefixed name. */
	static const uint8_t microvm[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04,
					   0x0A, 0x05, 0x00, 0x00, 0x00 };
	CHECK(s5_find(microvm, sizeof(microvm), &a, &b));
	CHECK_EQ(a, 5);
	CHECK_EQ(b, 0);
	/* OneOp and WordPrefix values; values masked to their 3 bits. */
	static const uint8_t one_word[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02,
					    0x01, 0x0B, 0x0F, 0x00 };
	CHECK(s5_find(one_word, sizeof(one_word), &a, &b));
	CHECK_EQ(a, 1);
	CHECK_EQ(b, 7);
	/* A two-byte PkgLength. */
	static const uint8_t long_pkg[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x47, 0x00, 0x02,
					    0x0A, 0x03, 0x0A, 0x04 };
	CHECK(s5_find(long_pkg, sizeof(long_pkg), &a, &b));
	CHECK_EQ(a, 3);
	CHECK_EQ(b, 4);
	/* Every truncation of a good package fails, reading nothing beyond (each
	 * copy on the heap, exactly n bytes, for AddressSanitizer builds). */
	for (size_t n = 0; n < sizeof(microvm) - 3; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, microvm, n);
		CHECK(!s5_find(cut, n, &a, &b));
		free(cut);
	}
	/* A PkgLength shorter than its elements: the second value is outside. */
	uint8_t short_len[sizeof(microvm)];
	memcpy(short_len, microvm, sizeof(microvm));
	short_len[7] = 0x04;
	CHECK(!s5_find(short_len, sizeof(short_len), &a, &b));
	/* Not a name (a method call's argument, no NameOp), not a package. */
	static const uint8_t no_name[] = { 0x70, '_', 'S', '5', '_', 0x12, 0x06, 0x04,
					   0x00, 0x00, 0x00, 0x00 };
	CHECK(!s5_find(no_name, sizeof(no_name), &a, &b));
	static const uint8_t method[] = { 0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xA4, 0x00 };
	CHECK(!s5_find(method, sizeof(method), &a, &b));
	/* One element only; an element that is not a constant (a name). */
	static const uint8_t one_elem[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x01, 0x00 };
	CHECK(!s5_find(one_elem, sizeof(one_elem), &a, &b));
	static const uint8_t not_const[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x02,
					     'F', 'O', 'O', '_', 0x00 };
	CHECK(!s5_find(not_const, sizeof(not_const), &a, &b));
	/* A bad first match does not hide a good one later. */
	uint8_t two[sizeof(no_name) + sizeof(microvm)];
	memcpy(two, no_name, sizeof(no_name));
	memcpy(two + sizeof(no_name), microvm, sizeof(microvm));
	CHECK(s5_find(two, sizeof(two), &a, &b));
	CHECK_EQ(a, 5);
	/* "_S5_" at the very start has no room for a NameOp before it. */
	CHECK(!s5_find(microvm + 2, sizeof(microvm) - 2, &a, &b));
}

/* The map of a Xen PVH dom0 with 128 MiB (XENMEM_memory_map, 11 entries
 * in the first entries' shape) keeps all; bad entries go, order stays. */
static void test_e820_clean(void)
{
	struct e820_entry m[6] = {
		{ 0x0, 0x9f000, 1 },
		{ 0x100000, 0x7f60f16, 1 },
		{ 0x8060f16, 0x8a, 3 },
	};
	unsigned int dropped = 99;
	CHECK_EQ(e820_clean(m, 3, 6, &dropped), 3);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(m[1].addr, 0x100000);
	/* A zero-sized entry and one that wraps past 2^64 are dropped; the
	 * others move up in order. */
	m[0] = (struct e820_entry){ 0x1000, 0, 1 };
	m[1] = (struct e820_entry){ 0x0, 0x9f000, 1 };
	m[2] = (struct e820_entry){ UINT64_MAX - 0xfff, 0x2000, 2 };
	m[3] = (struct e820_entry){ 0x100000, 0x1000000, 1 };
	CHECK_EQ(e820_clean(m, 4, 6, &dropped), 2);
	CHECK_EQ(dropped, 2);
	CHECK_EQ(m[0].size, 0x9f000);
	CHECK_EQ(m[1].addr, 0x100000);
	/* An entry ending exactly at 2^64 does not wrap. */
	m[0] = (struct e820_entry){ UINT64_MAX - 0xfff, 0x1000, 2 };
	CHECK_EQ(e820_clean(m, 1, 6, NULL), 1);
	/* A count past the buffer (the writer's word) is clamped to it. */
	for (unsigned int i = 0; i < 6; i++)
		m[i] = (struct e820_entry){ (uint64_t)i << 20, 0x1000, 1 };
	CHECK_EQ(e820_clean(m, 1000, 6, &dropped), 6);
	CHECK_EQ(dropped, 994);
	CHECK_EQ(e820_clean(m, 0, 6, &dropped), 0);
	CHECK_EQ(dropped, 0);
}

static const struct test_case cases[] = {
	TEST_CASE(test_fmt_integers),
	TEST_CASE(test_fmt_width_and_padding),
	TEST_CASE(test_fmt_strings_and_others),
	TEST_CASE(test_fmt_truncation),
	TEST_CASE(test_json_escaping),
	TEST_CASE(test_json_values),
	TEST_CASE(test_json_overflow),
	TEST_CASE(test_json_fixed_decimals_clamped),
	TEST_CASE(test_cmdline_good),
	TEST_CASE(test_cmdline_given),
	TEST_CASE(test_cmdline_errors),
	TEST_CASE(test_cmdline_bad_tables),
	TEST_CASE(test_cmdline_lists),
	TEST_CASE(test_frame_walk),
	TEST_CASE(test_call_insn),
	TEST_CASE(test_frame_walk_leaf),
	TEST_CASE(test_aml_s5),
	TEST_CASE(test_e820_clean),
};

int main(int argc, char **argv)
{
	return test_main(cases, ARRAY_SIZE(cases), argc, argv);
}
