# SPDX-License-Identifier: MIT
# pvspin: the host tools' shared library (exit statuses, ...).
