/*
 * misuse_mem_drv: breaks the driver_alloc contract, one way per control
 * operation, for `porthost run --check`.
 *
 *   $x  driver_free of memory from malloc
 *   $r  driver_realloc of memory from malloc
 *   $d  driver_free twice (double free)
 *   $l  driver_alloc'ed memory the port never frees (a leak after stop)
 * Every operation answers "ok".
 */
#include <stdlib.h>
#include <string.h>
#include "erl_driver.h"

/* Hides from the compiler where a pointer came from and that it was
 * freed: these misuses are the point of this driver. */
static void *volatile launder;

static ErlDrvData mm_start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)port;
}

static ErlDrvSSizeT mm_control(ErlDrvData d, unsigned int cmd, char *buf,
                               ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    void *p;
    switch (cmd) {
    case 'x':
        launder = malloc(8);
        driver_free(launder);
        break;
    case 'r':
        launder = malloc(8);
        p = driver_realloc(launder, 16);
        break;
    case 'd':
        launder = driver_alloc(8);
        driver_free(launder);
        driver_free(launder);
        break;
    case 'l':
        p = driver_alloc(24);
        memset(p, 0, 24);
        break;
    default:
        return -1;
    }
    memcpy(*rbuf, "ok", 2);
    return 2;
}

static ErlDrvEntry mm_entry = {
    NULL, mm_start, NULL, NULL, NULL, NULL, "misuse_mem_drv", NULL, NULL,
    mm_control, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION, 0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(misuse_mem_drv)
{
    return &mm_entry;
}
