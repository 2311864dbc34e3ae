/* SPDX-License-Identifier: MIT */
/*
 * mcs.c - classic MCS queue lock (Mellor-Crummey & Scott).
 *
 * The lock is a pointer to the tail of a queue of per-CPU nodes; each waiter
 * spins on its own node's `locked` flag and the owner hands over by setting
 * its successor's flag.  Since the generic lock API passes no node, the
 * library owns MCS_LOCK_NODES nodes per CPU, and the holder records its
 * node in the lock (`holder`) so unlock finds it even if the CPU holds
 * several MCS locks and releases them in any order.
 *
 * Node allocation is interrupt safe without atomics: a CPU looks for a node
 * whose `busy` flag is clear and sets it.  An interrupt on this CPU in
 * between may pick the same node, but it releases every lock it takes
 * before returning, so the node is free again when we resume.
 */
#include "lock.h"
#include "lock_percpu_carve.h"
#include "mcs.h"

struct mcs_node {
	struct mcs_node *next; /* successor, written by the successor */
	uint32_t locked;       /* set to MCS_HANDOFF by the predecessor */
	uint32_t busy;         /* node in use by this CPU */
} LOCK_CACHE_ALIGNED;

#define MCS_HANDOFF 1U

_Static_assert(sizeof(struct mcs_node) == LOCK_CACHELINE_SIZE,
	       "one MCS node per cache line");

struct mcs_lock {
	struct mcs_node *tail;   /* NULL when free */
	struct mcs_node *holder; /* node of the current owner (owner-only) */
};

/*
 * Every CPU's nodes: mcs_nodes[cpu][i], carved by lock_percpu_place() (CPU
 * 0's static slice until then).  Read once per acquisition, here: placement
 * happens only while no lock is in use (lock_percpu.h), and from here on the
 * node pointer is all the lock needs.
 */
static struct mcs_node mcs_nodes_one_cpu[1][MCS_LOCK_NODES];
static struct mcs_node (*mcs_nodes)[MCS_LOCK_NODES] = mcs_nodes_one_cpu;

size_t mcs_nodes_carve(void *mem, unsigned int nr_cpus)
{
	if (mem)
		mcs_nodes = mem;
	return lock_percpu_bytes(nr_cpus, sizeof(mcs_nodes[0]));
}

static struct mcs_node *mcs_node_get(void)
{
	struct mcs_node *n = mcs_nodes[lock_cpu_id()];

	for (unsigned int i = 0; i < MCS_LOCK_NODES; i++, n++) {
		/* Relaxed: only this CPU (or its interrupts) touch `busy`. */
		if (__atomic_load_n(&n->busy, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&n->busy, 1, __ATOMIC_RELAXED);
		/*
		 * Compiler barrier: `busy` must be in memory before we touch
		 * the node, so an interrupt arriving now skips it.
		 */
		lock_compiler_barrier();
		return n;
	}
	/* More than MCS_LOCK_NODES MCS locks held at once: a caller bug. */
	lock_bug();
}

static void mcs_node_put(struct mcs_node *n)
{
	/* Compiler barrier: finish with the node before marking it free. */
	lock_compiler_barrier();
	__atomic_store_n(&n->busy, 0, __ATOMIC_RELAXED);
}

static void mcs_init(struct mcs_lock *m)
{
	__atomic_store_n(&m->tail, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&m->holder, NULL, __ATOMIC_RELAXED);
}

static void mcs_lock(struct mcs_lock *m)
{
	struct mcs_node *n = mcs_node_get(), *prev;

	__atomic_store_n(&n->next, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&n->locked, 0, __ATOMIC_RELAXED);
	/*
	 * ACQ_REL exchange: RELEASE publishes the node initialisation above to
	 * the successor that reads our node from `tail`; ACQUIRE makes the
	 * acquisition (when prev == NULL) and orders our write to prev->next
	 * after prev's own initialisation.
	 */
	prev = __atomic_exchange_n(&m->tail, n, __ATOMIC_ACQ_REL);
	if (prev) {
		/* RELEASE: prev must see our initialised node through `next`. */
		__atomic_store_n(&prev->next, n, __ATOMIC_RELEASE);
		/* ACQUIRE: pairs with the predecessor's RELEASE handoff. */
		while (!__atomic_load_n(&n->locked, __ATOMIC_ACQUIRE))
			lock_cpu_relax();
	}
	/* Relaxed: read back only by ourselves in unlock, under the lock. */
	__atomic_store_n(&m->holder, n, __ATOMIC_RELAXED);
}

static bool mcs_trylock(struct mcs_lock *m)
{
	struct mcs_node *n, *expected = NULL;

	if (__atomic_load_n(&m->tail, __ATOMIC_RELAXED))
		return false;
	n = mcs_node_get();
	__atomic_store_n(&n->next, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&n->locked, 0, __ATOMIC_RELAXED);
	/* ACQ_REL: as the exchange in mcs_lock(), for the empty-queue case. */
	if (!__atomic_compare_exchange_n(&m->tail, &expected, n, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		mcs_node_put(n);
		return false;
	}
	__atomic_store_n(&m->holder, n, __ATOMIC_RELAXED);
	return true;
}

static void mcs_unlock(struct mcs_lock *m)
{
	struct mcs_node *n = __atomic_load_n(&m->holder, __ATOMIC_RELAXED);
	/* ACQUIRE: the successor's node initialisation is visible to us. */
	struct mcs_node *next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE);

	if (!next) {
		struct mcs_node *expected = n;

		/* RELEASE: no successor; the next locker's ACQ_REL xchg pairs. */
		if (__atomic_compare_exchange_n(&m->tail, &expected, NULL, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
			mcs_node_put(n);
			return;
		}
		/* A successor swapped the tail but has not linked itself yet. */
		while (!(next = __atomic_load_n(&n->next, __ATOMIC_ACQUIRE)))
			lock_cpu_relax();
	}
	/* RELEASE: hand the critical section to the successor's ACQUIRE spin. */
	__atomic_store_n(&next->locked, MCS_HANDOFF, __ATOMIC_RELEASE);
	mcs_node_put(n);
}

static bool mcs_is_locked(struct mcs_lock *m)
{
	return __atomic_load_n(&m->tail, __ATOMIC_RELAXED) != NULL;
}

static struct mcs_node_ref node_ref(const struct mcs_node *n)
{
	struct mcs_node_ref r = { false, 0, 0 };
	const struct mcs_node *first = &mcs_nodes[0][0];
	if (n < first || n >= first + (size_t)lock_percpu_nr() * MCS_LOCK_NODES)
		return r;
	size_t k = (size_t)(n - first);
	r.valid = true;
	r.cpu = (unsigned int)(k / MCS_LOCK_NODES);
	r.idx = (unsigned int)(k % MCS_LOCK_NODES);
	return r;
}

void mcs_node_view(unsigned int cpu, unsigned int idx, struct mcs_node_view *v)
{
	const struct mcs_node *n;

	if (cpu >= lock_percpu_nr() || idx >= MCS_LOCK_NODES) {
		v->busy = false;
		v->locked = 0;
		v->next = node_ref(NULL);
		return;
	}
	n = &mcs_nodes[cpu][idx];
	/* Relaxed: a report's snapshot, taken while the other CPUs stand still. */
	v->busy = __atomic_load_n(&n->busy, __ATOMIC_RELAXED) != 0;
	v->locked = __atomic_load_n(&n->locked, __ATOMIC_RELAXED);
	v->next = node_ref(__atomic_load_n(&n->next, __ATOMIC_RELAXED));
}

struct mcs_node_ref mcs_tail_ref(const void *l)
{
	return node_ref(__atomic_load_n(&((const struct mcs_lock *)l)->tail, __ATOMIC_RELAXED));
}

struct mcs_node_ref mcs_holder_ref(const void *l)
{
	return node_ref(__atomic_load_n(&((const struct mcs_lock *)l)->holder, __ATOMIC_RELAXED));
}

LOCK_TYPE_DEFINE(mcs, struct mcs_lock, mcs);
