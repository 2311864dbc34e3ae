# SPDX-License-Identifier: MIT
# Platform boot tests (sourced by tests/run.sh).

# nested_fault_below_guest DIAG_DIR RUN: succeeds, saying what, when the
# bed's diagnostics of a failed nested run show a failure below the guest:
# a machine reset with no crash report from pvspin, or L1's KVM handling an
# L1 kernel address as the vCPU's (tools/nested/l1-init.sh names it)
nested_fault_below_guest() {
	local trace=$1/run-$2.l1-trace sym
	if [ "$status" = 3 ] && ! grep -aq '^# CRASH' "$log"; then
		echo "L2 reset with no crash report"
	elif sym=$(grep -a -m1 '^L1 address .* is ' "$trace" 2>/dev/null); then
		echo "L1's KVM ran the vCPU at L1's own code (${sym#L1 address })"
	else
		return 1
	fi
}

smp_boot_case() {   # smp_boot_case MACHINE N [run-qemu options...]
	local machine=$1 n=$2
	shift 2
	case_begin "boot $machine smp=$n $*"
	run_guest "boot-$machine-$n${1:+-x}" --machine "$machine" --smp "$n" --timeout 120 "$@" -- test=smp
	expect_status 0 || return
	expect_ktap --result smp=ok --expect smp.cpus_online="$n" --expect smp.cpus_expected="$n" \
		--expect smp.bringup_ns='>0' --expect smp.tsc_hz='>0' || return
	pass
}

test_boot() {
	local n
	for n in 1 2 4 8 64 255; do
		smp_boot_case q35 "$n"
		smp_boot_case microvm "$n"
	done
	smp_boot_case pc 4 --firmware seabios

	# Without ACPI, SeaBIOS's MP table is the CPU source (it lists the CPUs
	# SeaBIOS itself saw; QEMU 7.2 with acpi=off gives it only the BSP).
	case_begin "MP table fallback (pc, SeaBIOS, acpi=off)"
	run_guest boot-mptable --machine pc --firmware seabios --smp 2 --qemu -machine --qemu acpi=off -- test=smp
	expect_status 0 && expect_ktap --result smp=ok --expect smp.cpu_source=mptable && pass

	# A malformed firmware table is rejected with a line, not trusted: an
	# HPET table of 40 bytes (QEMU's -acpitable, HPET device off) made the
	# guest read its base address past the table and crash with #GP.
	case_begin "malformed ACPI HPET table rejected (q35, -acpitable)"
	printf '\0\0\0\0' >"$LOG_DIR/hpet-short.bin"
	run_guest boot-hpet-short --smp 2 --qemu -machine --qemu hpet=off \
		--qemu -acpitable --qemu "sig=HPET,data=$LOG_DIR/hpet-short.bin" -- test=smp
	expect_status 0 && expect_ktap --result smp=ok &&
		expect_grep '^# acpi: HPET at 0x[0-9a-f]+ rejected: length 40 is shorter than the HPET table' && pass

	case_begin "boot GRUB ISO (multiboot2)"
	run_guest boot-iso --iso --smp 4 -- test=smp
	expect_status 0 && expect_ktap --result smp=ok --expect smp.cpus_online=4 &&
		expect_grep '^# boot: multiboot2' && pass

	case_begin "default run: no options, 4 vCPUs, every default suite"
	run_guest boot-default
	expect_status 0 && expect_ktap --expect smp.cpus_online=4 &&
		expect_grep '^# summary: [0-9]+ passed, 0 failed' && pass

	# 255 vCPUs on 2 host CPUs: the unfair locks starve some CPUs for
	# seconds; the run must still end on time (any CPU ends it).
	case_begin "default suites at 255 vCPUs: every lock tortured, no CPU's starvation keeps the run going"
	run_guest boot-default-255 --smp 255 --timeout 300
	expect_status 0 && expect_ktap --expect smp.cpus_online=255 --expect torture.violations=0 &&
		expect_grep '^# summary: [0-9]+ passed, 0 failed' && pass

	case_begin "bad guest option: status 2, names the option"
	run_guest bad-guest-option --smp 1 -- test=smp frobnicate=3
	expect_status 2 && expect_grep "^not ok 1 cmdline # bad option 'frobnicate=3': unknown option; accepted:" && pass

	case_begin "bad guest value: status 2, says what is accepted"
	run_guest bad-guest-value --smp 1 -- seed=twelve
	expect_status 2 && expect_grep "bad option 'seed=twelve': not an integer; accepted: an integer" && pass

	case_begin "test=fault: status 3 and a register dump"
	run_guest fault --smp 4 -- test=fault
	expect_status 3 && expect_grep '^# CRASH: #PF page fault \(vector 14\) on CPU 3' &&
		expect_grep '^# rax=' && expect_grep 'cr2=0000100000000000' &&
		expect_grep '^not ok 1 fault # crash' && pass

	# KTAP's plan is a promise: after a crash every planned result that did
	# not run still gets its line, so strict parsers see the whole plan.
	case_begin "crash before the end of the plan: each result not run is 'not ok ... # ERROR not run'"
	run_guest fault-plan --smp 2 -- test=fault,hang
	expect_status 3 && expect_ktap --result fault=fail --result hang=error &&
		expect_grep '^1\.\.2' && expect_grep '^not ok 2 hang # ERROR not run: guest crashed' && pass

	# The INIT batch of the AP bring-up: an AP that comes online between the
	# batch's "online?" check and its INIT is reset by that INIT all the
	# same, and must get its SIPI; under the old rule ("SIPI to APs still
	# offline") it stayed dead, counted online (status 124 here).
	case_begin "INIT batch: APs that come online between its check and its INITs are restarted (smp_init_race=1)"
	run_guest smp-init-race --smp 8 --timeout 30 -- test=smp smp_init_race=1
	expect_status 0 && expect_grep '^# smp: smp_init_race: [1-9][0-9]* AP\(s\) came online between' &&
		expect_ktap --result smp=ok --expect smp.cpus_online=8 && pass

	# A CPU that takes the smp suite's work and never finishes it (a vCPU its
	# hypervisor no longer runs) ends the run within the watchdog's timeout,
	# named, not at the host's --timeout without a word.
	case_begin "a CPU stuck in the smp suite's work: status 4 naming it, before --timeout"
	run_guest smp-stall --smp 4 --timeout 30 -- test=smp smp_stall=2 watchdog_ms=200
	expect_status 4 && expect_grep '^# LOCKUP: CPU 2 took its work and has not finished it in 200 ms' &&
		expect_ktap --result smp=fail && pass

	case_begin "bad run-qemu.sh option: status 2 with usage"
	run_guest bad-runner-option --no-such-option
	expect_status 2 && expect_grep "unknown option '--no-such-option'" && pass

	case_begin "too many vCPUs for TCG: status 2"
	run_guest too-many-vcpus --accel tcg --smp 256
	expect_status 2 && expect_grep 'TCG has no x2APIC' && pass

	case_begin "timeout: status 124"
	run_guest timeout --timeout 1 --qemu -S
	expect_status 124 && pass

	# x2APIC and more than 255 vCPUs need KVM. Real KVM runs these fast;
	# this project's CI hosts have an emulating KVM on which they are slow
	# but work, so they run there too, kept small.
	case_begin "x2APIC under KVM (2 vCPUs)"
	if ! kvm_opens; then
		skip "no usable /dev/kvm"
	else
		run_guest kvm-x2apic --accel kvm --smp 2 --timeout 240 -- test=smp
		expect_status 0 && expect_ktap --expect smp.apic_mode=x2apic --expect smp.cpus_online=2 && pass
	fi
	# 288 vCPUs: on an emulating KVM this did not finish in 300 s (measured),
	# so there it runs under --accel nested (real KVM, ~9 s) instead.
	case_begin "288 vCPUs on q35 under KVM (x2APIC IDs above 254)"
	if hardware_kvm && kvm_opens; then
		run_guest kvm-288 --accel kvm --smp 288 --timeout 300 -- test=smp
		expect_status 0 && expect_ktap --expect smp.apic_mode=x2apic --expect smp.cpus_online=288 && pass
	else
		skip "no hardware KVM; an emulating KVM needs over 300 s for 288 vCPUs (measured), see the nested case"
	fi
	case_begin "nested_fault_below_guest: a reset with no crash report and an L1 address are the bed's, a guest verdict is not"
	local d=$LOG_DIR/below-guest.diag saved_status=${status-} saved_log=${log-}
	rm -rf "$d"; mkdir -p "$d"; log=$d/serial.log
	echo '# RESET: the machine reset while pvspin ran' >"$log"
	echo 'L1 address ffffffffc038120c is __svm_vcpu_run+0x6c [kvm_amd]' >"$d/run-2.l1-trace"
	if ! status=3 nested_fault_below_guest "$d" 1 >/dev/null; then
		fail "a reset without '# CRASH' was not taken for the bed's"
	elif echo '# CRASH: #PF page fault (vector 14) on CPU 3' >>"$log" && status=3 nested_fault_below_guest "$d" 1 >/dev/null; then
		fail "a guest crash report was taken for the bed's"
	elif [ "$(status=4 nested_fault_below_guest "$d" 2)" != "L1's KVM ran the vCPU at L1's own code (ffffffffc038120c is __svm_vcpu_run+0x6c [kvm_amd])" ]; then
		fail "an L1 address in L1's trace was not named: '$(status=4 nested_fault_below_guest "$d" 2)'"
	elif status=4 nested_fault_below_guest "$d" 1 >/dev/null; then
		fail "a lockup with no L1 address in the trace was taken for the bed's"
	else
		pass
	fi
	status=$saved_status log=$saved_log
	# L0 runs L1 on one TCG thread here: with a thread per L1 CPU, QEMU 7.2
	# now and then breaks an L2 vCPU in these boots (docs/nested.md, R8: 7
	# of 120 boots against 0 of 110 on one thread, measured side by side).
	case_begin "288 vCPUs on q35 under --accel nested (real KVM, x2APIC, L0 TCG single-threaded)"
	if [ -n "${PVSPIN_SKIP_NESTED-}" ]; then
		skip "PVSPIN_SKIP_NESTED is set"
	else
		run_guest nested-288 --accel nested --l0-tcg single --diag-dir "$LOG_DIR/nested-288.diag" --smp 288 --timeout 150 -- test=smp
		# Now and then the bed itself breaks an L2 vCPU (docs/nested.md,
		# "Issue 12's R8"): L2 resets with no crash report, or L1's KVM
		# finds L1's own VMRUN return address as the vCPU's RIP. Then one
		# more boot, with the first one's log and the bed's diagnostics
		# kept and named, so the case still fails if it happens twice.
		local why
		if [ "$status" != 0 ] && why=$(nested_fault_below_guest "$LOG_DIR/nested-288.diag" 1); then
			local first=$LOG_DIR/nested-288-first
			mv "$log" "$first.log"; mv "$log.err" "$first.log.err"
			mv "$LOG_DIR/nested-288.diag" "$first.diag" 2>/dev/null
			echo "# nested-288: $why; booting once more (first run: $first.log, $first.diag)"
			run_guest nested-288 --accel nested --l0-tcg single --diag-dir "$LOG_DIR/nested-288.diag" --smp 288 --timeout 150 -- test=smp
		fi
		expect_status 0 && expect_ktap --expect smp.apic_mode=x2apic --expect smp.cpus_online=288 &&
			expect_grep '"l0":"qemu [^"]* tcg,thread=single -cpu max"' && pass
	fi
	case_begin "hardware KVM: default run"
	if ! hardware_kvm; then
		skip "no hardware KVM (kvm_intel/kvm_amd not loaded)"
	else
		run_guest hwkvm-default --accel kvm --smp 4
		expect_status 0 && expect_ktap --expect smp.cpus_online=4 && pass
	fi
	test_boot_phases
	test_bench_boot_tool

	# The APs' stacks and per-CPU areas go after the image: with too little
	# RAM for them no AP starts, and the run says so and fails.
	case_begin "no RAM for the APs' memory: a message, 1 of 4 online, status 1"
	run_guest boot-no-ap-room --smp 4 --qemu -m --qemu 10 -- test=smp
	expect_status 1 && expect_grep "^# smp: no usable RAM after the image for 4 CPUs" &&
		expect_ktap --result smp=fail --expect smp.cpus_online=1 && pass
}

# Boot phases (verbose=1): the line and the smp result's object agree, every
# phase is there in boot order, and they add up to the total (to rounding).
readonly BOOT_PHASE_NAMES="page_tables bss entry console multiboot acpi tsc apic smp tsc_refine apic_timer pv total"
test_boot_phases() {
	case_begin "boot phases: '# boot-phases:' with verbose=1 equals smp.boot_phases_us"
	run_guest boot-phases --smp 2 -- test=smp verbose=1
	expect_status 0 || return
	expect_ktap --result smp=ok --expect smp.boot_phases_us.total='>0' || return
	local why
	why=$(python3 - "$log" "$BOOT_PHASE_NAMES" 2>&1 <<'PY'
import json, sys
text = open(sys.argv[1], errors='replace').read().replace('\r', '')
lines = [l[len('# boot-phases: '):] for l in text.splitlines() if l.startswith('# boot-phases: ')]
res = [json.loads(l[len('# result: '):]) for l in text.splitlines() if l.startswith('# result: ')]
if len(lines) != 1:
    sys.exit(f'{len(lines)} boot-phases lines')
line = json.loads(lines[0])
if list(line) != sys.argv[2].split():
    sys.exit(f'phases {list(line)}')
smp = [r for r in res if r.get('test') == 'smp'][0]['boot_phases_us']
if smp != line:
    sys.exit('smp.boot_phases_us differs from the line')
parts = sum(v for k, v in line.items() if k != 'total')
if abs(parts - line['total']) > len(line):
    sys.exit(f'phases add up to {parts}, total {line["total"]}')
PY
	) || { fail "$why (log: $log)"; return; }
	pass
}

bench_boot_bad() {   # bench_boot_bad KUT [options]: status 2 and a message
	local kut=$1 out=$LOG_DIR/bench-boot-bad st=0
	shift
	case_begin "bench-boot.sh bad input (${kut:+KUT=$kut }$*): status 2"
	KUT=$kut "$TESTS_TOP/tools/bench-boot.sh" --out "$out" "$@" >"$out.log" 2>&1 || st=$?
	if [ $st = 2 ] && grep -q '^bench-boot.sh: ' "$out.log"; then
		pass
	else
		fail "status $st: $(head -n 2 "$out.log" | tr '\n' ' ')"
	fi
}

# tools/bench-boot.sh (make bench-boot): one quick run writes both result
# files with the three columns; bad input is status 2. Nothing is timed.
test_bench_boot_tool() {
	local out=$LOG_DIR/bench-boot st
	case_begin "bench-boot.sh --reps 1 --smp 1: results.md and results.jsonl well formed"
	rm -rf "$out"
	st=0
	"$TESTS_TOP/tools/bench-boot.sh" --reps 1 --smp 1 --out "$out" >"$out.log" 2>&1 || st=$?
	if [ $st != 0 ]; then
		fail "status $st: $(tail -n 3 "$out.log" | tr '\n' ' ')"
	elif ! grep -q '^| vCPUs | runs | pvspin | floor | pvspin - floor | pvspin / floor |' "$out/results.md" ||
	     ! grep -Eq '^\| 1 \| 1 \| [0-9]+ \[[0-9]+-[0-9]+\] \| [0-9]+ \[[0-9]+-[0-9]+\] \| [-+][0-9]+ \| [0-9]+\.[0-9]+x \|' "$out/results.md" ||
	     ! grep -q '^Machine: .*QEMU' "$out/results.md"; then
		fail "results.md lacks the header, the row or the machine: $(head -c 600 "$out/results.md" | tr '\n' ' ')"
	elif ! python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1 and rows[0]["vcpus"] == 1 and rows[0]["runs"] == 1
r = rows[0]
assert r["diff_ms"] == r["pvspin_ms"]["median"] - r["floor_ms"]["median"]
assert r["ratio"] > 0 and r["machine"] and r["date"]' "$out/results.jsonl" 2>"$out.err"; then
		fail "results.jsonl: $(tail -n 1 "$out.err")"
	else
		pass
	fi
	bench_boot_bad /nonexistent/smptest.flat --smp 1
	bench_boot_bad "" --smp 0
	bench_boot_bad "" --smp 256
	bench_boot_bad "" --smp x
	bench_boot_bad "" --reps 0
	bench_boot_bad "" --bogus
}
