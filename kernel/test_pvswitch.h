#ifndef PVSPIN_TEST_PVSWITCH_H
#define PVSPIN_TEST_PVSWITCH_H

/* Around pv_backend_init(): take a pvqspinlock before, release it after. */
void pvswitch_before(void);
void pvswitch_after(void);

#endif
