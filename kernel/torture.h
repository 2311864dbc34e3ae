/* Lock selection for the torture suite (lock= option). */
#ifndef PVSPIN_TORTURE_H
#define PVSPIN_TORTURE_H

/* Names lock= accepts: every lock of lock_types[], "broken", "all". */
const char *torture_lock_name(unsigned int i);
/* Fill TORTURE_ALL_LOCKS ("tas,ttas,...") from lock_types[]. */
void torture_expand_all(void);
extern char torture_all_locks[];
#define TORTURE_ALL_LOCKS torture_all_locks

#endif
