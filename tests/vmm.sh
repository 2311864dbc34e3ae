# SPDX-License-Identifier: MIT
# Boot paths and exits for VMMs other than QEMU's Multiboot loader (sourced by tests/run.sh,
# group "vmm"): the PVH entry, and the ACPI power-off that replaces isa-debug-exit (docs/boot.md).

# expect_no_grep RE: fails the case if the log has a line matching RE.
expect_no_grep() {
	if grep -aqE -- "$1" "$log"; then
		fail "output has /$1/: $(grep -aE -- "$1" "$log" | head -n 1) (log: $log)"
		return 1
	fi
}

readonly VMM_PVH_BOOT_RE='^# boot: pvh start_info v1 loader="qemu" rsdp=0x[0-9a-f]+ \(used\) cmdline="'
readonly VMM_PM1_RE='^# poweroff: acpi PM1a control io 0x[0-9a-f]+ SLP_TYP=0 \(\\_S5\), SLP_EN'
readonly VMM_SLEEP_CTL_RE='^# poweroff: acpi sleep control register \(hardware-reduced\) mem 0x[0-9a-f]+ <- 0x34 \(SLP_TYP=5 from \\_S5, SLP_EN\)'
readonly VMM_STILL_RUNNING_RE='^# poweroff: still running'

# pvh_default_case MACHINE N: the default suite booted through the PVH entry.
pvh_default_case() {
	local machine=$1 n=$2
	case_begin "PVH boot, $machine, $n vCPUs, default suites"
	run_guest "pvh-$machine-$n" --boot pvh --machine "$machine" --smp "$n" --timeout 240
	expect_status 0 && expect_ktap --expect smp.cpus_online="$n" --expect smp.cpus_expected="$n" &&
		expect_grep "$VMM_PVH_BOOT_RE" && expect_grep '^# memory: [1-9][0-9]* MiB usable in [1-9]' &&
		expect_grep '^# summary: [0-9]+ passed, 0 failed' && pass
}

# acpi_exit_case MACHINE WANT POWEROFF_RE [guest options]: --exit acpi ends QEMU
# through the ACPI way named by POWEROFF_RE, with WANT as run-qemu.sh's status.
# 4 vCPUs: lock=broken, the failure used, needs contention (tests/locks.sh).
acpi_exit_case() {
	local machine=$1 want=$2 re=$3
	shift 3
	case_begin "--exit acpi on $machine: status $want $*"
	run_guest "acpi-exit-$machine-$want" --exit acpi --machine "$machine" --smp 4 -- "$@"
	expect_status "$want" && expect_grep "^EXIT: STATUS=$want" && expect_grep "$re" &&
		expect_no_grep "$VMM_STILL_RUNNING_RE" && pass
}

# no_acpi_fallback_case MACHINE HAS_RE [LACKS_RE]: QEMU run by hand (run-qemu.sh refuses
# --exit acpi without ACPI) with acpi=off and no isa-debug-exit: the guest says
# there is no FADT and falls back; QEMU still ends (-no-reboot) with status 0.
no_acpi_fallback_case() {
	local machine=$1 has=$2 lacks=${3-} cmd qstatus
	case_begin "no ACPI, no isa-debug-exit ($machine, acpi=off): the guest falls back to a reset"
	log=$LOG_DIR/no-acpi-$machine.log
	cmd=$("$RUN_QEMU" --exit acpi --machine "$machine" --smp 1 --timeout 60 --dry-run -- test=smp 2>"$log.err")
	eval "$cmd -machine acpi=off" >"$log" 2>>"$log.err"
	qstatus=$?
	if [ "$qstatus" != 0 ]; then
		fail "QEMU exited $qstatus, expected 0 (log: $log)"
		return
	fi
	expect_grep '^EXIT: STATUS=0' && expect_grep '^# poweroff: no ACPI FADT \(no RSDP\)' &&
		expect_grep '^# poweroff: reset through the keyboard controller \(port 0x64, 0xfe\)' &&
		expect_grep "$has" && { [ -z "$lacks" ] || expect_no_grep "$lacks"; } && pass
}

test_vmm() {
	local n
	for n in 1 4 64; do
		pvh_default_case q35 "$n"
		pvh_default_case microvm "$n"
	done

	case_begin "PVH boot through SeaBIOS (pc): the guest command line comes from start_info"
	run_guest pvh-seabios --boot pvh --machine pc --firmware seabios --smp 2 -- test=smp seed=7
	if expect_status 0 && expect_grep "$VMM_PVH_BOOT_RE"'test=smp seed=7"' &&
		expect_grep '^# pvspin: test=smp seed=7 '; then
		run_guest pvh-badopt --boot pvh --smp 1 -- test=smp frobnicate=1
		expect_status 2 && expect_grep "^not ok 1 cmdline # bad option 'frobnicate=1'" && pass
	fi

	case_begin "Multiboot v1 boot line unchanged"
	run_guest multiboot-line --smp 1 -- test=smp
	expect_status 0 && expect_grep '^# boot: multiboot1 loader="qemu" cmdline="[^"]*pvspin.elf test=smp"' && pass

	acpi_exit_case q35 0 "$VMM_PM1_RE" test=smp
	acpi_exit_case q35 1 "$VMM_PM1_RE" test=torture lock=broken duration_ms=300 think_ns=0
	acpi_exit_case microvm 0 "$VMM_SLEEP_CTL_RE" test=smp
	acpi_exit_case microvm 1 "$VMM_SLEEP_CTL_RE" test=torture lock=broken duration_ms=300 think_ns=0

	case_begin "PVH entry and ACPI exit together (microvm, as a VMM without QEMU's loader or devices)"
	run_guest pvh-acpi-microvm --boot pvh --exit acpi --machine microvm --smp 4 -- test=smp
	expect_status 0 && expect_grep "$VMM_PVH_BOOT_RE" && expect_grep "$VMM_SLEEP_CTL_RE" &&
		expect_no_grep "$VMM_STILL_RUNNING_RE" && pass

	# pc has an i8042: its reset ends QEMU; microvm has none: the triple fault does.
	no_acpi_fallback_case pc '^EXIT: STATUS=0' 'triple fault'
	no_acpi_fallback_case microvm '^# poweroff: still running: triple fault'

	case_begin "bad input: --boot pvh --iso is status 2"
	run_guest bad-boot-iso --boot pvh --iso
	expect_status 2 && expect_grep 'two boot paths at once' && pass

	case_begin "bad input: --boot and --exit values are checked"
	run_guest bad-boot-value --boot uefi
	if expect_status 2 && expect_grep "--boot 'uefi': accepted: multiboot, pvh, iso"; then
		run_guest bad-exit-value --exit poweroff
		expect_status 2 && expect_grep "--exit 'poweroff': accepted: debug-exit, acpi" && pass
	fi

	case_begin "bad input: --exit acpi on microvm without ACPI is status 2"
	run_guest bad-exit-microvm --exit acpi --machine microvm --qemu -machine --qemu microvm,acpi=off
	expect_status 2 && expect_grep "--exit acpi: the machine has no ACPI \('microvm,acpi=off'\)" && pass

	case_begin "bad input: --exit acpi on pc without ACPI is status 2"
	run_guest bad-exit-pc --exit acpi --machine pc --qemu -machine --qemu acpi=off
	expect_status 2 && expect_grep "--exit acpi: the machine has no ACPI \('acpi=off'\)" && pass
}
