#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot pvspin under QEMU with the serial console on stdout.
# Its exit status is the guest's verdict; see usage() and docs/output.md.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Exit statuses (ST_*), vCPU limits (TCG_MAX_VCPUS, KVM_MAX_VCPUS) and the
# CPU-list syntax (CPULIST_RE), stated once for every host tool.
# shellcheck source=tools/facts.sh
. "$TOP/tools/facts.sh"
readonly DEBUG_EXIT_PORT=0xf4
readonly GDB_DEFAULT_PORT=1234
# --hyperv: QEMU's Hyper-V enlightenments for pv=hyperv (docs/pv.md). hv-ipi
# needs hv-vpindex (QEMU refuses it alone); hv-spinlocks is the spin count
# the guest reads from CPUID 0x40000004 EBX (QEMU's default: never notify).
readonly HYPERV_CPU_FLAGS=hv-relaxed,hv-vpindex,hv-ipi,hv-spinlocks=0x1fff
# --accel xen (docs/xen.md): the memory QEMU gives Xen itself beyond its
# dom0 (pvspin's --mem). Xen's schedulers, XEN_SCHEDS, and a PVH domain's
# vCPU limit, XEN_PVH_MAX_VCPUS, are in tools/facts.sh.
readonly XEN_OWN_MB=256
# TCG's translation buffer. QEMU 7.2 splits it into one region per vCPU, or
# into regions of 2 MiB, at most 8 per vCPU, when it holds more than that
# (accel/tcg/region.c); each vCPU thread that translates code writes into a
# region of its own. Its default 1 GiB makes the regions larger than 2 MiB
# below 64 vCPUs, and the host then backs the first write into each with a
# transparent huge page it must clear: a cost per AP that runs new code,
# which a guest whose APs stay parked never pays. TCG_TB_MB_PER_VCPU keeps
# every region at 2 MiB or less (4 KiB pages); pvspin's test=all translates
# about 1.3 MB in all. Only pvspin's own boots are capped: Linux and Xen
# translate far more, and a full buffer makes TCG flush all its code.
readonly TCG_TB_DEFAULT_MB=1024
readonly TCG_TB_MB_PER_VCPU=16

IMAGE=$TOP/build/pvspin.elf
PVH_IMAGE=$TOP/build/pvspin-pvh.elf

usage() {
	sed -e "s/@XEN_SCHEDS@/${XEN_SCHEDS// /|}/" -e "s/@XEN_PVH_MAX_VCPUS@/$XEN_PVH_MAX_VCPUS/" \
	    -e "s/@TCG_MAX_VCPUS@/$TCG_MAX_VCPUS/" -e "s/@KVM_MAX_VCPUS@/$KVM_MAX_VCPUS/" <<'EOF'
usage: ./run-qemu.sh [options] [-- guest options]

Boots build/pvspin.elf (built if missing) under QEMU; the guest's serial
console is copied to stdout. With no options: 4 vCPUs, the default suite.

options:
  --guest G           pvspin|linux (default pvspin): linux boots the Linux
                      peer (Linux 6.12 with locktorture, tools/peer/linux,
                      built and cached on first use) the same way and prints
                      its console as pvspin's KTAP output (docs/peer.md);
                      PVSPIN_PEER_IMAGE names another bzImage of it
  --hypervisor-bit B  on|off (default on): off clears CPUID's hypervisor bit
                      (-cpu ...,hypervisor=off); Linux then runs its native
                      qspinlock under TCG instead of virt_spin_lock()
  --smp N             vCPUs (default 4; at most @TCG_MAX_VCPUS@ under TCG, @KVM_MAX_VCPUS@ under KVM)
  --mem MB            guest memory (default 256)
  --accel A           auto|kvm|tcg|nested|xen (default auto: KVM only when
                      the host's KVM is hardware KVM, kvm_intel or kvm_amd
                      loaded); xen: pvspin as Xen's PVH dom0, Xen under TCG
  --machine M         q35|pc|microvm (default q35)
  --firmware F        qboot|seabios for q35/pc (default qboot; --iso uses seabios)
  --cpu MODEL         QEMU -cpu (default: max under TCG, host under KVM)
  --hyperv            offer Hyper-V's enlightenments too (-cpu ...,hv-relaxed,
                      hv-vpindex,hv-ipi,hv-spinlocks=0x1fff): KVM or nested only
  --boot B            multiboot|pvh|iso (default multiboot): how the guest is
                      loaded (docs/boot.md): multiboot = build/pvspin.elf by
                      QEMU -kernel (Multiboot v1); pvh = build/pvspin-pvh.elf by
                      QEMU -kernel through the PVH entry; iso = build/pvspin.iso
                      through GRUB (Multiboot2)
  --iso               the same as --boot iso
  --exit E            debug-exit|acpi (default debug-exit): how the guest ends
                      QEMU: isa-debug-exit on port 0xf4, or without that device,
                      ACPI power-off (then the verdict is the EXIT: line)
  --pin CPULIST       run QEMU on these host CPUs (taskset), for overcommit
  --timeout SEC       kill QEMU after SEC seconds, exit 124 (default 120)
  --log FILE          also write the serial output to FILE
  --reset-log FILE    log QEMU's -d guest_errors,cpu_reset to FILE: a triple
                      fault leaves every CPU's state from just before it
                      there, named by function under the run. A reset never
                      passes silently either way: the restarted guest ends
                      the run with its plan kept, "not ok ... # ERROR not
                      run: machine reset" and status 3 (docs/debugging.md);
                      the nested bed logs every L2 run this way
  --qemu ARG          extra QEMU argument, repeatable (--qemu -cpu --qemu max)
  --gdb [PORT]        start paused with QEMU's gdbstub on PORT (default 1234)
                      and print the gdb command that attaches (docs/debugging.md);
                      no timeout unless --timeout is given
  --dry-run           print the QEMU command line instead of running it
  --verbose           the hypervisor's console on stderr as it comes (--accel
                      xen; otherwise it goes to a file named on stderr)
  --lava-job          print a LAVA job (YAML) that boots this guest the same
                      way on a lab's stock qemu device type, instead of
                      booting it (docs/lava.md); --accel auto means tcg there
  --lava-image-url BASE  where the job fetches the image (BASE/pvspin.elf;
                      default: file:// of this build)
  -h, --help          this text
nested KVM (--accel nested: a real KVM host booted under TCG runs the guest):
  --l1-kernel PKG     Debian kernel package for the L1 host
  --l1-smp N          L1 vCPUs (default 2)       --l1-mem MB   L1 memory
  --l1-param M.P=V    a parameter for L1's KVM modules, e.g. kvm_amd.npt=0
                      (repeatable; the L1 line of each result lists kvm's
                      and kvm_amd's)
  --l0-tcg MODE       multi (default) or single: L0's TCG runs L1's CPUs on
                      a host thread each, or all on one in turns (avoids
                      QEMU 7.2's thread races that now and then break an L2
                      vCPU, docs/nested.md, at the price of parallelism)
  --batch FILE        run every line of FILE (each: [run-qemu options] [-- guest
                      options]) in one L1 boot; stdout carries all runs in order;
                      L1's options (--l1-*, --l0-tcg) go on the command line
  --diag-dir DIR      where the diagnostics of runs that failed go (default: a
                      new build/nested-diag/<UTC time>-<pid> per call, the
                      newest linked as build/nested-diag/latest, removed
                      again when empty): run-N.qemu.log (L2 QEMU's -d
                      guest_errors,cpu_reset log), run-N.l1-dmesg, and on a
                      bed failure L1's console, dmesg and QEMU log

Xen (--accel xen, docs/xen.md; Debian's xen-hypervisor package is fetched
once per machine and cached, PVSPIN_XEN_CACHE names another cache):
  --smp N             pvspin's vCPUs (dom0_max_vcpus; at most @XEN_PVH_MAX_VCPUS@)
  --xen-cpus M        the CPUs Xen runs on (QEMU's -smp, default 2); N > M is
                      overcommit under Xen's scheduler
  --xen-sched S       @XEN_SCHEDS@ (default: the first)
  --xen-arg ARG       one more word for Xen's command line, repeatable

everything after -- is the guest command line (key=value options, e.g.
test=smp,fault seed=7 verbose=1).

exit status: 0 pass, 1 test failure, 2 bad input (these options or the
guest's), 3 guest crash, 4 lockup, 124 timeout, 125 QEMU could not run.
EOF
}

die_usage() {
	echo "run-qemu.sh: $*" >&2
	echo "run-qemu.sh: try --help" >&2
	exit $ST_BAD_INPUT
}

die_env() {
	echo "run-qemu.sh: $*" >&2
	exit $ST_NO_QEMU
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# ---- options -------------------------------------------------------------
smp=4 mem=256 accel=auto machine=q35 firmware='' cpu='' use_iso=0 pin='' timeout=120
boot='' iso_flag=0 exit_via=debug-exit exit_given=0 guest=pvspin hv_bit=on
log='' reset_log='' qaccel_for_bed=0 dry_run=0 batch='' l1_kernel='' l1_smp='' l1_mem='' l1_params=() l0_tcg='' gdb_port='' timeout_given=0 hyperv=0 diag_dir=''
lava_job=0 lava_image_url=''
xen_cpus='' xen_sched='' xen_args=() verbose=0
qemu_extra=() guest_args=()

# need_value OPTION ARGS...: OPTION must be followed by its value (not by
# nothing, an empty word or another --option): status 2 otherwise.
need_value() {
	[ $# -ge 2 ] && [ -n "$2" ] && [[ $2 != --* ]] || die_usage "option $1 needs a value"
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--smp) need_value "$@"; smp=$2; shift ;;
		--mem) need_value "$@"; mem=$2; shift ;;
		--accel) need_value "$@"; accel=$2; shift ;;
		--machine) need_value "$@"; machine=$2; shift ;;
		--firmware) need_value "$@"; firmware=$2; shift ;;
		--cpu) need_value "$@"; cpu=$2; shift ;;
		--iso) iso_flag=1 ;;
		--boot) need_value "$@"; boot=$2; shift ;;
		--exit) need_value "$@"; exit_via=$2; exit_given=1; shift ;;
		--guest) need_value "$@"; guest=$2; shift ;;
		--hypervisor-bit) need_value "$@"; hv_bit=$2; shift ;;
		--hyperv) hyperv=1 ;;
		--pin) need_value "$@"; pin=$2; shift ;;
		--timeout) need_value "$@"; timeout=$2; timeout_given=1; shift ;;
		--gdb)
			if [[ ${2-} =~ ^[0-9]+$ ]]; then gdb_port=$2; shift; else gdb_port=$GDB_DEFAULT_PORT; fi ;;
		--log) need_value "$@"; log=$2; shift ;;
		--reset-log) need_value "$@"; reset_log=$2; shift ;;
		--qemu) [ $# -ge 2 ] || die_usage "--qemu needs an argument"; qemu_extra+=("$2"); shift ;;
		--dry-run) dry_run=1 ;;
		--lava-job) lava_job=1 ;;
		--lava-image-url) need_value "$@"; lava_image_url=$2; shift ;;
		--batch) need_value "$@"; batch=$2; shift ;;
		--l1-kernel) need_value "$@"; l1_kernel=$2; shift ;;
		--l1-smp) need_value "$@"; l1_smp=$2; shift ;;
		--l1-mem) need_value "$@"; l1_mem=$2; shift ;;
		--l1-param) need_value "$@"; l1_params+=("$2"); shift ;;
		--l0-tcg) need_value "$@"; l0_tcg=$2; shift ;;
		--diag-dir) need_value "$@"; diag_dir=$2; shift ;;
		--xen-cpus) need_value "$@"; xen_cpus=$2; shift ;;
		--xen-sched) need_value "$@"; xen_sched=$2; shift ;;
		--xen-arg) need_value "$@"; xen_args+=("$2"); shift ;;
		--verbose) verbose=1 ;;
		-h|--help) usage; exit 0 ;;
		--) shift; guest_args=("$@"); return ;;
		*) die_usage "unknown option '$1'" ;;
		esac
		[ $# -gt 0 ] && shift
	done
}

# writable_file OPTION FILE: FILE can be written (created or truncated
# later by the run): status 2 naming OPTION otherwise.
writable_file() {
	local dir
	dir=$(dirname -- "$2")
	[ -d "$dir" ] || die_usage "$1 '$2': no directory '$dir'"
	[ ! -d "$2" ] || die_usage "$1 '$2': a directory, not a file"
	if [ -e "$2" ]; then [ -w "$2" ]; else [ -w "$dir" ]; fi || die_usage "$1 '$2': not writable"
}

validate_args() {
	[ -z "$log" ] || writable_file --log "$log"
	[ -z "$reset_log" ] || writable_file --reset-log "$reset_log"
	is_uint "$smp" && [ "$smp" -ge 1 ] || die_usage "--smp '$smp': a number of vCPUs, 1..$KVM_MAX_VCPUS"
	[ "$smp" -le $KVM_MAX_VCPUS ] || die_usage "--smp $smp: too many vCPUs; QEMU's q35 takes at most $KVM_MAX_VCPUS"
	is_uint "$mem" && [ "$mem" -ge 64 ] || die_usage "--mem '$mem': megabytes, at least 64"
	is_uint "$timeout" && [ "$timeout" -ge 1 ] || die_usage "--timeout '$timeout': seconds, at least 1"
	case $accel in auto|kvm|tcg|nested|xen) ;; *) die_usage "--accel '$accel': accepted: auto, kvm, tcg, nested, xen" ;; esac
	validate_xen
	case $machine in q35|pc|microvm) ;; *) die_usage "--machine '$machine': accepted: q35, pc, microvm" ;; esac
	case $firmware in ''|qboot|seabios) ;; *) die_usage "--firmware '$firmware': accepted: qboot, seabios" ;; esac
	if [ -n "$pin" ] && ! [[ $pin =~ $CPULIST_RE ]]; then
		die_usage "--pin '$pin': a CPU list such as 0 or 0-1 or 0,2"
	fi
	case $guest in pvspin|linux) ;; *) die_usage "--guest '$guest': accepted: pvspin, linux" ;; esac
	case $hv_bit in on|off) ;; *) die_usage "--hypervisor-bit '$hv_bit': accepted: on, off" ;; esac
	[ "$guest" = pvspin ] || validate_linux_peer
	validate_boot_exit
	if [ $use_iso = 1 ] && [ "$machine" = microvm ]; then
		die_usage "--iso needs a BIOS that boots CDs: use --machine q35 or pc"
	fi
	if [ "$machine" = microvm ] && [ -n "$firmware" ]; then
		die_usage "--firmware: microvm has its own (qboot) firmware"
	fi
	if [ "$smp" -gt $TCG_MAX_VCPUS ] && [ "$machine" != q35 ]; then
		die_usage "--smp $smp: more than $TCG_MAX_VCPUS vCPUs needs --machine q35 (x2APIC)"
	fi
	if [ "$accel" != nested ]; then
		[ -z "$batch$l1_kernel$l1_smp$l1_mem${l1_params[*]}$l0_tcg$diag_dir" ] || die_usage "--batch, --diag-dir, --l1-* and --l0-tcg go with --accel nested"
	else
		[ -z "$reset_log" ] || die_usage "--reset-log: under --accel nested every L2 run's reset log comes back through --diag-dir"
	fi
	[ -z "$batch" ] || [ -r "$batch" ] || die_usage "--batch '$batch': no such readable file"
	[ "$hyperv" = 0 ] || [ "$accel" != tcg ] || die_hyperv_tcg "--accel tcg"
	[ -z "$gdb_port" ] || validate_gdb_port
	[ -z "$lava_image_url" ] || [ "$lava_job" = 1 ] || die_usage "--lava-image-url goes with --lava-job"
}

# --accel xen and its options (docs/xen.md). pvspin is Xen's PVH dom0:
# loaded as a Multiboot module, so --boot pvh is implied and the others refused.
validate_xen() {
	if [ "$accel" != xen ]; then
		[ -z "$xen_cpus$xen_sched${xen_args[*]-}" ] || die_usage "--xen-cpus, --xen-sched and --xen-arg go with --accel xen"
		return 0
	fi
	xen_cpus=${xen_cpus:-2} xen_sched=${xen_sched:-${XEN_SCHEDS%% *}}
	is_uint "$xen_cpus" && [ "$xen_cpus" -ge 1 ] && [ "$xen_cpus" -le $TCG_MAX_VCPUS ] ||
		die_usage "--xen-cpus '$xen_cpus': a number of CPUs for Xen, 1..$TCG_MAX_VCPUS (TCG)"
	[[ " $XEN_SCHEDS " == *" $xen_sched "* ]] || die_usage "--xen-sched '$xen_sched': accepted: ${XEN_SCHEDS// /, }"
	[ "$smp" -le $XEN_PVH_MAX_VCPUS ] || die_usage "--smp $smp: a PVH domain under Xen has at most $XEN_PVH_MAX_VCPUS vCPUs"
	[ "$guest" = pvspin ] || die_usage "--accel xen: --guest $guest is not a PVH dom0; only pvspin runs under Xen"
	[ -z "$boot" ] || [ "$boot" = pvh ] || die_usage "--accel xen --boot $boot: Xen loads pvspin through its PVH entry (--boot pvh)"
	[ "$iso_flag" = 0 ] || die_usage "--accel xen --iso: Xen loads pvspin through its PVH entry, not GRUB"
	[ "$machine" = q35 ] || die_usage "--accel xen --machine $machine: Xen boots on q35 here"
	[ "$exit_via" = debug-exit ] || die_usage "--accel xen --exit $exit_via: the verdict leaves through isa-debug-exit, which dom0 reaches"
	[ "$hyperv" = 0 ] || die_usage "--accel xen --hyperv: Hyper-V's enlightenments are KVM's"
	[ "$hv_bit" = on ] || die_usage "--accel xen --hypervisor-bit off: Xen, not QEMU, sets what its dom0 sees in CPUID"
	[ -z "$firmware" ] || die_usage "--accel xen --firmware: Xen boots from SeaBIOS (qboot cannot load it)"
	[ -z "$gdb_port$lava_image_url" ] && [ "$lava_job" = 0 ] || die_usage "--accel xen: not with --gdb or --lava-job"
	boot=pvh
}

# --guest linux: what the Linux peer cannot do the way pvspin does. It ends
# by ACPI power-off (Linux never writes isa-debug-exit), and its verdict
# comes from its console (tools/peer/linux/run.py).
validate_linux_peer() {
	[ -z "$reset_log$gdb_port" ] && [ "${boot:-multiboot}" = multiboot ] && [ "$iso_flag" = 0 ] ||
		die_usage "--guest linux: --boot, --iso, --reset-log and --gdb are pvspin's (the peer boots its bzImage with -kernel)"
	[ "$exit_given" = 0 ] || [ "$exit_via" = acpi ] ||
		die_usage "--guest linux --exit $exit_via: the peer powers off through ACPI (--exit acpi)"
	[ "$hyperv" = 0 ] || die_usage "--guest linux --hyperv: the peer's kernel is built without Hyper-V guest support"
	[ "$machine" != microvm ] || die_usage "--guest linux --machine microvm: the peer needs q35 or pc (ACPI power-off, PCI)"
	exit_via=acpi
}

# --boot and --exit (docs/boot.md). Sets use_iso.
validate_boot_exit() {
	case $boot in ''|multiboot|pvh|iso) ;; *) die_usage "--boot '$boot': accepted: multiboot, pvh, iso" ;; esac
	if [ $iso_flag = 1 ]; then
		[ -z "$boot" ] || [ "$boot" = iso ] ||
			die_usage "--boot $boot --iso: two boot paths at once (--iso means --boot iso)"
		boot=iso
	fi
	boot=${boot:-multiboot}
	use_iso=0
	[ "$boot" = iso ] && use_iso=1
	case $exit_via in debug-exit|acpi) ;; *) die_usage "--exit '$exit_via': accepted: debug-exit, acpi" ;; esac
	[ "$exit_via" = acpi ] || return 0
	[ "$accel" != nested ] || [ "$guest" = linux ] ||
		die_usage "--exit acpi: not with --accel nested (its bed takes the verdict from isa-debug-exit)"
	local a
	for a in "${qemu_extra[@]}"; do
		[[ $a == *acpi=off* ]] &&
			die_usage "--exit acpi: the machine has no ACPI ('$a'), so the guest could not power it off"
	done
	return 0
}

# --gdb: a port QEMU can listen on; checked here, since QEMU's own refusal
# would read like any other failure to start.
validate_gdb_port() {
	[ "$accel" != nested ] || die_usage "--gdb: not with --accel nested (the guest runs inside L1)"
	[ "$gdb_port" -ge 1 ] && [ "$gdb_port" -le 65535 ] ||
		die_usage "--gdb $gdb_port: a TCP port, 1..65535"
	# A TCP socket listening on the port (state 0A in /proc/net/tcp, tcp6)
	# keeps QEMU from binding it.
	local hex
	printf -v hex '%04X' "$gdb_port"
	! grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null ||
		die_usage "--gdb $gdb_port: that port is in use (pick another: --gdb PORT)"
}

# The gdb command that attaches to --gdb's stub. The guest is entered in
# 32-bit mode but runs in long mode; QEMU's x86_64 stub always sends the
# 64-bit register set, so gdb must expect x86-64 from the start. Hardware
# breakpoints: QEMU copies the image into memory after the stub starts, which
# would overwrite a software breakpoint written before that.
gdb_hint() {
	local elf=$TOP/build/pvspin64.elf
	echo "run-qemu.sh: QEMU is paused with its gdbstub on port $gdb_port; attach with:" >&2
	echo "  gdb -ex 'set architecture i386:x86-64' -ex 'symbol-file $elf' -ex 'target remote localhost:$gdb_port' -ex 'hbreak kmain' -ex 'continue'" >&2
}

# QEMU's hv-* flags are implemented by KVM; under TCG QEMU 7.2 refuses some
# ("kernel doesn't allow setting HyperV VP_INDEX"), so say why up front.
die_hyperv_tcg() {
	die_usage "--hyperv with $1: Hyper-V's enlightenments are KVM's (QEMU's hv-* flags); TCG does not offer them (use --accel kvm or --accel nested)"
}

# ---- accelerator ---------------------------------------------------------
hardware_kvm_module() {
	local m
	for m in kvm_intel kvm_amd; do
		[ -d /sys/module/$m ] && { echo $m; return 0; }
	done
	return 1
}

choose_accel() {
	local mod
	case $accel in
	auto)
		if mod=$(hardware_kvm_module) && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
			accel=kvm
			accel_reason="hardware KVM ($mod loaded)"
		else
			accel=tcg
			if [ -e /dev/kvm ]; then
				accel_reason="/dev/kvm is not hardware KVM (no kvm_intel or kvm_amd module)"
			else
				accel_reason="no /dev/kvm"
			fi
		fi ;;
	kvm)
		[ -e /dev/kvm ] || die_env "--accel kvm: no /dev/kvm on this host (use --accel tcg or nested)"
		[ -r /dev/kvm ] && [ -w /dev/kvm ] || die_env "--accel kvm: /dev/kvm is not readable and writable by $(id -un)"
		if mod=$(hardware_kvm_module); then
			accel_reason="forced; hardware KVM ($mod)"
		else
			accel_reason="forced; this /dev/kvm is not hardware KVM, expect emulation speed"
		fi ;;
	tcg) accel_reason="forced" ;;
	nested) accel_reason="real KVM in an L1 host booted under TCG" ;;
	xen) accel_reason="Xen under TCG on $xen_cpus CPUs, sched=$xen_sched, pvspin its PVH dom0" ;;
	esac
	[ "$hyperv" = 0 ] || [ "$accel" != tcg ] || die_hyperv_tcg "--accel auto chose TCG: $accel_reason"
	if [ "$accel" = tcg ] && [ "$smp" -gt $TCG_MAX_VCPUS ]; then
		die_usage "--smp $smp: too many vCPUs for TCG; QEMU 7.2's TCG has no x2APIC, so it stops at $TCG_MAX_VCPUS (use --accel kvm or nested)"
	fi
}

# QEMU's -accel for TCG with N vCPUs: multi-threaded; for pvspin its
# translation buffer at most TCG_TB_MB_PER_VCPU per vCPU (one vCPU: one
# region, QEMU's default).
tcg_accel() {
	local n=$1 mb=$TCG_TB_DEFAULT_MB
	[ "$guest" = pvspin ] || { echo "tcg,thread=multi"; return; }
	[ "$n" -gt 1 ] && [ $((n * TCG_TB_MB_PER_VCPU)) -lt "$mb" ] && mb=$((n * TCG_TB_MB_PER_VCPU))
	echo "tcg,thread=multi,tb-size=$mb"
}

# ---- QEMU command line ---------------------------------------------------
# The guest-side part (what L2 gets under nested, or QEMU directly).
build_qemu_args() {
	local image=$1 qaccel=$2
	qargs=()
	[ "$accel" = xen ] && { xen_qemu_args "$image"; return; }
	local m=$machine
	case $machine in
	q35|pc)
		local fw=${firmware:-qboot}
		[ $use_iso = 1 ] && fw=seabios
		qargs+=(-M "$m")
		[ "$fw" = qboot ] && qargs+=(-bios qboot.rom) ;;
	microvm)
		qargs+=(-M microvm) ;;
	esac
	local c=$cpu
	if [ -z "$c" ]; then
		case $qaccel in
		tcg) c=max ;;
		# An emulating (non-hardware) KVM refuses IA32_ARCH_CAPABILITIES
		# (MSR 0x10a), which QEMU sets for -cpu host: leave it out there.
		kvm) if [ "$accel" = kvm ] && ! hardware_kvm_module >/dev/null; then
			c=host,-arch-capabilities
		     else
			c=host
		     fi ;;
		esac
	fi
	[ "$hyperv" = 1 ] && c=$c,$HYPERV_CPU_FLAGS
	[ "$hv_bit" = off ] && c=$c,hypervisor=off
	if [ "$qaccel" = tcg ]; then qargs+=(-accel "$(tcg_accel "$smp")"); else qargs+=(-accel kvm); fi
	# The guest's NMI watchdog is the PIT routed as an NMI. KVM's in-kernel
	# PIT by default holds back the next tick until the last one is
	# acknowledged with an EOI, which an NMI never gets: discard instead.
	[ "$qaccel" = kvm ] && qargs+=(-global kvm-pit.lost_tick_policy=discard)
	qargs+=(-cpu "$c" -smp "$smp" -m "$mem")
	# A reset of pvspin restarts the machine: the restarted guest ends the
	# run itself, its plan kept (kernel/reset_guard.h, CMOS marks). A reset
	# ends QEMU (-no-reboot) instead, and complete_ktap() ends the document,
	# where there are no marks (microvm has no RTC) and where a reset is a
	# way out (--exit acpi falls back to the keyboard controller's reset
	# and a triple fault, after the marks are cleared: a restart would run
	# the plan again). Linux does not report a restart of its own: a reset
	# ends QEMU. --reset-log adds QEMU's log of every CPU's state at the
	# reset; the nested bed adds it to each L2 run.
	qargs+=(-nodefaults)
	if [ "$guest" = linux ] || [ "$machine" = microvm ] || [ "$exit_via" = acpi ]; then
		qargs+=(-no-reboot)
	fi
	[ -n "$reset_log" ] && qargs+=(-d "guest_errors,cpu_reset" -D "$reset_log")
	# The Linux peer in the nested bed: a copy of its serial output for the
	# bed's end-of-run watcher (tools/nested/l1-init.sh, @SERIAL_COPY@).
	if [ "$guest" = linux ] && [ "$qaccel_for_bed" = 1 ]; then
		qargs+=(-display none -chardev "stdio,id=console,logfile=@SERIAL_COPY@" -serial chardev:console)
	else
		qargs+=(-display none -serial stdio)
	fi
	[ "$exit_via" = acpi ] || qargs+=(-device "isa-debug-exit,iobase=$DEBUG_EXIT_PORT,iosize=4")
	if [ $use_iso = 1 ]; then
		qargs+=(-cdrom "$image")
	else
		local append="${guest_args[*]-}"
		if [ "$guest" = linux ]; then
			append=$(peer_cmdline) || { printf '%s\n' "$append" >&2; exit $ST_BAD_INPUT; }
		fi
		qargs+=(-kernel "$image" -append "$append")
	fi
	[ -n "$gdb_port" ] && qargs+=(-S -gdb "tcp::$gdb_port")
	qargs+=("${qemu_extra[@]}")
}

# ---- Xen -----------------------------------------------------------------
# xen_prepare TMP: the cached Xen (tools/xen/fetch.py, status 125 with its
# cause when there is none) and where its console goes.
xen_prepare() {
	local info
	info=$(python3 "$TOP/tools/xen/fetch.py") || die_env "--accel xen: Xen cannot start (the cause is above)"
	IFS=$'\t' read -r xen_elf _ xen_version <<<"$info"
	if [ "$verbose" = 1 ]; then
		# QEMU's own stderr is captured; this shell's is the caller's.
		xen_console=/proc/$$/fd/2
	else
		mkdir -p "$TOP/build/xen-console" || die_env "cannot create $TOP/build/xen-console"
		xen_console=$TOP/build/xen-console/$(date -u +%Y%m%dT%H%M%SZ)-$$.log
		echo "run-qemu.sh: Xen's console: $xen_console" >&2
	fi
}

# Xen under TCG with pvspin (IMAGE, the PVH image) as its dom0 module; the
# guest options are the module's command line, where QEMU reads ',' as the
# next module and ',,' as a comma. SeaBIOS, not qboot: under qboot QEMU
# ends at once (status 0) before Xen prints a line.
xen_qemu_args() {
	local image=$1 a
	local line="console=com2 com2=115200,8n1,0x2f8,3 dom0=pvh dom0-iommu=none dom0_mem=${mem}M"
	line+=" dom0_max_vcpus=$smp loglvl=all guest_loglvl=all noreboot sched=$xen_sched"
	for a in "${xen_args[@]}"; do line+=" $a"; done
	local module="$image ${guest_args[*]-}"
	qargs+=(-M q35 -accel "tcg,thread=multi" -cpu "${cpu:-max}" -smp "$xen_cpus"
		-m $((mem + XEN_OWN_MB)) -nodefaults -no-reboot -display none
		-serial stdio -chardev "file,id=xencon,path=$xen_console,append=on" -serial chardev:xencon
		-device "isa-debug-exit,iobase=$DEBUG_EXIT_PORT,iosize=4"
		-kernel "$xen_elf" -append "$line" -initrd "${module//,/,,}")
	[ -n "$reset_log" ] && qargs+=(-d "guest_errors,cpu_reset" -D "$reset_log")
	qargs+=("${qemu_extra[@]}")
}

# result_env: the guest's output with the hypervisor named in every result
# line's "env" under --accel xen (as the nested bed names L1), else as it is
result_env() {
	[ "$accel" = xen ] || exec cat
	local env="{\"accel\":\"xen\",\"xen\":{\"version\":\"$xen_version\",\"sched\":\"$xen_sched\",\"cpus\":$xen_cpus}}"
	exec awk -v env="$env" '/^# result: \{/ { sub(/^# result: \{/, "# result: {\"env\":" env ",") } { print; fflush() }'
}

# A copy of the ISO whose GRUB entry carries the guest command line.
make_iso_with_cmdline() {
	local dir=$1
	rm -rf "$dir/iso"
	mkdir -p "$dir/iso/boot/grub"
	cp "$IMAGE" "$dir/iso/boot/pvspin.elf"
	sed "s|multiboot2 /boot/pvspin.elf.*|multiboot2 /boot/pvspin.elf ${guest_args[*]-}|" \
		"$TOP/tools/grub.cfg" > "$dir/iso/boot/grub/grub.cfg"
	grub-mkrescue -o "$dir/pvspin.iso" "$dir/iso" >"$dir/grub.log" 2>&1 ||
		{ cat "$dir/grub.log" >&2; die_env "grub-mkrescue failed"; }
	echo "$dir/pvspin.iso"
}

# ---- verdict -------------------------------------------------------------
# QEMU's own errors exit 1, the same as isa-debug-exit for a pass, so the
# guest's "EXIT: STATUS=n" line decides: it must agree with QEMU's status.
# A grep, not tools/pvlog.py: running the guest needs no python3 (deps.sh run).
verdict() {
	local qemu_status=$1 out=$2 line n
	line=$(grep -a -o 'EXIT: STATUS=[0-9]*' "$out" | tail -n 1)
	if [ "$qemu_status" = $ST_TIMEOUT ] || [ "$qemu_status" = $ST_KILLED ]; then
		echo "run-qemu.sh: timeout after ${timeout}s${line:+ (guest had printed $line)}" >&2
		return $ST_TIMEOUT
	fi
	if [ -n "$line" ]; then
		n=${line#EXIT: STATUS=}
		# One run, one KTAP document: a second one is the guest booted
		# again by its firmware after a reset its restart did not report
		# (kernel/reset_guard.h), and whatever it said is not the run's.
		local docs
		docs=$(grep -a -c '^KTAP version 1' "$out" || true)
		if [ "${docs:-0}" -gt 1 ]; then
			echo "run-qemu.sh: the guest printed $docs KTAP documents: the machine reset and pvspin ran again without reporting it; status $ST_CRASH (its $line is not the run's verdict)" >&2
			return $ST_CRASH
		fi
		# --exit acpi: QEMU ends with 0 on the guest's power-off (or on its
		# reset, -no-reboot), so the line alone carries the verdict.
		if [ "$exit_via" = acpi ] && [ "$qemu_status" = 0 ]; then
			return "$n"
		fi
		if [ "$exit_via" != acpi ] && [ "$qemu_status" = $(( (n << 1) | 1 )) ]; then
			return "$n"
		fi
		echo "run-qemu.sh: guest said $line but QEMU exited $qemu_status" >&2
		return $ST_NO_QEMU
	fi
	if grep -aq '^KTAP version 1' "$out"; then
		echo "run-qemu.sh: the guest stopped without a verdict (QEMU status $qemu_status: a triple fault or reset?)" >&2
		verdict_unfinished=1
		return $ST_CRASH
	fi
	echo "run-qemu.sh: QEMU could not run the guest (status $qemu_status)" >&2
	return $ST_NO_QEMU
}

# complete_ktap OUT: the guest's KTAP document ended early (the machine
# reset or stopped with no word from pvspin): keep its plan, as the guest's
# own restart does (kernel/reset_guard.h), with a result for every test it
# did not report and the EXIT line, on stdout and in --log.
complete_ktap() {
	local out=$1 plan done_n i
	plan=$(grep -a -m1 -o '^1\.\.[0-9]*' "$out") || return 0
	plan=${plan#1..}
	done_n=$(grep -a -c -E '^(not )?ok [0-9]+' "$out" || true)
	{
		for ((i = ${done_n:-0} + 1; i <= plan; i++)); do
			echo "not ok $i # ERROR not run: machine reset"
		done
		echo "EXIT: STATUS=$ST_CRASH"
	} | tee -a ${log:+"$log"}
}

run_direct() {
	local tmp=$1 image=$IMAGE
	[ $use_iso = 1 ] && image=$(make_iso_with_cmdline "$tmp")
	build_qemu_args "$image" "$accel"
	local cmd=(qemu-system-x86_64 "${qargs[@]}")
	[ -n "$pin" ] && cmd=(taskset -c "$pin" "${cmd[@]}")
	if [ "$guest" = linux ]; then
		cmd=(python3 "$PEER_RUN" run --smp "$smp" --lpj "$peer_lpj" --timeout "$timeout" --options "${guest_args[*]-}"
		     ${log:+--log "$log"} -- "${cmd[@]}")
	elif [ $dry_run = 1 ]; then
		cmd=(timeout "$timeout" "${cmd[@]}")
	fi
	if [ $dry_run = 1 ]; then
		printf '%q ' "${cmd[@]}"; echo
		exit 0
	fi
	# The peer's runner streams its KTAP document, stops QEMU once the
	# console holds the verdict and exits with it.
	[ "$guest" = linux ] && { "${cmd[@]}"; return $?; }
	local out=$tmp/serial.log status
	[ -n "$gdb_port" ] && gdb_hint
	# Serial output streams to stdout as it comes; a copy decides the verdict.
	# --foreground keeps QEMU in our process group: a Ctrl-C, or a caller
	# that signals our group (tools/soak.py), stops it too. Without it,
	# timeout makes a group of its own and QEMU ran on to its timeout.
	timeout --foreground -k 5 "$timeout" "${cmd[@]}" </dev/null 2>"$tmp/qemu.err" | result_env | tee "$out" ${log:+"$log"}
	status=${PIPESTATUS[0]}
	if [ -s "$tmp/qemu.err" ]; then
		grep -v 'warning: Number of hotpluggable cpus\|Number of SMP cpus requested' "$tmp/qemu.err" >&2 || true
	fi
	verdict_unfinished=0
	verdict "$status" "$out"
	status=$?
	[ "$verdict_unfinished" = 1 ] && complete_ktap "$out"
	symbolize "$out"
	[ -n "$reset_log" ] && grep -aq '^# RESET:' "$out" && symbolize_reset_log "$reset_log"
	return $status
}

# ---- symbols -------------------------------------------------------------
# The guest prints the return addresses of a crash ("# backtrace: #N 0x...");
# resolve each to function, file and line (addr2line, binutils) under the
# dump. A return address points after its call: look up the byte before it.
symbolize() {
	local out=$1 elf=$TOP/build/pvspin64.elf
	symbolize_stops "$out" "$elf"
	grep -aq '^# backtrace: #' "$out" || return 0
	if ! command -v addr2line >/dev/null || [ ! -r "$elf" ]; then
		echo "run-qemu.sh: cannot symbolize the backtrace (needs addr2line and $elf)" >&2
		return 0
	fi
	echo "run-qemu.sh: the crash's backtrace ($elf):" >&2
	local n addr look fn where first
	while read -r n addr; do
		look=$addr
		[ "$n" = "#0" ] || look=$(printf '0x%x' $((addr - 1)))
		first=1
		while read -r fn && read -r where; do
			where=${where#"$TOP/"}
			if [ $first = 1 ]; then
				printf '  %s %s in %s (%s)\n' "$n" "$addr" "$fn" "$where" >&2
			else
				printf '  %s %18s inlined into %s (%s)\n' "${n//?/ }" "" "$fn" "$where" >&2
			fi
			first=0
		done < <(addr2line -f -i -e "$elf" "$look")
	done < <(sed -n 's/^# backtrace: \(#[0-9]*\) \(0x[0-9a-f]*\).*/\1 \2/p' "$out" | tr -d '\r')
}

# addr_where ELF ADDR: sets fn and where to ADDR's function and file:line
# (addr2line; "??" when ADDR is not in ELF), the path relative to TOP
addr_where() {
	read -r fn where < <(addr2line -f -e "$1" "$2" | paste -sd' ')
	where=${where#"$TOP/"}
}

# A lockup report says where the exit stop found each CPU ("# LOCKUP: cpu N
# stopped at: RIP from RET..."). Group the CPUs by that place and name it:
# its function and line, and the functions of the first return addresses.
symbolize_stops() {
	local out=$1 elf=$2 count rip rets r fn where line
	grep -aq '^# LOCKUP: cpu [0-9]* stopped at: 0x' "$out" || return 0
	command -v addr2line >/dev/null && [ -r "$elf" ] || return 0
	echo "run-qemu.sh: where the watchdog's stop found the CPUs ($elf):" >&2
	while read -r count rip rets; do
		addr_where "$elf" "$rip"
		line="  $count CPU(s) at $rip in $fn ($where)"
		for r in $rets; do
			addr_where "$elf" "$(printf '0x%x' $((r - 1)))"
			line+=" < $fn"
		done
		echo "$line" >&2
	done < <(sed -n 's/^# LOCKUP: cpu [0-9]* stopped at: \(0x[0-9a-f]*\)\( from\)\{0,1\}\(.*\)/\1\3/p' "$out" |
		tr -d '\r' | sort | uniq -c | sort -rn)
}

# QEMU's -d cpu_reset log ends, after a machine reset, with one dump per CPU
# of its state just before the reset. Group the last dump of each CPU by
# RIP and name the function; a CPU whose IDT limit is 0 or whose CR2 is set
# is pointed out (a triple fault's usual marks).
symbolize_reset_log() {
	local file=$1 elf=$TOP/build/pvspin64.elf count rip cpus fn where
	grep -aq '^CPU Reset (CPU [0-9]*)' "$file" 2>/dev/null || return 0
	echo "run-qemu.sh: the CPUs just before the machine reset (the last dumps in $file):" >&2
	awk '/^CPU Reset \(CPU [0-9]+\)/ { cpu = $4 + 0; real[cpu] = 0; cr2[cpu] = ""; next }
	     cpu != "" && /^RIP=/ { rip[cpu] = substr($1, 5) }
	     cpu != "" && /^EIP=/ { rip[cpu] = substr($1, 5); real[cpu] = ($1 == "EIP=0000fff0") }
	     cpu != "" && /^IDT=/ { idt[cpu] = $3 }
	     cpu != "" && /^CR0=/ { for (i = 1; i <= NF; i++) if ($i ~ /^CR2=/) cr2[cpu] = substr($i, 5) }
	     END { for (c in rip) {
			note = ""
			if (real[c]) note = note " in-the-reset-state"
			if (idt[c] == "00000000") note = note " IDT-limit-0"
			if (cr2[c] != "" && cr2[c] !~ /^0+$/) note = note " CR2=" cr2[c]
			print "0x" rip[c], c note } }' "$file" |
		sort -k1,1 -k2n | awk '{ k = $1; $1 = ""; l[k] = l[k] (l[k] ? "," : "") substr($0, 2); n[k]++ }
			END { for (k in l) print n[k], k, l[k] }' | sort -rn |
		while read -r count rip cpus; do
			fn=; where=
			if command -v addr2line >/dev/null && [ -r "$elf" ]; then
				addr_where "$elf" "$rip"
			fi
			[ "$fn" = "??" ] && fn="(not pvspin: firmware or real mode)" where=
			[[ $cpus == *in-the-reset-state* ]] && fn="the reset vector: a CPU never started, or under KVM on AMD the CPU that shut down (a triple fault: KVM re-initialises it before QEMU reads it)" where=
			echo "  $count CPU(s) at $rip${fn:+ in $fn}${where:+ ($where)}: cpu $cpus" >&2
		done
}

# ---- nested --------------------------------------------------------------
# One job line for tools/nested/nested-run.sh: PIN<TAB>TIMEOUT<TAB>QEMU args.
nested_job_line() {
	qaccel_for_bed=1
	build_qemu_args @IMAGE@ kvm
	local a quoted=()
	for a in "${qargs[@]}"; do
		quoted+=("'${a//\'/\'\\\'\'}'")
	done
	printf '%s\t%s\t%s\n' "${pin:--}" "$timeout" "${quoted[*]}" | sed "s|'@IMAGE@'|@IMAGE@|g"
}

# nested_diag_note I: name the diagnostics nested-run.sh kept for run I
nested_diag_note() {
	local d=$diag_dir f
	for f in "$d/run-$1.qemu.log" "$d/run-$1.l1-dmesg" "$d/run-$1.l1-trace"; do
		[ -s "$f" ] && echo "run-qemu.sh:   kept $f ($(wc -l <"$f") lines)" >&2
	done
	grep -aq '^# RESET:' "$2" && symbolize_reset_log "$d/run-$1.qemu.log"
	# Which vCPU shut down or was sent a fault, as L1's KVM saw it, and
	# which L1 code any L1 address in that is (tools/nested/l1-init.sh).
	if [ -s "$d/run-$1.l1-trace" ]; then
		grep -a 'svm_shutdown\|kvm_exit\|kvm_inj_exception\|emulated_pf\|failed$' "$d/run-$1.l1-trace" |
			awk 'NR <= 4 { print; next } { last[NR % 4] = $0 } END {
				if (NR > 8) print "  ..."
				for (i = (NR > 8 ? NR - 3 : 5); i <= NR; i++) print last[i % 4] }' |
			sed 's/^ */  L1 KVM: /' >&2
		grep -a '^L1 address ' "$d/run-$1.l1-trace" | sed 's/^/  /' >&2
	fi
	return 0
}

# nested_diag_settle: the default diagnostics directory goes if the bed left
# nothing in it, else build/nested-diag/latest points at it
default_diag=0
nested_diag_settle() {
	[ "$default_diag" = 1 ] || return 0
	rmdir "$diag_dir" 2>/dev/null && return 0
	[ -d "$diag_dir" ] && ln -sfn "$(basename "$diag_dir")" "$TOP/build/nested-diag/latest"
	return 0
}

run_nested() {
	local tmp=$1
	local jobs=$tmp/jobs total_timeout=0
	: > "$jobs"
	if [ -n "$batch" ]; then
		local line
		local batch_guest=$guest batch_l1="$l1_kernel|$l1_smp|$l1_mem|${l1_params[*]}|$l0_tcg"
		while IFS= read -r line || [ -n "$line" ]; do
			[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
			# Each batch line is parsed like a command line, with the
			# defaults of this invocation; one boot of L1 runs one guest,
			# on the L1 the command line describes.
			( eval "parse_args $line"
			  [ "$guest" = "$batch_guest" ] ||
				die_usage "--batch: a line with --guest $guest in a batch of --guest $batch_guest (one guest per batch)"
			  [ "$l1_kernel|$l1_smp|$l1_mem|${l1_params[*]}|$l0_tcg" = "$batch_l1" ] ||
				die_usage "--batch: a line with --l1-* or --l0-tcg: L1's options go on the command line (one L1 boot per batch)"
			  validate_args; nested_job_line >> "$jobs"
			  [ "$guest" = pvspin ] || peer_plan_line >> "$tmp/plans" ) || exit $?
		done < "$batch"
	else
		nested_job_line >> "$jobs"
		[ "$guest" = pvspin ] || peer_plan_line >> "$tmp/plans"
	fi
	local n=0 t
	while IFS=$'\t' read -r _ t _; do n=$((n + 1)); total_timeout=$((total_timeout + t)); done < "$jobs"
	local nargs=(--image "$IMAGE" --status-file "$tmp/status" --env-file "$tmp/env.json")
	[ -n "$l1_kernel" ] && nargs+=(--l1-kernel "$l1_kernel")
	[ -n "$l1_smp" ] && nargs+=(--l1-smp "$l1_smp")
	[ -n "$l1_mem" ] && nargs+=(--l1-mem "$l1_mem")
	local l1p
	for l1p in "${l1_params[@]}"; do nargs+=(--l1-param "$l1p"); done
	[ -n "$l0_tcg" ] && nargs+=(--l0-tcg "$l0_tcg")
	# Each call keeps its own diagnostics: a second call (tests/boot.sh's
	# retry, a soak's next batch) must not wipe the first one's evidence.
	if [ -z "$diag_dir" ]; then
		diag_dir=$TOP/build/nested-diag/$(date -u +%Y%m%dT%H%M%SZ)-$$
		default_diag=1
	fi
	nargs+=(--diag-dir "$diag_dir")
	[ "$guest" = pvspin ] || nargs+=(--end-pattern "$(python3 "$PEER_RUN" end-pattern)"
					 --end-grace "$(python3 "$PEER_RUN" end-grace)" --guest-kernel-half)
	if [ $dry_run = 1 ]; then
		cat "$jobs"
		exit 0
	fi
	# Each result gets the L1 host it ran on as its "env" (the "# l1:" line
	# that starts the run); everything else passes through unchanged.
	[ "$guest" = linux ] && { run_nested_peer "$tmp" "$n"; return $?; }
	"$TOP/tools/nested/nested-run.sh" --quiet "${nargs[@]}" "$jobs" |
		awk '/^# l1: / { l1 = substr($0, 7) }
		     /^# result: \{/ && l1 != "" { sub(/^# result: \{/, "# result: {\"env\":{\"accel\":\"nested\",\"l1\":" l1 "},") }
		     { print; fflush() }' | tee "$tmp/serial.log" ${log:+"$log"}
	local bed=${PIPESTATUS[0]}
	nested_diag_settle
	[ "$bed" = 0 ] || return "$bed"
	# Split the stream at the "# l1:" line that starts each run and judge
	# every run as a direct one; the verdict is the first run that failed.
	awk -v dir="$tmp" '/^# l1: / { n++ } n { print > (dir "/run." n ".log") }' "$tmp/serial.log"
	local worst=$ST_PASS st v i=0
	while read -r st; do
		i=$((i + 1))
		touch "$tmp/run.$i.log"
		verdict "$st" "$tmp/run.$i.log"
		v=$?
		[ "$v" != 0 ] && echo "run-qemu.sh: nested run $i of $n: status $v" >&2 &&
			nested_diag_note "$i" "$tmp/run.$i.log"
		[ "$worst" = $ST_PASS ] && worst=$v
	done < "$tmp/status"
	[ "$i" = "$n" ] || { echo "run-qemu.sh: nested bed reported $i of $n runs" >&2; return $ST_NO_QEMU; }
	return "$worst"
}

# ---- the Linux peer -------------------------------------------------------
PEER_DIR=$TOP/tools/peer/linux
PEER_RUN=$PEER_DIR/run.py
peer_lpj=0

# peer_cmdline: the kernel command line for the guest options; bad options
# end the run here with the peer's one-result KTAP document and status 2
peer_cmdline() {
	local line st
	line=$(python3 "$PEER_RUN" cmdline --smp "$smp" --lpj "$peer_lpj" -- "${guest_args[@]}")
	st=$?
	if [ $st != 0 ]; then
		printf '%s\n' "$line"
		[ -n "$log" ] && printf '%s\n' "$line" > "$log"
		exit "$st"
	fi
	echo "$line"
}

# The options are checked before the peer's bzImage is built (and cached
# once per machine) to become the image. PVSPIN_PEER_IMAGE names one instead
# (a benchmark keeps the image it started with while the tree changes).
prepare_linux_peer() {
	local line
	line=$(peer_cmdline) || { printf '%s\n' "$line"; exit $ST_BAD_INPUT; }
	if [ -n "${PVSPIN_PEER_IMAGE-}" ]; then
		[ -r "$PVSPIN_PEER_IMAGE" ] || die_usage "PVSPIN_PEER_IMAGE='$PVSPIN_PEER_IMAGE': no such readable file"
		IMAGE=$PVSPIN_PEER_IMAGE
	else
		IMAGE=$(python3 "$PEER_DIR/build.py") || die_env "the Linux peer could not be built (tools/peer/linux/build.py above)"
	fi
	peer_lpj=$(peer_lpj_probe) || {
		echo "run-qemu.sh: no loops_per_jiffy from a 1-vCPU boot; Linux calibrates every AP's delay loop itself (slow at many vCPUs)" >&2
		peer_lpj=0
	}
}

# The BSP's loops_per_jiffy from a 1-vCPU boot of the peer on this host
# (run.py lpj, cached per host boot): passed as lpj=, it spares every AP the
# delay-loop calibration Linux does without an invariant TSC, which TCG does
# not offer (docs/peer.md). Under nested the probe runs under TCG on the
# host: L2's TSC runs at L1's rate, which is the host's.
peer_lpj_probe() {
	local qaccel=$accel
	[ "$accel" = nested ] && qaccel=tcg
	(
		# A plain boot: none of the caller's extra QEMU arguments (a
		# benchmark's -qmp socket and -S belong to the run, not the probe).
		smp=1 pin='' guest_args=() peer_lpj=0 qemu_extra=() gdb_port='' reset_log=''
		build_qemu_args "$IMAGE" "$qaccel"
		python3 "$PEER_RUN" lpj -- qemu-system-x86_64 "${qargs[@]}"
	)
}

# peer_plan_line: the options of one Linux peer run, as run.py translate
# --plans reads them (batch lines are checked here like a single run's)
peer_plan_line() {
	echo "$smp ${guest_args[*]-}"
}

# The Linux peer's runs in the bed: its raw consoles become one KTAP
# document a run (run.py translate); the verdict is the first run that did
# not pass, as for pvspin.
run_nested_peer() {
	local tmp=$1 n=$2 bed st
	"$TOP/tools/nested/nested-run.sh" --quiet "${nargs[@]}" "$jobs" > "$tmp/serial.log"
	bed=$?
	nested_diag_settle
	if [ "$bed" != 0 ]; then
		tee ${log:+"$log"} < "$tmp/serial.log"
		return "$bed"
	fi
	python3 "$PEER_RUN" translate --plans "$tmp/plans" --status-file "$tmp/status" \
		--verdicts "$tmp/verdicts" --lpj "$peer_lpj" --timeout "$timeout" "$tmp/serial.log" | tee ${log:+"$log"}
	st=${PIPESTATUS[0]}
	local i=0 v
	while read -r v; do
		i=$((i + 1))
		[ "$v" != 0 ] && echo "run-qemu.sh: nested run $i of $n: status $v" >&2 && nested_diag_note "$i" /dev/null
	done < "$tmp/verdicts"
	[ "$i" = "$n" ] || { echo "run-qemu.sh: nested bed reported $i of $n runs" >&2; return $ST_NO_QEMU; }
	return "$st"
}

# ---- LAVA job ------------------------------------------------------------
# --lava-job: tools/lava/job.py writes the job from these settings, for the
# image built here. Options a job cannot carry go to it as --refuse, so
# the reason for each is stated there once.
lava_job() {
	local a=() q targets=(all)
	[ "$guest" = pvspin ] || a+=(--refuse guest)
	[ -z "$gdb_port" ] || a+=(--refuse gdb)
	[ -z "$pin" ] || a+=(--refuse pin)
	[ -z "$log" ] || a+=(--refuse log)
	[ -z "$reset_log" ] || a+=(--refuse reset-log)
	[ "$dry_run" = 0 ] || a+=(--refuse dry-run)
	[ "$hyperv" = 0 ] || a+=(--hyperv)
	for q in "${qemu_extra[@]}"; do a+=("--qemu=$q"); done
	command -v python3 >/dev/null || die_usage "--lava-job needs python3 (tools/lava/job.py writes the job)"
	"$TOP/tools/deps.sh" build || exit $ST_BAD_INPUT
	[ "$boot" = pvh ] && targets+=(pvh)
	make -s -C "$TOP" "${targets[@]}" >&2 || die_env "the build failed"
	exec python3 "$TOP/tools/lava/job.py" "${a[@]}" --smp "$smp" --mem "$mem" --accel "$accel" \
		--machine "$machine" --firmware "$firmware" --cpu "$cpu" --boot "$boot" --exit "$exit_via" \
		--hypervisor-bit "$hv_bit" --timeout "$timeout" --lava-image-url "$lava_image_url" \
		-- "${guest_args[@]}"
}

# ---- main ----------------------------------------------------------------
main() {
	parse_args "$@"
	validate_args
	[ "$lava_job" = 1 ] && lava_job
	[ -n "$gdb_port" ] && [ $timeout_given = 0 ] && timeout=0
	local purposes=(build run)
	[ $use_iso = 1 ] && purposes+=(iso)
	[ "$accel" = nested ] && purposes+=(nested)
	[ "$accel" = xen ] && purposes+=(xen)
	[ "$guest" = linux ] && purposes+=(peer)
	"$TOP/tools/deps.sh" "${purposes[@]}" || exit $ST_BAD_INPUT
	choose_accel
	echo "run-qemu.sh: accel=$accel ($accel_reason), machine=$machine, smp=$smp" >&2
	local targets=(all)
	if [ "$boot" = pvh ]; then
		targets+=(pvh)
		IMAGE=$PVH_IMAGE
	fi
	if [ "$guest" = linux ]; then
		prepare_linux_peer
	else
		make -s -C "$TOP" "${targets[@]}" >&2 || die_env "the build failed"
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvspin-run.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	[ "$accel" = xen ] && xen_prepare
	if [ "$accel" = nested ]; then
		run_nested "$tmp"
	else
		run_direct "$tmp"
	fi
}

main "$@"
