# SPDX-License-Identifier: MIT
# pvspin: the host tools' shared library: statuses, processes, QMP, statistics, facts.
