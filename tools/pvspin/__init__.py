# SPDX-License-Identifier: MIT
# pvspin: the host tools' shared library: statuses, processes, QMP, statistics, facts, run-qemu.sh's machine lines, the host described.
