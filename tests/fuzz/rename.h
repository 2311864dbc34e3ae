/* SPDX-License-Identifier: MIT */
/* rename.h - forced into every lib/ file of a fuzz build (-include): lib/'s
 * string and print functions get names of their own, so that they, not
 * libc's (which the sanitizers intercept), are what the fuzzer exercises. */
#ifndef PVSPIN_FUZZ_RENAME_H
#define PVSPIN_FUZZ_RENAME_H

#define memset   pvspin_memset
#define memcpy   pvspin_memcpy
#define memmove  pvspin_memmove
#define memcmp   pvspin_memcmp
#define strlen   pvspin_strlen
#define strcmp   pvspin_strcmp
#define strncmp  pvspin_strncmp
#define strchr   pvspin_strchr
#define vsnprintf pvspin_vsnprintf
#define snprintf pvspin_snprintf

#endif
