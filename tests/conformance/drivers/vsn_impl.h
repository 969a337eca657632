/*
 * A driver whose entry carries a chosen extended marker and version, for
 * erl_ddll's load-time checks (driver_SUITE's *_vsn_drv and
 * *_extended_marker_* cases). Before including this file define
 * VSN_NAME (the driver's name, unquoted), VSN_MARKER, VSN_MAJOR and
 * VSN_MINOR. If the driver loads, its ports answer port_control with "ok".
 */
#include <string.h>
#include "erl_driver.h"

#define VSN_STR2(x) #x
#define VSN_STR(x) VSN_STR2(x)

static ErlDrvData vsn_start(ErlDrvPort port, char *cmd)
{
    (void)cmd;
    return (ErlDrvData)port;
}

static ErlDrvSSizeT vsn_control(ErlDrvData d, unsigned int op, char *buf, ErlDrvSizeT len,
                                char **rbuf, ErlDrvSizeT rlen)
{
    (void)d; (void)op; (void)buf; (void)len; (void)rlen;
    memcpy(*rbuf, "ok", 2);
    return 2;
}

static ErlDrvEntry vsn_entry = {
    NULL, vsn_start, NULL, NULL, NULL, NULL,
    VSN_STR(VSN_NAME),
    NULL, NULL, vsn_control, NULL, NULL, NULL, NULL, NULL, NULL,
    VSN_MARKER, VSN_MAJOR, VSN_MINOR,
    0, NULL, NULL, NULL, NULL
};

DRIVER_INIT(VSN_NAME)
{
    return &vsn_entry;
}
