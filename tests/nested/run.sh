#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/nested/run.sh: the nested bed's tests for callers that know this path; they are tests/nested/run.py.
exec python3 "$(dirname "$0")/run.py" "$@"
