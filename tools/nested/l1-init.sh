#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# l1-init.sh - /init of the L1 host that tools/nested/nested-run.sh boots under
# TCG. POSIX sh for busybox. It loads KVM, then runs the L2 jobs of
# /job/jobs one after another with qemu-system-x86_64 -accel kvm.
#
# Channels to the host (named in tools/pvspin/nested/jobcpio.py):
#   ttyS0      kernel console and this script's own stdout/stderr (noise,
#              kept in a log on the host); control lines prefixed with
#              $EARLY_CTL_PREFIX (through /dev/kmsg) until the ports below exist
#   pvspin.out virtio-serial port -> the host's stdout: a "# l1: {json}"
#              line, then the serial output of each L2 run (byte-exact)
#   pvspin.ctl virtio-serial port -> control lines for the host, one a line:
#            ready UPTIME_CS          KVM is usable
#            env JSON                 description of this L1 host
#            start I                  run I begins
#            status I CODE ELAPSED_CS run I ended with CODE (124: timed out)
#            log TEXT                 diagnostics for the host's stderr
#            diag I KIND TEXT         one line of diagnostics of run I (0: of
#                                     L1 itself), KIND qemu (the tail of L2
#                                     QEMU's -d guest_errors,cpu_reset log) or
#                                     dmesg (the tail of L1's kernel log); sent
#                                     for a run that did not pass and before
#                                     a bed failure
#            fail REASON              the bed failed; nothing more follows
#            done                     every run finished
#
# /job/config (sh) sets: END_PATTERN END_GRACE_S L1_PACKAGE L1_PACKAGE_VERSION L0_DESC BREAK_MODULES
#                        BREAK_MODE MODULE_PARAMS GUEST_KERNEL_HALF FIRMWARE_DIR OUT_PORT_NAME
#                        CTL_PORT_NAME EARLY_CTL_PREFIX TIMEOUT_STATUS KILLED_STATUS
#                        (the host's statuses for a run its limit stopped, and
#                        for a QEMU ended by SIGKILL: tools/pvspin/status.py)
# /job/jobs: PIN<TAB>TIMEOUT<TAB>QEMU_ARGS, @IMAGE@ already replaced. A job
# whose QEMU_ARGS hold @SERIAL_COPY@ (a chardev's logfile: a copy of the
# guest's serial output) ends by the guest's word: once a line of the copy
# matches END_PATTERN (/job/config), its QEMU gets END_GRACE_S seconds to
# exit and is then stopped; the run's status is then 0, as for a guest that
# powered off (such a guest passes with 0, not with isa-debug-exit's 1).
# The kernel command line's pvspin.l1_boot=N: which boot of the host's call
# this is (the host boots L1 again when a boot stalls before "ready").
#
# As PID 1 it only mounts the file systems, runs itself again as a child
# ("worker") and powers off when that ends. Orphans are reparented to PID 1,
# and busybox sh is interrupted by SIGCHLD without SA_RESTART: a tty write
# of the shell that a stray SIGCHLD interrupts fails (EINTR) and its line is
# lost. The worker has only children it waits for, and retries its writes.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

PORT_WAIT_TRIES=200         # virtio ports appear asynchronously: 200 x 50 ms
PORT_WAIT_US=50000
MODULE_DIR=/lib/pvspin-modules
# shellcheck disable=SC2034 # used inside eval
QEMU=/usr/bin/qemu-system-x86_64
SVM_FLAGS="svm npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif x2avic v_spec_ctrl vnmi x2apic hypervisor"
KVM_MODULES_SHOWN="kvm kvm_amd"
SVM_EXIT_SHUTDOWN=127       # AMD APM vol. 2, appendix C: SHUTDOWN, 0x7f
KVM_EMUL_INSN_F_CS_L=8      # Linux arch/x86/kvm/trace.h: 64-bit code
L1_BOOT_PARAM=pvspin.l1_boot

WRITE_TRIES=5
PASS_STATUS=1              # isa-debug-exit for the guest's verdict 0
DIAG_LINES=300             # tail of each diagnostic sent to the host
# L2 QEMU's log: a reset dumps every CPU (the last dump is the state the
# CPUs were in just before it), ~18 lines a CPU without the FPU, SSE and
# debug registers: room for 288 CPUs.
QEMU_DIAG_LINES=6000
QEMU_DIAG_DROP='^(FPR[0-9]|XMM[0-9]|DR[0-7]|FCW|CCS)'
L2_QEMU_DEBUG=guest_errors,cpu_reset
# Console log level once KVM is up: KVM's and the kernel's warnings (up to
# KERN_INFO) reach ttyS0, which the host keeps as console.log; the boot
# itself stays at loglevel=3 (printing to a UART under TCG is slow).
CONSOLE_LOGLEVEL=7

# put FD LINE: write LINE to FD, retried if a signal interrupts the write
put() {
	_try=0
	until printf '%s\n' "$2" >&"$1"; do
		_try=$((_try + 1))
		[ "$_try" -lt "$WRITE_TRIES" ] || return 1
	done
}

# Before the ports exist, control lines go to the kernel log at KERN_CRIT
# (the console shows levels below loglevel=3): the kernel writes them to the
# console synchronously, where a tty write could still sit in a buffer at
# power-off.
KMSG_CRIT_LEVEL="<2>"
CTL_OPEN=0
ctl() {
	if [ "$CTL_OPEN" = 1 ]; then
		put 4 "$*"
	else
		put 1 "$KMSG_CRIT_LEVEL$EARLY_CTL_PREFIX$*" 1>/dev/kmsg
	fi
}

# Close the output channel first, then report on the control channel.
finish() {
	exec 3>&-
	[ -n "${1:-}" ] && ctl "$1"
	exec 4>&-
	exit 0
}

# send_diag I KIND [LINES]: stdin's last LINES (default DIAG_LINES) lines as
# "diag I KIND" lines
send_diag() {
	[ "$CTL_OPEN" = 1 ] || return 0
	tail -n "${3:-$DIAG_LINES}" | while IFS= read -r _line || [ -n "$_line" ]; do
		put 4 "diag $1 $2 $_line"
	done
}

fail() {
	dmesg 2>/dev/null | send_diag 0 dmesg
	finish "fail $*"
}

uptime_cs() {
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

# json_str TEXT: sets J to TEXT as a JSON string. Forks only when TEXT needs
# escaping (every fork costs milliseconds under TCG).
json_str() {
	case "$1" in
	*[\\\"]* | *[[:cntrl:]]*)
		J=\"$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\000-\037')\"
		;;
	*) J=\"$1\" ;;
	esac
}

setup_fs() {
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	mkdir -p /dev/shm /tmp /run
	mount -t tmpfs tmp /tmp
	mount -t tmpfs shm /dev/shm
}

# port_dev NAME: /dev node of the virtio-serial port NAME, if it exists
port_dev() {
	for d in /sys/class/virtio-ports/*; do
		[ -r "$d/name" ] || continue
		read -r _n <"$d/name"
		if [ "$_n" = "$1" ] && [ -c "/dev/${d##*/}" ]; then
			echo "/dev/${d##*/}"
			return 0
		fi
	done
	return 1
}

open_channels() {
	load_modules channel
	_try=0
	until out=$(port_dev "$OUT_PORT_NAME") && ctlp=$(port_dev "$CTL_PORT_NAME"); do
		_try=$((_try + 1))
		[ "$_try" -lt "$PORT_WAIT_TRIES" ] || fail "virtio-serial ports $OUT_PORT_NAME/$CTL_PORT_NAME did not appear in L1"
		usleep "$PORT_WAIT_US"
	done
	exec 3>"$out" 4>"$ctlp"
	CTL_OPEN=1
}

# params_for NAME: "k=v k=v" module parameters the host asked for this module
params_for() {
	_p=""
	for kv in $MODULE_PARAMS; do
		case "$kv" in
		"$1".*) _p="$_p ${kv#"$1".}" ;;
		esac
	done
	echo "$_p"
}

# load_modules GROUP: insmod the modules of MODULE_DIR/order.GROUP
load_modules() {
	while read -r mod; do
		[ -n "$mod" ] || continue
		norm=$(echo "$mod" | tr - _)
		for broken in $BREAK_MODULES; do
			if [ "$(echo "$broken" | tr - _)" = "$norm" ]; then
				ctl "log breaking L1 on purpose: module $mod removed"
				rm -f "$MODULE_DIR/$mod.ko"
			fi
		done
		# shellcheck disable=SC2046
		if ! err=$(insmod "$MODULE_DIR/$mod.ko" $(params_for "$norm") 2>&1); then
			fail "insmod $mod failed in L1: $(echo "$err" | tr '\n' ' ')"
		fi
	done <"$MODULE_DIR/order.$1"
}

load_kvm() {
	load_modules kvm
	[ -c /dev/kvm ] || fail "no /dev/kvm in L1 after loading the KVM modules"
}

# start_kvm_trace: what L1's KVM saw of an L2 vCPU that shut down or was
# sent a fault, at little cost to the hot exits (the filters below keep only
# rare events). A kprobe on svm.c's shutdown_interception fires only when a
# vCPU really shut down (a triple fault the CPU raised), never when KVM
# decided on one itself (KVM_REQ_TRIPLE_FAULT); kvm_inj_exception lists the
# exceptions KVM injected (rare in pvspin), emulated_pf the address of each
# page fault KVM's emulator raised. Each trace line names the QEMU thread,
# "CPU N/KVM": the vCPU. Without tracefs or the probes, runs go on.
TRACE_DIR=/sys/kernel/tracing
start_kvm_trace() {
	KVM_TRACE=""
	mkdir -p "$TRACE_DIR"
	if ! mount -t tracefs nodev "$TRACE_DIR" 2>/dev/null && [ ! -e "$TRACE_DIR/trace" ]; then
		ctl "log no tracefs in L1: L2 shutdowns are not traced"
		return 0
	fi
	echo 0 >"$TRACE_DIR/tracing_on"
	if echo 'p:pvspin/svm_shutdown shutdown_interception' >>"$TRACE_DIR/kprobe_events" 2>/dev/null; then
		echo 1 >"$TRACE_DIR/events/pvspin/svm_shutdown/enable"
		KVM_TRACE="svm_shutdown"
	fi
	if echo 1 >"$TRACE_DIR/events/kvm/kvm_inj_exception/enable" 2>/dev/null; then
		KVM_TRACE="$KVM_TRACE${KVM_TRACE:+,}kvm_inj_exception"
	fi
	# A page fault KVM's instruction emulator raised (it could not fetch or
	# access guest memory): the guest address, from struct x86_exception
	# (error_code at +2, address at +8, unchanged since Linux 4.x).
	if echo 'p:pvspin/emulated_pf kvm_inject_emulated_page_fault error_code=+2(%si):x16 address=+8(%si):x64' \
		>>"$TRACE_DIR/kprobe_events" 2>/dev/null; then
		echo 1 >"$TRACE_DIR/events/pvspin/emulated_pf/enable"
		KVM_TRACE="$KVM_TRACE${KVM_TRACE:+,}emulated_pf"
	fi
	# The exit that ended a vCPU (SVM_EXIT_SHUTDOWN): the RIP it shut down
	# at; and every exit with a RIP no pvspin code has (above 4 GiB): the
	# first of them says at which exit L0 left the vCPU with such a RIP. A
	# guest that runs in the kernel half (GUEST_KERNEL_HALF=1) has all its
	# exits there: only its shutdowns are kept, or its routine exits would
	# fill the buffer before one came.
	high_rip=" || guest_rip > 0xffffffff"
	[ "$GUEST_KERNEL_HALF" = 1 ] && high_rip=""
	if echo "exit_reason == $SVM_EXIT_SHUTDOWN$high_rip" \
		>"$TRACE_DIR/events/kvm/kvm_exit/filter" 2>/dev/null &&
		echo 1 >"$TRACE_DIR/events/kvm/kvm_exit/enable" 2>/dev/null; then
		KVM_TRACE="$KVM_TRACE${KVM_TRACE:+,}kvm_exit(shutdown${high_rip:+ or RIP above 4 GiB})"
	fi
	# The instructions KVM's emulator decoded outside 64-bit mode (the AP
	# trampoline: ~7 an AP), at an address no pvspin code has (above 4 GiB),
	# or failed: CS base, RIP, bytes and mode, the context of a fault above.
	# With nrips=0 every intercepted instruction is decoded to be skipped,
	# so 64-bit code is left out: its IPIs alone would flood the buffer
	# (and a guest in the kernel half has all of its code above 4 GiB).
	high_rip=" || rip > 0xffffffff"
	[ "$GUEST_KERNEL_HALF" = 1 ] && high_rip=""
	if echo "flags < $KVM_EMUL_INSN_F_CS_L$high_rip || failed != 0" \
		>"$TRACE_DIR/events/kvm/kvm_emulate_insn/filter" 2>/dev/null &&
		echo 1 >"$TRACE_DIR/events/kvm/kvm_emulate_insn/enable" 2>/dev/null; then
		KVM_TRACE="$KVM_TRACE${KVM_TRACE:+,}kvm_emulate_insn(not 64-bit${high_rip:+, above 4 GiB}, failed)"
	fi
	# A full buffer keeps its first events: a vCPU caught in a loop of
	# faults fills it in under a second, and how the loop began matters.
	echo 0 >"$TRACE_DIR/options/overwrite" 2>/dev/null
	echo 1 >"$TRACE_DIR/tracing_on"
	ctl "log L1 traces L2 vCPU shutdowns: ${KVM_TRACE:-nothing (no probe could be set)}"
}

# trace_events: the trace's events of note (shutdowns, injected exceptions,
# emulator page faults, emulations that failed or ran above 4 GiB), each
# after the last TRACE_CONTEXT emulations of the same vCPU thread before it
TRACE_CONTEXT=4
trace_events() {
	awk -v ctx="$TRACE_CONTEXT" '
	{
		key = $0
		sub(/ +\[[0-9]+\] .*/, "", key)
		sub(/^ +/, "", key)
	}
	/ kvm_emulate_insn: / && !/ failed$/ && !/ kvm_emulate_insn: [0-9a-f]+:[0-9a-f]{9,}:/ {
		n[key]++
		ring[key, n[key] % ctx] = $0
		next
	}
	{
		for (i = n[key] - ctx + 1; i <= n[key]; i++)
			if (i > 0 && i > shown[key])
				print ring[key, i % ctx]
		shown[key] = n[key]
		print
	}'
}

# kernel_symbols: for each L1 kernel address in the text on stdin, the
# symbol it falls in (from /proc/kallsyms), e.g. a guest RIP that is L1's
kernel_symbols() {
	grep -oE 'ffffffff[0-9a-f]{8}' | sort -u >/tmp/kaddrs
	[ -s /tmp/kaddrs ] || return 0
	awk '
	function hex(s,   i, v) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	FNR == NR { want[$1] = 1; next }
	$2 ~ /^[tT]$/ {
		for (a in want)
			if ($1 <= a && (!(a in best) || $1 > best[a])) {
				best[a] = $1
				name[a] = $3
				mod[a] = $4 == "" ? "" : " " $4
			}
	}
	END {
		for (a in want)
			if (a in best)
				printf "L1 address %s is %s+0x%x%s\n", a, name[a],
					hex(substr(a, 9)) - hex(substr(best[a], 9)), mod[a]
			else
				printf "L1 address %s: no L1 kernel symbol\n", a
	}' /tmp/kaddrs /proc/kallsyms
	rm -f /tmp/kaddrs
}

# kvm_trace_lines: this run's trace lines (the buffer is cleared at each
# start), for a run that did not pass: the first and the last ones, as a
# loop of injected faults can fill the buffer
TRACE_HEAD_LINES=150
TRACE_SYMBOLS_MAX=16
kvm_trace_lines() {
	[ -n "$KVM_TRACE" ] || return 0
	grep -v '^#' "$TRACE_DIR/trace" 2>/dev/null | trace_events >/tmp/kvm-trace
	# A guest whose code runs in the kernel half (GUEST_KERNEL_HALF=1, a
	# Linux guest) has its own RIPs there: naming them by L1's symbols
	# would say its vCPU ran L1's code.
	if [ "$GUEST_KERNEL_HALF" = 1 ]; then
		echo "addresses not named: the guest runs in the kernel half, as L1 does" >/tmp/kvm-syms
	else
		kernel_symbols </tmp/kvm-trace | head -n "$TRACE_SYMBOLS_MAX" >/tmp/kvm-syms
	fi
	n=$(wc -l </tmp/kvm-trace)
	room=$((DIAG_LINES - TRACE_SYMBOLS_MAX))
	if [ "$n" -le "$room" ]; then
		cat /tmp/kvm-trace
	else
		head -n "$TRACE_HEAD_LINES" /tmp/kvm-trace
		echo "... $((n - room + 1)) lines left out ..."
		tail -n $((room - TRACE_HEAD_LINES - 1)) /tmp/kvm-trace
	fi
	cat /tmp/kvm-syms
	rm -f /tmp/kvm-trace /tmp/kvm-syms
}

# start_anchor: before any L2 boot, a VM of our own with a never-run vCPU
# whose APIC is disabled holds the static keys KVM moves per VM and per APIC
# above zero, so L1's kernel text is not patched under the running L2 guests
# (kvm-anchor.c says why). It lives as long as L1.
start_anchor() {
	ANCHOR_HELD=false
	if [ "${ANCHOR:-1}" != 1 ]; then
		ctl "log kvm-anchor off (--l1-no-anchor): KVM's APIC static keys move at every L2 boot"
		return 0
	fi
	/job/kvm-anchor >/tmp/kvm-anchor.out 2>&1 &
	anchor_pid=$!
	i=0
	while ! grep -q '^kvm-anchor: ready' /tmp/kvm-anchor.out 2>/dev/null; do
		kill -0 "$anchor_pid" 2>/dev/null ||
			fail "$(cat /tmp/kvm-anchor.out 2>/dev/null | tr '\n' ' ')(kvm-anchor exited before it was ready)"
		i=$((i + 1))
		[ "$i" -le 300 ] || fail "kvm-anchor not ready after 30 s"
		sleep 0.1
	done
	ANCHOR_HELD=true
}

# l1_boot: sets L1_BOOT from the kernel command line (1 without it)
l1_boot() {
	L1_BOOT=1
	for word in $(cat /proc/cmdline); do
		case "$word" in
		"$L1_BOOT_PARAM="[0-9]*) L1_BOOT=${word#*=} ;;
		esac
	done
}

# apply_boot_break: the test hook that stalls L1's first boot before "ready"
# (the host must stop this boot and boot L1 again)
apply_boot_break() {
	[ "$BREAK_MODE" = hang-first-boot ] && [ "$L1_BOOT" = 1 ] || return 0
	ctl "log breaking L1 on purpose: boot 1 hangs before KVM is ready"
	while :; do sleep 3600; done
}

apply_break_mode() {
	case "$BREAK_MODE" in
	"" | hang-first-boot) ;;
	panic)
		ctl "log breaking L1 on purpose: kernel panic"
		echo 1 >/proc/sys/kernel/sysrq
		echo c >/proc/sysrq-trigger
		;;
	hang)
		ctl "log breaking L1 on purpose: hanging"
		while :; do sleep 3600; done
		;;
	softlockup)
		# The report as Linux's soft-lockup watchdog prints it, through
		# /dev/kmsg at KERN_EMERG, so that the host sees it on the console.
		ctl "log breaking L1 on purpose: a soft-lockup report of CPU 1, then hanging"
		echo "<0>watchdog: BUG: soft lockup - CPU#1 stuck for 999s! [l1-break-hook:1]" >/dev/kmsg
		while :; do sleep 3600; done
		;;
	esac
}

# module_params_json: sets MODULES_JSON to {"kvm":{"param":"value",...},...}
module_params_json() {
	MODULES_JSON=""
	for m in $KVM_MODULES_SHOWN; do
		d=/sys/module/$m/parameters
		[ -d "$d" ] || continue
		_kv=""
		for f in "$d"/*; do
			[ -r "$f" ] || continue
			read -r v <"$f" 2>/dev/null || continue
			json_str "${f##*/}"
			_k=$J
			json_str "$v"
			_kv="$_kv${_kv:+,}$_k:$J"
		done
		MODULES_JSON="$MODULES_JSON${MODULES_JSON:+,}\"$m\":{$_kv}"
	done
	MODULES_JSON="{$MODULES_JSON}"
}

# read_cpuinfo: CPU_VENDOR CPU_FAMILY CPU_MODEL CPU_MODEL_NAME CPU_FLAGS of
# the first processor, CPU_COUNT
read_cpuinfo() {
	CPU_COUNT=0
	while IFS= read -r line; do
		key=${line%%:*}
		val=${line#*: }
		case "$key" in
		processor*) CPU_COUNT=$((CPU_COUNT + 1)) ;;
		vendor_id*) CPU_VENDOR=${CPU_VENDOR:-$val} ;;
		"cpu family"*) CPU_FAMILY=${CPU_FAMILY:-$val} ;;
		"model name"*) CPU_MODEL_NAME=${CPU_MODEL_NAME:-$val} ;;
		model*) CPU_MODEL=${CPU_MODEL:-$val} ;;
		flags*) CPU_FLAGS=${CPU_FLAGS:-$val} ;;
		esac
	done </proc/cpuinfo
}

# build_env_json: sets ENV_JSON, the description of this L1 host
build_env_json() {
	read_cpuinfo
	flags=" $CPU_FLAGS "
	svm=""
	for f in $SVM_FLAGS; do
		case "$flags" in
		*" $f "*) svm="$svm${svm:+,}\"$f\"" ;;
		esac
	done
	read -r _ mem_kb _ </proc/meminfo # first line: MemTotal: N kB
	module_params_json
	ENV_JSON="{"
	for pair in kernel:KERNEL_RELEASE package:L1_PACKAGE package_version:L1_PACKAGE_VERSION \
		cpu_vendor:CPU_VENDOR cpu_family:CPU_FAMILY cpu_model:CPU_MODEL \
		cpu_model_name:CPU_MODEL_NAME; do
		eval "json_str \"\${${pair#*:}:-}\""
		ENV_JSON="$ENV_JSON\"${pair%%:*}\":$J,"
	done
	json_str "$L0_DESC"
	ENV_JSON="$ENV_JSON\"svm_flags\":[$svm],\"cpus\":$CPU_COUNT,\"mem_kb\":${mem_kb:-0},\"modules\":$MODULES_JSON,\"kvm_anchor\":${ANCHOR_HELD:-false},\"l0\":$J,\"l1_boot\":$L1_BOOT}"
}

# watchdog PID SECONDS FLAG: SIGKILL PID after SECONDS and create FLAG;
# SIGTERM ends the watchdog and its sleep (no orphan left behind).
watchdog() {
	sleep "$2" &
	_spid=$!
	trap 'kill "$_spid" 2>/dev/null; exit 0' TERM
	wait "$_spid" || exit 0
	kill -KILL "$1" 2>/dev/null && : >"$3"
}

# end_watch PID COPY FLAG: once COPY holds a line matching END_PATTERN, give
# PID END_GRACE_S seconds, then SIGTERM it and create FLAG
end_watch() {
	_spid=
	trap 'kill "$_spid" 2>/dev/null; exit 0' TERM
	while kill -0 "$1" 2>/dev/null; do
		# -e: the pattern may start with a '-'
		if grep -Eq -e "$END_PATTERN" "$2" 2>/dev/null; then
			sleep "$END_GRACE_S" &
			_spid=$!
			wait "$_spid"
			kill -0 "$1" 2>/dev/null && kill -TERM "$1" 2>/dev/null && : >"$3"
			exit 0
		fi
		sleep 1 &
		_spid=$!
		wait "$_spid"
	done
}

# run_job I PIN TIMEOUT ARGS
run_job() {
	i=$1 pin=$2 tmo=$3 args=$4
	copy= pass=$PASS_STATUS
	case $args in
	*@SERIAL_COPY@*)
		copy=/tmp/l2-serial.$i pass=0
		args=$(printf '%s' "$args" | sed "s|@SERIAL_COPY@|$copy|g") ;;
	esac
	ended=/tmp/ended.$i
	put 3 "# l1: $ENV_JSON"
	ctl "start $i"
	flag=/tmp/timed-out.$i
	errf=/tmp/stderr.$i
	if [ "$pin" = "-" ]; then
		set --
	else
		set -- taskset -c "$pin"
	fi
	dlog=/tmp/l2-qemu.$i.log
	# debug-threads: vCPU threads are named "CPU N/KVM", which L1's trace
	# lines show (start_kvm_trace).
	eval "set -- \"\$@\" \"\$QEMU\" -L \"\$FIRMWARE_DIR\" -name pvspin,debug-threads=on -d \"\$L2_QEMU_DEBUG\" -D \"\$dlog\" $args"
	[ -z "$KVM_TRACE" ] || echo >"$TRACE_DIR/trace" # this run's lines only
	t0=$(uptime_cs)
	"$@" </dev/null >&3 2>"$errf" &
	qpid=$!
	watchdog "$qpid" "$tmo" "$flag" &
	wpid=$!
	epid=
	if [ -n "$copy" ] && [ -n "$END_PATTERN" ]; then
		end_watch "$qpid" "$copy" "$ended" &
		epid=$!
	fi
	wait "$qpid"
	st=$?
	t1=$(uptime_cs)
	kill "$wpid" $epid 2>/dev/null
	wait "$wpid" $epid
	if [ -e "$flag" ] && [ "$st" -eq "$KILLED_STATUS" ]; then
		st=$TIMEOUT_STATUS
	elif [ -e "$ended" ]; then
		ctl "log run $i: QEMU had not exited $END_GRACE_S s after the guest's end-of-run line: stopped"
		st=0
	fi
	while IFS= read -r line; do
		ctl "log run $i: $line"
	done <"$errf"
	# A guest that ends by its word and did not say it (no line matching
	# END_PATTERN) stopped for a reason its status 0 does not tell.
	if [ "$st" != "$pass" ] || { [ -n "$copy" ] && ! grep -Eq -e "$END_PATTERN" "$copy" 2>/dev/null; }; then
		[ -f "$dlog" ] && grep -Ev "$QEMU_DIAG_DROP" "$dlog" | send_diag "$i" qemu "$QEMU_DIAG_LINES"
		dmesg 2>/dev/null | send_diag "$i" dmesg
		kvm_trace_lines | send_diag "$i" trace
	fi
	rm -f "$dlog" "$copy" "$ended"
	ctl "status $i $st $((t1 - t0))"
}

run_jobs() {
	tab=$(printf '\t')
	n=0
	while IFS="$tab" read -r pin tmo args; do
		n=$((n + 1))
		run_job "$n" "$pin" "$tmo" "$args"
	done </job/jobs
}

worker() {
	# shellcheck disable=SC1091
	. /job/config
	open_channels
	ctl "log L1 kernel $(uname -r) up, host channels open after $(uptime_cs) cs"
	load_kvm
	start_kvm_trace
	start_anchor
	echo "$CONSOLE_LOGLEVEL" >/proc/sys/kernel/printk
	l1_boot
	apply_boot_break
	ctl "ready $(uptime_cs)"
	# shellcheck disable=SC2034 # read by build_env_json through eval
	KERNEL_RELEASE=$(uname -r)
	build_env_json
	ctl "env $ENV_JSON"
	apply_break_mode
	run_jobs
	finish "done"
}

main() {
	if [ "${1:-}" = worker ]; then
		worker # exits
	fi
	setup_fs
	/bin/sh /init worker
	sync
	poweroff -f
	sleep 60
}

main "$@"
