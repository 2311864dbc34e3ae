/* SPDX-License-Identifier: MIT */
/* qnode.c - storage of the per-CPU qspinlock queue nodes. */
#include "qnode.h"

struct lock_qnode lock_qnodes[LOCK_NR_CPUS][LOCK_QNODES_PER_CPU];
