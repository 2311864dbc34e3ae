/* SPDX-License-Identifier: MIT */
/* mptable.h - intel MultiProcessor Specification 1.4 tables: the fallback CPU source. */
#ifndef PVSPIN_MPTABLE_H
#define PVSPIN_MPTABLE_H

#include <stdbool.h>

/* Add every enabled processor entry to the CPU list; false if no table. */
bool mptable_init(void);

#endif
