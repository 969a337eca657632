/*
 * fuzz_hostile_drv: a driver that hangs and one that eats memory, for the
 * fuzzer's watchdog and worker limits.
 *
 *   port_control(P, $h, _)   loops forever
 *   port_control(P, $m, _)   allocates and touches memory until malloc
 *                            fails, then aborts
 *   other codes              answer "ok"
 */
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

static volatile unsigned long spin;

static ErlDrvData fh_start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)port;
}

static ErlDrvSSizeT fh_control(ErlDrvData d, unsigned int cmd, char *buf,
                               ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    if (cmd == 'h') {
        for (;;)
            spin++;
    }
    if (cmd == 'm') {
        for (;;) {
            char *p = malloc(16 << 20);
            if (p == NULL)
                abort();
            p[0] = 1; /* address space, not pages: fails fast under RLIMIT_AS */
        }
    }
    memcpy(*rbuf, "ok", 2);
    return 2;
}

static ErlDrvEntry fh_entry = {
    NULL, fh_start, NULL, NULL, NULL, NULL, "fuzz_hostile_drv", NULL, NULL,
    fh_control, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION, 0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(fuzz_hostile_drv)
{
    return &fh_entry;
}
