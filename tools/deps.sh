#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Check the host tools pvspin needs; install the missing Debian packages when
# run as root, else print the exact apt-get line and exit 2.
#   tools/deps.sh [PURPOSE...]        (purposes: tools/deps.txt; default: build run)
#   tools/deps.sh --packages          every package of every purpose, one line
set -euo pipefail

# tool:package pairs for each purpose, from the one list (tools/deps.txt).
DEPS_FILE="$(dirname "${BASH_SOURCE[0]}")/deps.txt"
declare -A NEED=()
while read -r purpose tool pkg; do
	case $purpose in ''|'#'*) continue ;; esac
	NEED[$purpose]="${NEED[$purpose]-}${NEED[$purpose]:+ }$tool:$pkg"
done < "$DEPS_FILE"

if [ "${1-}" = --packages ]; then
	for pair in ${NEED[*]}; do echo "${pair##*:}"; done | sort -u | tr '\n' ' ' | sed 's/ $/\n/'
	exit 0
fi
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
