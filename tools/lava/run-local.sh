#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run a LAVA job with the local dispatcher (lava-run, no server) and print its results as KTAP.
#   tools/lava/run-local.sh [--output-dir DIR] JOB
# Exit status: pvspin's (docs/lava.md, docs/output.md). The work is in run_local.py.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../facts.sh
. "$HERE/../facts.sh"
"$HERE/../deps.sh" lava || exit $ST_BAD_INPUT
exec /usr/bin/python3 "$HERE/run_local.py" "$@"
