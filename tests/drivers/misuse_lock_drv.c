/*
 * misuse_lock_drv: breaks the erl_drv_mutex contract and builds malformed
 * term specs, one way per control operation, for `porthost run --check`.
 *
 *   $u  unlocks a mutex from a thread that does not hold it
 *   $d  destroys a locked mutex
 *   $o  takes mutexes A then B, later B then A (lock-order inversion)
 *   $m  erl_drv_output_term with a malformed spec (a 3-tuple of 2 terms)
 * Every operation answers "ok".
 */
#include <string.h>
#include "erl_driver.h"

static ErlDrvData ml_start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)port;
}

static void *unlock_thread(void *m)
{
    erl_drv_mutex_unlock((ErlDrvMutex *)m);
    return NULL;
}

static ErlDrvSSizeT ml_control(ErlDrvData d, unsigned int cmd, char *buf,
                               ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvPort port = (ErlDrvPort)d;
    ErlDrvMutex *a, *b;
    ErlDrvTid tid;
    switch (cmd) {
    case 'u':
        a = erl_drv_mutex_create("ml_u");
        erl_drv_mutex_lock(a);
        erl_drv_thread_create("unlocker", &tid, unlock_thread, a, NULL);
        erl_drv_thread_join(tid, NULL);
        erl_drv_mutex_destroy(a);
        break;
    case 'd':
        a = erl_drv_mutex_create("ml_d");
        erl_drv_mutex_lock(a);
        erl_drv_mutex_destroy(a);
        break;
    case 'o':
        a = erl_drv_mutex_create("ml_a");
        b = erl_drv_mutex_create("ml_b");
        erl_drv_mutex_lock(a);
        erl_drv_mutex_lock(b);
        erl_drv_mutex_unlock(b);
        erl_drv_mutex_unlock(a);
        erl_drv_mutex_lock(b);
        erl_drv_mutex_lock(a);
        erl_drv_mutex_unlock(a);
        erl_drv_mutex_unlock(b);
        erl_drv_mutex_destroy(a);
        erl_drv_mutex_destroy(b);
        break;
    case 'm': {
        ErlDrvTermData spec[] = {
            ERL_DRV_ATOM, driver_mk_atom("x"),
            ERL_DRV_INT, 5,
            ERL_DRV_TUPLE, 3,
        };
        erl_drv_output_term(driver_mk_port(port), spec,
                            sizeof spec / sizeof spec[0]);
        break;
    }
    default:
        return -1;
    }
    memcpy(*rbuf, "ok", 2);
    return 2;
}

static ErlDrvEntry ml_entry = {
    NULL, ml_start, NULL, NULL, NULL, NULL, "misuse_lock_drv", NULL, NULL,
    ml_control, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION, 0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(misuse_lock_drv)
{
    return &ml_entry;
}
