#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# nested-run.sh - run pvspin guests (L2) under a real KVM that itself runs
# inside QEMU's TCG (L1: a Debian kernel with kvm-amd on TCG's "-cpu max",
# an AMD CPU with SVM and NPT). See docs/nested.md.
#
# The L1 bed (kernel, modules, busybox, the host's QEMU and its libraries and
# firmware) is prepared once per machine in a cache; per call only a small
# initramfs with the image, the job list and the L1 init is added.

set -euo pipefail

readonly PROG=${0##*/}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly L1_INIT_SRC=$SCRIPT_DIR/l1-init.sh
readonly ANCHOR_SRC=$SCRIPT_DIR/kvm-anchor.c

readonly EXIT_OK=0
readonly EXIT_USAGE=2
readonly EXIT_BED=125
readonly STATUS_TIMEOUT=124           # status of an L2 run that hit its timeout
readonly STATUS_KILLED=137            # 128 + SIGKILL: timeout(1) after --kill-after

readonly DEFAULT_KERNEL_META=linux-image-amd64
readonly DEFAULT_L1_SMP=2
readonly DEFAULT_L1_MEM_MB=2048
readonly L1_BOOT_ALLOWANCE_S=120       # TCG boot of L1, module load, shutdown
# An L1 that has not loaded KVM this long after its start stalled in its boot
# (QEMU TCG below it, not the guest under test: no L2 has run yet). It is
# stopped and booted again, up to DEFAULT_L1_BOOTS boots in all.
readonly L1_READY_BASE_S=60
readonly L1_READY_PER_CPU_S=5
readonly DEFAULT_L1_BOOTS=2
# L1's soft-lockup watchdog (Linux kernel/watchdog.c) reports a CPU that has
# not scheduled for 20 s, and again each ~26 s that it stays stuck. One
# stuck this long after L1 is ready ends L1 (a bed failure): no run can
# finish, and the whole limit may be many minutes away.
readonly DEFAULT_L1_STALL_LIMIT_S=40
readonly L1_SOFT_LOCKUP_RE='soft lockup - CPU#([0-9]+) stuck for ([0-9]+)s!'
readonly PER_RUN_ALLOWANCE_S=15        # L2 QEMU start and exit, beyond its own timeout
readonly KILL_GRACE_S=5                # SIGTERM to SIGKILL for the L1 QEMU
readonly L1_DUMP_BEFORE_S=8            # L1's CPU registers are read this long before the limit
readonly L1_DUMP_READ_S=4              # how long the monitor's answer may take
readonly CACHE_FORMAT=3                # bump when the base initramfs layout changes
# L1 modules, each group loaded with its dependencies, in this order.
readonly CHANNEL_MODULES=(virtio_pci virtio_console)   # the host channels
readonly KVM_MODULES=(kvm-amd)
readonly BUSYBOX_PACKAGE=busybox-static
readonly HOST_QEMU=${PVSPIN_NESTED_QEMU:-qemu-system-x86_64}
readonly L1_KERNEL_CMDLINE="console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init"
readonly L1_BOOT_PARAM=pvspin.l1_boot  # added to it: which boot of this call L1 is
readonly L1_JOB_IMAGE=/job/image
readonly L1_FIRMWARE_DIR=/usr/share/qemu
readonly L1_MODULE_DIR=lib/pvspin-modules
# Channels from L1 to the host: virtio-serial ports (names as L1 sees them).
# Extra UARTs lost transmit interrupts under TCG now and then (their output
# stalled, lines were lost at power-off); a virtio port write is in the host
# file when it returns.
readonly OUT_PORT_NAME=pvspin.out      # -> stdout
readonly CTL_PORT_NAME=pvspin.ctl      # -> control log
readonly EARLY_CTL_PREFIX='@@pvspin-ctl '  # control lines on the console before the ports exist
# Firmware for L2, searched in this order; the first file of a name wins,
# as in QEMU's own search path.
readonly FIRMWARE_SOURCES=(/usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu)
readonly FIRMWARE_GLOBS=('*.bin' '*.rom' '*.aml')
readonly QEMU_MODULE_DIR=/usr/lib/x86_64-linux-gnu/qemu
readonly QEMU_MODULE_GLOB='accel-*.so'  # TCG inside L1, for comparisons
# Host tools the bed needs, as tool:Debian package.
readonly HOST_TOOLS=(apt-get:apt apt-cache:apt dpkg-deb:dpkg tar:tar cpio:cpio gzip:gzip
	xz:xz-utils strings:binutils readelf:binutils ldd:libc-bin flock:util-linux
	timeout:coreutils tail:coreutils md5sum:coreutils stat:coreutils)

usage() {
	cat <<EOF
Usage: $PROG [options] --image PATH JOBFILE

Boot an L1 Linux with real KVM under QEMU TCG and run each line of JOBFILE
inside it as one L2 qemu-system-x86_64 run (all in one L1 boot).

JOBFILE lines: PIN<TAB>TIMEOUT_SEC<TAB>QEMU_ARGS
  PIN        L1 CPU list for 'taskset -c', or '-' for none
  QEMU_ARGS  shell-quoted (POSIX sh); the token @IMAGE@ is the image path.
  Empty lines and lines starting with '#' are ignored.

Options:
  --image PATH          guest image (Multiboot kernel for -kernel); required
  --l1-kernel PKG       Debian kernel package for L1
                        (default: what $DEFAULT_KERNEL_META depends on)
  --l1-smp N            L1 CPUs (default $DEFAULT_L1_SMP)
  --l1-mem MB           L1 memory (default $DEFAULT_L1_MEM_MB)
  --l1-param M.P=V      module parameter for L1's KVM, e.g. kvm.halt_poll_ns=0
                        (repeatable)
  --l0-tcg multi|single L0's TCG for L1 (default multi): multi runs each L1
                        CPU on a host thread of its own, truly in parallel;
                        single runs them all on one, in turns, which avoids
                        the races (seen with L0 QEMU 7.2 and 10.0) that now
                        and then break an L2 vCPU when L1's CPUs run at
                        once (docs/nested.md, R8), at the price of that
                        parallelism
  --l0-qemu PATH        QEMU binary that runs L1 (default: the host QEMU,
                        $HOST_QEMU, which is also the QEMU copied into L1
                        for L2); the env JSON's l0 names its version
  --timeout SEC         bound for the whole call, every L1 boot included
                        (default: sum of job timeouts + $L1_BOOT_ALLOWANCE_S
                        + $PER_RUN_ALLOWANCE_S per job)
  --l1-ready-limit SEC  an L1 that has not loaded KVM SEC seconds after its
                        start stalled in its boot: its CPUs' registers are
                        read, it is stopped and booted again (default
                        $L1_READY_BASE_S + $L1_READY_PER_CPU_S per L1 CPU)
  --l1-stall-limit SEC  once L1 is ready, a soft-lockup report of an L1 CPU
                        stuck SEC seconds or more ends L1: status $EXIT_BED
                        naming the report (default $DEFAULT_L1_STALL_LIMIT_S)
  --l1-boots N          boot L1 at most N times when boots stall (default
                        $DEFAULT_L1_BOOTS); the env JSON's l1_boot says which
                        boot ran the jobs
  --end-pattern ERE     a job whose QEMU arguments hold @SERIAL_COPY@ ends
                        by the guest's word: once its serial output has a
                        line matching ERE (grep -E), QEMU gets --end-grace
                        seconds to exit, is then stopped, and the run's raw
                        status is 0 (the guest powered off)
  --end-grace SEC       those seconds; required with --end-pattern
  --status-file FILE    write each run's raw exit status (124: timed out)
  --env-file FILE       write the L1 description (JSON)
  --quiet               no progress on stderr (errors still)
  --prepare             only fill the cache (JOBFILE and --image not needed)
  --keep-work           keep the work directory (logs of L1) and print it
  --diag-dir DIR        keep diagnostics in DIR: per L2 run that did not pass
                        (raw status other than 1) run-I.qemu.log (the tail of
                        its QEMU's -d guest_errors,cpu_reset log) and
                        run-I.l1-dmesg (L1's kernel log then),
                        run-I.l1-trace (L1 KVM's trace of vCPU shutdowns,
                        injected faults and the emulations before them,
                        with the L1 symbol of each L1 address); on a bed
                        failure l1-console.log, l1-qemu.log and l1-dmesg
  --l1-break-module M   test hook: remove module M from L1 (expect 125)
  --l1-break MODE       test hook: MODE panic|hang breaks L1 after KVM loads;
                        softlockup prints a soft-lockup report of CPU 1 on
                        L1's console, then hangs; hang-first-boot stalls
                        L1's first boot before it
  --l1-no-anchor        experiment hook: no kvm-anchor in L1, so the static
                        keys KVM moves per guest are patched at every L2 boot
                        (kvm-anchor.c)
  -h, --help            this text

Output: stdout carries, per run, one '# l1: {json}' line then the L2 serial
output, byte-exact; diagnostics never go there (stderr, --diag-dir). Exit: 0 bed worked (statuses recorded), $EXIT_BED bed
failure (reason on stderr), $EXIT_USAGE bad usage.
Cache: \${XDG_CACHE_HOME:-\$HOME/.cache}/pvspin/nested
Environment: PVSPIN_NESTED_BREAK_MODULE, PVSPIN_NESTED_BREAK,
PVSPIN_NESTED_NO_ANCHOR=1 (same as the hooks), PVSPIN_NESTED_QEMU (host QEMU
binary), PVSPIN_NESTED_L0_QEMU (same as --l0-qemu), CC (compiler for
kvm-anchor, default gcc).
EOF
}

# --- messages ----------------------------------------------------------------

QUIET=0
log() { ((QUIET)) || printf '%s: %s\n' "$PROG" "$*" >&2; }
die_usage() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	usage >&2
	exit "$EXIT_USAGE"
}
die_bed() {
	printf '%s: bed failure: %s\n' "$PROG" "$*" >&2
	exit "$EXIT_BED"
}
# Any command that set -e would end the script with is a bed failure too: one
# line naming it, status 125, never a bare exit with the command's own status.
# In a subshell ($(...)) only the status travels up; the parent names the
# command. A die_bed has already said why.
on_err() {
	local status=$1 line=$2 cmd=$3
	((BASH_SUBSHELL == 0 && status != EXIT_BED)) ||
		exit "$status"
	die_bed "unexpected failure (status $status) at line $line: $cmd"
}
set -E
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

# --- options -----------------------------------------------------------------

IMAGE=""
JOBFILE=""
L1_KERNEL_PKG=""
L1_SMP=$DEFAULT_L1_SMP
L1_MEM_MB=$DEFAULT_L1_MEM_MB
TOTAL_TIMEOUT=""
STATUS_FILE=""
ENV_FILE=""
PREPARE_ONLY=0
KEEP_WORK=0
DIAG_DIR=""
MODULE_PARAMS=()
BREAK_MODULES=${PVSPIN_NESTED_BREAK_MODULE:-}
BREAK_MODE=${PVSPIN_NESTED_BREAK:-}
ANCHOR=1
[[ ${PVSPIN_NESTED_NO_ANCHOR:-} == 1 ]] && ANCHOR=0
L0_TCG=multi
L0_QEMU=${PVSPIN_NESTED_L0_QEMU:-}
L1_READY_LIMIT=""
L1_BOOTS=$DEFAULT_L1_BOOTS
L1_STALL_LIMIT=$DEFAULT_L1_STALL_LIMIT_S
END_PATTERN=""
END_GRACE_S=""

is_posint() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 > 0)); }

# pin_in_range LIST: every CPU of the taskset list exists in L1 (a failed
# taskset in L1 would exit 1, which reads as a pass of isa-debug-exit)
pin_in_range() {
	local part lo hi
	for part in ${1//,/ }; do
		lo=${part%-*} hi=${part#*-}
		((10#$lo <= 10#$hi && 10#$hi < L1_SMP)) || return 1
	done
}

need_arg() { (($2 >= 2)) || die_usage "option $1 needs a value"; }

parse_args() {
	while (($#)); do
		case $1 in
		--image) need_arg "$1" $#; IMAGE=$2; shift 2 ;;
		--l1-kernel) need_arg "$1" $#; L1_KERNEL_PKG=$2; shift 2 ;;
		--l1-smp) need_arg "$1" $#; L1_SMP=$2; shift 2 ;;
		--l1-mem) need_arg "$1" $#; L1_MEM_MB=$2; shift 2 ;;
		--l1-param) need_arg "$1" $#; MODULE_PARAMS+=("$2"); shift 2 ;;
		--l0-tcg) need_arg "$1" $#; L0_TCG=$2; shift 2 ;;
		--l0-qemu) need_arg "$1" $#; L0_QEMU=$2; shift 2 ;;
		--timeout) need_arg "$1" $#; TOTAL_TIMEOUT=$2; shift 2 ;;
		--l1-ready-limit) need_arg "$1" $#; L1_READY_LIMIT=$2; shift 2 ;;
		--l1-boots) need_arg "$1" $#; L1_BOOTS=$2; shift 2 ;;
		--l1-stall-limit) need_arg "$1" $#; L1_STALL_LIMIT=$2; shift 2 ;;
		--status-file) need_arg "$1" $#; STATUS_FILE=$2; shift 2 ;;
		--end-pattern) need_arg "$1" $#; END_PATTERN=$2; shift 2 ;;
		--end-grace) need_arg "$1" $#; END_GRACE_S=$2; shift 2 ;;
		--env-file) need_arg "$1" $#; ENV_FILE=$2; shift 2 ;;
		--quiet) QUIET=1; shift ;;
		--prepare) PREPARE_ONLY=1; shift ;;
		--keep-work) KEEP_WORK=1; shift ;;
		--diag-dir) need_arg "$1" $#; DIAG_DIR=$2; shift 2 ;;
		--l1-break-module) need_arg "$1" $#; BREAK_MODULES="$BREAK_MODULES $2"; shift 2 ;;
		--l1-break) need_arg "$1" $#; BREAK_MODE=$2; shift 2 ;;
		--l1-no-anchor) ANCHOR=0; shift ;;
		-h | --help) usage; exit "$EXIT_OK" ;;
		--) shift; break ;;
		-*) die_usage "unknown option: $1" ;;
		*) break ;;
		esac
	done
	if ((PREPARE_ONLY)); then
		(($# == 0)) || die_usage "--prepare takes no JOBFILE"
	else
		(($# == 1)) || die_usage "expected exactly one JOBFILE"
		JOBFILE=$1
		[[ -n $IMAGE ]] || die_usage "--image is required"
		[[ -f $IMAGE && -r $IMAGE ]] || die_usage "image not found: $IMAGE"
		[[ -f $JOBFILE && -r $JOBFILE ]] || die_usage "job file not found: $JOBFILE"
	fi
	is_posint "$L1_SMP" || die_usage "--l1-smp must be a positive integer: $L1_SMP"
	[[ -z $END_PATTERN && -z $END_GRACE_S ]] || is_posint "$END_GRACE_S" ||
		die_usage "--end-pattern goes with --end-grace, a positive integer (s): '$END_GRACE_S'"
	[[ -n $END_PATTERN ]] || ! grep -q '@SERIAL_COPY@' "${JOBFILE:-/dev/null}" ||
		die_usage "jobs with @SERIAL_COPY@ end by the guest's word: they need --end-pattern"
	case $L0_TCG in
	multi) L0_ACCEL=tcg ;;
	single) L0_ACCEL=tcg,thread=single ;;
	*) die_usage "--l0-tcg must be multi or single: $L0_TCG" ;;
	esac
	is_posint "$L1_MEM_MB" || die_usage "--l1-mem must be a positive integer (MB): $L1_MEM_MB"
	[[ -z $TOTAL_TIMEOUT ]] || is_posint "$TOTAL_TIMEOUT" ||
		die_usage "--timeout must be a positive integer (seconds): $TOTAL_TIMEOUT"
	[[ -z $L1_READY_LIMIT ]] || is_posint "$L1_READY_LIMIT" ||
		die_usage "--l1-ready-limit must be a positive integer (seconds): $L1_READY_LIMIT"
	is_posint "$L1_BOOTS" || die_usage "--l1-boots must be a positive integer: $L1_BOOTS"
	is_posint "$L1_STALL_LIMIT" || die_usage "--l1-stall-limit must be a positive integer (seconds): $L1_STALL_LIMIT"
	[[ -z $L0_QEMU ]] || command -v "$L0_QEMU" >/dev/null ||
		die_usage "--l0-qemu: no such executable: $L0_QEMU"
	local p
	for p in "${MODULE_PARAMS[@]}"; do
		[[ $p =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_]+=[^[:space:]]*$ ]] ||
			die_usage "--l1-param must be MODULE.PARAM=VALUE: $p"
	done
	case $BREAK_MODE in
	"" | panic | hang | softlockup | hang-first-boot) ;;
	*) die_usage "--l1-break must be panic, hang, softlockup or hang-first-boot: $BREAK_MODE" ;;
	esac
}

# --- job file ----------------------------------------------------------------

JOB_LINES=()       # PIN<TAB>TIMEOUT<TAB>ARGS with @IMAGE@ replaced
JOB_TIMEOUT_SUM=0

read_jobfile() {
	local line pin tmo args n=0 rest
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		[[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
		[[ $line == *$'\t'*$'\t'* ]] ||
			die_usage "$JOBFILE:$n: expected PIN<TAB>TIMEOUT_SEC<TAB>QEMU_ARGS"
		pin=${line%%$'\t'*}
		rest=${line#*$'\t'}
		tmo=${rest%%$'\t'*}
		args=${rest#*$'\t'}
		[[ $pin == - || $pin =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] ||
			die_usage "$JOBFILE:$n: PIN must be '-' or a CPU list: $pin"
		[[ $pin == - ]] || pin_in_range "$pin" ||
			die_usage "$JOBFILE:$n: PIN $pin names CPUs that L1 lacks (--l1-smp $L1_SMP: 0-$((L1_SMP - 1)))"
		is_posint "$tmo" || die_usage "$JOBFILE:$n: TIMEOUT_SEC must be a positive integer: $tmo"
		[[ $args == *[![:space:]]* ]] || die_usage "$JOBFILE:$n: empty QEMU_ARGS"
		[[ $args != *$'\n'* ]] || die_usage "$JOBFILE:$n: newline in QEMU_ARGS"
		JOB_LINES+=("$pin"$'\t'"$tmo"$'\t'"${args//@IMAGE@/$L1_JOB_IMAGE}")
		JOB_TIMEOUT_SUM=$((JOB_TIMEOUT_SUM + tmo))
	done <"$JOBFILE"
}

# --- cache -------------------------------------------------------------------

CACHE_ROOT=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pvspin/nested
KERNEL_VERSION=""
BUSYBOX_VERSION=""
QEMU_VERSION=""
L0_QEMU_USED=""
L0_QEMU_VERSION=""
KERNEL_DIR=""
L1_BOOT_KERNEL=""                      # vmlinux (PVH entry, no decompression) or vmlinuz
BASE_INITRD=""

check_host_tools() {
	local pair missing=() pkgs=()
	for pair in "${HOST_TOOLS[@]}"; do
		command -v "${pair%%:*}" >/dev/null && continue
		missing+=("${pair%%:*}")
		[[ " ${pkgs[*]-} " == *" ${pair#*:} "* ]] || pkgs+=("${pair#*:}")
	done
	((${#missing[@]} == 0)) ||
		die_bed "host tools missing: ${missing[*]} (apt-get install ${pkgs[*]})"
}

# key TEXT: TEXT made safe for a file name
key() { printf '%s' "$1" | tr -c 'A-Za-z0-9._+-' '_'; }

# apt_version PKG: the candidate version apt knows of, empty when none (apt's
# lists missing or PKG unknown: callers say which)
apt_version() {
	{ apt-cache show --no-all-versions "$1" 2>/dev/null || true; } |
		sed -n 's/^Version: //p' | head -n 1
}

ensure_apt_lists() {
	[[ -n $(apt_version "$BUSYBOX_PACKAGE") ]] && return 0
	log "apt lists missing; running apt-get update"
	apt-get update -qq >&2 || die_bed "apt-get update failed (needed to find $BUSYBOX_PACKAGE and the L1 kernel)"
	# apt-get update exits 0 when every download failed (offline): say so here,
	# not later as an unknown package.
	[[ -n $(apt_version "$BUSYBOX_PACKAGE") ]] ||
		die_bed "apt-get update left apt without $BUSYBOX_PACKAGE (offline? its messages are above); the bed needs it and the L1 kernel from Debian's archive"
}

resolve_kernel_package() {
	if [[ -z $L1_KERNEL_PKG ]]; then
		L1_KERNEL_PKG=$({ apt-cache depends "$DEFAULT_KERNEL_META" 2>/dev/null || true; } |
			sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
		[[ -n $L1_KERNEL_PKG ]] ||
			die_bed "cannot resolve the kernel package that $DEFAULT_KERNEL_META depends on (apt-cache depends)"
	fi
	KERNEL_VERSION=$(apt_version "$L1_KERNEL_PKG")
	[[ -n $KERNEL_VERSION ]] || die_bed "kernel package $L1_KERNEL_PKG not known to apt-cache"
	BUSYBOX_VERSION=$(apt_version "$BUSYBOX_PACKAGE")
	[[ -n $BUSYBOX_VERSION ]] || die_bed "$BUSYBOX_PACKAGE not known to apt-cache"
}

resolve_qemu() {
	local qemu_path
	qemu_path=$(command -v "$HOST_QEMU") || die_bed "$HOST_QEMU not found on the host"
	QEMU_VERSION=$("$qemu_path" --version | head -n 1 | sed 's/^QEMU emulator version //')
	[[ -n $QEMU_VERSION ]] || die_bed "cannot read the version of $HOST_QEMU"
	L0_QEMU_USED=${L0_QEMU:-$HOST_QEMU}
	L0_QEMU_VERSION=$QEMU_VERSION
	if [[ -n $L0_QEMU ]]; then
		L0_QEMU_VERSION=$("$L0_QEMU" --version 2>/dev/null | head -n 1 | sed 's/^QEMU emulator version //') || true
		[[ -n $L0_QEMU_VERSION ]] || die_bed "cannot read the version of --l0-qemu $L0_QEMU ($L0_QEMU --version)"
	fi
}

# fetch_deb PKG VERSION: the cached .deb path (downloaded once)
fetch_deb() {
	local pkg=$1 ver=$2 dir=$CACHE_ROOT/debs deb tmp
	deb=$dir/$(key "${pkg}_$ver").deb
	if [[ ! -s $deb ]]; then
		mkdir -p "$dir"
		tmp=$(mktemp -d "$dir/.dl.XXXXXX")
		log "downloading $pkg=$ver"
		if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >"$tmp/log" 2>&1); then
			cat "$tmp/log" >&2
			rm -rf "$tmp"
			die_bed "download of $pkg=$ver failed (apt-get download)"
		fi
		mv "$tmp"/*.deb "$deb"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$deb"
}

# module_depends KO: the module names KO depends on, one a line
module_depends() {
	strings -a "$1" | sed -n 's/^depends=//p' | head -n 1 | tr ',' '\n' | sed '/^$/d'
}

# unpack_kernel: vmlinuz and the KVM modules of the kernel package
unpack_kernel() {
	local deb tmp listing release name path new
	KERNEL_DIR=$CACHE_ROOT/kernels/$(key "${L1_KERNEL_PKG}_$KERNEL_VERSION")
	[[ -s $KERNEL_DIR/vmlinuz && -s $KERNEL_DIR/modules/order.kvm &&
		-s $KERNEL_DIR/modules/order.channel ]] && return 0
	deb=$(fetch_deb "$L1_KERNEL_PKG" "$KERNEL_VERSION")
	log "unpacking $L1_KERNEL_PKG"
	tmp=$(mktemp -d "$CACHE_ROOT/.unpack.XXXXXX")
	listing=$tmp/listing
	dpkg-deb --fsys-tarfile "$deb" | tar -t >"$listing" || die_bed "cannot read $deb"
	path=$(grep -m 1 '^\./boot/vmlinuz-' "$listing") || die_bed "no vmlinuz in $L1_KERNEL_PKG"
	release=${path#./boot/vmlinuz-}
	# Resolve the modules' dependencies by reading each extracted .ko.
	declare -A ko_path=() seen=()
	local -a todo=("${CHANNEL_MODULES[@]}" "${KVM_MODULES[@]}") wanted=() order=()
	while ((${#todo[@]})); do
		wanted=()
		for name in "${todo[@]}"; do
			name=${name//-/_}
			[[ -n ${seen[$name]:-} ]] && continue
			seen[$name]=1
			path=$(grep -m 1 -E "/kernel/.*/${name//_/[-_]}\\.ko$" "$listing") ||
				die_bed "module $name not found in $L1_KERNEL_PKG"
			ko_path[$name]=$path
			wanted+=("$path")
		done
		((${#wanted[@]})) || break
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "${wanted[@]}" ||
			die_bed "cannot extract modules from $deb"
		todo=()
		for path in "${wanted[@]}"; do
			mapfile -t new < <(module_depends "$tmp/$path")
			todo+=("${new[@]}")
		done
	done
	# Load order: dependencies first.
	declare -A placed=()
	place() {
		local n=$1 d
		[[ -n ${placed[$n]:-} ]] && return 0
		placed[$n]=1
		while read -r d; do
			[[ -n $d ]] && place "${d//-/_}"
		done < <(module_depends "$tmp/${ko_path[$n]}")
		order+=("$n")
	}
	mkdir -p "$tmp/out/modules"
	for name in "${CHANNEL_MODULES[@]}"; do place "${name//-/_}"; done
	printf '%s\n' "${order[@]}" >"$tmp/out/modules/order.channel"
	local -a all=("${order[@]}")
	order=()
	for name in "${KVM_MODULES[@]}"; do place "${name//-/_}"; done
	printf '%s\n' "${order[@]}" >"$tmp/out/modules/order.kvm"
	all+=("${order[@]}")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./boot/vmlinuz-$release" ||
		die_bed "cannot extract vmlinuz from $deb"
	mv "$tmp/boot/vmlinuz-$release" "$tmp/out/vmlinuz"
	printf '%s\n' "$release" >"$tmp/out/release"
	for name in "${all[@]}"; do
		cp "$tmp/${ko_path[$name]}" "$tmp/out/modules/$name.ko"
	done
	mkdir -p "${KERNEL_DIR%/*}"
	rm -rf "$KERNEL_DIR"
	mv "$tmp/out" "$KERNEL_DIR"
	rm -rf "$tmp"
	log "L1 kernel $release, modules: ${all[*]}"
}

# has_pvh_note ELF: does ELF carry XEN_ELFNOTE_PHYS32_ENTRY (QEMU's PVH boot)?
has_pvh_note() {
	command -v readelf >/dev/null || return 1
	readelf -n "$1" 2>/dev/null | grep -q 'Xen .*(0x00000012)'
}

# extract_vmlinux: the uncompressed kernel ELF out of vmlinuz, once. QEMU
# boots it through its PVH note, which saves L1 the decompression under TCG
# (measured: 2-3 s of each L1 boot). Falls back to vmlinuz when impossible.
extract_vmlinux() {
	local in=$KERNEL_DIR/vmlinuz out=$KERNEL_DIR/vmlinux none=$KERNEL_DIR/vmlinux.none
	local magic tool off tmp
	[[ -s $out || -e $none ]] && return 0
	tmp=$(mktemp "$KERNEL_DIR/.vmlinux.XXXXXX")
	for magic in xz gzip zstd; do
		case $magic in
		xz) off=$(LC_ALL=C grep -abo -m 1 $'\xfd7zXZ\x00' "$in" | head -n 1 | cut -d: -f1); tool="xz -dc --single-stream" ;;
		gzip) off=$(LC_ALL=C grep -abo -m 1 $'\x1f\x8b\x08' "$in" | head -n 1 | cut -d: -f1); tool="gzip -dc" ;;
		zstd) off=$(LC_ALL=C grep -abo -m 1 $'\x28\xb5\x2f\xfd' "$in" | head -n 1 | cut -d: -f1); tool="zstd -dc" ;;
		esac
		if [[ -z $off ]] || ! command -v "${tool%% *}" >/dev/null; then
			continue
		fi
		tail -c +$((off + 1)) "$in" | $tool >"$tmp" 2>/dev/null || true
		if [[ $(head -c 4 "$tmp" | od -An -c | tr -d ' ') == 177ELF ]] && has_pvh_note "$tmp"; then
			chmod 644 "$tmp"
			mv "$tmp" "$out"
			log "L1 kernel: uncompressed vmlinux with a PVH note ($magic)"
			return 0
		fi
	done
	rm -f "$tmp"
	: >"$none"
	log "L1 kernel: no PVH vmlinux could be extracted; booting vmlinuz"
}

# copy_with_path SRC ROOT: copy SRC (dereferenced) to ROOT/SRC
copy_with_path() {
	mkdir -p "$2/$(dirname "$1")"
	cp -L "$1" "$2/$1"
}

stage_qemu() {
	local root=$1 qemu_path lib mod
	qemu_path=$(command -v "$HOST_QEMU")
	copy_with_path "$qemu_path" "$root"
	[[ $qemu_path == /usr/bin/qemu-system-x86_64 ]] ||
		cp -L "$qemu_path" "$root/usr/bin/qemu-system-x86_64"
	# ldd prints "name => /path (addr)" and "/path/ld.so (addr)"
	while read -r lib; do
		copy_with_path "$lib" "$root"
	done < <(ldd "$qemu_path" | grep -o '/[^ ]*' | sort -u)
	for mod in "$QEMU_MODULE_DIR"/$QEMU_MODULE_GLOB; do
		[[ -e $mod ]] && copy_with_path "$mod" "$root"
	done
	local fwdir=$root$L1_FIRMWARE_DIR src glob f
	mkdir -p "$fwdir"
	for src in "${FIRMWARE_SOURCES[@]}"; do
		for glob in "${FIRMWARE_GLOBS[@]}"; do
			for f in "$src"/$glob; do
				[[ -e $f && ! -e $fwdir/${f##*/} ]] && cp -L "$f" "$fwdir/"
			done
		done
	done
	[[ -e $fwdir/bios-256k.bin ]] || log "warning: no bios-256k.bin (install seabios): L2 q35/pc without -bios will fail"
	return 0
}

stage_busybox() {
	local root=$1 deb tmp applet
	deb=$(fetch_deb "$BUSYBOX_PACKAGE" "$BUSYBOX_VERSION")
	tmp=$(mktemp -d "$CACHE_ROOT/.bb.XXXXXX")
	dpkg-deb -x "$deb" "$tmp"
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	cp "$tmp/bin/busybox" "$root/bin/busybox"
	rm -rf "$tmp"
	for applet in $("$root/bin/busybox" --list); do
		[[ $applet == busybox ]] && continue
		ln -sf busybox "$root/bin/$applet"
	done
}

build_base_initrd() {
	local root
	BASE_INITRD=$CACHE_ROOT/base/$(key "${L1_KERNEL_PKG}_${KERNEL_VERSION}+qemu_${QEMU_VERSION}+bb_${BUSYBOX_VERSION}+v$CACHE_FORMAT").cpio
	[[ -s $BASE_INITRD ]] && return 0
	log "building the base initramfs"
	mkdir -p "$CACHE_ROOT/base"
	root=$(mktemp -d "$CACHE_ROOT/.root.XXXXXX")
	mkdir -p "$root"/{proc,sys,dev,tmp,run,job,"$L1_MODULE_DIR"}
	stage_busybox "$root"
	stage_qemu "$root"
	cp "$KERNEL_DIR"/modules/* "$root/$L1_MODULE_DIR/"
	# Uncompressed: unpacking it under TCG is ~1 s faster than gunzip.
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
		>"$BASE_INITRD.tmp" || die_bed "cannot build the base initramfs"
	mv "$BASE_INITRD.tmp" "$BASE_INITRD"
	rm -rf "$root"
}

# apt_lists_stamp: changes whenever apt's package lists change
# (empty lists, as in a fresh container image, are a state like any other).
apt_lists_stamp() {
	{ stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null || true; } |
		md5sum | cut -c1-16
}

# resolve_versions: L1_KERNEL_PKG, KERNEL_VERSION, BUSYBOX_VERSION. apt-cache
# takes ~0.8 s a call, so the answer is kept per state of apt's lists.
resolve_versions() {
	local memo_dir=$CACHE_ROOT/resolved memo
	memo=$memo_dir/$(key "${L1_KERNEL_PKG:-default}")_$(apt_lists_stamp)
	if [[ -s $memo ]] && read -r L1_KERNEL_PKG KERNEL_VERSION BUSYBOX_VERSION <"$memo" &&
		[[ -n $BUSYBOX_VERSION ]]; then
		return 0
	fi
	local requested=${L1_KERNEL_PKG:-default}
	ensure_apt_lists
	resolve_kernel_package
	mkdir -p "$memo_dir"
	memo=$memo_dir/$(key "$requested")_$(apt_lists_stamp)
	printf '%s %s %s\n' "$L1_KERNEL_PKG" "$KERNEL_VERSION" "$BUSYBOX_VERSION" >"$memo.tmp"
	mv "$memo.tmp" "$memo"
}

prepare_cache() {
	mkdir -p "$CACHE_ROOT" || die_bed "cannot create the cache $CACHE_ROOT"
	exec 9>"$CACHE_ROOT/lock"
	flock 9 || die_bed "cannot lock $CACHE_ROOT/lock"
	# Leftovers of an interrupted preparation (nobody else holds the lock).
	rm -rf "$CACHE_ROOT"/.dl.* "$CACHE_ROOT"/debs/.dl.* "$CACHE_ROOT"/.unpack.* \
		"$CACHE_ROOT"/.bb.* "$CACHE_ROOT"/.root.* "$CACHE_ROOT"/kernels/*/.vmlinux.* \
		"$CACHE_ROOT"/base/*.tmp
	resolve_versions
	resolve_qemu
	unpack_kernel
	extract_vmlinux
	L1_BOOT_KERNEL=$KERNEL_DIR/vmlinuz
	[[ -s $KERNEL_DIR/vmlinux ]] && L1_BOOT_KERNEL=$KERNEL_DIR/vmlinux
	build_base_initrd
	flock -u 9
	exec 9>&-
}

# --- one L1 run --------------------------------------------------------------

WORK=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[[ -n $WORK && -d $WORK ]] || return 0
	if ((KEEP_WORK)); then
		printf '%s: work directory kept: %s\n' "$PROG" "$WORK" >&2
	else
		rm -rf "$WORK"
	fi
}

shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# build_anchor DEST: the freestanding kvm-anchor for L1 (no C library there)
build_anchor() {
	local err
	err=$(${CC:-gcc} -std=c11 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib -static \
		-fno-pie -no-pie -fno-stack-protector -mgeneral-regs-only \
		-o "$1" "$ANCHOR_SRC" 2>&1) ||
		die_bed "cannot build L1's kvm-anchor from $ANCHOR_SRC: $(echo "$err" | head -n 3 | tr '\n' ' ')"
}

write_job_cpio() {
	local jobroot=$WORK/jobroot line
	mkdir -p "$jobroot/job"
	cp "$L1_INIT_SRC" "$jobroot/init"
	chmod 755 "$jobroot/init"
	cp "$IMAGE" "$jobroot/job/image"
	((ANCHOR)) && build_anchor "$jobroot/job/kvm-anchor"
	: >"$jobroot/job/jobs"
	for line in "${JOB_LINES[@]}"; do
		printf '%s\n' "$line" >>"$jobroot/job/jobs"
	done
	{
		echo "L1_PACKAGE=$(shell_quote "$L1_KERNEL_PKG")"
		echo "L1_PACKAGE_VERSION=$(shell_quote "$KERNEL_VERSION")"
		echo "L0_DESC=$(shell_quote "qemu $L0_QEMU_VERSION $L0_ACCEL -cpu max")"
		echo "BREAK_MODULES=$(shell_quote "$BREAK_MODULES")"
		echo "BREAK_MODE=$(shell_quote "$BREAK_MODE")"
		echo "ANCHOR=$ANCHOR"
		echo "MODULE_PARAMS=$(shell_quote "${MODULE_PARAMS[*]}")"
		echo "FIRMWARE_DIR=$(shell_quote "$L1_FIRMWARE_DIR")"
		echo "OUT_PORT_NAME=$(shell_quote "$OUT_PORT_NAME")"
		echo "CTL_PORT_NAME=$(shell_quote "$CTL_PORT_NAME")"
		echo "EARLY_CTL_PREFIX=$(shell_quote "$EARLY_CTL_PREFIX")"
		echo "END_PATTERN=$(shell_quote "$END_PATTERN")"
		echo "END_GRACE_S=$END_GRACE_S"
	} >"$jobroot/job/config"
	(cd "$jobroot" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
		gzip -1 >"$WORK/job.cpio.gz"
	cat "$BASE_INITRD" "$WORK/job.cpio.gz" >"$WORK/initrd"
}

now_ms() { date +%s%3N; }

# elapsed_s T0_MS: seconds since T0_MS, with two decimals
elapsed_s() {
	local ms=$(($(now_ms) - $1))
	printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

# cs_to_s CENTISECONDS: seconds with two decimals
cs_to_s() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

# follow_ctl PID T0_MS: progress lines on stderr while L1 QEMU (PID) runs
follow_ctl() {
	local line t0=$2 i code cs
	tail -n +1 -s 0.2 -F --pid="$1" "$WORK/ctl.log" 2>/dev/null |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			"ready "*) log "L1 ready (KVM loaded) after $(elapsed_s "$t0") s (L1 uptime $(cs_to_s "${line#ready }") s)" ;;
			"start "*) log "run ${line#start } started" ;;
			"status "*)
				read -r _ i code cs <<<"$line"
				log "run $i: status $code after $(cs_to_s "$cs") s"
				;;
			"log "*) log "L1: ${line#log }" ;;
			"fail "* | "diag "*) ;;
			esac
		done
}

L1_STATUS=0
L1_PID=""
OUT_COPIER_PID=""

# shellcheck disable=SC2317 # called by traps
# on_signal SIG: stop L1 (SIGTERM to timeout(1), which passes it on) and fail
on_signal() {
	[[ -n $L1_PID ]] && kill -TERM "$L1_PID" 2>/dev/null && wait "$L1_PID" 2>/dev/null
	die_bed "interrupted by SIG$1"
}

# The L2 output port goes through a FIFO that cat copies to stdout: QEMU's
# stdio chardev reports "closed" at EOF of stdin (/dev/null), and a
# virtio-serial port whose host side is closed blocks the guest's writes.
start_out_copier() {
	mkfifo "$WORK/out.fifo"
	cat "$WORK/out.fifo" &
	OUT_COPIER_PID=$!
}

# stop_out_copier: let cat see EOF (also when QEMU never opened the FIFO)
stop_out_copier() {
	local fd
	exec {fd}<>"$WORK/out.fifo"
	exec {fd}>&-
	wait "$OUT_COPIER_PID" 2>/dev/null || true
}

# run_l1 TIMEOUT_S BOOT: boot L1 (its BOOT-th boot in this call) and wait
# until it ends or TIMEOUT_S passes. If it has not loaded KVM within
# READY_LIMIT_USED seconds (and that is less than TIMEOUT_S), it is stopped
# and WORK/stalled says so.
run_l1() {
	local timeout_s=$1 boot=$2 qpid fpid t0
	t0=$(now_ms)
	: >"$WORK/ctl.log"
	rm -f "$WORK/stalled" "$WORK/l1-stalled" "$WORK/mon.sock" "$WORK/out.fifo" "$WORK/l1-cpus.txt"
	start_out_copier
	# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
	local -a cmd=(
		"$L0_QEMU_USED" -M q35 -accel "$L0_ACCEL" -cpu max
		-smp "$L1_SMP" -m "$L1_MEM_MB"
		-kernel "$L1_BOOT_KERNEL" -initrd "$WORK/initrd"
		-append "$L1_KERNEL_CMDLINE $L1_BOOT_PARAM=$boot"
		-nodefaults -no-reboot -display none
		-monitor "unix:$WORK/mon.sock,server=on,wait=off"
		-chardev "file,id=l1con,path=$WORK/console.log" -serial chardev:l1con
		-d guest_errors,cpu_reset -D "$WORK/l1-qemu.log"
		-device virtio-serial-pci,id=vser
		-chardev "file,id=l2out,path=$WORK/out.fifo"
		-device "virtserialport,bus=vser.0,chardev=l2out,name=$OUT_PORT_NAME"
		-chardev "file,id=l1ctl,path=$WORK/ctl.log"
		-device "virtserialport,bus=vser.0,chardev=l1ctl,name=$CTL_PORT_NAME"
	)
	log "booting L1 ($L1_KERNEL_PKG $KERNEL_VERSION, ${L1_SMP} CPUs, ${L1_MEM_MB} MB; boot $boot of at most $L1_BOOTS; KVM ready within ${READY_LIMIT_USED} s; limit ${timeout_s} s)"
	timeout --kill-after="$KILL_GRACE_S" "$timeout_s" "${cmd[@]}" </dev/null 2>"$WORK/qemu.err" &
	qpid=$!
	L1_PID=$qpid
	trap 'on_signal INT' INT
	trap 'on_signal TERM' TERM
	follow_ctl "$qpid" "$t0" &
	fpid=$!
	# Its output goes nowhere: a child holding our stdout would keep the
	# caller's pipe open after we are done (run-qemu.sh waited for it).
	dump_l1_cpus_at "$qpid" $((timeout_s - L1_DUMP_BEFORE_S)) </dev/null >/dev/null 2>&1 &
	local dpid=$! rpid="" spid
	if ((READY_LIMIT_USED < timeout_s)); then
		watch_ready "$qpid" "$READY_LIMIT_USED" </dev/null >/dev/null 2>&1 &
		rpid=$!
	fi
	watch_stall "$qpid" </dev/null >/dev/null 2>&1 &
	spid=$!
	wait "$qpid" && L1_STATUS=0 || L1_STATUS=$?
	kill "$dpid" $rpid 2>/dev/null || true
	wait "$dpid" $rpid 2>/dev/null || true
	wait "$spid" 2>/dev/null || true   # its tail ends with L1 QEMU (--pid)
	L1_PID=""
	stop_out_copier
	wait "$fpid" 2>/dev/null || true
	log "L1 exited after $(elapsed_s "$t0") s"
}

# dump_l1_cpus_at PID SEC: if L1 still runs SEC seconds from now (it is about
# to hit the limit: hung, or too slow), ask its monitor for every CPU's
# registers into WORK/l1-cpus.txt. A vCPU that runs L2 shows L2's registers
# (TCG keeps the current mode's state): an L2 address there means L1's CPU
# never got back from L2.
dump_l1_cpus_at() {
	(($2 > 0)) || return 0
	sleep_then_alive "$1" "$2" || return 0
	dump_l1_cpus
}

# sleep_then_alive PID SEC: sleep SEC seconds, then true if PID still runs.
# For a background watcher: the sleep dies with it (killed early, it leaves
# no child behind).
sleep_then_alive() {
	local pid=$1
	sleep "$2" &
	local spid=$!
	trap 'kill "$spid" 2>/dev/null; exit 0' TERM
	wait "$spid" || return 1
	kill -0 "$pid" 2>/dev/null
}

# l1_ready: L1 has said "ready" (KVM loaded) in this boot
l1_ready() { grep -q '^ready ' < <(control_lines); }

# watch_ready PID SEC: if L1 QEMU (PID) runs SEC seconds from now and L1 has
# not said "ready", its boot stalled: read its CPUs' registers, create
# WORK/stalled, and stop it (SIGTERM to timeout(1), which passes it on)
watch_ready() {
	local pid=$1
	sleep_then_alive "$pid" "$2" || return 0
	! l1_ready || return 0
	dump_l1_cpus
	: >"$WORK/stalled"
	kill -TERM "$pid" 2>/dev/null || true
}

# watch_stall PID: follow L1's console while L1 QEMU (PID) runs; at a
# soft-lockup report, once L1 is ready, of a CPU stuck L1_STALL_LIMIT
# seconds or more: read L1's CPUs' registers, keep the report in
# WORK/l1-stalled and stop L1 (SIGTERM to timeout(1)). Before "ready" a
# stall is watch_ready's.
watch_stall() {
	local pid=$1 line
	tail -n +1 -s 0.5 -F --pid="$pid" "$WORK/console.log" 2>/dev/null |
		while IFS= read -r line; do
			line=${line%$'\r'}
			[[ $line =~ $L1_SOFT_LOCKUP_RE ]] || continue
			((10#${BASH_REMATCH[2]} >= L1_STALL_LIMIT)) || continue
			l1_ready || continue
			dump_l1_cpus
			printf '%s\n' "$line" >"$WORK/l1-stalled"
			kill -TERM "$pid" 2>/dev/null || true
			break
		done
}

# dump_l1_cpus: every L1 CPU's registers, from L1 QEMU's monitor, into
# WORK/l1-cpus.txt
dump_l1_cpus() {
	command -v python3 >/dev/null || return 0
	python3 - "$WORK/mon.sock" "$L1_DUMP_READ_S" >"$WORK/l1-cpus.txt" 2>/dev/null <<'PY' || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(float(sys.argv[2]))
s.connect(sys.argv[1])
s.sendall(b'info registers -a\n')
out, end = b'', time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    if not b:
        break
    out += b
sys.stdout.write(out.decode('latin-1').replace('\r', ''))
PY
}

# l1_cpus_summary [WHEN]: one line per L1 CPU from WORK/l1-cpus.txt: RIP,
# CPL, HLT, and whether RIP is in L1's kernel (Debian ships its symbols only
# in the -dbg package: addr2line on linux-image-*-dbg's vmlinux names it)
l1_cpus_summary() {
	local when=${1:-"${L1_DUMP_BEFORE_S} s before the limit"}
	[[ -s $WORK/l1-cpus.txt ]] || return 0
	echo "  L1 CPUs $when (monitor 'info registers -a'):" >&2
	awk '/^CPU#[0-9]+/ { cpu = $1 }
	     /^RIP=/ { rip = substr($1, 5); cpl = hlt = "?"
		for (i = 2; i <= NF; i++) { if ($i ~ /^CPL=/) cpl = $i; if ($i ~ /^HLT=/) hlt = $i }
		where = rip ~ /^ffffffff/ ? "in L1'"'"'s kernel" : "not L1'"'"'s kernel: L2 code (L1 never got back from L2), or L1 user space"
		print "  L1 " cpu " RIP=" rip " " cpl " " hlt ": " where }' "$WORK/l1-cpus.txt" >&2
}

console_tail() {
	local n=${1:-5}
	[[ -s $WORK/console.log ]] || return 0
	tr -d '\r' <"$WORK/console.log" | tail -n "$n" | sed 's/^/  L1 console: /' >&2
}

# Lines of L1's console that say why its kernel died (the first of each kind).
readonly L1_DEATH_RE='Kernel panic|BUG:|Oops|general protection fault|double fault|watchdog: BUG|rcu: INFO|Call Trace|RIP:'
readonly L1_LOG_TAIL=60                # console lines shown on a bed failure
readonly L1_QEMU_LOG_TAIL=30           # lines of L1 QEMU's own -d log shown

# l1_end: what ended L1, one phrase (QEMU status, signal, panic text)
l1_end() {
	local what panic
	case $L1_STATUS in
	0) what="L1 QEMU exited 0: L1 powered off, or reset (a triple fault or panic=-1 reboot under -no-reboot)" ;;
	1) what="L1 QEMU exited 1 (QEMU itself failed; its stderr above)" ;;
	"$STATUS_TIMEOUT") what="L1 QEMU killed at the limit (SIGTERM)" ;;
	"$STATUS_KILLED") what="L1 QEMU killed at the limit (SIGKILL)" ;;
	*)
		if ((L1_STATUS > 128)); then
			what="L1 QEMU killed by signal $((L1_STATUS - 128)) (SIG$(kill -l $((L1_STATUS - 128)) 2>/dev/null || echo '?'))"
		else
			what="L1 QEMU exited $L1_STATUS"
		fi ;;
	esac
	if [[ -s $WORK/console.log ]]; then
		panic=$(tr -d '\r' <"$WORK/console.log" | grep -m 1 -E "$L1_DEATH_RE" || true)
		[[ -n $panic ]] && what="$what; L1 kernel: ${panic:0:160}"
	fi
	if [[ -s $WORK/l1-qemu.log ]] && grep -q 'Triple fault' "$WORK/l1-qemu.log"; then
		what="$what; L1 QEMU logged a triple fault"
	fi
	printf '%s\n' "$what"
}

# l1_log_dump [WHEN]: on a bed failure, L1's kernel log (console, dmesg sent
# over the control channel), L1 QEMU's own log and where L1's CPUs were (WHEN
# those were read) on stderr; all of it in --diag-dir
l1_log_dump() {
	console_tail "$L1_LOG_TAIL"
	if [[ -s $WORK/diag/run-0.l1-dmesg ]]; then
		tail -n "$L1_LOG_TAIL" "$WORK/diag/run-0.l1-dmesg" | sed 's/^/  L1 dmesg: /' >&2
	fi
	if [[ -s $WORK/l1-qemu.log ]]; then
		tail -n "$L1_QEMU_LOG_TAIL" "$WORK/l1-qemu.log" | sed 's/^/  L1 qemu -d: /' >&2
	fi
	l1_cpus_summary "$@"
	[[ -n $DIAG_DIR ]] || return 0
	[[ ! -s $WORK/l1-cpus.txt ]] || cp "$WORK/l1-cpus.txt" "$DIAG_DIR/l1-cpus.txt"
	[[ ! -f $WORK/console.log ]] || tr -d '\r' <"$WORK/console.log" >"$DIAG_DIR/l1-console.log"
	[[ ! -f $WORK/l1-qemu.log ]] || cp "$WORK/l1-qemu.log" "$DIAG_DIR/l1-qemu.log"
	[[ ! -f $WORK/diag/run-0.l1-dmesg ]] || cp "$WORK/diag/run-0.l1-dmesg" "$DIAG_DIR/l1-dmesg"
	log "L1 logs kept in $DIAG_DIR"
}

# split_diag: the "diag I KIND TEXT" control lines into WORK/diag/run-I.KIND
# files; those of runs (I > 0) are copied to --diag-dir
split_diag() {
	mkdir -p "$WORK/diag"
	control_lines | awk -v dir="$WORK/diag" '
		/^diag [0-9]+ (qemu|dmesg|trace) / {
			split($0, f, " ")
			kind = f[3] == "qemu" ? "qemu.log" : f[3] == "trace" ? "l1-trace" : "l1-dmesg"
			text = $0
			sub(/^diag [0-9]+ [a-z]+ /, "", text)
			sub(/\r$/, "", text)
			print text > (dir "/run-" f[2] "." kind)
		}'
	[[ -n $DIAG_DIR ]] || return 0
	local f
	for f in "$WORK"/diag/run-*; do
		[[ -e $f && ${f##*/} != run-0.* ]] || continue
		cp "$f" "$DIAG_DIR/"
		log "kept ${f##*/} in $DIAG_DIR"
	done
}

# control_lines: early control lines from the console, then the control log
control_lines() {
	[[ ! -f $WORK/console.log ]] ||
		tr -d '\r' <"$WORK/console.log" | sed -n "s/^.*$EARLY_CTL_PREFIX//p"
	[[ ! -f $WORK/ctl.log ]] || cat "$WORK/ctl.log"
}

# collect_results NJOBS: check the control log; write status and env files
collect_results() {
	local njobs=$1 line reason="" ready=0 done=0 env="" i code
	local -a statuses=()
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"ready "*) ready=1 ;;
		"env "*) env=${line#env } ;;
		"status "*)
			read -r _ i code _ <<<"$line"
			statuses+=("$code")
			;;
		"fail "*) reason=${line#fail } ;;
		done) done=1 ;;
		esac
	done < <(control_lines)
	[[ -n $ENV_FILE && -n $env ]] && printf '%s\n' "$env" >"$ENV_FILE"
	if [[ -n $STATUS_FILE ]]; then
		: >"$STATUS_FILE"
		((${#statuses[@]})) && printf '%s\n' "${statuses[@]}" >"$STATUS_FILE"
	fi
	split_diag
	if [[ -s $WORK/l1-stalled ]]; then
		l1_log_dump "when L1's watchdog reported it"
		die_bed "L1 stalled after ${#statuses[@]} of $njobs runs: its watchdog reports a CPU stuck for $L1_STALL_LIMIT s or more (--l1-stall-limit): $(tr -d '\r' <"$WORK/l1-stalled" | sed 's/^\[[^]]*\] *//' | head -c 200)"
	fi
	if [[ -n $reason ]]; then
		l1_log_dump
		die_bed "$reason"
	fi
	if ((L1_STATUS == STATUS_TIMEOUT || L1_STATUS == STATUS_KILLED)); then
		l1_log_dump
		if ((ready)); then
			die_bed "L1 run exceeded the limit of $TIMEOUT_USED s after ${#statuses[@]} of $njobs runs ($(l1_end))"
		fi
		die_bed "L1 boot timed out: KVM not ready within $TIMEOUT_USED s"
	fi
	if ((!done)); then
		l1_log_dump
		[[ -s $WORK/qemu.err ]] && sed 's/^/  L1 qemu: /' "$WORK/qemu.err" >&2
		if ((!ready)); then
			die_bed "L1 stopped before KVM was ready ($(l1_end))"
		fi
		die_bed "L1 stopped after ${#statuses[@]} of $njobs runs ($(l1_end))"
	fi
	((${#statuses[@]} == njobs)) ||
		die_bed "L1 reported ${#statuses[@]} statuses for $njobs runs"
}

# prepare_diag_dir: create --diag-dir; remove what an earlier call left
# there (only the files this script writes)
prepare_diag_dir() {
	[[ -n $DIAG_DIR ]] || return 0
	mkdir -p "$DIAG_DIR" || die_bed "cannot create --diag-dir $DIAG_DIR"
	rm -f "$DIAG_DIR"/run-*.qemu.log "$DIAG_DIR"/run-*.l1-dmesg "$DIAG_DIR"/run-*.l1-trace "$DIAG_DIR"/l1-console.log \
		"$DIAG_DIR"/l1-qemu.log "$DIAG_DIR"/l1-dmesg "$DIAG_DIR"/l1-cpus.txt "$DIAG_DIR"/l1-boot-*
}

# stalled_boot BOOT: L1's boot BOOT stalled before KVM was ready. The last
# allowed boot is a bed failure; an earlier one is reported (console tail,
# where its CPUs were), its logs are kept as WORK/boot-BOOT/ and in
# --diag-dir as l1-boot-BOOT.*, and the caller boots L1 again.
stalled_boot() {
	local boot=$1 when="at the ready limit (${READY_LIMIT_USED} s after the start)"
	local what="L1 not ready (KVM loaded) within ${READY_LIMIT_USED} s of its start"
	if ((boot >= L1_BOOTS)); then
		l1_log_dump "$when"
		die_bed "$what, in each of $boot boot(s): its boot stalls below the guest (--l1-ready-limit, --l1-boots)"
	fi
	# Said even with --quiet: the run's results come from another boot.
	printf '%s: L1 boot %d of at most %d stalled: %s; it was stopped\n' "$PROG" "$boot" "$L1_BOOTS" "$what" >&2
	console_tail 10
	l1_cpus_summary "$when"
	local dir=$WORK/boot-$boot f
	mkdir -p "$dir"
	for f in console.log l1-qemu.log l1-cpus.txt ctl.log qemu.err; do
		[[ ! -e $WORK/$f ]] || mv "$WORK/$f" "$dir/$f"
	done
	if [[ -n $DIAG_DIR ]]; then
		[[ ! -f $dir/console.log ]] || tr -d '\r' <"$dir/console.log" >"$DIAG_DIR/l1-boot-$boot.console.log"
		[[ ! -f $dir/l1-qemu.log ]] || cp "$dir/l1-qemu.log" "$DIAG_DIR/l1-boot-$boot.qemu.log"
		[[ ! -f $dir/l1-cpus.txt ]] || cp "$dir/l1-cpus.txt" "$DIAG_DIR/l1-boot-$boot.cpus.txt"
		printf '%s: boot %d'"'"'s logs kept in %s as l1-boot-%d.*\n' "$PROG" "$boot" "$DIAG_DIR" "$boot" >&2
	fi
	printf '%s: booting L1 again (boot %d of at most %d)\n' "$PROG" $((boot + 1)) "$L1_BOOTS" >&2
}

TIMEOUT_USED=0
READY_LIMIT_USED=0
main() {
	parse_args "$@"
	((PREPARE_ONLY)) || read_jobfile
	command -v "$HOST_QEMU" >/dev/null || die_bed "$HOST_QEMU not found on the host"
	check_host_tools
	prepare_cache
	if ((PREPARE_ONLY)); then
		log "cache ready: $KERNEL_DIR, $BASE_INITRD"
		exit "$EXIT_OK"
	fi
	TIMEOUT_USED=${TOTAL_TIMEOUT:-$((JOB_TIMEOUT_SUM + L1_BOOT_ALLOWANCE_S + PER_RUN_ALLOWANCE_S * ${#JOB_LINES[@]}))}
	READY_LIMIT_USED=${L1_READY_LIMIT:-$((L1_READY_BASE_S + L1_READY_PER_CPU_S * L1_SMP))}
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/pvspin-nested.XXXXXX")
	trap cleanup EXIT
	prepare_diag_dir
	write_job_cpio
	local boot=1 t0 left
	t0=$(now_ms)
	left=$TIMEOUT_USED
	while :; do
		run_l1 "$left" "$boot"
		[[ -e $WORK/stalled ]] || break
		stalled_boot "$boot"
		# --timeout bounds the whole call: the next boot gets what is left.
		left=$((TIMEOUT_USED - ($(now_ms) - t0) / 1000))
		((left > 0)) || die_bed "no time left for another L1 boot within the limit of $TIMEOUT_USED s"
		boot=$((boot + 1))
	done
	collect_results "${#JOB_LINES[@]}"
	exit "$EXIT_OK"
}

main "$@"
