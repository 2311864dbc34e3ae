# Lock torture and PV tests in the guest (sourced by tests/run.sh).

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

# pv_case: a torture_case whose pvqspinlock run must have halted and kicked.
pv_case() {
	local logname=$1 desc=$2
	shift 2
	torture_case "$logname" "$desc" --expect torture.pv.halts='>0' \
		--expect torture.pv.kicks_sent='>0' -- "$@"
}

test_locks() {
	local n
	for n in 2 4 8; do
		torture_case "torture-$n" "torture every lock, $n vCPUs" -- --smp "$n" -- test=torture lock=all duration_ms=200
	done
	torture_case torture-64 "torture every lock, 64 vCPUs" -- --smp 64 --timeout 300 \
		-- test=torture lock=all duration_ms=100 watchdog_ms=60000
	# Nesting needs a tick to land while the thread context is queued: at
	# 64 vCPUs that happens tens to hundreds of times per run (measured),
	# at 8 often not at all, so the check sums over the two queued locks.
	torture_case torture-nesting "qspinlock family with the IRQ-context lock, 64 vCPUs" \
		-- --smp 64 --timeout 300 -- test=torture lock=qspinlock,pvqspinlock duration_ms=300 watchdog_ms=60000
	case_begin "nesting happened: MCS node 2 used by a lock taken in IRQ context"
	local used
	used=$(python3 -c 'import json,sys; print(sum(json.loads(l[10:]).get("events",{}).get("lock_use_node2",0) for l in open(sys.argv[1]) if l.startswith("# result: ")))' "$LOG_DIR/torture-nesting.log" 2>/dev/null)
	[ "${used:-0}" -gt 0 ] && pass || fail "lock_use_node2 total ${used:-none} (log: $LOG_DIR/torture-nesting.log)"
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

	for n in 2 8 32; do
		pv_case "pv-ipi-$n" "pvqspinlock, ipi backend, $n vCPUs: halts and kicks, no violation" \
			--smp "$n" -- test=torture lock=pvqspinlock pv=ipi duration_ms=300 pv_spin_threshold=64
	done
	pv_case pv-ipi-8-pin0 "pvqspinlock, ipi backend, 8 vCPUs on 1 host CPU" \
		--smp 8 --pin 0 -- test=torture lock=pvqspinlock pv=ipi duration_ms=300 pv_spin_threshold=64

	case_begin "pvswitch: a pvqspinlock held across the switch to the ipi backend"
	run_guest pvswitch-ipi --smp 2 -- test=pvswitch pv=ipi
	expect_status 0 && expect_ktap --result pvswitch=ok --expect pvswitch.pv_backend=ipi && pass

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
BATCH
		case_begin "pvqspinlock, kvm backend (KVM_HC_KICK_CPU) under nested KVM: 2, 8, 8 pinned; REALTIME hint; pvswitch; steal time"
		run_guest pv-kvm-nested --accel nested --timeout 120 --batch "$batch"
		if expect_status 0; then
			local part ok=1
			python3 - "$log" <<'PY' || ok=0
import json, sys
runs, cur = [], None
for line in open(sys.argv[1], errors='replace'):
    if line.startswith('# l1: '):
        cur = []; runs.append(cur)
    elif line.startswith('# result: ') and cur is not None:
        cur.append(json.loads(line[10:]))
bad = []
if len(runs) != 5: bad.append(f'{len(runs)} runs, expected 5')
for i, r in enumerate(runs[:3]):
    t = [j for j in r if j.get('test') == 'torture']
    if not t or t[0]['violations'] or t[0]['lost_updates'] or t[0]['pv']['halts'] == 0 \
       or t[0]['pv']['kicks_sent'] == 0 or t[0]['pv_backend'] != 'kvm':
        bad.append(f'run {i+1}: {t}')
if len(runs) >= 3:
    t = [j for j in runs[2] if j.get('test') == 'torture']
    if not t or not t[0].get('steal_ns'):
        bad.append(f'pinned run: no steal time reported: {t}')
if len(runs) == 5:
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
