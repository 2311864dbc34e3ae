#!/bin/sh
# SPDX-License-Identifier: MIT
# Compile lock/*.c as guest kernel objects against a stub lock_env.h and
# check that the relocatable result needs no symbol from outside lock/
# (no libc, no compiler-emitted memcpy/memset), except the stub's two.
# Prints "N passed, N failed" like the test binaries.
set -u
LOCKDIR=$1
OUT=$2
# Every compiler given (default: gcc, and clang if installed).
COMPILERS=${FREESTANDING_CCS:-"gcc $(command -v clang >/dev/null 2>&1 && echo clang)"}
FLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie \
 -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -fno-stack-protector"
passed=0; failed=0
for CC in $COMPILERS; do
	dir="$OUT/$CC"
	mkdir -p "$dir"
	objs=""; bad=0
	for src in "$LOCKDIR"/*.c; do
		obj="$dir/$(basename "$src" .c).o"
		if $CC $FLAGS -I"$LOCKDIR" -I"$(dirname "$0")/freestanding" -c "$src" -o "$obj"; then
			objs="$objs $obj"
		else
			echo "FAIL $CC: freestanding compile of $src"; bad=1
		fi
	done
	if [ "$bad" -eq 0 ]; then
		ld -r -o "$dir/lock_all.o" $objs
		undef=$(nm -u "$dir/lock_all.o" | awk '{print $2}' |
			grep -v -x -e stub_cpu_id -e stub_tsc_ns)
		if [ -n "$undef" ]; then
			echo "FAIL $CC: freestanding objects need outside symbols:"; echo "$undef"
			bad=1
		fi
	fi
	if [ "$bad" -eq 0 ]; then
		echo "ok   $CC: freestanding -mcmodel=kernel compile, no outside symbols"
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
# Event counting compiled out entirely must build too.
dir="$OUT/no-events"; mkdir -p "$dir"; bad=0
for src in "$LOCKDIR"/*.c; do
	gcc $FLAGS -DLOCK_NO_EVENTS -I"$LOCKDIR" -I"$(dirname "$0")/freestanding" \
		-c "$src" -o "$dir/$(basename "$src" .c).o" || bad=1
done
if [ "$bad" -eq 0 ]; then
	echo "ok   gcc: -DLOCK_NO_EVENTS compile"; passed=$((passed + 1))
else
	echo "FAIL gcc: -DLOCK_NO_EVENTS compile"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
