#!/bin/busybox sh
# l1-init.sh - /init of the L1 host that tools/nested/nested-run.sh boots under
# TCG. POSIX sh for busybox. It loads KVM, then runs the L2 jobs of
# /job/jobs one after another with qemu-system-x86_64 -accel kvm.
#
# Channels (serial ports of L1, see nested-run.sh):
#   ttyS0  kernel console and this script's own stdout/stderr (noise, kept
#          in a log on the host)
#   ttyS1  the host's stdout: a "# l1: {json}" line, then the raw serial
#          output of each L2 run (raw tty, byte-exact)
#   ttyS2  control lines for the host, one per line:
#            ready UPTIME_CS          KVM is usable
#            env JSON                 description of this L1 host
#            start I                  run I begins
#            status I CODE ELAPSED_CS run I ended with CODE (124: timed out)
#            log TEXT                 diagnostics for the host's stderr
#            fail REASON              the bed failed; nothing more follows
#            done                     every run finished
#
# /job/config (sh) sets: L1_PACKAGE L1_PACKAGE_VERSION L0_DESC BREAK_MODULES
#                        BREAK_MODE MODULE_PARAMS FIRMWARE_DIR
# /job/jobs: PIN<TAB>TIMEOUT<TAB>QEMU_ARGS, @IMAGE@ already replaced.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

OUT_TTY=/dev/ttyS1
CTL_TTY=/dev/ttyS2
MODULE_DIR=/lib/pvspin-modules
QEMU=/usr/bin/qemu-system-x86_64
TIMEOUT_STATUS=124
KILLED_STATUS=137          # 128 + SIGKILL
SVM_FLAGS="svm npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif x2avic v_spec_ctrl vnmi x2apic hypervisor"
KVM_MODULES_SHOWN="kvm kvm_amd"

ctl() { printf '%s\n' "$*" >&4; }

# Close the output channel first: closing a tty waits until its data is sent.
finish() {
	exec 3>&-
	[ -n "${1:-}" ] && ctl "$1"
	exec 4>&-
	sync
	poweroff -f
	sleep 60
}

fail() { finish "fail $*"; }

uptime_cs() {
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

# json_str TEXT: TEXT as a JSON string (escapes backslash, quote, control chars)
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\000-\037')"
}

setup_fs() {
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	mkdir -p /dev/shm /tmp /run
	mount -t tmpfs tmp /tmp
	mount -t tmpfs shm /dev/shm
	exec 3>"$OUT_TTY" 4>"$CTL_TTY"
	stty -F "$OUT_TTY" raw -echo
	stty -F "$CTL_TTY" raw -echo
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
	done <"$MODULE_DIR/order"
	[ -c /dev/kvm ] || fail "no /dev/kvm in L1 after loading the KVM modules"
}

apply_break_mode() {
	case "$BREAK_MODE" in
	"") ;;
	panic)
		ctl "log breaking L1 on purpose: kernel panic"
		echo 1 >/proc/sys/kernel/sysrq
		echo c >/proc/sysrq-trigger
		;;
	hang)
		ctl "log breaking L1 on purpose: hanging"
		while :; do sleep 3600; done
		;;
	esac
}

module_params_json() {
	_out=""
	for m in $KVM_MODULES_SHOWN; do
		d=/sys/module/$m/parameters
		[ -d "$d" ] || continue
		_kv=""
		for f in "$d"/*; do
			[ -r "$f" ] || continue
			v=$(cat "$f" 2>/dev/null) || continue
			_kv="$_kv${_kv:+,}$(json_str "${f##*/}"):$(json_str "$v")"
		done
		_out="$_out${_out:+,}\"$m\":{$_kv}"
	done
	echo "{$_out}"
}

cpuinfo_field() {
	sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n 1
}

build_env_json() {
	flags=" $(cpuinfo_field flags) "
	svm=""
	for f in $SVM_FLAGS; do
		case "$flags" in
		*" $f "*) svm="$svm${svm:+,}\"$f\"" ;;
		esac
	done
	mem_kb=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/meminfo)
	printf '{"kernel":%s,"package":%s,"package_version":%s,"cpu_vendor":%s,"cpu_family":%s,"cpu_model":%s,"cpu_model_name":%s,"svm_flags":[%s],"cpus":%s,"mem_kb":%s,"modules":%s,"l0":%s}' \
		"$(json_str "$(uname -r)")" \
		"$(json_str "$L1_PACKAGE")" \
		"$(json_str "$L1_PACKAGE_VERSION")" \
		"$(json_str "$(cpuinfo_field vendor_id)")" \
		"$(json_str "$(cpuinfo_field 'cpu family')")" \
		"$(json_str "$(cpuinfo_field model)")" \
		"$(json_str "$(cpuinfo_field 'model name')")" \
		"$svm" \
		"$(grep -c '^processor' /proc/cpuinfo)" \
		"${mem_kb:-0}" \
		"$(module_params_json)" \
		"$(json_str "$L0_DESC")"
}

# run_job I PIN TIMEOUT ARGS
run_job() {
	i=$1 pin=$2 tmo=$3 args=$4
	printf '# l1: %s\n' "$ENV_JSON" >&3
	ctl "start $i"
	flag=/tmp/timed-out.$i
	errf=/tmp/stderr.$i
	if [ "$pin" = "-" ]; then
		set --
	else
		set -- taskset -c "$pin"
	fi
	eval "set -- \"\$@\" \"\$QEMU\" -L \"\$FIRMWARE_DIR\" $args"
	t0=$(uptime_cs)
	"$@" </dev/null >&3 2>"$errf" &
	qpid=$!
	(sleep "$tmo" && kill -KILL "$qpid" 2>/dev/null && touch "$flag") &
	wpid=$!
	wait "$qpid"
	st=$?
	t1=$(uptime_cs)
	kill "$wpid" 2>/dev/null
	if [ -e "$flag" ] && [ "$st" -eq "$KILLED_STATUS" ]; then
		st=$TIMEOUT_STATUS
	fi
	while IFS= read -r line; do
		ctl "log run $i: $line"
	done <"$errf"
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

main() {
	setup_fs
	# shellcheck disable=SC1091
	. /job/config
	ctl "log L1 kernel $(uname -r) up after $(uptime_cs) cs"
	load_modules
	apply_break_mode
	ctl "ready $(uptime_cs)"
	ENV_JSON=$(build_env_json)
	ctl "env $ENV_JSON"
	run_jobs
	finish done
}

main "$@"
