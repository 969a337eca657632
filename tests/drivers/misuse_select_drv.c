/*
 * misuse_select_drv: breaks the driver_select contract, one way per
 * control operation, for `porthost run --check`. It has no stop_select.
 *
 *   $u  selects a pipe for reading, then deselects it with ERL_DRV_USE
 *       (never selected with ERL_DRV_USE)
 *   $n  selects with ERL_DRV_USE (no stop_select callback to close it)
 *   $l  selects a pipe for reading and leaves it selected at stop
 * Every operation answers "ok".
 */
#include <string.h>
#include <unistd.h>
#include "erl_driver.h"

static ErlDrvData ms_start(ErlDrvPort port, char *command)
{
    return (ErlDrvData)port;
}

static void ms_ready_input(ErlDrvData d, ErlDrvEvent ev)
{
}

static ErlDrvSSizeT ms_control(ErlDrvData d, unsigned int cmd, char *buf,
                               ErlDrvSizeT len, char **rbuf, ErlDrvSizeT rlen)
{
    ErlDrvPort port = (ErlDrvPort)d;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    switch (cmd) {
    case 'u':
        driver_select(port, (ErlDrvEvent)(ErlDrvSInt)fds[0], ERL_DRV_READ, 1);
        driver_select(port, (ErlDrvEvent)(ErlDrvSInt)fds[0],
                      ERL_DRV_READ | ERL_DRV_USE, 0);
        break;
    case 'n':
        driver_select(port, (ErlDrvEvent)(ErlDrvSInt)fds[0],
                      ERL_DRV_READ | ERL_DRV_USE, 1);
        driver_select(port, (ErlDrvEvent)(ErlDrvSInt)fds[0], ERL_DRV_READ, 0);
        break;
    case 'l':
        driver_select(port, (ErlDrvEvent)(ErlDrvSInt)fds[0], ERL_DRV_READ, 1);
        break;
    default:
        return -1;
    }
    memcpy(*rbuf, "ok", 2);
    return 2;
}

static ErlDrvEntry ms_entry = {
    NULL, ms_start, NULL, NULL, ms_ready_input, NULL, "misuse_select_drv",
    NULL, NULL, ms_control, NULL, NULL, NULL, NULL, NULL, NULL,
    ERL_DRV_EXTENDED_MARKER, ERL_DRV_EXTENDED_MAJOR_VERSION,
    ERL_DRV_EXTENDED_MINOR_VERSION, 0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(misuse_select_drv)
{
    return &ms_entry;
}
