/* SPDX-License-Identifier: MIT */
/* apic.h - local APIC in xAPIC (MMIO) or x2APIC (MSR) mode, chosen once for all CPUs. */
#ifndef PVSPIN_APIC_H
#define PVSPIN_APIC_H

#include <stdbool.h>
#include <stdint.h>

enum apic_mode { APIC_MODE_XAPIC, APIC_MODE_X2APIC };

/* The highest APIC ID that xAPIC can address (0xFF is the broadcast ID). */
#define XAPIC_MAX_ID 254

/* BSP: pick the mode (x2APIC whenever the CPU has it) and enable the BSP's
 * APIC. Every AP then calls apic_init_cpu(). */
void apic_init_bsp(void);
void apic_init_cpu(void);
bool apic_ready(void);
enum apic_mode apic_mode(void);
const char *apic_mode_name(void);
bool cpu_has_x2apic(void);
uint32_t apic_read_id(void);           /* this CPU's APIC ID, from the APIC */
uint32_t cpu_apic_id_from_cpuid(void); /* usable before the APIC is enabled */

void apic_eoi(void);
void apic_send_ipi(uint32_t apic_id, uint8_t vector);
void apic_send_init(uint32_t apic_id);
void apic_send_sipi(uint32_t apic_id, uint8_t page);
void apic_send_nmi(uint32_t apic_id);

/* LAPIC timer: periodic interrupts on `vector` every `ns` (after
 * apic_timer_calibrate()), or stop it. The BSP's timer rate is counted from
 * apic_timer_count_start() to apic_timer_calibrate() (apic.c). */
void apic_timer_count_start(void);
void apic_timer_calibrate(void);
void apic_timer_periodic(uint8_t vector, uint64_t ns);
void apic_timer_stop(void);

#endif
