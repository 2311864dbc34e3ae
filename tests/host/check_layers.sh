#!/bin/sh
# SPDX-License-Identifier: MIT
# check_layers.sh - the guest's include lines point down the layers only
# (README "Layout"): lib/ includes only lib/; hypercall/ only itself and lib/;
# lock/ only itself and the injected lock_env.h; kernel/ (drivers included)
# not suites/, except kernel/main.c's one entry suites/suite.h; suites/
# anything. A short name must be a file of the including file's own folder,
# and <...> only a freestanding compiler header. Then a planted violation
# must be caught, so the check itself can fail.
#   check_layers.sh [ROOT]     (default: the repository holding this script)
# Prints one line per layer and "N passed, N failed".
set -u
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
FREESTANDING="stdint.h stddef.h stdbool.h stdarg.h"

# The folders a layer may include from (besides short names of its own folder).
allowed() {
	case $1 in
	lib) echo "lib" ;;
	hypercall) echo "hypercall lib" ;;
	lock) echo "" ;;
	kernel) echo "kernel lib hypercall lock" ;;
	suites) echo "suites kernel lib hypercall lock" ;;
	esac
}

# Violations of one layer, one per line: file:line: what.
violations() {
	layer=$1
	find "$ROOT/$layer" -name '*.[ch]' | sort | while read -r file; do
		rel=${file#"$ROOT"/}
		dir=$(dirname "$file")
		grep -n '^[[:space:]]*#[[:space:]]*include' "$file" | while IFS= read -r hit; do
			line=${hit%%:*}
			inc=$(printf '%s\n' "$hit" | sed -n 's/.*#[[:space:]]*include[[:space:]]*\(["<][^">]*[">]\).*/\1/p')
			name=$(printf '%s\n' "$inc" | sed 's/^.\(.*\).$/\1/')
			case $inc in
			\<*)
				case " $FREESTANDING " in
				*" $name "*) ;;
				*) echo "$rel:$line: <$name> is not a freestanding compiler header" ;;
				esac
				continue ;;
			esac
			case $name in
			*/*)
				top=${name%%/*}
				if [ ! -f "$ROOT/$name" ]; then
					echo "$rel:$line: \"$name\" does not exist"
				elif [ "$top" = suites ] && [ "$rel" = kernel/main.c ] &&
				     [ "$name" = suites/suite.h ]; then
					:
				else
					case " $(allowed "$layer") " in
					*" $top "*) ;;
					*) echo "$rel:$line: $layer/ reaches $top/ (\"$name\")" ;;
					esac
				fi ;;
			*)
				if [ -f "$dir/$name" ]; then
					:
				elif [ "$layer" = lock ] && [ "$name" = lock_env.h ]; then
					:
				else
					echo "$rel:$line: \"$name\" is not in $(dirname "$rel")/: name its folder"
				fi ;;
			esac
		done
	done
}

passed=0; failed=0
for layer in lib hypercall lock kernel suites; do
	if [ ! -d "$ROOT/$layer" ]; then
		echo "FAIL $layer/: no such folder in $ROOT"; failed=$((failed + 1)); continue
	fi
	bad=$(violations "$layer")
	if [ -z "$bad" ]; then
		echo "ok   $layer/: includes only $(allowed "$layer" | sed 's| |/, |g; s|$|/|; s|^/$|itself and lock_env.h|')"
		passed=$((passed + 1))
	else
		echo "FAIL $layer/:"; printf '%s\n' "$bad" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

# The check must catch a planted violation: lib/ reaching up into kernel/.
if [ -z "${CHECK_LAYERS_PLANTED:-}" ]; then
	tmp=$(mktemp -d)
	mkdir -p "$tmp/lib" "$tmp/hypercall" "$tmp/lock" "$tmp/kernel" "$tmp/suites"
	: > "$tmp/kernel/console.h"
	printf '#include "kernel/console.h"\n' > "$tmp/lib/planted.c"
	out=$(CHECK_LAYERS_PLANTED=1 sh "$SELF" "$tmp" 2>&1)
	rm -rf "$tmp"
	if printf '%s\n' "$out" | grep -q 'lib/planted.c:1: lib/ reaches kernel/'; then
		echo "ok   a planted lib/ -> kernel/ include is caught"
		passed=$((passed + 1))
	else
		echo "FAIL a planted lib/ -> kernel/ include went unnoticed:"; printf '%s\n' "$out"
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
