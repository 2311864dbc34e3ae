#!/bin/sh
# SPDX-License-Identifier: MIT
# nested-run.sh: the nested KVM bed's entry point (run-qemu.sh --accel nested calls it); the bed is nested_run.py.
exec python3 "$(dirname "$0")/nested_run.py" "$@"
