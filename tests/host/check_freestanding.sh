#!/bin/sh
# Compile lock/*.c as guest kernel objects against a stub lock_env.h and
# check that the relocatable result needs no symbol from outside lock/
# (no libc, no compiler-emitted memcpy/memset), except the stub's two.
# Prints "N passed, N failed" like the test binaries.
set -u
CC=${CC:-gcc}
LOCKDIR=$1
OUT=$2
FLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie \
 -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -fno-stack-protector"
mkdir -p "$OUT"
passed=0; failed=0
objs=""
for src in "$LOCKDIR"/*.c; do
	obj="$OUT/$(basename "$src" .c).o"
	if $CC $FLAGS -I"$LOCKDIR" -I"$(dirname "$0")/freestanding" -c "$src" -o "$obj"; then
		objs="$objs $obj"
	else
		echo "FAIL freestanding compile of $src"; failed=$((failed + 1))
	fi
done
if [ "$failed" -eq 0 ]; then
	ld -r -o "$OUT/lock_all.o" $objs
	undef=$(nm -u "$OUT/lock_all.o" | awk '{print $2}' | grep -v -x -e stub_cpu_id -e stub_tsc_ns)
	if [ -n "$undef" ]; then
		echo "FAIL freestanding objects need outside symbols:"; echo "$undef"
		failed=$((failed + 1))
	else
		echo "ok   freestanding -mcmodel=kernel compile, no outside symbols"
		passed=$((passed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
