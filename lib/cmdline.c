/* SPDX-License-Identifier: MIT */
/* cmdline.c - the key=value command line parser of lib/cmdline.h. */
#include "cmdline.h"
#include "fmt.h"
#include "string.h"

/* Fill *err; returns false for the caller to pass on. */
static bool bad_option(struct cmdline_error *err, const char *token, const char *what,
		       const char *accepted)
{
	snprintf(err->token, sizeof(err->token), "%s", token);
	err->what = what;
	snprintf(err->accepted, sizeof(err->accepted), "%s", accepted);
	return false;
}

static void describe_names(const struct opt_def *o, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (unsigned int i = 0; o->names(i) && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "|" : "", o->names(i));
}

static void describe(const struct opt_def *o, char *buf, size_t size)
{
	switch (o->kind) {
	case OPT_U64:
		snprintf(buf, size, "an integer %lu..%lu", o->min, o->max);
		break;
	case OPT_CHOICE:
		describe_names(o, buf, size);
		break;
	case OPT_NAMES: {
		char names[CMDLINE_ACCEPTED_MAX];
		describe_names(o, names, sizeof(names));
		snprintf(buf, size, "a comma-separated list of %s", names);
		break;
	}
	case OPT_CUSTOM:
		snprintf(buf, size, "%s", o->accepted);
		break;
	}
}

bool cmdline_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned int d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static int name_index(const struct opt_def *o, const char *name, size_t len)
{
	for (unsigned int i = 0; o->names(i); i++)
		if (strlen(o->names(i)) == len && !strncmp(o->names(i), name, len))
			return (int)i;
	return -1;
}

/* Returns NULL if the value is fine, else what was wrong with it. */
static const char *apply(const struct opt_def *o, const char *value)
{
	switch (o->kind) {
	case OPT_U64: {
		uint64_t v;
		if (!cmdline_parse_u64(value, &v))
			return "not an integer";
		if (v < o->min || v > o->max)
			return "out of range";
		*(uint64_t *)o->dest = v;
		return NULL;
	}
	case OPT_CHOICE: {
		int i = name_index(o, value, strlen(value));
		if (i < 0)
			return "unknown value";
		*(unsigned int *)o->dest = (unsigned int)i;
		return NULL;
	}
	case OPT_NAMES: {
		if (!*value)
			return "empty list";
		for (const char *p = value; *p;) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);
			if (name_index(o, p, len) < 0)
				return "unknown name in list";
			p += len + (comma ? 1 : 0);
			if (comma && !*p)
				return "empty name in list";
		}
		if (strlen(value) >= o->dest_size)
			return "list too long";
		memcpy(o->dest, value, strlen(value) + 1);
		return NULL;
	}
	case OPT_CUSTOM:
		return o->parse(value);
	}
	return "unsupported option kind";
}

/* The options table being parsed. */
struct table {
	const struct opt_def *opts;
	unsigned int count;
};

static const struct opt_def *find(const struct table *t, const char *key, size_t len)
{
	for (unsigned int i = 0; i < t->count; i++)
		if (strlen(t->opts[i].key) == len && !strncmp(t->opts[i].key, key, len))
			return &t->opts[i];
	return NULL;
}

static bool unknown_option(const struct table *t, const char *token, struct cmdline_error *err)
{
	char keys[CMDLINE_ACCEPTED_MAX];
	size_t len = 0;
	keys[0] = '\0';
	for (unsigned int i = 0; i < t->count && len < sizeof(keys); i++)
		len += (size_t)snprintf(keys + len, sizeof(keys) - len, "%s%s=", i ? ", " : "",
					t->opts[i].key);
	return bad_option(err, token, "unknown option", keys);
}

static bool parse_token(const struct table *t, const char *token, bool *named,
			struct cmdline_error *err)
{
	const char *eq = strchr(token, '=');
	if (!eq)
		return unknown_option(t, token, err);
	const struct opt_def *o = find(t, token, (size_t)(eq - token));
	if (!o)
		return unknown_option(t, token, err);
	char accepted[CMDLINE_ACCEPTED_MAX];
	unsigned int idx = (unsigned int)(o - t->opts);
	if (named[idx]) {
		describe(o, accepted, sizeof(accepted));
		return bad_option(err, token, "given twice", accepted);
	}
	named[idx] = true;
	const char *what = apply(o, eq + 1);
	if (what) {
		describe(o, accepted, sizeof(accepted));
		return bad_option(err, token, what, accepted);
	}
	if (o->given)
		*o->given = true;
	return true;
}

bool cmdline_parse(const struct opt_def *opts, unsigned int count, const char *cmdline,
		   struct cmdline_error *err)
{
	const struct table t = { opts, count };
	bool named[OPTIONS_MAX] = { false };
	char token[CMDLINE_TOKEN_MAX];

	if (count > OPTIONS_MAX) {
		bad_option(err, "", "too many options in the table", "");
		snprintf(err->accepted, sizeof(err->accepted), "at most %u", OPTIONS_MAX);
		return false;
	}
	for (unsigned int i = 0; i < count; i++) {
		const char *what = apply(&opts[i], opts[i].def);
		if (what)
			return bad_option(err, opts[i].key, "built-in default is invalid", what);
		if (opts[i].given)
			*opts[i].given = false;
	}
	const char *p = cmdline;
	bool first = true;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t len = 0;
		while (p[len] && p[len] != ' ' && p[len] != '\t')
			len++;
		if (len >= sizeof(token)) {
			memcpy(token, p, sizeof(token) - 1);
			token[sizeof(token) - 1] = '\0';
			return bad_option(err, token, "option too long",
					  "options shorter than 256 characters");
		}
		memcpy(token, p, len);
		token[len] = '\0';
		p += len;
		/* Boot loaders put the image path first (QEMU -kernel, GRUB's
		 * multiboot): a leading word without '=' is that path. */
		if (first && !strchr(token, '=')) {
			first = false;
			continue;
		}
		first = false;
		if (!parse_token(&t, token, named, err))
			return false;
	}
	return true;
}

bool cmdline_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return true;
		p += len + (comma ? 1 : 0);
	}
	return false;
}

void cmdline_list_each(const char *list, void (*fn)(const char *name, void *ctx), void *ctx)
{
	char name[CMDLINE_TOKEN_MAX];
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, p, len);
		name[len] = '\0';
		fn(name, ctx);
		p += (comma ? (size_t)(comma - p) + 1 : strlen(p));
	}
}
