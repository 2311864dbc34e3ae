/* SPDX-License-Identifier: MIT */
/* pv_inject.c - fault injection into the PV wait/kick protocol (pv_inject.h). */
#include "lib/cmdline.h"
#include "lib/string.h"
#include "lock/pv_ops.h"
#include "console.h"
#include "cpu_list.h"
#include "options.h"
#include "percpu.h"
#include "pv_inject.h"
#include "ram.h"
#include "smp.h"
#include "time.h"

#define PPM           1000000ul
#define KICK_DELAY_US_MAX 1000000ul    /* one second */
#define SEED_MIX      0xD1B54A32D192ED03ul

struct pv_inject_config pv_inject;

/* Per CPU; `dropped_at_ns` is written by the kicker, the rest by the CPU. */
struct inject_cpu {
	uint64_t rng;
	uint64_t spurious_wakes, stray_kicks, delayed_kicks, dropped_kicks;
	uint64_t dropped_at_ns;         /* atomic: a kick to us was dropped then */
	uint64_t recovered, slept_total_ns, slept_max_ns;
} __attribute__((aligned(CACHE_LINE)));

/* [ic_nr]: every CPU that exists (cpu_list.nr), from ram_alloc (ram.h) once
 * at boot when something is injected; NULL and 0 otherwise, so the loops
 * below see no CPU. */
static struct inject_cpu *ic;
static unsigned int ic_nr;
static bool missing;                    /* asked for, but no RAM for ic */
static const struct pv_lock_ops *inner;

static const struct {
	const char *name;
	uint64_t *dest;
	uint64_t max;
} knobs[] = {
	{ "spurious_wake", &pv_inject.spurious_wake_ppm, PPM },
	{ "kick_delay_us", &pv_inject.kick_delay_us, KICK_DELAY_US_MAX },
	{ "drop_kick", &pv_inject.drop_kick_ppm, PPM },
};
#define NR_KNOBS (sizeof(knobs) / sizeof(knobs[0]))
#define ITEM_MAX 48

static const char *parse_item(const char *item)
{
	const char *colon = strchr(item, ':');
	if (!colon)
		return "an item is not NAME:VALUE";
	for (unsigned int k = 0; k < NR_KNOBS; k++) {
		if (strlen(knobs[k].name) != (size_t)(colon - item) ||
		    memcmp(knobs[k].name, item, (size_t)(colon - item)))
			continue;
		uint64_t v;
		if (!cmdline_parse_u64(colon + 1, &v))
			return "a value is not a number";
		if (v > knobs[k].max)
			return "a value is out of range (PPM at most 1000000, kick_delay_us at most 1000000)";
		*knobs[k].dest = v;
		return NULL;
	}
	return "unknown fault name";
}

const char *pv_inject_parse(const char *value)
{
	memset(&pv_inject, 0, sizeof(pv_inject));
	if (!strcmp(value, "none"))
		return NULL;
	if (!*value)
		return "empty list";
	for (const char *p = value; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[ITEM_MAX];
		if (len == 0 || len >= sizeof(item))
			return "an empty or too long item";
		memcpy(item, p, len);
		item[len] = 0;
		const char *err = parse_item(item);
		if (err)
			return err;
		p += len + (comma ? 1 : 0);
		if (comma && !*p)
			return "an empty item";
	}
	return NULL;
}

bool pv_inject_active(void)
{
	return pv_inject.spurious_wake_ppm || pv_inject.kick_delay_us || pv_inject.drop_kick_ppm;
}

static uint64_t next_random(struct inject_cpu *me)
{
	uint64_t x = me->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return me->rng = x;
}

static bool roll(struct inject_cpu *me, uint64_t ppm)
{
	return ppm && next_random(me) % PPM < ppm;
}

static void inject_wait(uint8_t *ptr, uint8_t val)
{
	struct inject_cpu *me = &ic[cpu_id()];
	if (roll(me, pv_inject.spurious_wake_ppm)) {
		me->spurious_wakes++;
		return;
	}
	inner->wait(ptr, val);
	/* ACQUIRE: pairs with the kicker's store of the drop time. */
	uint64_t at = __atomic_exchange_n(&me->dropped_at_ns, 0, __ATOMIC_ACQUIRE);
	if (at) {
		uint64_t now = time_ns(), slept = now > at ? now - at : 0;
		me->recovered++;
		me->slept_total_ns += slept;
		if (slept > me->slept_max_ns)
			me->slept_max_ns = slept;
	}
}

static void inject_kick(unsigned int cpu)
{
	struct inject_cpu *me = &ic[cpu_id()];
	if (pv_inject.kick_delay_us) {
		delay_ns(pv_inject.kick_delay_us * NS_PER_US);
		me->delayed_kicks++;
	}
	if (roll(me, pv_inject.drop_kick_ppm)) {
		uint64_t zero = 0, now = time_ns();
		me->dropped_kicks++;
		/* RELEASE: the target that finds it also sees our earlier stores.
		 * Only the first of several drops is timed. */
		__atomic_compare_exchange_n(&ic[cpu].dropped_at_ns, &zero, now ? now : 1, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
		return;
	}
	inner->kick(cpu);
	if (roll(me, pv_inject.spurious_wake_ppm)) {
		me->stray_kicks++;
		inner->kick((unsigned int)(next_random(me) % smp.online));
	}
}

static struct pv_lock_ops inject_ops;

void pv_inject_reset(void)
{
	for (unsigned int c = 0; c < ic_nr; c++) {
		uint64_t rng = ic[c].rng;
		memset(&ic[c], 0, sizeof(ic[c]));
		ic[c].rng = rng;
	}
}

bool pv_inject_missing(void) { return missing; }

void pv_inject_install(void)
{
	if (!pv_inject_active())
		return;
	/* Any CPU that exists may wait or kick, or be kicked (cpu_id() and
	 * the kick's target are below cpu_list.nr). */
	ic = ram_alloc((uint64_t)cpu_list.nr * sizeof(*ic), CACHE_LINE);
	if (!ic) {
		kprintf("# inject: no RAM after the image for %u CPUs' counters: nothing injected, every lock result fails\n",
			cpu_list.nr);
		memset(&pv_inject, 0, sizeof(pv_inject));
		missing = true;
		return;
	}
	memset(ic, 0, (uint64_t)cpu_list.nr * sizeof(*ic));
	ic_nr = cpu_list.nr;
	for (unsigned int c = 0; c < ic_nr; c++)
		ic[c].rng = (opt.seed + c + 1) * SEED_MIX;
	inner = pv_lock_get_ops();
	if (inner == &pv_lock_ops_spin) {
		kprintf("# inject: pv is off, nothing halts or kicks: no effect\n");
		return;
	}
	/* A copy of the backend's ops (its name, its spin hint) with our
	 * wait and kick. */
	inject_ops = *inner;
	inject_ops.wait = inject_wait;
	inject_ops.kick = inject_kick;
	pv_lock_set_ops(&inject_ops);
	kprintf("# inject: spurious_wake %lu ppm, kick_delay %lu us, drop_kick %lu ppm around the %s backend\n",
		pv_inject.spurious_wake_ppm, pv_inject.kick_delay_us, pv_inject.drop_kick_ppm,
		inner->name);
}

void pv_inject_report(struct json *j)
{
	if (!pv_inject_active())
		return;
	uint64_t spurious = 0, stray = 0, delayed = 0, dropped = 0, recovered = 0, total = 0, max = 0;
	for (unsigned int c = 0; c < ic_nr; c++) {
		spurious += ic[c].spurious_wakes;
		stray += ic[c].stray_kicks;
		delayed += ic[c].delayed_kicks;
		dropped += ic[c].dropped_kicks;
		recovered += ic[c].recovered;
		total += ic[c].slept_total_ns;
		max = ic[c].slept_max_ns > max ? ic[c].slept_max_ns : max;
	}
	json_obj(j, "inject");
	json_u64(j, "spurious_wake_ppm", pv_inject.spurious_wake_ppm);
	json_u64(j, "kick_delay_us", pv_inject.kick_delay_us);
	json_u64(j, "drop_kick_ppm", pv_inject.drop_kick_ppm);
	json_u64(j, "spurious_wakes", spurious);
	json_u64(j, "stray_kicks", stray);
	json_u64(j, "delayed_kicks", delayed);
	json_u64(j, "dropped_kicks", dropped);
	json_u64(j, "recovered", recovered);
	json_u64(j, "slept_mean_ns", recovered ? total / recovered : 0);
	json_u64(j, "slept_max_ns", max);
	json_obj_end(j);
}

void pv_inject_describe(void)
{
	if (!pv_inject_active())
		return;
	uint64_t now = time_ns();
	for (unsigned int c = 0; c < ic_nr; c++) {
		uint64_t at = __atomic_load_n(&ic[c].dropped_at_ns, __ATOMIC_RELAXED);
		if (at)
			kprintf("# LOCKUP: inject: a kick to cpu %u was dropped %lu ms ago and "
				"nothing has woken it since\n", c, now > at ? (now - at) / NS_PER_MS : 0);
	}
}
