/* SPDX-License-Identifier: MIT */
/*
 * host_pv_ops.c - futex-backed wait/kick.
 *
 * Per-CPU word w, states IDLE, KICKED, SLEEPING:
 *
 *   kick(cpu):  if xchg(w, KICKED) == SLEEPING: futex_wake(w)
 *   wait(p, v): if xchg(w, IDLE) == KICKED: return      (early kick kept)
 *               if *p != v: return
 *               if !cmpxchg(w, IDLE -> SLEEPING): return (kicked meanwhile)
 *               futex_wait(w, SLEEPING, timeout); w = IDLE
 *
 * Every step of wait is an RMW on w, so in w's modification order a kick
 * is either before our first xchg (it is found: return), between it and the
 * cmpxchg (cmpxchg fails: return), or after the cmpxchg (the kicker sees
 * SLEEPING and wakes us; futex_wait sees KICKED and does not sleep).  No
 * kick is lost; a stale kick only causes a spurious return.
 *
 * The timeout is a safety net that turns a (buggy) lost kick into a
 * counted event instead of a hang; tests require host_pv_timeouts() == 0.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host_pv_ops.h"
#include "platform.h"

enum { HOST_W_IDLE = 0, HOST_W_KICKED = 1, HOST_W_SLEEPING = 2 };

#define HOST_WAIT_TIMEOUT_SEC 2

struct host_futex_word {
	uint32_t w;
} LOCK_CACHE_ALIGNED;

static struct host_futex_word host_words[LOCK_NR_CPUS];
static uint64_t host_timeouts, host_sleeps, host_wakes;

static long host_futex(uint32_t *uaddr, int op, uint32_t val,
		       const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void host_wait(uint8_t *ptr, uint8_t val)
{
	uint32_t *w = &host_words[lock_cpu_id()].w;
	uint32_t idle = HOST_W_IDLE;
	struct timespec ts = { .tv_sec = HOST_WAIT_TIMEOUT_SEC, .tv_nsec = 0 };

	/* SEQ_CST RMWs on w throughout: w's modification order is the proof. */
	if (__atomic_exchange_n(w, HOST_W_IDLE, __ATOMIC_SEQ_CST) == HOST_W_KICKED)
		return;
	if (__atomic_load_n(ptr, __ATOMIC_SEQ_CST) != val)
		return;
	if (!__atomic_compare_exchange_n(w, &idle, HOST_W_SLEEPING, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(w, HOST_W_IDLE, __ATOMIC_SEQ_CST);
		return;
	}
	__atomic_fetch_add(&host_sleeps, 1, __ATOMIC_RELAXED);
	if (host_futex(w, FUTEX_WAIT_PRIVATE, HOST_W_SLEEPING, &ts) < 0 &&
	    errno == ETIMEDOUT)
		__atomic_fetch_add(&host_timeouts, 1, __ATOMIC_RELAXED);
	/* Consume the kick (if any): the caller re-checks its condition. */
	__atomic_store_n(w, HOST_W_IDLE, __ATOMIC_SEQ_CST);
}

static void host_kick(unsigned int cpu)
{
	uint32_t *w = &host_words[cpu].w;

	if (__atomic_exchange_n(w, HOST_W_KICKED, __ATOMIC_SEQ_CST) ==
	    HOST_W_SLEEPING) {
		__atomic_fetch_add(&host_wakes, 1, __ATOMIC_RELAXED);
		host_futex(w, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
}

const struct pv_lock_ops host_pv_ops_futex = {
	.name = "futex",
	.wait = host_wait,
	.kick = host_kick,
};

uint64_t host_pv_timeouts(void)
{
	return __atomic_load_n(&host_timeouts, __ATOMIC_RELAXED);
}

uint64_t host_pv_sleeps(void)
{
	return __atomic_load_n(&host_sleeps, __ATOMIC_RELAXED);
}

uint64_t host_pv_wakes(void)
{
	return __atomic_load_n(&host_wakes, __ATOMIC_RELAXED);
}

void host_pv_stats_reset(void)
{
	__atomic_store_n(&host_timeouts, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&host_sleeps, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&host_wakes, 0, __ATOMIC_RELAXED);
}
