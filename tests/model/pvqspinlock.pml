/* SPDX-License-Identifier: MIT */
/* pvqspinlock.pml - Promela model of pvqspinlock's PV wait/kick/hash handshake. */

/*
 * Checked with Debian's spin (6.5): tests/model/run.sh, `make model`.
 *
 *   spin -a [-DNCPU=n] [-DROUNDS=n] [-DSPURIOUS=n] [-DADAPTIVE] [-DKVM_WAIT|-DIPI_WAIT|-DXEN_WAIT]
 *           [-DMUTANT_x] pvqspinlock.pml
 *   cc -O2 -DSAFETY -o pan pan.c && ./pan
 *
 * What is modelled (docs/locks.md, "Model check", says what is not):
 * NCPU vCPUs take one pvqspinlock ROUNDS times each, through the code of
 * lock/pvqspinlock.h (fast path, unlock), lock/qspinlock_slowpath.h (the
 * queue), lock/pvqspinlock_hooks.h (the PV hooks), lock/pvqspinlock.c
 * (the unlock slow path) and lock/pv_hash.c (the table).  Every comment
 * "C: f()" names the C function a step comes from.  One Promela statement
 * is one atomic access of the C code, except where `atomic`/`d_step` says
 * otherwise (a read-modify-write, or a step nobody else can observe).
 * Memory is sequentially consistent: the C code's barriers and
 * acquire/release orders are what make that assumption sound (see
 * docs/locks.md).
 *
 * Waiting (C: pv_lock_wait() -> ops->wait, kernel/pv_backend.c): the
 * condition is checked with interrupts off, then the vCPU halts until
 * kicked[] is set; a kick clears kicked[] as it wakes the vCPU.  A kick is
 * sticky: one sent before the halt ends it at once (KVM's PV_UNHALT, a
 * pending kick IPI).  Up to SPURIOUS waits in the whole run may return
 * without a kick instead.
 *
 * Spin loops: a spin that only re-reads memory is modelled as one read (a
 * run of failed reads changes nothing; only the last read matters), or as
 * a blocking guard "until the word changes".  Either way a spin that would
 * go on forever shows up as a vCPU that cannot move: pan's invalid end
 * state.  PV_SPIN_THRESHOLD is thereby any value >= 1.
 *
 * ADAPTIVE: pvqspinlock_adaptive (lock/pv_adaptive.h).  Its new
 * transitions are in q_queue_trylock(): the steal past a queue head that
 * has pending set and leaves the lock free (pv_head_stale()), and giving
 * up the spin for a steal to queue behind a holder that keeps the lock
 * (pv_holder_stale()).  Both are judgements of time, so the model makes
 * them either way at every look.  Its third judgement only chooses when a
 * queued waiter's spin ends (the predecessor's beat stood still), which
 * the model already leaves open: every spin here may end after any number
 * of reads.
 *
 * Checks:
 *   - mutual exclusion: assertion in critical_section;
 *   - no lost wakeup: when nothing can move, no vCPU is halted while the
 *     lock is free (watchdog), and every vCPU ran all its rounds (else pan
 *     reports an invalid end state);
 *   - an unlocker that sees Q_SLOW_VAL finds a hash entry for the lock
 *     (assertions in pvqspin_unlock, where the C code calls lock_bug());
 *   - never two hash entries for the lock (assertion in pv_hash);
 *   - at the end: lock word zero, hash table empty (watchdog).
 *
 * Mutants (each must make pan fail; tests/model/run.sh checks that):
 *   MUTANT_HALTED_AFTER_RECHECK  q_pv_wait_node() stores HALTED after its
 *                                re-check of node->locked, not before
 *   MUTANT_KICK_BEFORE_RELEASE   the unlock slow path kicks, then stores 0
 *   MUTANT_SLOW_BEFORE_HASH      the queue head sets Q_SLOW_VAL, then hashes
 *   MUTANT_HEAD_HALTED           the queue head waits with state HALTED, not
 *                                HASHED (Linux's double-hash race, fixed by
 *                                its commit 229ce6315747, v4.8)
 *   MUTANT_STEAL_STORE           a stealer takes the lock with a plain store
 *                                instead of a cmpxchg (mutual exclusion)
 *   MUTANT_NO_SPIN               pv_lock_spin_threshold() is 0: the spins
 *                                never read their condition (a livelock:
 *                                only the liveness check, pan -l -f, sees it)
 *   MUTANT_STALE_STEAL_STORE     (with ADAPTIVE) the steal past a stale head
 *                                is a plain store, not a cmpxchg: the head
 *                                takes the free lock at the same moment
 *   MUTANT_XEN_CLEAR_AFTER_CHECK (with XEN_WAIT) the pending bit is cleared
 *                                after the re-check, not before: a kick in
 *                                between is erased and the poll never ends
 *
 * Liveness: compiled with -DNP, `pan -l -f` finds no cycle at all under
 * weak fairness: with finite ROUNDS every fair run ends, so every vCPU
 * gets the lock ROUNDS times.
 * NO_WATCHDOG drops the watchdog's lost-wakeup assertion, to show that
 * pan's invalid end states catch the same deadlocks on their own.
 */

#ifndef NCPU
#define NCPU 3
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef SPURIOUS
#define SPURIOUS 1
#endif

/* C: qspinlock_word.h */
#define Q_LOCKED_VAL 1
#define Q_SLOW_VAL 3

/* C: qnode.h, enum pv_vcpu_state */
#define RUNNING 0
#define HALTED 1
#define HASHED 2

/* C: PV_HASH_ENTRIES; one entry per node is the most the C code allows. */
#define HASH_SLOTS NCPU

/* A node or tail reference: 0 is NULL, else the CPU number + 1 (nesting
 * index 0: one node per vCPU). */
#define NIL 0

/* struct qspinlock, one field per byte of the word. */
byte locked;
bit pending;
byte tail;

/* struct lock_qnode of each vCPU. */
bit node_locked[NCPU];
byte node_next[NCPU];
byte node_state[NCPU];

/* struct pv_hash_entry: hash_lock is he->lock (1: our lock, 0: NULL). */
bit hash_lock[HASH_SLOTS];
byte hash_node[HASH_SLOTS];

/* The hypervisor: a vCPU halted in ops->wait, and its sticky kick. */
bit halted[NCPU];
bit kicked[NCPU];
byte spurious = SPURIOUS;

/* Ghosts (only checks read them). */
byte in_cs;        /* vCPUs in the critical section */
byte hash_count;   /* hash entries for our lock */
byte done;         /* vCPUs that ran all their rounds */

/*
 * C: pv_lock_wait(ptr, val) -> ops->wait: return at once unless cond
 * (*ptr == val) holds, read with interrupts off; else halt until kicked.
 * Or, while the budget lasts, return without a kick (spurious wakeup).
 * Default: the pv_ops contract (one halt, like ipi_wait()).  KVM_WAIT:
 * kvm_wait(), which halts again while cond holds.  IPI_WAIT: ipi_wait(),
 * whose kick IPI is taken by the handler as soon as interrupts are on, so
 * a kick that came while the vCPU ran is gone by its next wait.
 * XEN_WAIT: xen_wait() (kernel/pv_xen.c): kicked[] is the vCPU's event
 * channel pending bit; the wait clears it, re-checks cond, then polls
 * (SCHEDOP_poll), which returns at once if the bit is set and leaves it
 * set.
 */
inline pv_wait(cond)
{
	if
	:: atomic { spurious > 0 -> spurious-- }
#ifdef XEN_WAIT
	:: true ->
#ifndef MUTANT_XEN_CLEAR_AFTER_CHECK
		kicked[me] = 0;			/* clear the pending bit */
#endif
		atomic { if :: cond -> halted[me] = 1 :: else fi }
#ifdef MUTANT_XEN_CLEAR_AFTER_CHECK
		kicked[me] = 0;			/* BUG: erases a kick sent after the check */
#endif
		if
		:: halted[me] -> atomic { kicked[me] -> halted[me] = 0 }	/* SCHEDOP_poll */
		:: else
		fi
#else
	:: true ->
#ifdef IPI_WAIT
		if
		:: kicked[me] -> kicked[me] = 0	/* handled while running */
		:: true
		fi;
#endif
		atomic { if :: cond -> halted[me] = 1 :: else fi }
		do
		:: halted[me] ->
			/* HLT: blocks until the kick; the kick is consumed. */
			atomic { kicked[me] -> kicked[me] = 0; halted[me] = 0 };
#ifdef KVM_WAIT
			atomic { if :: cond -> halted[me] = 1 :: else fi }
#else
			skip
#endif
		:: else -> break
		od
#endif
	fi
}

/* C: pv_lock_kick(cpu). */
inline pv_kick(cpu)
{
	kicked[cpu] = 1
}

/* C: pv_hash(): probe from the lock's slot, claim with cmpxchg, store node. */
inline pv_hash(cpu)
{
	he = 0;
	do
	:: atomic {
		if
		:: hash_lock[he] == 0 ->
			hash_lock[he] = 1;
			hash_count++;
			assert(hash_count == 1);	/* never two entries for one lock */
			ok = 1
		:: else -> ok = 0
		fi
	   }
	   if
	   :: ok -> break
	   :: else -> he = (he + 1) % HASH_SLOTS	/* C: pv_hash_next() */
	   fi
	od;
	hash_node[he] = cpu + 1;
	ok = 0
}

/* C: pv_hash_remove_entry(): release store of he->lock = NULL. */
inline pv_hash_remove_entry()
{
	atomic { hash_lock[he] = 0; hash_count-- }
}

/* C: pv_unhash() = pv_hash_find() + read he->node + pv_hash_remove_entry().
 * The probe is one step: there is only one lock, so no other lock's
 * entries can come and go under it.  Leaves the node's CPU + 1 in n. */
inline pv_unhash()
{
	d_step {
		he = 0;
		do
		:: he < HASH_SLOTS && hash_lock[he] -> break
		:: he < HASH_SLOTS && !hash_lock[he] -> he++
		:: else -> break
		od
	}
	/* C: pvqspin_unlock_slowpath(): "if (!node) lock_bug()". */
	assert(he < HASH_SLOTS);	/* Q_SLOW_VAL without a hash entry */
	n = hash_node[he];
	pv_hash_remove_entry()
}

/* C: q_pv_kick_node(lock, next): we own the lock, next is the new head. */
inline q_pv_kick_node(cpu)
{
	/* lock_smp_mb(); cmpxchg(next->state, HALTED -> HASHED) */
	atomic {
		if
		:: node_state[cpu] == HALTED -> node_state[cpu] = HASHED; ok = 1
		:: else -> ok = 0
		fi
	}
	if
	:: ok ->
		ok = 0;
		locked = Q_SLOW_VAL;	/* our own unlock will kick it */
		pv_hash(cpu)
	:: else
	fi
}

/*
 * C: q_queue_trylock() (the hybrid unfair trylock): leaves 1 in ok if we
 * stole the lock.
 */
inline q_queue_trylock()
{
	do
	:: atomic { vl = locked; vp = pending; vt = tail }	/* q_read() */
	   ok = 0;
	   if
	   :: vl == 0 && vp == 0 ->
#ifdef MUTANT_STEAL_STORE
		locked = Q_LOCKED_VAL; ok = 1
#else
		/* cmpxchg(lock->locked, 0 -> Q_LOCKED_VAL), ACQUIRE */
		atomic { if :: locked == 0 -> locked = Q_LOCKED_VAL; ok = 1 :: else fi }
#endif
#ifdef ADAPTIVE
	   :: vl == 0 && vp && vt != NIL ->
		/* pv_head_stale(): judged either way */
		if
		:: true ->
#ifdef MUTANT_STALE_STEAL_STORE
			locked = Q_LOCKED_VAL; ok = 1
#else
			/* cmpxchg(lock->locked, 0 -> Q_LOCKED_VAL), ACQUIRE */
			atomic { if :: locked == 0 -> locked = Q_LOCKED_VAL; ok = 1 :: else fi }
#endif
		:: true
		fi
#endif
	   :: else
	   fi;
	   if
	   :: ok -> break				/* stole it */
#ifdef ADAPTIVE
	   :: !ok && (vt == NIL || (vp && vl != 0)) -> break	/* the head spins on a held lock */
	   :: !ok && vt != NIL && !vp && vl != 0 ->
		/* pv_holder_stale(): judged either way; stale: queue */
		if
		:: break
		:: (locked != vl || pending != vp || tail != vt)
		fi
#else
	   :: !ok && (vt == NIL || vp) -> break	/* no queue, or the head spins */
#endif
	   :: else ->
		/* lock_cpu_relax(); q_read(): the same word, the same answer */
		(locked != vl || pending != vp || tail != vt)
	   fi
	od;
	vl = 0; vp = 0; vt = 0
}

/* C: q_pv_wait_node(node, prev): a queued waiter, not yet the head. */
inline q_pv_wait_node()
{
	do
	:: /* The spin (pv_lock_spin_threshold() >= 1 reads, pv_wait_early()
	    * may cut it short): only the last read counts. */
#ifndef MUTANT_NO_SPIN
	   if
	   :: node_locked[me] -> break
	   :: else
	   fi;
#endif
#ifdef MUTANT_HALTED_AFTER_RECHECK
	   /* BUG: re-check first, publish HALTED after it. */
	   if
	   :: !node_locked[me] ->
		node_state[me] = HALTED;
		pv_wait(node_state[me] == HALTED)
	   :: else
	   fi;
#else
	   node_state[me] = HALTED;	/* then lock_smp_mb() */
	   if
	   :: !node_locked[me] -> pv_wait(node_state[me] == HALTED)
	   :: else
	   fi;
#endif
	   /* cmpxchg(node->state, HALTED -> RUNNING): keeps HASHED */
	   atomic { if :: node_state[me] == HALTED -> node_state[me] = RUNNING :: else fi }
	od
}

/*
 * C: q_pv_wait_head_or_lock(lock, node): the queue head; returns owning
 * the lock, with the word (| Q_LOCKED_VAL) in vl, vp, vt.
 */
inline q_pv_wait_head_or_lock()
{
	hashed = (node_state[me] == HASHED);	/* q_pv_kick_node() hashed us */
	do
	:: node_state[me] = RUNNING;
	   pending = 1;				/* q_set_pending() */
	   /* The spin: q_trylock_clear_pending() tried once (see above). */
#ifndef MUTANT_NO_SPIN
	   if
	   :: locked == 0 ->
		/* cmpxchg(locked_pending, (1,0) -> (0,1)), ACQUIRE */
		atomic {
			if
			:: locked == 0 && pending == 1 ->
				locked = Q_LOCKED_VAL; pending = 0; ok = 1
			:: else -> ok = 0
			fi
		}
		if
		:: ok -> ok = 0; break		/* gotlock */
		:: else
		fi
	   :: else
	   fi;
#endif
	   pending = 0;				/* q_clear_pending() */
	   if
	   :: !hashed ->
#ifdef MUTANT_SLOW_BEFORE_HASH
		/* BUG: Q_SLOW_VAL is visible before the entry exists. */
		atomic { old = locked; locked = Q_SLOW_VAL }
		pv_hash(me);
#else
		pv_hash(me);
		/* xchg(lock->locked, Q_SLOW_VAL), ACQ_REL */
		atomic { old = locked; locked = Q_SLOW_VAL }
#endif
		hashed = 1;
		if
		:: old == 0 ->
			/* It was free: ours.  Undo the slow marking. */
			old = 0;
			locked = Q_LOCKED_VAL;
			pv_hash_remove_entry();
			break			/* gotlock */
		:: else -> old = 0
		fi
	   :: else
	   fi;
#ifdef MUTANT_HEAD_HALTED
	   node_state[me] = HALTED;	/* BUG: q_pv_kick_node() may hash us again */
#else
	   node_state[me] = HASHED;
#endif
	   pv_wait(locked == Q_SLOW_VAL)
	od;
	/* gotlock: return q_read(lock) | Q_LOCKED_VAL */
	atomic { vl = locked | Q_LOCKED_VAL; vp = pending; vt = tail };
	hashed = 0; he = 0
}

/* C: pvqspin_lock_slowpath() (qspinlock_slowpath.h with the PV hooks). */
inline pvqspin_lock_slowpath()
{
	/* q_pv_enabled(): no pending path, straight to the queue. */
	/* node->locked = 0; node->next = NULL; q_pv_init_node(): RUNNING.
	 * Nobody can see the node before q_xchg_tail(): one step. */
	d_step { node_locked[me] = 0; node_next[me] = NIL; node_state[me] = RUNNING }

	/* The owner may have left while we were getting the node ready. */
	q_queue_trylock();
	if
	:: ok -> ok = 0
	:: else ->
		atomic { prev = tail; tail = me + 1 }	/* q_xchg_tail() */
		if
		:: prev != NIL ->
			node_next[prev - 1] = me + 1;	/* prev->next = node, RELEASE */
			prev = NIL;
			q_pv_wait_node();
			node_locked[me];		/* while (!node->locked) */
			next = node_next[me]		/* optional peek */
		:: else
		fi;

		q_pv_wait_head_or_lock();

		/* (us,0,0) -> (0,0,1): cmpxchg of the whole word */
		atomic {
			if
			:: vt == me + 1 && locked == vl && pending == vp && tail == vt ->
				locked = Q_LOCKED_VAL; pending = 0; tail = NIL; ok = 1
			:: else -> ok = 0
			fi
		}
		vl = 0; vp = 0; vt = 0;
		if
		:: ok -> ok = 0
		:: else ->
			locked = Q_LOCKED_VAL;			/* q_set_locked() */
			if					/* wait for next to link */
			:: next == NIL -> atomic { node_next[me] != NIL -> next = node_next[me] }
			:: else
			fi;
			node_locked[next - 1] = 1;		/* next->locked, RELEASE */
			q_pv_kick_node(next - 1);
			next = NIL
		fi
	fi
}

/* C: pvqspin_lock(). */
inline pvqspin_lock()
{
	/* cmpxchg(lock->val, 0 -> Q_LOCKED_VAL), ACQUIRE */
	atomic {
		if
		:: locked == 0 && pending == 0 && tail == NIL -> locked = Q_LOCKED_VAL; ok = 1
		:: else -> ok = 0
		fi
	}
	if
	:: ok -> ok = 0
	:: else -> pvqspin_lock_slowpath()
	fi
}

/* C: pvqspin_unlock() and pvqspin_unlock_slowpath(). */
inline pvqspin_unlock()
{
	/* cmpxchg(lock->locked, Q_LOCKED_VAL -> 0), RELEASE */
	atomic { old = locked; if :: locked == Q_LOCKED_VAL -> locked = 0 :: else fi }
	if
	:: old != Q_LOCKED_VAL ->
		/* pvqspin_unlock_slowpath(): anything but Q_SLOW_VAL is lock_bug() */
		assert(old == Q_SLOW_VAL && locked == Q_SLOW_VAL);
		pv_unhash();
		assert(n != NIL);	/* the entry names a node */
#ifdef MUTANT_KICK_BEFORE_RELEASE
		pv_kick(n - 1);		/* BUG: the head may re-check and halt again */
		locked = 0;
#else
		locked = 0;		/* RELEASE */
		pv_kick(n - 1);
#endif
		n = NIL; he = 0
	:: else
	fi;
	old = 0
}

inline critical_section()
{
	in_cs++;
	assert(in_cs == 1);	/* mutual exclusion */
	in_cs--
}

proctype vcpu(byte me)
{
	byte round;
	bit ok, vp, hashed;
	byte vl, vt, old, prev, next, n, he;

	do
	:: round < ROUNDS ->
		pvqspin_lock();
		critical_section();
		pvqspin_unlock();
		round++
	:: else -> break
	od;
	done++
}

/*
 * Runs only when nothing else can move (timeout): at the end of a run, or
 * in a deadlock.  A vCPU halted on a free lock is a lost wakeup.  Any other
 * deadlock leaves vCPUs outside their end state: pan's invalid end state.
 */
active proctype watchdog()
{
	byte i;

	timeout;
	do
#ifndef NO_WATCHDOG
	:: i < NCPU -> assert(!(halted[i] && locked == 0)); i++	/* lost wakeup */
#else
	:: i < NCPU -> i++
#endif
	:: else -> break
	od;
	if
	:: done == NCPU ->
		assert(locked == 0 && pending == 0 && tail == NIL);
		assert(hash_count == 0)		/* no stale entry */
	:: else
	fi
}

init
{
	byte i;

	atomic {
		do
		:: i < NCPU -> run vcpu(i); i++
		:: else -> break
		od
	}
}
