/*
 * cf_call_drv: erlang:port_call echo (driver_SUITE's otp_6879: concurrent
 * port_call with large input; our own code). call returns the encoded
 * argument as its reply, so port_call returns its argument; a reply larger
 * than rlen goes in a driver_alloc'ed buffer. The driver uses port-level
 * locking, so calls from many processes run one at a time per port.
 */
#include "cf_common.h"

static ErlDrvData cl_start(ErlDrvPort port, char *cmd) { (void)cmd; return (ErlDrvData)port; }

static ErlDrvSSizeT cl_call(ErlDrvData d, unsigned int cmd, char *buf, ErlDrvSizeT len,
                            char **rbuf, ErlDrvSizeT rlen, unsigned int *flags)
{
    (void)d; (void)cmd; (void)flags;
    if (len > rlen)
        *rbuf = driver_alloc(len);
    memcpy(*rbuf, buf, len);
    return (ErlDrvSSizeT)len;
}

static ErlDrvEntry cl_entry = {
    NULL, cl_start, NULL, NULL, NULL, NULL, "cf_call_drv",
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, cl_call, NULL, CF_ENTRY_TAIL,
    ERL_DRV_FLAG_USE_PORT_LOCKING, NULL, NULL, NULL, NULL
};

DRIVER_INIT(cf_call_drv) { return &cl_entry; }
