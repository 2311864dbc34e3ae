# SPDX-License-Identifier: MIT
# Lock torture and PV tests in the guest (sourced by tests/run.sh).

# check_whole_report NCPUS: $log holds the lockup header, then exactly one
# "# LOCKUP: cpu N" line per CPU in order with no other line among them, and
# ends with the not-ok line and EXIT: STATUS=4.
check_whole_report() {
	local why
	why=$(tr -d '\r' <"$log" | awk -v n="$1" '
		/^# LOCKUP: CPU [0-9]+ made no progress/ { if (hdr) bad = "two reports"; hdr = NR; next }
		hdr && !done {
			if ($0 ~ "^# LOCKUP: cpu " (next_cpu + 0) " ") { next_cpu++; if (next_cpu == n) done = 1; next }
			if (!bad) bad = "line " NR " inside the report: " substr($0, 1, 60)
		}
		/^# LOCKUP: cpu [0-9]+ stopped at: / { stops++ }
		{ last2 = last1; last1 = $0 }
		END {
			if (!hdr) bad = "no lockup report"
			else if (!done && !bad) bad = "report stops after cpu " next_cpu - 1
			if (!bad && stops != n) bad = stops + 0 " \"stopped at\" lines for " n " CPUs"
			if (!bad && last2 !~ /^not ok 1 (hang|starve) # lockup/) bad = "no not-ok line before EXIT"
			if (!bad && last1 != "EXIT: STATUS=4") bad = "last line is not EXIT: STATUS=4"
			print bad
		}')
	[ -z "$why" ] || { fail "$why (log: $log)"; return 1; }
}

# torture_case LOGNAME "description" [ktap_check options] -- [run-qemu args] -- guest args
# Passes when the run exits 0 with no violation and no lost update, plus
# whatever extra ktap_check expectations come before the first --.
torture_case() {
	local logname=$1 desc=$2 extra=()
	shift 2
	while [ "$1" != -- ]; do extra+=("$1"); shift; done
	shift
	case_begin "$desc"
	run_guest "$logname" "$@"
	expect_status 0 || return
	expect_ktap --expect torture.violations=0 --expect torture.lost_updates=0 \
		--expect torture.acquisitions='>0' "${extra[@]}" || return
	pass
}

# pv_case LOGNAME "description" [ktap_check options --] run-qemu args -- guest args
# A torture_case whose pvqspinlock run must have halted and kicked.
pv_case() {
	local logname=$1 desc=$2 extra=()
	shift 2
	if [ "${1-}" = --expect ]; then
		while [ "$1" != -- ]; do extra+=("$1"); shift; done
		shift
	fi
	torture_case "$logname" "$desc" --expect torture.pv.halts='>0' \
		--expect torture.pv.kicks_sent='>0' "${extra[@]}" -- "$@"
}

test_locks() {
	local n
	for n in 2 4 8; do
		torture_case "torture-$n" "torture every lock, $n vCPUs" --expect torture.shape=default \
			-- --smp "$n" -- test=torture lock=all duration_ms=200
	done
	torture_case torture-64 "torture every lock, 64 vCPUs" -- --smp 64 --timeout 300 \
		-- test=torture lock=all duration_ms=100 watchdog_ms=60000
	# Random nesting: the tick (level 1) and three levels of IPIs take
	# their own locks while the context below waits. Node 2 is used tens to
	# hundreds of times per run at 64 vCPUs, nodes 3-4 less (measured).
	torture_case torture-nesting "qspinlock family with four interrupt levels taking locks, 64 vCPUs" \
		-- --smp 64 --timeout 300 -- test=torture lock=qspinlock,pvqspinlock duration_ms=300 \
		watchdog_ms=60000 irq_lock=4 pv_spin_threshold=64
	# Node 3 needs three interrupt levels to pile up on one CPU: on a loaded
	# host a 300 ms run sometimes has none, so up to two more runs (other
	# seeds) may add theirs before the case fails.
	case_begin "random nesting happened: MCS nodes 2 and 3 used by locks taken in IRQ context"
	local logs=("$LOG_DIR/torture-nesting.log") used extra n2 n3 n4 nn
	for extra in 2 3 ''; do
		used=$(PYTHONPATH=$TESTS_TOP/tools python3 -c 'import pvlog, sys
r = [j for f in sys.argv[1:] for run in pvlog.parse(pvlog.read_log(f)) for j in run.json]
ev = lambda k: sum(x.get("events", {}).get(k, 0) for x in r)
print(ev("lock_use_node2"), ev("lock_use_node3"), ev("lock_use_node4"), ev("lock_no_node"))' "${logs[@]}" 2>/dev/null)
		read -r n2 n3 n4 nn <<<"$used"
		{ [ "${n2:-0}" -gt 0 ] && [ "${n3:-0}" -gt 0 ]; } || [ -z "$extra" ] && break
		run_guest "torture-nesting-seed$extra" --smp 64 --timeout 300 -- test=torture \
			lock=qspinlock,pvqspinlock duration_ms=300 watchdog_ms=60000 irq_lock=4 \
			pv_spin_threshold=64 seed="$extra"
		[ "$status" = 0 ] || break
		logs+=("$log")
	done
	if [ "${n2:-0}" -gt 0 ] && [ "${n3:-0}" -gt 0 ]; then
		pass
		echo "#   node2 $n2, node3 $n3, node4 ${n4:-0}, no_node ${nn:-0} in ${#logs[@]} run(s) (${logs[*]})"
	else
		fail "node2 ${n2:-none} node3 ${n3:-none} in ${#logs[@]} run(s), last status ${status:-?} (${logs[*]})"
	fi

	case_begin "test=nesting: one CPU queued on five locks (thread + 4 IRQ levels): nodes 2, 3, 4 and the no-node fallback, each exactly once"
	run_guest nesting --smp 8 -- test=nesting
	expect_status 0 && expect_ktap --result nesting:qspinlock=ok --result nesting:pvqspinlock=ok \
		--expect nesting.lock_use_node2=1 --expect nesting.lock_use_node3=1 \
		--expect nesting.lock_use_node4=1 --expect nesting.lock_no_node=1 && pass

	torture_case torture-8-pin0 "torture every lock, 8 vCPUs on 1 host CPU (holders preempted)" \
		-- --smp 8 --pin 0 -- test=torture lock=all duration_ms=200

	case_begin "lock=broken is caught (the torture can fail)"
	# think_ns=0 keeps every CPU spinning on the word, so each release is a
	# race: 100 ms with the default think time once passed on a loaded host.
	run_guest torture-broken --smp 4 -- test=torture lock=broken duration_ms=300 think_ns=0
	expect_status 1 && expect_grep '^not ok 1 torture:broken # violations=[0-9]+ lost_updates=[0-9]+' && pass

	case_begin "lock=nosuch: status 2, names the locks"
	run_guest torture-badlock --smp 2 -- test=torture lock=nosuch
	expect_status 2 && expect_grep "bad option 'lock=nosuch'.*accepted: a comma-separated list of tas\|ttas" && pass

	case_begin "pv_spin_threshold=0: status 2 (the minimum is 1)"
	run_guest pv-threshold-zero --smp 2 -- test=torture lock=pvqspinlock pv_spin_threshold=0
	expect_status 2 && expect_grep "bad option 'pv_spin_threshold=0': out of range; accepted: an integer 1\.\." && pass

	case_begin "pv=kvm without KVM's PV_UNHALT (TCG): status 2, names what CPUID said"
	run_guest pv-kvm-no-unhalt --smp 8 --pin 0 -- test=bench lock=pvqspinlock pv=kvm
	expect_status 2 && expect_grep "^not ok 1 cmdline # bad option 'pv=kvm': .*CPUID 0x40000000 signature \"TCGTCGTCGTCG\".*0x40000001 EAX=0x00000000.*PV_UNHALT" && pass

	for n in 2 8 32; do
		pv_case "pv-ipi-$n" "pvqspinlock, ipi backend, $n vCPUs: halts and kicks, no violation" \
			--smp "$n" -- test=torture lock=pvqspinlock pv=ipi duration_ms=300 pv_spin_threshold=64
	done
	pv_case pv-ipi-8-pin0 "pvqspinlock, ipi backend, 8 vCPUs on 1 host CPU" \
		--smp 8 --pin 0 -- test=torture lock=pvqspinlock pv=ipi duration_ms=300 pv_spin_threshold=64

	pv_case pv-ipi-spurious "pvqspinlock, ipi backend, 8 vCPUs: spurious wakeups (20%) and 50 us late kicks injected" \
		--expect torture.inject.spurious_wakes='>0' --expect torture.inject.delayed_kicks='>0' \
		-- --smp 8 -- test=torture lock=pvqspinlock pv=ipi duration_ms=300 pv_spin_threshold=64 \
		inject=spurious_wake:200000,kick_delay_us:50

	# irq_lock=0: a waiter inside the tick handler has the tick in service,
	# so no tick can recover its dropped kick (a lockup, seen in testing);
	# thread-context waiters halt with the tick enabled.
	pv_case pv-ipi-drop "pvqspinlock, ipi backend, 8 vCPUs: 20% of kicks dropped, every one recovered by another interrupt" \
		--expect torture.inject.dropped_kicks='>0' --expect torture.inject.slept_max_ns='>0' \
		-- --smp 8 -- test=torture lock=pvqspinlock pv=ipi duration_ms=300 pv_spin_threshold=64 \
		inject=drop_kick:200000 irq_lock=0
	if [ "$status" = 0 ]; then
		# The run ending at all shows no waiter was left asleep; two drops to
		# one waiter before it wakes count as one recovery.
		case_begin "ipi drop_kick: dropped kicks were recovered, sleep time measured"
		PYTHONPATH=$TESTS_TOP/tools python3 - "$log" <<'PY' && pass || fail "no recovery measured (log: $log)"
import pvlog, sys
r = pvlog.parse(pvlog.read_log(sys.argv[1]))[0].json[0]['inject']
print(f"dropped {r['dropped_kicks']}, recovered {r['recovered']}, slept mean {r['slept_mean_ns']} ns, max {r['slept_max_ns']} ns")
sys.exit(0 if 0 < r['recovered'] <= r['dropped_kicks'] and r['slept_max_ns'] > 0 else 1)
PY
	fi

	case_begin "inject=bogus:1: status 2, names the faults"
	run_guest inject-bad --smp 2 -- test=torture inject=bogus:1
	expect_status 2 && expect_grep "bad option 'inject=bogus:1'.*spurious_wake:PPM" && pass

	case_begin "test=hang: every CPU halted with interrupts off, the NMI watchdog reports where each CPU was, status 4"
	run_guest hang --smp 4 --timeout 60 -- test=hang watchdog_ms=500
	expect_status 4 && expect_grep '^# LOCKUP: CPU [0-9]+ made no progress .* seen by the NMI watchdog' &&
		expect_grep '^not ok 1 hang # lockup' && check_whole_report 4 &&
		expect_grep '^# LOCKUP: cpu [0-9] stopped at: reporting' &&
		expect_grep '^# LOCKUP: cpu [0-9] stopped at: 0x[0-9a-f]{16} from 0x[0-9a-f]{16}' &&
		if grep -Eq '^  3 CPU\(s\) at 0x[0-9a-f]+ in hlt .* < [a-z_]+' "$log.err"; then pass
		else fail "run-qemu.sh did not name where the 3 stopped CPUs were: $(grep -A2 'where the watchdog' "$log.err" | tr '\n' ' ')"; fi

	case_begin "test=starve: one CPU halts while the others go on: reported as starved, status 4"
	run_guest starve --smp 4 --timeout 60 -- test=starve watchdog_ms=500
	expect_status 4 &&
		expect_grep '^# LOCKUP: CPU 3 made no progress for [0-9]+ ms \(watchdog_ms=500\) while the others made [0-9]+ steps \(starved: over 4 per CPU\)' &&
		expect_grep '^not ok 1 starve # lockup' && check_whole_report 4 && pass

	# A waiter behind 7 holds of 50 ms waits 350 ms, longer than the
	# watchdog's 200 ms, but the queue moves: no lockup. Before the watchdog
	# weighed the others' progress this ended in status 4. No long holds
	# (long_hold=0): one of up to 1 s stops every CPU's progress, a lockup
	# by the watchdog's rule (CI, 2026-11-27: a 462 ms mcs hold).
	case_begin "a slow fair queue is no lockup: 8 vCPUs, 50 ms holds, watchdog_ms=200, status 0"
	run_guest slow-queue --smp 8 --timeout 120 -- test=torture lock=ticket,mcs,qspinlock,pvqspinlock \
		hold_ns=50000000 long_hold=0 think_ns=0 duration_ms=1500 irq_lock=0 watchdog_ms=200
	expect_status 0 && expect_ktap --expect torture.violations=0 && pass

	# The lockup report while every other CPU prints without pause: the
	# exiting CPU stops them first, so the report comes out whole (one line
	# per CPU, nothing in between) and its verdict follows. Before that fix a
	# CPU stopped holding the console lock cut the report after one line.
	for n in 64 255; do
		case_begin "test=hang verbose=2 at $n vCPUs: the whole report, then not ok and EXIT: STATUS=4"
		run_guest hang-noisy-$n --smp "$n" --timeout 120 -- test=hang watchdog_ms=500 verbose=2
		expect_status 4 && check_whole_report "$n" && pass
	done

	case_begin "pvswitch: a pvqspinlock held across the switch to the ipi backend"
	run_guest pvswitch-ipi --smp 2 -- test=pvswitch pv=ipi
	expect_status 0 && expect_ktap --result pvswitch=ok --expect pvswitch.pv_backend=ipi && pass

	case_begin "pvwait, ipi: interrupts off spins, NMI returns at once, a halted waiter answers IPIs"
	run_guest pvwait-ipi --smp 2 -- test=pvwait pv=ipi
	expect_status 0 && expect_ktap --result pvwait:irqs_off=ok --result pvwait:nmi=ok \
		--result pvwait:halted_ipi=ok --expect pvwait.nmi.nmi_waits=1 \
		--expect pvwait.irqs_off.irqoff_waits=1 && pass

	case_begin "pv=off: native behaviour, no halts"
	run_guest pv-off --smp 4 -- test=torture lock=pvqspinlock pv=off duration_ms=200
	expect_status 0 && expect_ktap --expect torture.pv.halts=0 --expect torture.pv_backend=off && pass

	if [ -n "${PVSPIN_SKIP_NESTED-}" ]; then
		case_begin "pvqspinlock, kvm backend under nested KVM"
		skip "PVSPIN_SKIP_NESTED is set"
	else
		# One L1 boot for all the real-KVM cases.
		local batch=$LOG_DIR/pv-kvm.batch
		cat > "$batch" <<'BATCH'
--smp 2 -- test=torture lock=pvqspinlock pv=kvm duration_ms=300 pv_spin_threshold=64
--smp 8 -- test=torture lock=pvqspinlock pv=kvm duration_ms=300 pv_spin_threshold=64
--smp 8 --pin 0 -- test=torture lock=pvqspinlock pv=kvm duration_ms=300 pv_spin_threshold=64
--smp 2 --qemu -cpu --qemu host,kvm-hint-dedicated=on -- test=torture lock=pvqspinlock duration_ms=200
--smp 2 -- test=pvswitch pv=kvm
--smp 8 -- test=torture lock=pvqspinlock pv=kvm inject=spurious_wake:200000,kick_delay_us:50 duration_ms=300 pv_spin_threshold=64
--smp 8 --pin 0 -- test=torture lock=pvqspinlock pv=ipi duration_ms=300 pv_spin_threshold=64
--smp 4 --timeout 60 -- test=hang watchdog_ms=500
--smp 4 -- test=torture lock=pvqspinlock pv=kvm inject=drop_kick:100000 duration_ms=2000 pv_spin_threshold=64 irq_lock=0
BATCH
		case_begin "under nested KVM: kvm backend at 2, 8, 8 pinned; REALTIME hint; pvswitch; steal time; spurious+late kicks; ipi with SCHED_YIELD; NMI watchdog; dropped kicks recovered by the next interrupt"
		run_guest pv-kvm-nested --accel nested --timeout 120 --batch "$batch"
		# Run 8 (hang) must end in status 4, the others pass. Every branch
		# ends the case: a case that prints nothing is a hole in the count.
		if ! expect_status 4; then
			:   # expect_status has failed the case
		elif [ "$(grep -c '^run-qemu.sh: nested run [0-9]* of 9: status' "$log.err")" != 1 ] ||
		     ! grep -q '^run-qemu.sh: nested run 8 of 9: status 4' "$log.err"; then
			fail "expected run 8 (hang) alone to end in status 4 (log: $log; $(grep '^run-qemu.sh: nested run' "$log.err" | tr '\n' ' '))"
		else
			local part ok=1
			PYTHONPATH=$TESTS_TOP/tools python3 - "$log" <<'PY' || ok=0
import re, sys
import pvlog
parsed = [r for r in pvlog.parse(pvlog.read_log(sys.argv[1])) if r.l1 is not None]
runs = [r.json for r in parsed]
lockups = ['\n'.join(r.lockup or []) for r in parsed]
bad = []
if len(parsed) == 9:
    if 'seen by the NMI watchdog' not in lockups[7] or parsed[7].exit_status != 4:
        bad.append('run 8 (hang): no NMI watchdog report')
    # A kvm wait entered with interrupts on halts with sti;hlt (like
    # Linux's safe_halt), so the next interrupt ends a wait whose kick was
    # dropped and the waiter re-checks its byte (docs/pv.md).
    t = [j for j in runs[8] if j.get('test') == 'torture']
    inj = t[0].get('inject', {}) if t else {}
    if parsed[8].exit_status != 0 or not t or t[0]['violations'] or t[0]['lost_updates'] \
       or not inj.get('dropped_kicks') or not inj.get('recovered'):
        bad.append(f'run 9 (drop_kick under pv=kvm): dropped kicks not recovered: {inj}')
if len(runs) != 9: bad.append(f'{len(runs)} runs, expected 9')
for i, r in enumerate(runs[:3]):
    t = [j for j in r if j.get('test') == 'torture']
    if not t or t[0]['violations'] or t[0]['lost_updates'] or t[0]['pv']['halts'] == 0 \
       or t[0]['pv']['kicks_sent'] == 0 or t[0]['pv']['hypercalls'] == 0 or t[0]['pv_backend'] != 'kvm':
        bad.append(f'run {i+1}: {t}')
if len(runs) >= 3:
    t = [j for j in runs[2] if j.get('test') == 'torture']
    if not t or not t[0].get('steal_ns'):
        bad.append(f'pinned run: no steal time reported: {t}')
if len(runs) == 9:
    t = [j for j in runs[5] if j.get('test') == 'torture']
    # 20% of waits wake spuriously: with 10 or more waits, none is a bug
    # (on a loaded host a run may have only a handful of waits).
    inj = t[0]['inject'] if t else {}
    waits = (t[0]['pv']['halts'] + inj.get('spurious_wakes', 0)) if t else 0
    if not t or t[0]['violations'] or t[0]['lost_updates'] or t[0]['pv_backend'] != 'kvm' \
       or (waits >= 10 and not inj['spurious_wakes']) or not inj['delayed_kicks']:
        bad.append(f'kvm + spurious/late kicks: {waits} waits, inject {inj}')
    t = [j for j in runs[6] if j.get('test') == 'torture']
    if not t or t[0]['violations'] or t[0]['pv_backend'] != 'ipi' or not t[0]['pv']['sched_yields']:
        bad.append(f'ipi pinned, KVM_HC_SCHED_YIELD to preempted wakees: {t}')
    t = [j for j in runs[3] if j.get('test') == 'torture']
    if not t or t[0]['pv_backend'] != 'off' or t[0]['pv']['halts']:
        bad.append(f'REALTIME run: {t}')
    s = [j for j in runs[4] if j.get('test') == 'pvswitch']
    if not s or s[0]['pv_backend'] != 'kvm' or not s[0]['trylock_after'] or not s[0]['free_after_unlock']:
        bad.append(f'pvswitch run: {s}')
for b in bad: print(b[:300], file=sys.stderr)
sys.exit(1 if bad else 0)
PY
			[ $ok = 1 ] && pass || fail "kvm backend results wrong (log: $log)"
		fi
	fi

	case_begin "pvwait, kvm under nested KVM: NMI returns at once, IF=0 halts stay IF=0, a halted waiter answers IPIs"
	if [ -n "${PVSPIN_SKIP_NESTED-}" ]; then
		skip "PVSPIN_SKIP_NESTED is set"
	else
		run_guest pvwait-kvm-nested --accel nested --timeout 300 --smp 2 -- test=pvwait pv=kvm
		expect_status 0 && expect_ktap --result pvwait:irqs_off=ok --result pvwait:nmi=ok \
			--result pvwait:halted_ipi=ok --expect pvwait.pv_backend=kvm \
			--expect pvwait.nmi.nmi_waits=1 --expect pvwait.irqs_off.irqoff_waits=0 && pass
	fi

	test_hyperv
	test_torture_shape
	case_begin "pv=kvm on a KVM whose hypercalls never return: watchdog report, status 4"
	if ! kvm_opens; then
		skip "no usable /dev/kvm"
	elif hardware_kvm; then
		skip "hardware KVM here returns from hypercalls"
	else
		run_guest pv-kvm-emulated --accel kvm --smp 2 --timeout 200 -- test=torture lock=pvqspinlock pv=kvm duration_ms=2000 pv_spin_threshold=16 watchdog_ms=1000
		expect_status 4 && expect_grep 'KVM_HC_KICK_CPU did not return' && expect_grep '^# LOCKUP: lock pvqspinlock' && pass
	fi
}

# The hyperv backend (docs/pv.md "Hyper-V"): bad input under TCG, then one L1
# boot under nested KVM for every real-Hyper-V case.
test_hyperv() {
	case_begin "pv=hyperv without Hyper-V (TCG): status 2, names what CPUID said"
	run_guest pv-hyperv-tcg --smp 2 -- test=torture lock=pvqspinlock pv=hyperv
	expect_status 2 && expect_grep "^not ok 1 cmdline # bad option 'pv=hyperv': CPUID 0x40000000 signature \"TCGTCGTCGTCG\" .*not Hyper-V" && pass

	case_begin "run-qemu.sh --hyperv --accel tcg: status 2 with the reason"
	run_guest hyperv-tcg --hyperv --accel tcg --smp 2
	expect_status 2 && expect_grep "^run-qemu.sh: --hyperv with --accel tcg: .*TCG does not offer them" && pass

	case_begin "under nested KVM with --hyperv: pv=hyperv torture (both hypercalls, no errors), with spurious+late kicks, pvwait; pv=auto: kvm with both offered, hyperv without KVM's leaves, kvm without --hyperv"
	if [ -n "${PVSPIN_SKIP_NESTED-}" ]; then
		skip "PVSPIN_SKIP_NESTED is set"
		return
	fi
	# pv_spin_threshold=16384 > hv-spinlocks=0x1fff: a waiter spins past
	# the recommended count (HvCallNotifyLongSpinWait) before it halts.
	local batch=$LOG_DIR/pv-hyperv.batch
	cat > "$batch" <<'BATCH'
--hyperv --smp 8 -- test=torture lock=pvqspinlock pv=hyperv duration_ms=300 pv_spin_threshold=16384
--hyperv --smp 8 -- test=torture lock=pvqspinlock pv=hyperv inject=spurious_wake:200000,kick_delay_us:50 duration_ms=300 pv_spin_threshold=16384
--hyperv --smp 2 -- test=pvwait pv=hyperv
--hyperv --smp 2 -- test=pvswitch
--hyperv --cpu host,kvm=off --smp 2 -- test=pvswitch
--smp 2 -- test=pvswitch
BATCH
	run_guest pv-hyperv-nested --accel nested --timeout 120 --batch "$batch"
	expect_status 0 || return
	python3 - "$log" <<'PY' && pass || fail "hyperv results wrong (log: $log)"
import json, sys
runs, texts = [], []
for line in open(sys.argv[1], errors='replace'):
    if line.startswith('# l1: '):
        runs.append([]); texts.append('')
    elif runs:
        texts[-1] += line
        if line.startswith('# result: '):
            runs[-1].append(json.loads(line[10:]))
bad = []
def first(i, test):
    r = [j for j in runs[i] if j.get('test') == test] if i < len(runs) else []
    return r[0] if r else {}
if len(runs) != 6:
    bad.append(f'{len(runs)} runs, expected 6')
for i in (0, 1):
    t = first(i, 'torture'); pv = t.get('pv', {})
    if t.get('pv_backend') != 'hyperv' or t.get('violations') != 0 or t.get('lost_updates') != 0 \
       or not pv.get('halts') or not pv.get('hv_send_ipi') or not pv.get('hv_long_spin_wait') \
       or pv.get('hv_hypercall_errors') != 0:
        bad.append(f'run {i + 1}: backend {t.get("pv_backend")}, violations {t.get("violations")}, pv {pv}')
inj = first(1, 'torture').get('inject', {})
if not inj.get('spurious_wakes') or not inj.get('delayed_kicks'):
    bad.append(f'run 2: nothing injected: {inj}')
w = first(2, 'pvwait')
if w.get('pv_backend') != 'hyperv' or w.get('nmi', {}).get('nmi_waits') != 1 \
   or w.get('irqs_off', {}).get('irqoff_waits') != 1 or not w.get('halted_ipi', {}).get('answered'):
    bad.append(f'run 3 (pvwait): {w}')
for i, want, offer in ((3, 'kvm', 'Hyper-V at 0x40000000, KVM at 0x40000100 with PV_UNHALT'),
                       (4, 'hyperv', 'offered: Hyper-V at 0x40000000)'),
                       (5, 'kvm', 'offered: KVM at 0x40000000 with PV_UNHALT')):
    s = first(i, 'pvswitch')
    text = texts[i] if i < len(texts) else ''
    if s.get('pv_backend') != want or offer not in text:
        bad.append(f'run {i + 1} (pv=auto): backend {s.get("pv_backend")}, wanted {want} with "{offer}"')
for b in bad: print(b[:400], file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# shape=locktorture (docs/torture.md "shape=locktorture"): every lock with
# locktorture's defaults, its delays at the rates locktorture draws them,
# an explicit interrupt-context lock, and the options it rejects.
test_torture_shape() {
	torture_case torture-locktorture "shape=locktorture, every lock, 4 vCPUs: no violation, shape and long_hold_ms in the JSON, no interrupt-context lock" \
		--expect torture.shape=locktorture --expect torture.long_hold_ms=100 \
		--expect torture.long_hold_one_in=800000 --expect torture.short_delay_one_in=1600 \
		--expect torture.irq_levels=0 \
		-- --smp 4 -- test=torture shape=locktorture lock=all duration_ms=300

	locktorture_rates_case

	torture_case torture-locktorture-irq "shape=locktorture irq_lock=1: the tick takes its lock when asked" \
		--expect torture.shape=locktorture --expect torture.irq_levels=1 \
		--expect torture.irq_acquisitions='>0' \
		-- --smp 2 -- test=torture shape=locktorture irq_lock=1 lock=qspinlock duration_ms=300

	local bad
	for bad in hold_ns=100 think_ns=0 long_hold=0; do
		case_begin "shape=locktorture $bad: status 2, names the conflict"
		run_guest "locktorture-${bad%%=*}" --smp 2 -- test=torture shape=locktorture "$bad"
		expect_status 2 && expect_grep "^not ok 1 cmdline # bad option '$bad': has no meaning with shape=locktorture.*; accepted: hold_ns=, think_ns= and long_hold= with shape=default; with shape=locktorture, long_hold_ms=0\.\.1000" && pass
	done

	case_begin "long_hold_ms=5 without shape=locktorture: status 2"
	run_guest long-hold-ms-default --smp 2 -- test=torture long_hold_ms=5
	expect_status 2 && expect_grep "^not ok 1 cmdline # bad option 'long_hold_ms=5': only with shape=locktorture; accepted: long_hold_ms=0\.\.1000 with shape=locktorture" && pass

	case_begin "shape=bogus: status 2, names the shapes"
	run_guest shape-bogus --smp 2 -- test=torture shape=bogus
	expect_status 2 && expect_grep "^not ok 1 cmdline # bad option 'shape=bogus': unknown value; accepted: default\|locktorture" && pass
}

# long_hold_ms=1 at 2 CPUs: a 1 ms hold one time in 2*2000*1 = 4000
# acquisitions, a 2 us delay one time in 2*400 = 800. Here tas made
# 1.1-1.7 million acquisitions a second at 2 vCPUs in this shape (three
# runs, one on a loaded host), so a 1 s run expects 280-430 long holds:
# each count came within 5% of acquisitions/4000. tests/locktorture_rates.py
# checks the counts against acquisitions/N.
locktorture_rates_case() {
	case_begin "shape=locktorture long_hold_ms=1, 2 vCPUs: long holds and short delays taken at locktorture's rates"
	run_guest torture-locktorture-hold --smp 2 -- test=torture shape=locktorture long_hold_ms=1 \
		lock=tas duration_ms=1000
	expect_status 0 && expect_ktap --expect torture.violations=0 --expect torture.lost_updates=0 \
		--expect torture.long_hold_ms=1 --expect torture.long_hold_one_in=4000 \
		--expect torture.short_delay_one_in=800 || return
	"$TESTS_TOP/tests/locktorture_rates.py" "$log" torture && pass ||
		fail "delays not at locktorture's rates (log: $log)"
}
