# SPDX-License-Identifier: MIT
# tests/runner: the machinery of tests/run.py: the cases file, the checks, running a case.
