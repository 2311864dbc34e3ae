#!/bin/sh
# SPDX-License-Identifier: MIT
# Compile test: the spin threshold's minimum of 1 is enforced at compile time.
# lock/pv_ops.c must build as it is, and must NOT build with the threshold
# (or its minimum) set to 0, failing on the _Static_assert in lock/pv_ops.h.
# Prints "N passed, N failed" like the test binaries.
set -u
LOCKDIR=$1
OUT=$2
CC=${CC:-gcc}
FLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -I$LOCKDIR -I$(dirname "$0")/freestanding"
WANT="spin threshold"        # words of the _Static_assert messages
mkdir -p "$OUT"
passed=0; failed=0

if $CC $FLAGS -c "$LOCKDIR/pv_ops.c" -o "$OUT/pv_ops.o" 2>"$OUT/ok.log"; then
	passed=$((passed + 1))
else
	cat "$OUT/ok.log"; echo "FAIL: lock/pv_ops.c does not build as it is"
	failed=$((failed + 1))
fi
for def in PV_SPIN_THRESHOLD=0 PV_SPIN_THRESHOLD_MIN=0; do
	log="$OUT/$def.log"
	if $CC $FLAGS -D"$def" -c "$LOCKDIR/pv_ops.c" -o "$OUT/bad.o" 2>"$log"; then
		echo "FAIL: lock/pv_ops.c builds with -D$def"
		failed=$((failed + 1))
	elif grep -q "static assertion failed.*$WANT" "$log"; then
		passed=$((passed + 1))
	else
		cat "$log"; echo "FAIL: -D$def failed, but not on the spin threshold's _Static_assert"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
