/* SPDX-License-Identifier: MIT */
/* pvswitch.c - the pvswitch suite: a pvqspinlock taken before the PV backend is installed (with the
 * library's default spin ops) is released correctly after the switch, and
 * the lock works afterwards. main() calls pvswitch_before() and
 * pvswitch_after() around pv_backend_init(); the suite reports. */
#include "kernel/ktap.h"
#include "kernel/pv_backend.h"
#include "lib/json.h"
#include "lock/lock.h"
#include "suite.h"

static lock_storage_t early_lock;
static struct {
	bool held_before, free_after, relock_after;
} checks;

void pvswitch_before(void)
{
	lock_type_pvqspinlock.init(&early_lock);
	lock_type_pvqspinlock.lock(&early_lock);
	checks.held_before = lock_type_pvqspinlock.is_locked(&early_lock);
}

void pvswitch_after(void)
{
	lock_type_pvqspinlock.unlock(&early_lock);
	checks.free_after = !lock_type_pvqspinlock.is_locked(&early_lock);
	checks.relock_after = lock_type_pvqspinlock.trylock(&early_lock);
	if (checks.relock_after)
		lock_type_pvqspinlock.unlock(&early_lock);
}

static void pvswitch_run(void)
{
	struct json j;
	json_begin(&j);
	json_str(&j, "test", "pvswitch");
	json_str(&j, "pv_backend", pv_backend_name());
	json_bool(&j, "held_before_switch", checks.held_before);
	json_bool(&j, "free_after_unlock", checks.free_after);
	json_bool(&j, "trylock_after", checks.relock_after);
	json_end(&j);
	ktap_result_json(&j);
	if (checks.held_before && checks.free_after && checks.relock_after)
		ktap_ok("pvswitch");
	else
		ktap_fail("pvswitch", "lock taken before the PV switch: held=%d free after unlock=%d trylock=%d",
			  checks.held_before, checks.free_after, checks.relock_after);
}

const struct suite suite_pvswitch = {
	.name = "pvswitch",
	.summary = "a pvqspinlock held across the switch to the PV backend is released correctly",
	.groups = SUITE_GROUPS_DEFAULT,
	.run = pvswitch_run,
};
