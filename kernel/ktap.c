#include <stdarg.h>
#include "console.h"
#include "fmt.h"
#include "ktap.h"

#define REASON_MAX 256

static struct ktap_totals totals;
static const char *current = "boot";

void ktap_begin(unsigned int plan)
{
	totals.planned = plan;
	kprintf("KTAP version 1\n1..%u\n", plan);
}

void ktap_diag(const char *fmt, ...)
{
	char buf[REASON_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("# %s\n", buf);
}

void ktap_set_current(const char *name) { current = name; }

void ktap_ok(const char *name)
{
	totals.passed++;
	kprintf("ok %u %s\n", ++totals.emitted, name);
}

void ktap_fail(const char *name, const char *fmt, ...)
{
	char reason[REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	totals.failed++;
	kprintf("not ok %u %s # %s\n", ++totals.emitted, name, reason);
}

void ktap_skip(const char *name, const char *fmt, ...)
{
	char reason[REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	totals.skipped++;
	kprintf("ok %u %s # SKIP %s\n", ++totals.emitted, name, reason);
}

void ktap_abort_current(const char *reason)
{
	ktap_fail(current, "%s", reason);
}

void ktap_result_json(const struct json *j)
{
	console_write("# result: ", 10);
	console_write(j->buf, j->len);
	console_write("\n", 1);
}

struct ktap_totals ktap_totals(void) { return totals; }
