#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Check the host tools pvspin needs; install the missing Debian packages when
# run as root, else print the exact apt-get line and exit 2.
#   tools/deps.sh [build|run|iso|test|bench|nested|peer] ...   (default: build run)
set -euo pipefail

# tool:package pairs for each purpose.
declare -A NEED=(
	[build]="gcc:gcc make:make nasm:nasm ld:binutils objcopy:binutils"
	[run]="qemu-system-x86_64:qemu-system-x86 taskset:util-linux timeout:coreutils"
	[iso]="grub-mkrescue:grub-common xorriso:xorriso mformat:mtools /usr/lib/grub/i386-pc:grub-pc-bin"
	[test]="python3:python3 gdb:gdb spin:spin xmllint:libxml2-utils clang:clang /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev"
	[bench]="gnuplot:gnuplot-nox python3:python3 /usr/include/ck_spinlock.h:libck-dev"
	[peer]="python3:python3 gcc:gcc make:make flex:flex bison:bison bc:bc /usr/include/libelf.h:libelf-dev xz:xz-utils apt-get:apt dpkg-deb:dpkg nice:coreutils"
	[nested]="cpio:cpio apt-get:apt dpkg-deb:dpkg xz:xz-utils readelf:binutils flock:util-linux gzip:gzip tar:tar"
)

purposes=("$@")
[ ${#purposes[@]} -gt 0 ] || purposes=(build run)

missing_pkgs=()
missing_tools=()
for purpose in "${purposes[@]}"; do
	if [ -z "${NEED[$purpose]+set}" ]; then
		echo "deps.sh: unknown purpose '$purpose' (accepted: ${!NEED[*]})" >&2
		exit 2
	fi
	for pair in ${NEED[$purpose]}; do
		tool=${pair%%:*} pkg=${pair##*:}
		if [[ $tool == /* ]]; then
			[ -e "$tool" ] && continue
		else
			command -v "$tool" >/dev/null 2>&1 && continue
		fi
		missing_tools+=("$tool")
		[[ " ${missing_pkgs[*]-} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
	done
done

[ ${#missing_pkgs[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "pvspin: installing missing tools (${missing_tools[*]}): $line" >&2
	if ! DEBIAN_FRONTEND=noninteractive $line >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive $line >/dev/null || {
			echo "pvspin: '$line' failed" >&2
			exit 2
		}
	fi
	exit 0
fi
echo "pvspin: missing tools: ${missing_tools[*]}" >&2
echo "pvspin: install them with:  sudo apt-get update && sudo $line" >&2
exit 2
