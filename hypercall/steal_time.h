/* SPDX-License-Identifier: MIT */
/* steal_time.h - KVM steal time (Documentation/virt/kvm/x86/msr.rst, MSR_KVM_STEAL_TIME):
 * each vCPU registers a 64-byte record that the host fills with the time the
 * vCPU was runnable but not running, and a preempted flag. */
#ifndef PVSPIN_STEAL_TIME_H
#define PVSPIN_STEAL_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* Register this CPU's record (index `cpu`); false if KVM lacks STEAL_TIME. */
bool steal_time_enable(unsigned int cpu);
bool steal_time_available(void);
/* Nanoseconds CPU `cpu` has been runnable but not running (0 if none). */
uint64_t steal_time_ns(unsigned int cpu);
/* The host preempted CPU `cpu` (it is not running right now). */
bool vcpu_is_preempted(unsigned int cpu);

#endif
