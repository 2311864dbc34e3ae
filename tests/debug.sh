# SPDX-License-Identifier: MIT
# Debugging tests (sourced by tests/run.sh): symbolized crash backtraces and
# run-qemu.sh --gdb driven by a real gdb.

# A free TCP port for the stub (the kernel picks it; closed again at once).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

test_debug() {
	case_begin "crash backtrace on the BSP: symbolized to function, file and line"
	run_guest debug-fault-bsp --smp 1 -- test=fault
	expect_status 3 && expect_grep '^# backtrace: #0 0x[0-9a-f]{16}\s*$' &&
		expect_grep '^# backtrace: end \(outermost frame\)' &&
		expect_grep '^  #0 0x[0-9a-f]{16} in touch_unmapped \([a-z_/]*fault\.c:[0-9]+\)$' &&
		expect_grep '^  #[0-9] 0x[0-9a-f]{16} in suite_run \([a-z_/]*suite\.c:[0-9]+\)$' &&
		expect_grep '^  #[0-9] 0x[0-9a-f]{16} in kmain \(kernel/main\.c:[0-9]+\)$' && pass

	case_begin "crash backtrace on an AP: the faulting function and its line"
	run_guest debug-fault-ap --smp 4 -- test=fault
	expect_status 3 && expect_grep '^# CRASH: #PF page fault \(vector 14\) on CPU 3' &&
		expect_grep '^  #0 0x[0-9a-f]{16} in touch_unmapped \([a-z_/]*fault\.c:[0-9]+\)$' &&
		expect_grep '^# backtrace: end ' && pass

	# A machine reset (test=reset: a triple fault on the last CPU). With
	# -no-reboot (the default) QEMU just stops; with --reset-log the
	# restarted guest ends the run with its plan kept, and QEMU's log holds
	# each CPU's state from just before the reset.
	case_begin "triple fault, default: QEMU stops, status 3, 'stopped without a verdict'"
	run_guest debug-reset-noreboot --smp 2 --timeout 60 -- test=smp,reset
	expect_status 3 && expect_grep 'the guest stopped without a verdict' && pass

	case_begin "triple fault with --reset-log: plan kept (not ok 2 reset), status 3, each CPU's state logged and named"
	run_guest debug-reset --smp 4 --timeout 60 --reset-log "$LOG_DIR/debug-reset.qemu.log" -- test=smp,reset
	expect_status 3 && expect_ktap --result smp=ok --result reset=fail &&
		expect_grep '^# RESET: the machine reset while pvspin ran .* after 1 of 2 results' &&
		expect_grep '^not ok 2 reset # crash: the machine reset.?$' &&
		expect_grep '^  1 CPU\(s\) at 0x[0-9a-f]{16} in triple_fault \([a-z_/]*reset\.c:[0-9]+\): cpu 3 IDT-limit-0$' &&
		if [ "$(grep -c '^CPU Reset' "$LOG_DIR/debug-reset.qemu.log")" -ge 8 ]; then pass
		else fail "the reset log lacks a dump of each CPU before the reset"; fi

	# A reset after the last result, while the run exits (its stop NMI
	# made a CPU shut down: test hook exit_reset=1). The restart must
	# still report it, not run the plan again and pass: the run's mark is
	# cleared only just before the exit port write.
	case_begin "a reset while the run exits, after its last result: reported by the restart (# RESET, after 1 of 1), status 3, one KTAP document"
	run_guest debug-exit-reset --smp 2 --timeout 60 --reset-log "$LOG_DIR/debug-exit-reset.qemu.log" -- test=smp exit_reset=1
	expect_status 3 && expect_ktap --result smp=ok &&
		expect_grep '^# RESET: the machine reset while pvspin ran .* after 1 of 1 results' &&
		expect_grep '^# crash: the machine reset \(after the last planned result\).?$' &&
		if [ "$(grep -c '^KTAP version 1' "$LOG_DIR/debug-exit-reset.log")" = 1 ]; then pass
		else fail "the restart began a KTAP document of its own"; fi

	# The host's side: a run whose log holds two KTAP documents (a restart
	# that went unreported, from a QEMU stand-in here) is a crash, whatever
	# the second one's EXIT line says.
	case_begin "two KTAP documents in one run (an unreported restart): status 3, not the second document's verdict"
	local fake=$LOG_DIR/fake-qemu real
	real=$(command -v qemu-system-x86_64)
	mkdir -p "$fake"
	cat >"$fake/qemu-system-x86_64" <<EOF
#!/bin/sh
case "\$*" in *-version* | *help*) exec "$real" "\$@" ;; esac
doc='KTAP version 1\\n1..1\\nok 1 smp\\n# summary: 1 passed, 0 failed, 0 skipped in 6 ms\\n'
printf "\$doc\$doc"'EXIT: STATUS=0\\n'
exit 1
EOF
	chmod +x "$fake/qemu-system-x86_64"
	PATH=$fake:$PATH run_guest debug-two-documents --accel tcg --smp 2 --timeout 60 -- test=smp
	expect_status 3 && expect_grep 'the guest printed 2 KTAP documents' && pass

	case_begin "--reset-log with --accel nested: status 2 (the bed returns L2's reset logs itself)"
	run_guest debug-reset-nested --accel nested --reset-log /dev/null -- test=smp
	expect_status 2 && expect_grep 'reset-log' && pass

	local port
	port=$(free_port)
	case_begin "--gdb: gdb attaches, breaks in kmain, reads rip, detaches; the run then passes"
	if ! command -v gdb >/dev/null; then
		fail "gdb is not installed (tools/deps.sh test installs it)"
	else
		log=$LOG_DIR/debug-gdb.log
		"$RUN_QEMU" --smp 2 --gdb "$port" --timeout 120 -- test=smp >"$log" 2>"$log.err" &
		local qpid=$! gdb_out=$LOG_DIR/debug-gdb.gdb tries=0
		# The stub listens once QEMU is up: wait for run-qemu.sh's hint.
		until grep -q "gdbstub on port $port" "$log.err" 2>/dev/null || [ $tries -ge 100 ]; do
			sleep 0.1; tries=$((tries + 1))
		done
		timeout 120 gdb -batch -nx -ex 'set architecture i386:x86-64' \
			-ex "symbol-file $TESTS_TOP/build/pvspin64.elf" \
			-ex "target remote localhost:$port" -ex 'hbreak kmain' -ex 'continue' \
			-ex 'printf "rip-is-kmain=%d\n", $rip == (unsigned long)&kmain' \
			-ex 'delete' -ex 'detach' >"$gdb_out" 2>&1
		wait "$qpid"
		status=$?
		if ! grep -q 'rip-is-kmain=1' "$gdb_out"; then
			fail "gdb did not stop in kmain with rip at kmain (gdb log: $gdb_out)"
		else
			expect_status 0 && expect_grep "target remote localhost:$port" && expect_ktap --result smp=ok && pass
		fi
	fi

	case_begin "--gdb with a port out of range: status 2"
	run_guest debug-gdb-range --gdb 70000 -- test=smp
	expect_status 2 && expect_grep -- '--gdb 70000: a TCP port, 1..65535' && pass

	case_begin "--gdb with a port in use: status 2"
	port=$(free_port)
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$port" &
	local holder=$!
	sleep 0.5
	run_guest debug-gdb-busy --gdb "$port" -- test=smp
	kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
	expect_status 2 && expect_grep -- "--gdb $port: that port is in use" && pass
}
